"""moto where it lacks a model: the monkeypatches the sandbox installs, and the registries they read.

moto has no API for some states the runbooks look at (moto-and-tooling-notes.md section 0, way C): ACM's
``RenewalSummary`` and the look of an AMAZON_ISSUED cert, ``unhealthy`` targets, a Lambda's ``LoggingConfig``, a
``blackhole`` route. Each patch installed by ``install_patches()`` consults one module-level dict, so putting the
account into a fault state means setting an entry (see ``aws_faults``):

* ``ACM_OVERRIDES[cert_arn]``: keys merged into ``describe_certificate()["Certificate"]``
  (also seen by ``list_certificates``); keys listed under ``"_drop"`` are removed.
* ``TARGET_HEALTH[(target_group_arn, target_id)] = (State, Reason, Description)``.
* ``LAMBDA_CONFIG[function_arn]``: keys merged into the function configuration (``LoggingConfig``).
* ``ROUTE_STATES[(route_table_id, destination_cidr)] = "blackhole"``.
* ``BACKUP_JOBS["backup"|"copy"]``: the jobs AWS Backup's ``ListBackupJobs`` and ``ListCopyJobs`` answer (moto has
  neither API: two routes and two handlers are added to its Backup service, so the suite reaches them through the same
  moto endpoint, reader, read-only gate and error handling as every other read; a second server behind
  ``AWS_ENDPOINT_URL_BACKUP`` would have had to serve the plans too, and its state would live outside the snapshot).

One patch makes moto read a filter pattern as AWS does: ``?"a" ?"b"`` (any of these quoted terms, the form the suite
reads a log group with, ``aws/log_counts.Scan``) matches the events holding any term; moto's own parser matches every
event for it (moto-and-tooling-notes section 6), which the suite's re-check would survive but a sandbox should not
need.

Four more patches only make moto faster: a memo of botocore's region lists, one shared model loader, a memo of the
server's backend for a request's host, and ``GetMetricData`` answered query by query over only the datapoints of the
query's metric name (moto scans every datapoint of the window for every minute of every query: seconds for one request
over the sandbox's histories); their answers are moto's own (``tests_unit/sandbox/test_moto_patches.py`` compares
them on the seeded account).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import defaultdict
from typing import Any

import botocore.session

ACM_OVERRIDES: dict[str, dict[str, Any]] = {}
TARGET_HEALTH: dict[tuple[str, str], tuple[str, str, str]] = {}
LAMBDA_CONFIG: dict[str, dict[str, Any]] = {}
ROUTE_STATES: dict[tuple[str, str], str] = {}
BACKUP_JOBS: dict[str, list[dict[str, Any]]] = {}  # "backup" / "copy" -> jobs (datetimes), heartbeat-aws-backup

_ORIGINALS: dict[str, Any] = {}


def clear_registries() -> None:
    """Forget every injected override (the patches then behave like plain moto)."""
    for registry in (ACM_OVERRIDES, TARGET_HEALTH, LAMBDA_CONFIG, ROUTE_STATES, BACKUP_JOBS):
        registry.clear()


def _acm_describe(self):  # CertBundle.describe
    result = _ORIGINALS["acm_describe"](self)
    override = ACM_OVERRIDES.get(self.arn)
    if override:
        cert = result["Certificate"]
        for key in override.get("_drop", ()):
            cert.pop(key, None)
        cert.update({k: v for k, v in override.items() if not k.startswith("_")})
    return result


def _elbv2_health_for(self, target, ec2_backend):  # FakeTargetGroup.health_for
    status = _ORIGINALS["elbv2_health_for"](self, target, ec2_backend)
    fault = TARGET_HEALTH.get((self.arn, target["Id"]))
    if fault:
        status.status, status.reason, status.description = fault
    return status


def _lambda_get_configuration(self, *args, **kwargs):  # LambdaFunction.get_configuration
    config = _ORIGINALS["lambda_get_configuration"](self, *args, **kwargs)
    extra = LAMBDA_CONFIG.get(self.function_arn)
    if extra:
        config.update(extra)
    return config


def _route_state(self):  # Route.state
    return ROUTE_STATES.get((self.route_table.id, self.destination_cidr_block)) or _ORIGINALS["route_state"].fget(self)


_REGIONS: dict = {}
_REGIONS_LOCK = threading.Lock()


def _get_available_regions(self, service_name, partition_name="aws", allow_non_regional=False):
    # botocore.session.Session.get_available_regions, answered by one session and remembered: moto asks a new
    # Session for every service's regions in every partition, and each new Session loads the service's whole
    # model again to answer (0.2 s for ec2): most of a cold start. The answer is fixed by the installed botocore.
    key = (service_name, partition_name, allow_non_regional)
    with _REGIONS_LOCK:
        if key not in _REGIONS:
            _REGIONS[key] = _ORIGINALS["get_available_regions"](_region_session(), *key)
        return list(_REGIONS[key])


_BACKENDS: dict[str | None, Any] = {}


def _get_backend_for_host(self, host):  # moto.moto_server.werkzeug_app.DomainDispatcherApplication's
    # moto's server asks this for every request, under the lock every request takes: it lists moto's package folder
    # and stats each of its 200 entries, then tries each service's URL patterns in turn. Half of what the server spent
    # answering a live run, and its requests queued behind it. The answer is fixed by the host and the installed moto.
    if host not in _BACKENDS:
        _BACKENDS[host] = _ORIGINALS["get_backend_for_host"](self, host)  # the caller holds the dispatcher's lock
    return _BACKENDS[host]


_NARROWED = threading.local()  # .metrics: the datapoints this thread's GetMetricData query may see


def _get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):  # CloudWatchBackend's
    # moto matches a MetricStat query by name and namespace, or by name and dimensions: never a datapoint of another
    # name. So each query is answered by moto's own code over only its name's datapoints (get_all_metrics narrowed in
    # this thread only: moto serves requests in threads). Metric math needs every query's result at once.
    original = _ORIGINALS["get_metric_data"]
    if not queries or any("MetricStat" not in q for q in queries):
        return original(self, queries, start_time, end_time, scan_by)
    by_name = defaultdict(list)
    for datum in self.get_all_metrics():
        by_name[datum.name].append(datum)
    answers = []
    try:
        for query in queries:
            _NARROWED.metrics = by_name[query["MetricStat"]["Metric"]["MetricName"]]
            answers += original(self, [query], start_time, end_time, scan_by)
    finally:
        _NARROWED.metrics = None
    return answers


def _get_all_metrics(self):  # CloudWatchBackend's
    narrowed = getattr(_NARROWED, "metrics", None)
    return list(narrowed) if narrowed is not None else _ORIGINALS["get_all_metrics"](self)


_ANY_TERM = re.compile(r'\?"([^"]+)"')
_ANY_TERMS = re.compile(r'\s*(\?"[^"]+"\s*)+')


class _AnyTerm:
    """``?"a" ?"b"``: an event matches when its message holds any of the terms (case-sensitive), as in AWS."""

    def __init__(self, pattern: str):
        self.terms = _ANY_TERM.findall(pattern)

    def matches(self, message: str) -> bool:
        return any(term in message for term in self.terms)


def _event_filter_init(self, pattern: str) -> None:  # moto.logs.utils.EventMessageFilter.__init__
    if pattern and _ANY_TERMS.fullmatch(pattern):
        self.filter_type = _AnyTerm(pattern)
    else:
        _ORIGINALS["event_filter_init"](self, pattern)


@functools.cache
def _region_session() -> botocore.session.Session:
    return botocore.session.Session()


def install_patches() -> None:
    """Install the moto monkeypatches (ACM describe, target health, Lambda config, route state), the region memo,
    the server's backend memo and the per-query GetMetricData; idempotent. Call it before moto builds its first backend."""
    if _ORIGINALS:
        return
    _ORIGINALS["get_available_regions"] = botocore.session.Session.get_available_regions
    botocore.session.Session.get_available_regions = _get_available_regions
    import moto.core.utils  # moto makes a new loader for each service model: share one (also the seed's)

    _ORIGINALS["create_loader"] = moto.core.utils.create_loader
    moto.core.utils.create_loader = shared_loader
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    _ORIGINALS["get_backend_for_host"] = DomainDispatcherApplication.get_backend_for_host
    DomainDispatcherApplication.get_backend_for_host = _get_backend_for_host  # type: ignore[method-assign]
    from moto.acm.models import CertBundle
    from moto.awslambda.models import LambdaFunction
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.ec2.models.route_tables import Route
    from moto.elbv2.models import FakeTargetGroup
    from moto.logs.utils import EventMessageFilter

    _ORIGINALS["event_filter_init"] = EventMessageFilter.__init__
    EventMessageFilter.__init__ = _event_filter_init  # type: ignore[method-assign]
    _ORIGINALS["get_metric_data"] = CloudWatchBackend.get_metric_data
    _ORIGINALS["get_all_metrics"] = CloudWatchBackend.get_all_metrics
    CloudWatchBackend.get_metric_data = _get_metric_data  # type: ignore[method-assign]
    CloudWatchBackend.get_all_metrics = _get_all_metrics  # type: ignore[method-assign]
    _ORIGINALS["acm_describe"] = CertBundle.describe
    _ORIGINALS["elbv2_health_for"] = FakeTargetGroup.health_for
    _ORIGINALS["lambda_get_configuration"] = LambdaFunction.get_configuration
    _ORIGINALS["route_state"] = Route.__dict__["state"]
    CertBundle.describe = _acm_describe  # type: ignore[method-assign]
    FakeTargetGroup.health_for = _elbv2_health_for  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _lambda_get_configuration  # type: ignore[method-assign]
    Route.state = property(_route_state)  # type: ignore[method-assign, assignment]
    _install_backup_jobs()
    from . import moto_lambda  # lambda:GetAccountSettings, which moto lacks (lambda-throttles step 3)

    moto_lambda.install()


