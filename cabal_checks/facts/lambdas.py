"""Facts of the Lambda runbooks (lambda-5xx-spike, lambda-throttles, lambda-errors): Cabal's functions, their
metrics in one GetMetricData request, reserved concurrency, the account's limit, the error lines.

Which functions are Cabal's: ``ListFunctions`` less the ``aws-*`` ones (the rules' own ``function_name!~"aws-.+"``),
kept only where the function's log group (``LoggingConfig.LogGroup``) is where cabal-infra's Terraform puts it:
``/cabal/lambda/<name>`` (the app module, and alert_sink/backup_heartbeat with the monitoring module), the certbot
function's ``certbot_log_group``, ``/aws/lambda/<name>`` for the three user-pool triggers. A neighbour's functions
in the same account (a staging stack: other names, other groups) are listed as left out, never judged.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ..alerts import NOT_CABALS
from ..aws import apigateway, lambdas, log_counts, logs
from ..aws.cloudwatch import Metric, metric_data, whole_minute
from ..aws.reader import NotFound
from ..config import history_now
from ..context import Context
from ..gather import concurrently
from ..lambda_shapes import ApiSources, ErrorLines, Function, LambdaFleet
from ..verdict import CantTell

USER_POOL_FUNCTIONS = ("assign_osid", "check_invite", "require_admin_mfa")
DELAY = timedelta(minutes=2)  # AWS/Lambda and AWS/ApiGateway points arrive a minute or two late
SPAN = timedelta(minutes=65)  # the longest look back: lambda-throttles step 1's hour of Invocations, plus the 5 min
ERROR_WORDS = ("ERROR", "Exception", "Traceback")
ERROR_LOOKBACK = timedelta(minutes=30)  # lambda-errors step 1: the last 30 min of the function's log
SOURCE_LOOKBACK = timedelta(hours=1)  # lambda-throttles escalation 2: the last hour of the API's access log
ACCESS_WORD = "extendedRequestId"  # in every access-log line of cabal-infra's format, in no execution-log line


def evaluation_instant(now: datetime) -> datetime:
    """The last minute CloudWatch has whole: ``now`` floored to the minute, less ``DELAY``."""
    return whole_minute(now) - DELAY


def is_ours(fn: dict, certbot: tuple[str, str]) -> str:
    """"" when the function is Cabal's, else why it is not judged."""
    name = fn.get("FunctionName", "")
    group = (fn.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
    if name.startswith("aws-"):
        return "aws-* (the rules exclude them)"
    if group == f"/cabal/lambda/{name}" or (name, group) == certbot:
        return ""
    if name in USER_POOL_FUNCTIONS and group == f"/aws/lambda/{name}":
        return ""
    return f"logs to {group}, not /cabal/lambda/{name}: not a Cabal function of this deployment"


def cabal_functions(ctx: Context) -> tuple[tuple[Function, ...], tuple[tuple[str, str], ...]]:
    """Cabal's functions, and every other function of the account with why it is not judged (``ListFunctions``)."""
    certbot = (ctx.name("certbot_function"), ctx.name("certbot_log_group"))
    ours, left_out = [], []
    for fn in sorted(lambdas.functions(ctx.aws), key=lambda f: f.get("FunctionName", "")):
        why = is_ours(fn, certbot)
        if why:
            left_out.append((fn.get("FunctionName", "?"), why))
        else:
            ours.append(Function(fn["FunctionName"], (fn.get("LoggingConfig") or {}).get("LogGroup")
                                 or f"/aws/lambda/{fn['FunctionName']}", _when(fn.get("LastModified"))))
    return tuple(ours), tuple(left_out)


def lambda_fleet(ctx: Context, only: tuple[str, ...] = ()) -> LambdaFleet:
    """Cabal's functions and, in one GetMetricData request, each one's Errors, Throttles and Invocations, the API's
    5XXError and Count and the account's ConcurrentExecutions, per minute over the last ``SPAN``; with ``only`` (the
    functions a page names, ``--alert``), those alone (``narrow``), from the same request."""
    if only:
        return narrow(lambda_fleet(ctx), only)
    ours, left_out = cabal_functions(ctx)
    at = evaluation_instant(history_now(ctx.settings))
    api = (("ApiName", ctx.name("api_name")), ("Stage", ctx.name("api_stage")))
    per_fn = {(metric, f.name): Metric("AWS/Lambda", metric, (("FunctionName", f.name),))
              for f in ours for metric in ("Errors", "Throttles", "Invocations")}
    api_5xx, api_count = Metric("AWS/ApiGateway", "5XXError", api), Metric("AWS/ApiGateway", "Count", api)
    concurrent = Metric("AWS/Lambda", "ConcurrentExecutions", (), "Maximum")
    got = metric_data(ctx.aws, [*per_fn.values(), api_5xx, api_count, concurrent], at - SPAN, at + timedelta(minutes=1))

    def of(metric: str) -> dict:
        return {name: got[m] for (kind, name), m in per_fn.items() if kind == metric}

    return LambdaFleet(ours, left_out, at, of("Errors"), of("Throttles"), of("Invocations"),
                       got[api_5xx], got[api_count], got[concurrent])


def narrow(fleet: LambdaFleet, only: tuple[str, ...]) -> LambdaFleet:
    """The fleet cut to the functions ``only`` names (a page's ``function_name``): the others are not judged, and not
    named. A name that is not one of Cabal's functions here is can't tell (one line), never a green."""
    keep = set(only)
    return replace(fleet, ours=only_these(fleet.ours, fleet.left_out, only), left_out=(), whole=len(fleet.ours),
                   errors={n: v for n, v in fleet.errors.items() if n in keep},
                   throttles={n: v for n, v in fleet.throttles.items() if n in keep},
                   invocations={n: v for n, v in fleet.invocations.items() if n in keep})


def only_these(ours: tuple[Function, ...], left_out: tuple[tuple[str, str], ...],
               only: tuple[str, ...]) -> tuple[Function, ...]:
    """The functions ``only`` names, in its order. A name that is not one of Cabal's functions here is can't tell (one
    line), never a green."""
    by_name = {f.name: f for f in ours}
    missing = [n for n in only if n not in by_name]
    if missing:
        neighbour = dict(left_out)
        why = "; ".join(f"{n}: {neighbour[n]}" if n in neighbour else f"{n}: no such function in this account"
                        for n in missing)
        raise CantTell(f"{NOT_CABALS} function {', '.join(missing)}, not one of Cabal's {len(by_name)} functions here "
                       f"({why}); Cabal's: {', '.join(sorted(by_name)) or 'none'}")
    return tuple(by_name[n] for n in only)


def lambda_concurrency(ctx: Context, only: tuple[str, ...] = ()) -> dict[str, int | None]:
    """Each Cabal function's reserved concurrency (None: it sets none), one GetFunctionConcurrency each, at once, as
    soon as the functions are listed (not after their metrics: one round trip fewer)."""
    ours, left_out = cabal_functions(ctx)
    names = [f.name for f in (only_these(ours, left_out, only) if only else ours)]
    found = concurrently(*(lambda n=n: lambdas.reserved_concurrency(ctx.aws, n) for n in names))
    return dict(zip(names, found, strict=True))


def lambda_account_limit(ctx: Context) -> int | None:
    """The account's concurrency limit; None when it cannot be read (moto has no GetAccountSettings; a policy without
    it is denied): the step that needs it is a skip, never red."""
    try:
        return lambdas.account_limit(ctx.aws)
    except (CantTell, NotFound):
        return None


def lambda_error_lines(ctx: Context, only: tuple[str, ...] = ()) -> ErrorLines:
    """For each Cabal function with Errors in the last ``ERROR_LOOKBACK`` (of those ``only`` names, if any): the
    ERROR/Exception/Traceback lines of its log group in that time (one FilterLogEvents read, the words OR-ed)."""
    fleet = lambda_fleet(ctx, only)
    since = fleet.at - ERROR_LOOKBACK
    erring = [f for f in fleet.ours if any(v > 0 for t, v in fleet.errors.get(f.name, ()) if t >= since)]
    end = fleet.at + DELAY + timedelta(minutes=1)
    found = concurrently(*(lambda f=f: logs.events_with(ctx.aws, f.log_group, ERROR_WORDS, since, end)
                           for f in erring))
    lines = {}
    for f, events in zip(erring, found, strict=True):
        lines[f.name] = (f.log_group, None if events is None else tuple(
            (datetime.fromtimestamp(e["timestamp"] / 1000, UTC), e.get("message", "").strip()) for e in events))
    return ErrorLines(int(ERROR_LOOKBACK.total_seconds() // 60), lines)


def _when(value) -> datetime | None:
    """Lambda's ``LastModified`` (``2026-08-22T10:11:12.000+0000``)."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None


def lambda_api_sources(ctx: Context, name: str, stage: str) -> ApiSources:
    """lambda-throttles escalation 2: the last hour's requests of the REST API ``name`` (``cabal_gateway``) per
    source IP, from its access log ``API-Gateway-Execution-Logs_<rest-api-id>/<stage>`` (cabal-infra modules/app/
    main.tf: the stage's ``access_log_settings`` write JSON lines with ``ip`` there). Counted page by page, bounded as
    ``log_counts.tally`` is. No such API, two of that name, or no such group: can't tell, never a green."""
    ids = apigateway.rest_api_ids(ctx.aws, name)
    if len(ids) != 1:
        raise CantTell(f"REST API {name}: {'none in this account' if not ids else 'several (' + ', '.join(ids) + ')'}"
                       f"; its access log cannot be found")
    group = f"API-Gateway-Execution-Logs_{ids[0]}/{stage}"
    end = whole_minute(history_now(ctx.settings)) + timedelta(minutes=1)
    start = end - SOURCE_LOOKBACK
    counts = log_counts.tally(ctx.aws, group, ACCESS_WORD, start, end, _source_ip)
    if counts is None:
        raise CantTell(f"no log group {group}: the stage {name}/{stage} writes no access log here")
    others = counts.pop(log_counts.OTHER, 0)
    return ApiSources(group, start, end, tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), others)


def _source_ip(message: str) -> tuple[str, ...]:
    """The ``ip`` of one access-log line (JSON); nothing for a line that is not one."""
    try:
        line = json.loads(message)
    except ValueError:
        return ()
    ip = line.get("ip") if isinstance(line, dict) else None
    return (ip,) if isinstance(ip, str) and ip else ()
