"""``--alert TEXT``: from the page as it reached the person on call to the tests of its runbook path.

The mapping is data, read from cabal-infra: the Alertmanager alert names (``docker/prometheus/rules/alerts.yml``),
the blackbox targets (``docker/prometheus/prometheus.yml``), the Uptime Kuma monitor table of each era
(``docs/monitoring.md`` §10), the Healthchecks check of the certbot Lambda (§14), and the push title the
``alert_sink`` Lambda makes of them (``lambda/api/alert_sink/function.py``: ``[SEVERITY] <source>``, source
``alertmanager/<alertname>/<instance>``, ``kuma/<monitor>``, ``healthchecks/<check>``).

Accepted forms of TEXT::

    [CRITICAL] alertmanager/BlackboxProbeFailure/smtp-in.example.net:25     (the push title)
    alertmanager/BlackboxTLSCertExpiringSoonWarning/https://ntfy.example.net/v1/health   (its source)
    BlackboxTLSCertExpiringSoonCritical instance=smtp-out.example.net:465     (alert name and instance)
    BlackboxProbeFailure{instance="imap.cabal.internal:143"}
    kuma/IMAP TLS handshake          kuma/API reachable (/list)          kuma/Control-domain cert
    healthchecks/certbot-renewal

An alert resolves, in the topology in force, to a ``Path``: the probe or pipeline marker of its runbook path,
the endpoints it names, and for the critical certificate page the critical tier only. ``selects`` then keeps
exactly the tests of that path (those ``-m <marker>`` selects), restricted to the named endpoints where a test
is per endpoint. Pure: no pytest here (``fixtures/alert.py`` is the glue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import runbook_catalog as catalog
from .tomltypes import bounded, shown
from .topology import Endpoint, Topology

# Alertmanager alert name -> (what it pages about, tier). rules/alerts.yml, group blackbox (both eras).
ALERTS = {
    "BlackboxProbeFailure": ("probe", ""),
    "BlackboxTLSCertExpiringSoonWarning": ("cert", "warning"),  # < 21 days: both tiers are on the path
    "BlackboxTLSCertExpiringSoonCritical": ("cert", "critical"),  # < 7 days: the critical tier
}
# Kuma monitor name (docs/monitoring.md §10) -> (what it pages about, probe, port: 0 = the probe's endpoint).
# Resolved by probe, not by the era's target, so a renamed or not-yet-renamed monitor still finds its endpoint.
KUMA = {
    "IMAP TLS handshake": ("probe", "imap", 0),  # 763a5218: imap.<cd>:993
    "IMAP reachable (internal)": ("probe", "imap", 0),  # HEAD: imap.cabal.internal:143
    "SMTP relay (STARTTLS)": ("probe", "smtp_relay", 25),
    "Submission (STARTTLS)": ("probe", "submission", 587),
    "Submission (implicit TLS)": ("probe", "submission", 465),
    "Admin app": ("probe", "admin_app", 0),
    "API round-trip (/list)": ("probe", "api_list", 0),  # 763a5218 (seeded token)
    "API reachable (/list)": ("probe", "api_list", 0),  # HEAD (unauthenticated, 401 = up)
    "ntfy server health": ("probe", "ntfy", 0),
    "Control-domain cert": ("cert", "admin_app", 0),  # keyword monitor, expiry notifications 21/7/1 days
}
KUMA_ERAS = {
    "763a5218": ("IMAP TLS handshake", "SMTP relay (STARTTLS)", "Submission (STARTTLS)", "Submission (implicit TLS)",
                 "Admin app", "API round-trip (/list)", "ntfy server health", "Control-domain cert"),
    "HEAD": ("IMAP reachable (internal)", "SMTP relay (STARTTLS)", "Submission (STARTTLS)", "Submission (implicit TLS)",
             "Admin app", "API reachable (/list)", "ntfy server health", "Control-domain cert"),
}
# Healthchecks check (lambda/api/healthchecks_iac/config.py CHECKS) -> the marker of its runbook (certbot-renewal is
# the existing Let's Encrypt pipeline, mapped, not copied); "" = nothing in AWS to check (quarterly-review).
HEALTHCHECKS = {c: catalog.BY_CHECK[c].marker for c in catalog.BY_CHECK}
# The other alerts of alerts.yml (issue #16): alert -> its runbook's marker, from the catalog.
RUNBOOK_ALERTS = {a: r.marker for a, r in catalog.BY_ALERT.items() if a not in ALERTS}
# The labels that narrow such a page to one resource: the test id parameter (``test_<name>[<value>]``) names it.
# alert_sink keeps only ``instance``; the exporter's ``<ip>:9106`` / node_exporter's ``<ip>:9100`` names no resource.
NARROWING = ("function_name", "table_name", "service_name", "file_system_id", "tier")
# How the can't-tell line of a page naming a function or file system that is not Cabal's begins (facts/lambdas.py
# ``narrow``, facts/efs.py): the page's mistake, not AWS's silence (the diagnosis does not say "AWS answered nothing").
NOT_CABALS = "--alert names"
LAMBDA_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a function's name (not its ARN): what function_name carries
# A label's every value, where a test per one of them (``[cabal-smtp-in]``) is not on another's page: the mail tiers.
KINDS = {"tier": ("imap", "smtp-in", "smtp-out")}
# Labels whose value no test id carries: Cabal has one file system, its tests are per its name (``cabal-efs``).
NOT_IN_IDS = ("file_system_id",)
# Blackbox targets (the ``instance`` label) per era, prometheus.yml; {cd} is __CONTROL_DOMAIN__.
BLACKBOX_TARGETS = {
    "763a5218": ("https://{cd}/", "https://ntfy.{cd}/v1/health", "smtp-in.{cd}:25", "smtp-out.{cd}:587",
                 "imap.{cd}:993", "smtp-out.{cd}:465"),
    "HEAD": ("https://{cd}/", "https://ntfy.{cd}/v1/health", "smtp-in.{cd}:25", "smtp-out.{cd}:587",
             "smtp-out.{cd}:465", "imap.cabal.internal:143"),
}
# Targets the deployment has no endpoint for: Terraform makes no record at the apex (variables.tf: "never addressable").
NO_ENDPOINT = {"https://{cd}/": "the apex has no record in either zone (Terraform makes none), so the suite has no endpoint "
                                "for it"}
ERA_OF_TOPOLOGY = {"2026-05": "763a5218", "2026-08": "HEAD"}
RUNBOOK_MARKERS = {"probe": "probe_failure", "cert": "cert_expiring"}


class AlertError(ValueError):
    """An alert the suite does not know, or whose instance is not an endpoint of the topology. One line."""


class NothingToCheck(AlertError):
    """A page whose runbook has nothing in AWS to check (healthchecks/quarterly-review): one line, no run."""


@dataclass(frozen=True)
class Path:
    """What an alert pages about, in this topology: the tests carrying one of ``markers``, for ``endpoints``."""

    alert: str  # as understood, e.g. "BlackboxProbeFailure on smtp://smtp-in.example.net:25"
    markers: tuple[str, ...]
    endpoints: tuple[Endpoint, ...] = ()  # () = every endpoint of the path
    critical_only: bool = False
    narrow: tuple[str, ...] = ()  # label values naming one function, table, service or tier (``narrowed``)
    labels: tuple[tuple[str, str], ...] = ()  # the narrowing labels as (label, value), in the page's order
    note: str = ""  # what the page said that selects nothing (an exporter's instance, other labels)

    def values(self, label: str) -> tuple[str, ...]:
        """What the page names by ``label``: ``function_name`` (the fleet tests judge only those functions,
        ``lambda_functions``), ``file_system_id`` (the EFS tests check it is Cabal's, ``efs_name``)."""
        return tuple(v for k, v in self.labels if k == label)

    def describe(self) -> str:
        tier = ", critical tier" if self.critical_only else ""
        where = f" for {', '.join(e.spec for e in self.endpoints)}" if self.endpoints else ""
        only = f" narrowed to {', '.join(self.narrow)}" if self.narrow else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.alert}: the tests of -m {' or '.join(self.markers)}{where}{tier}{only}{note}"