def remove_patches() -> None:
    """Restore moto's own methods; idempotent."""
    if not _ORIGINALS:
        return
    from moto.acm.models import CertBundle
    from moto.awslambda.models import LambdaFunction
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.ec2.models.route_tables import Route
    from moto.elbv2.models import FakeTargetGroup
    from moto.logs.utils import EventMessageFilter

    EventMessageFilter.__init__ = _ORIGINALS.pop("event_filter_init")  # type: ignore[method-assign]
    botocore.session.Session.get_available_regions = _ORIGINALS.pop("get_available_regions")
    CloudWatchBackend.get_metric_data = _ORIGINALS.pop("get_metric_data")  # type: ignore[method-assign]
    CloudWatchBackend.get_all_metrics = _ORIGINALS.pop("get_all_metrics")  # type: ignore[method-assign]
    import moto.core.utils

    moto.core.utils.create_loader = _ORIGINALS.pop("create_loader")
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    DomainDispatcherApplication.get_backend_for_host = _ORIGINALS.pop("get_backend_for_host")  # type: ignore[method-assign]
    CertBundle.describe = _ORIGINALS.pop("acm_describe")  # type: ignore[method-assign]
    FakeTargetGroup.health_for = _ORIGINALS.pop("elbv2_health_for")  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _ORIGINALS.pop("lambda_get_configuration")  # type: ignore[method-assign]
    Route.state = _ORIGINALS.pop("route_state")  # type: ignore[method-assign]
    _ORIGINALS.clear()


