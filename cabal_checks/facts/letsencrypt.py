"""Facts of the cert-expiring runbook, the Let's Encrypt pipeline: the certbot Lambda, its schedule and
activity, the certificate it wrote to SSM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..aws import certbot, logs
from ..aws.log_counts import Scan
from ..certs import pem_facts
from ..context import Context
from ..gather import concurrently
from ..shapes import CertbotActivity, SsmCertificate

PUBLIC_CERT_PARAMS = ("ssm_cert", "ssm_chain")  # never "ssm_key": the suite does not read key material
CERTBOT_LOOKBACK = timedelta(days=95)  # longer than a Let's Encrypt certificate lives
RATE_LIMIT_WINDOW = timedelta(days=7)
CERTBOT_RUN_SPAN = timedelta(minutes=10)  # one invocation's metrics: the Lambda's timeout is 300 s
CERTBOT_FAILURE_WORDS = ("certbot exited with code", "Task timed out")
CERTBOT_RATE_LIMIT_WORDS = ("rateLimited", "429", "too many certificates")


def certbot_function(ctx: Context) -> dict | None:
    return certbot.function(ctx.aws, ctx.name("certbot_function"))


def certbot_schedule(ctx: Context) -> dict | None:
    return certbot.schedule(ctx.aws, ctx.name("certbot_schedule"), ctx.name("certbot_schedule_group"))


ACTIVITY_PARTS = ("streams", "invocations", "errors", "failures", "rate_limits", "last_run")


def certbot_activity(ctx: Context, parts: tuple[str, ...] = ACTIVITY_PARTS) -> CertbotActivity:
    """What the certbot Lambda did lately, from its real log group and its AWS/Lambda metrics: the ``parts`` a check
    judges (each asks for its own, so a read denied for another part does not blind it), and ``group``.

    ``streams``: newest log streams (None when the group does not exist); ``last_run``: ``last_start``, the newest
    ``START RequestId`` line's time (None without one), and ``last_run_errors``, that invocation's Errors, per minute
    while CloudWatch keeps minutes (15 days), then per 5 minutes or per hour (``certbot.window_of``);
    ``invocations``/``errors``: daily sums over CERTBOT_LOOKBACK; ``failures``: failure lines over the same
    window; ``rate_limits``: rate-limit lines of the last RATE_LIMIT_WINDOW.
    """
    now, group, fn = ctx.settings.now, ctx.name("certbot_log_group"), ctx.name("certbot_function")
    start = now - CERTBOT_LOOKBACK
    scan = Scan(CERTBOT_FAILURE_WORDS + CERTBOT_RATE_LIMIT_WORDS + ("START",), start, now)  # one read for the three
    asks = {  # independent: one round trip
        "streams": lambda: logs.latest_streams(ctx.aws, group),
        "invocations": lambda: certbot.metric_points(ctx.aws, fn, "Invocations", start, now),
        "errors": lambda: certbot.metric_points(ctx.aws, fn, "Errors", start, now),
        "failures": lambda: logs.events_with(ctx.aws, group, CERTBOT_FAILURE_WORDS, start, now, scan) or [],
        "rate_limits": lambda: logs.events_with(ctx.aws, group, CERTBOT_RATE_LIMIT_WORDS, now - RATE_LIMIT_WINDOW,
                                                now, scan) or [],
        "last_run": lambda: logs.events_with(ctx.aws, group, ("START",), start, now, scan)}
    out = dict(zip(parts, concurrently(*(asks[part] for part in parts)), strict=True))
    out = {part: tuple(found) if isinstance(found, list) else found for part, found in out.items()}
    if "last_run" in out:
        starts = [e for e in out.pop("last_run") or [] if e["message"].startswith("START RequestId")]
        last_start = datetime.fromtimestamp(starts[-1]["timestamp"] / 1000, UTC) if starts else None
        # the last invocation: its START line (a warm re-run shares the failed run's stream), its own Errors
        out["last_start"] = last_start
        out["last_run_errors"] = last_run_errors(ctx, fn, last_start, now, out.get("errors"))
    return CertbotActivity(group, **out)


def last_run_errors(ctx: Context, fn: str, last_start: datetime | None, now: datetime, daily) -> tuple | None:
    """The last run's own Errors points, at the finest period CloudWatch still keeps for its age (None without a
    run). When the daily Errors read beside it (``daily``) have none from the day before the run to its end, its
    minutes have none either: () without a second request, so that the log read finding the run heads no chain."""
    if last_start is None:
        return None
    if daily is not None and not any(p.get("Sum", 0) > 0 and last_start - timedelta(days=2) < p["Timestamp"]
                                     <= last_start + CERTBOT_RUN_SPAN for p in daily):
        return ()
    return tuple(certbot.metric_points(ctx.aws, fn, "Errors", *certbot.window_of(last_start, CERTBOT_RUN_SPAN, now)))


def ssm_certificate(ctx: Context, key: str) -> SsmCertificate | None:
    """The certificate (``ssm_cert``) or chain (``ssm_chain``) the certbot Lambda wrote to SSM, as facts.

    The PEM itself is dropped here; the private key parameter is never read.
    """
    if key not in PUBLIC_CERT_PARAMS:
        raise ValueError(f"ssm_certificate reads only {', '.join(PUBLIC_CERT_PARAMS)}, not {key!r}")
    name = ctx.name(key)
    param = certbot.parameter(ctx.aws, name)
    if param is None:
        return None
    try:
        certs, error = pem_facts(param.get("Value") or ""), ""
    except ValueError:
        certs, error = [], "the value is not a PEM certificate"
    return SsmCertificate(key, name, param.get("Version"), param.get("LastModifiedDate"), tuple(certs), error)