def resolve(text: str, topology: Topology, control_domain: str = "") -> Path:
    """The runbook path of the alert ``text`` in ``topology``; ``AlertError`` when unknown or not an endpoint."""
    source = re.sub(r"^\s*\[(critical|warning|info)\]\s*", "", text, flags=re.I).strip()
    if source.startswith("kuma/"):
        return _kuma(source, topology)
    if source.startswith("healthchecks/"):
        check = source.split("/", 1)[1].strip()
        if check not in HEALTHCHECKS:
            raise AlertError(f"--alert {bounded(text, 120)}: unknown Healthchecks check {bounded(check, 120)}; {known(topology)}")
        if not HEALTHCHECKS[check]:
            raise NothingToCheck(f"--alert healthchecks/{check}: nothing in AWS to check: every step of "
                                 f"{catalog.BY_CHECK[check].file} is a person's review (dashboards, silences, the "
                                 "on-call number); do the review, then ping the check")
        return Path(f"healthchecks/{check}", (HEALTHCHECKS[check],))
    lead = re.match(r"(?:alertmanager/)?(\w+)", source)
    if lead and lead.group(1) in RUNBOOK_ALERTS:
        return _runbook_alert(lead.group(1), source[lead.end():], text)
    if source.startswith("alertmanager/"):
        name, _, instance = source.removeprefix("alertmanager/").partition("/")
    else:
        m = re.fullmatch(r'(\w+)\s*(?:\{\s*instance\s*=\s*"([^"]*)"\s*\}|instance\s*=\s*"?([^"\s]*)"?)?', source)
        if not m:
            raise AlertError(f"--alert {bounded(text, 120)}: not an alert form the suite knows; {known(topology)}")
        name, instance = m.group(1), m.group(2) or m.group(3) or ""
    if name not in ALERTS:
        raise AlertError(f"--alert {bounded(text, 120)}: unknown alert {bounded(name, 120)}; {known(topology)}")
    kind, tier = ALERTS[name]
    critical_only = tier == "critical"
    if not instance:  # the whole runbook
        return Path(name, (RUNBOOK_MARKERS[kind],), critical_only=critical_only)
    eps = endpoints_at(topology, instance)
    if not eps:
        why = next((v for k, v in NO_ENDPOINT.items() if instance.strip().lower() == k.format(cd=control_domain)), "")
        raise AlertError(f"--alert {bounded(text, 120)}: {shown(instance, 120)} is not an endpoint of topology {topology.name}"
                         f"{' (' + why + ')' if why else ''}; endpoints: {instances(topology)}")
    return _path(f"{name} on {instance.strip()}", kind, eps, critical_only, text, topology)