_LOADER: Any = None


def shared_loader():
    """The process's one model loader, moto's (a botocore loader that also applies moto's extra error shapes and
    input defaults): moto and the seeding clients then parse each service model once, not once each."""
    global _LOADER
    if _LOADER is None:
        from moto.core.loaders import create_loader

        _LOADER = create_loader()
    return _LOADER


# --- AWS Backup jobs (heartbeat-aws-backup): ListBackupJobs and ListCopyJobs, which moto lacks -------------------


def _install_backup_jobs() -> None:
    import moto.backup.urls
    from moto.backup.responses import BackupResponse

    moto.backup.urls.url_paths.update({"{0}/backup-jobs/?$": moto.backup.urls.response.dispatch,
                                       "{0}/copy-jobs/?$": moto.backup.urls.response.dispatch})
    BackupResponse.list_backup_jobs = _list_backup_jobs  # type: ignore[attr-defined]
    BackupResponse.list_copy_jobs = _list_copy_jobs  # type: ignore[attr-defined]


def _jobs(kind: str, params: dict, vault_key: str) -> list[dict[str, Any]]:
    import datetime as dt

    after = params.get("createdAfter")
    vault = params.get(vault_key)
    out = []
    for job in BACKUP_JOBS.get(kind, []):
        if vault and job.get("BackupVaultName", job.get("SourceBackupVaultArn", "").rsplit(":", 1)[-1]) != vault:
            continue
        if after and job["CreationDate"].timestamp() < float(after if not isinstance(after, list) else after[0]):
            continue
        out.append({k: v.timestamp() if isinstance(v, dt.datetime) else v for k, v in job.items()})
    return out


def _query(response) -> dict:
    # rest-json query strings: timestamps are ISO 8601 or epoch seconds
    import datetime as dt

    out = {}
    for key, values in response.querystring.items():
        value = values[0] if isinstance(values, list) else values
        if key.startswith("created") and value and not value.replace(".", "").isdigit():
            value = str(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        out[key] = value
    return out


def _list_backup_jobs(self):
    import json

    return json.dumps({"BackupJobs": _jobs("backup", _query(self), "backupVaultName")})


def _list_copy_jobs(self):
    import json

    return json.dumps({"CopyJobs": _jobs("copy", _query(self), "")})