_PAIR = r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,{}"=]+))'


def _runbook_alert(name: str, rest: str, text: str) -> Path:
    """An alert of issue #16's runbooks, bare (``alertmanager/LambdaErrors``), with the instance alert_sink keeps
    (``alertmanager/EFSBurstCreditsLow/10.0.1.5:9106``: the exporter, ignored) or with labels
    (``LambdaErrors{function_name="list"}``, ``DynamoDBThrottling table_name=cabal-addresses``)."""
    rest = rest.strip()
    labels: dict[str, str] = {}
    if rest.startswith("/"):  # alertmanager/<alert>/<instance>
        labels["instance"] = rest[1:].strip()
    elif rest:
        body = rest[1:-1] if rest.startswith("{") and rest.endswith("}") else rest
        pairs = list(re.finditer(_PAIR, body))
        if re.sub(_PAIR, "", body).strip(" \t,") or not pairs:  # what is left between the pairs: separators only
            raise AlertError(f"--alert {bounded(text, 120)}: labels are label=value or {{label=\"value\", ...}}; "
                             f"{name} narrows by {_narrows(name)}")
        labels = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in pairs}
    if any(not (k + v).isprintable() or len(v) > 200 for k, v in labels.items()):
        raise AlertError(f"--alert {bounded(text, 120)}: a label value is not printable text of at most 200 characters")
    by = tuple((k, v.strip()) for k, v in labels.items() if k in _narrowing(name) and v.strip())
    narrow = tuple(dict.fromkeys(v for _, v in by))
    bad = [v for k, v in by if k == "function_name" and not LAMBDA_NAME.fullmatch(v)]
    if bad:
        raise AlertError(f"--alert {bounded(text, 120)}: function_name={shown(bad[0], 80)} is not a Lambda function "
                         "name (letters, digits, - and _, at most 64)")
    ignored = [f"{k}={v}" for k, v in labels.items() if k not in _narrowing(name)]
    note = f"{', '.join(shown(x, 60) for x in ignored)} names no resource the tests are per: ignored" if ignored else ""
    marker = RUNBOOK_ALERTS[name]
    return Path(name + (f" ({', '.join(f'{k}={v}' for k, v in labels.items() if k in _narrowing(name))})"
                        if narrow else ""), (marker,), narrow=narrow, labels=by, note=note)


def page_values(text: str, topology: Topology, control_domain: str, label: str) -> tuple[str, ...]:
    """What the page ``text`` names by ``label`` (``Path.values``); () when it names none or is not a page (the
    collection hook says why in one line)."""
    try:
        return resolve(text, topology, control_domain).values(label)
    except AlertError:
        return ()


def _narrowing(name: str) -> tuple[str, ...]:
    alert = next(a for a in catalog.BY_ALERT[name].alerts if a.name == name)
    return tuple(k for k in NARROWING if k in alert.summed_by) + ("tier",)


def _narrows(name: str) -> str:
    return ", ".join(_narrowing(name))


def narrowed(path: Path, items: list[tuple[str, str]]) -> set[int]:
    """Which of ``items`` (test function, parameter id) a narrowed page keeps: of each function whose parameters
    name the label's value (``test_lambda_errors_condition[list]``, ``[cabal-addresses]``, ``[imap]`` for
    ``cabal-imap``), only those; a function whose parameters name none of it is not per that resource: all of it."""
    if not path.narrow:
        return set(range(len(items)))
    hits = {i for i, (_, param) in enumerate(items) if any(_names(param, v) for v in path.narrow)}
    named = {items[i][0] for i in hits}
    other = _per_kind(path, items) - named  # per another resource of the label's kind (smtp-in's on smtp-out's page)
    return hits | {i for i, (function, _) in enumerate(items) if function not in named | other}


def _per_kind(path: Path, items: list[tuple[str, str]]) -> set[str]:
    """The test functions every parameter of which names a resource of a kind the page narrows by (``KINDS``)."""
    params: dict[str, list[str]] = {}
    for function, param in items:
        params.setdefault(function, []).append(param)
    kinds = [KINDS[k] for k, _ in path.labels if k in KINDS]
    return {f for f, ps in params.items() for values in kinds if all(any(_names(p, v) for v in values) for p in ps)}


def unmatched(path: Path, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The page's (label, value) that name no parameter of ``items`` (test function, parameter id): a table,
    service or tier this run has no test for (a typo, a neighbour's), said in one line, never a silent whole run."""
    return [(k, v) for k, v in path.labels if k not in NOT_IN_IDS and not any(_names(p, v) for _, p in items)]


def _names(param: str, value: str) -> bool:
    def norm(x: str) -> str:
        return x.strip().casefold().removeprefix("cabal-")
    return bool(param) and norm(value) in {norm(seg) for seg in re.split(r"[:/,\s]+|\]\[", param) if seg}


def _kuma(source: str, topology: Topology) -> Path:
    wanted = _norm(source.removeprefix("kuma/"))
    monitor = next((m for m in KUMA if _norm(m) == wanted), None)
    if monitor is None:
        raise AlertError(f"--alert {bounded(source, 120)}: unknown Kuma monitor; {known(topology)}")
    kind, probe, port = KUMA[monitor]
    eps = [e for e in topology.endpoints if e.probe == probe and port in (0, e.port)]
    if not eps:
        raise AlertError(f"--alert {bounded(source, 120)}: topology {topology.name} has no {probe} endpoint"
                         f"{f' on port {port}' if port else ''}; endpoints: {instances(topology)}")
    return _path(f"Kuma monitor {monitor!r}", kind, eps, False, source, topology)


def _path(alert: str, kind: str, eps, critical_only: bool, text: str, topology: Topology) -> Path:
    if kind == "probe":
        return Path(alert, tuple(dict.fromkeys(e.probe for e in eps)), tuple(eps))
    eps = [e for e in eps if e.cert != "none"]
    if not eps:
        raise AlertError(f"--alert {bounded(text, 120)}: no certificate pipeline covers that endpoint in topology "
                         f"{topology.name}; "
                         f"endpoints with a certificate: {', '.join(e.spec for e in topology.endpoints if e.cert != 'none')}")
    return Path(alert, tuple(dict.fromkeys(e.cert for e in eps)), tuple(eps), critical_only)


def endpoints_at(topology: Topology, instance: str) -> list[Endpoint]:
    """The endpoints an ``instance`` label names: a URL (http prober) or ``host:port`` (the host or its public name)."""
    inst = instance.strip().lower()
    if "://" in inst:
        return [e for e in topology.endpoints if e.spec.lower() == inst]
    host, _, port = inst.rpartition(":")
    if not (port.isascii() and port.isdigit() and len(port) <= 5):
        return []
    return [e for e in topology.endpoints if e.port == int(port) and host in (e.host.lower(), e.verify_name.lower())]


def selects(path: Path, markers, scope) -> bool:
    """Does the alert's path include a test with these marker names and this ``scope`` (``scope_of``)?"""
    if not set(path.markers) & set(markers) or (path.critical_only and "warning" in markers):
        return False
    if scope is None or not path.endpoints:
        return True
    kind, value = scope
    return value in {"endpoint": [e.spec for e in path.endpoints], "host": [e.host for e in path.endpoints],
                     "target_group": [e.target_group for e in path.endpoints],
                     "front": [e.front for e in path.endpoints]}[kind]


def scope_of(params: dict):
    """What a parametrized test is per (``("endpoint", spec)``, ``("host", h)``, ``("target_group", key)``,
    ``("front", front)``), or None when it is for the whole path (a cluster, a certificate, a Lambda)."""
    for value in params.values():
        if isinstance(value, Endpoint):
            return ("endpoint", value.spec)
        if isinstance(value, tuple) and value and isinstance(value[0], Endpoint):  # dns_case: (endpoint, zone)
            return ("host", value[0].host)
    if "tg_key" in params:
        return ("target_group", params["tg_key"])
    if "acm_consumer" in params:  # (front, port) of a listener, ("cloudfront", alias) of a distribution
        front, where = params["acm_consumer"]
        return ("host", where) if front == "cloudfront" else ("front", front)
    return None


def instances(topology: Topology) -> str:
    return ", ".join(dict.fromkeys(_instance(e) for e in topology.endpoints))


def _instance(e: Endpoint) -> str:
    return e.spec if e.scheme == "https" else f"{e.host}:{e.port}"


def known(topology: Topology) -> str:
    return (f"known: alertmanager/{{{','.join(ALERTS)}}}/<instance> (or '<alert> instance=<instance>'), "
            f"instances in topology {topology.name}: {instances(topology)}; "
            f"alertmanager/{{{','.join(RUNBOOK_ALERTS)}}} (or '<alert> {'|'.join(NARROWING)}=<value>'); "
            f"kuma/{{{'; '.join(KUMA)}}}; healthchecks/{{{', '.join(HEALTHCHECKS)}}}")


def _norm(name: str) -> str:
    return " ".join(name.replace("`", "").split()).casefold()

