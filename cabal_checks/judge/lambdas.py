"""The Lambda runbooks judged: lambda-5xx-spike, lambda-throttles, lambda-errors (cabal-infra
``docs/operations/runbooks/``), from the facts of ``facts/lambdas.py``. Pure functions to a ``Verdict``.

The alerts' windows, ``for`` and thresholds come from ``runbook_catalog`` (read from alerts.yml), re-evaluated by
``judge/condition.py``. Real names throughout: the REST API ``cabal_gateway`` stage ``prod``, bare function names
(``list``), their groups ``/cabal/lambda/<name>`` (the runbooks' ``cabal-*`` and ``/aws/lambda/<fn>`` are wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..lambda_shapes import ApiSources, ErrorLines, LambdaFleet, Points
from ..runbook_catalog import RUNBOOKS
from ..verdict import Verdict, green, red
from . import condition

ALERTS = {a.name: a for r in RUNBOOKS for a in r.alerts}
S5XX, STHR, SERR = "lambda-5xx-spike", "lambda-throttles", "lambda-errors"
C5XX = f"{S5XX}, condition (Lambda5xxSpike: 5XXError / Count > 5 % for 5 min)"
S5XX_1 = f"{S5XX}, step 1 (which Lambda is failing) and step 3 (one function or all)"
E5XX_1 = f"{S5XX}, escalation (recent deploy: roll back); {SERR}, step 2 (deploy or runtime)"
CTHR = f"{STHR}, condition (LambdaThrottles: rate(Throttles[5m]) > 0 for 1 min)"
STHR_1 = f"{STHR}, step 1 (load spike or configuration change: Invocations, last hour)"
STHR_2 = f"{STHR}, step 2 (the function's reserved concurrency)"
STHR_3 = f"{STHR}, step 3 (account near its concurrency limit)"
ETHR_2 = f"{STHR}, escalation (runaway client: the source IP in the API Gateway access log)"
CERR = f"{SERR}, condition (LambdaErrors: increase(Errors[15m]) > 0 for 5 min)"
SERR_1 = f"{SERR}, step 1 (what is the error: the function's log)"
WHICH_WINDOW = timedelta(minutes=15)  # lambda-5xx-spike step 1: Errors per function, last 15 min
DEPLOY_WINDOW = timedelta(hours=1)  # a change this shortly before the first error is the likely cause
LOAD_WINDOW, LOAD_FACTOR, LOAD_FLOOR = timedelta(minutes=5), 10, 100  # "10x the baseline" (lambda-throttles step 1)
# lambda-throttles escalation 2: one source IP making more than half the API's requests of the last hour and at least
# 30 a minute on average is a runaway client. The floor keeps a single operator's own busy hour green (one person
# is often all of a small deployment's traffic).
SOURCE_SHARE, SOURCE_FLOOR = 0.5, 1800
LIMIT_SHARE = 0.9  # ConcurrentExecutions at 90 % of the account limit is "near" it
LEFT_OUT_SHOWN = 3


def _since(points: Points, start: datetime, end: datetime | None = None) -> float:
    return sum(v for t, v in points if t >= start and (end is None or t < end))


def _narrowed(fleet: LambdaFleet) -> list[str]:
    """Said in every verdict of a fleet a page narrowed (``--alert function_name``): the others, unnamed."""
    if not fleet.whole:
        return []
    return [f"narrowed by --alert to {', '.join(f.name for f in fleet.ours)}: the other "
            f"{fleet.whole - len(fleet.ours)} Cabal function(s) are not judged"]


def _left_out(fleet: LambdaFleet) -> list[str]:
    if fleet.whole:  # narrowed by the page: the others are not judged, and not named
        return _narrowed(fleet)
    if not fleet.left_out:
        return []
    shown = "; ".join(f"{n}: {why}" for n, why in fleet.left_out[:LEFT_OUT_SHOWN])
    more = f" (+{len(fleet.left_out) - LEFT_OUT_SHOWN} more)" if len(fleet.left_out) > LEFT_OUT_SHOWN else ""
    return [f"not judged: {shown}{more}"]


def _judged(fleet: LambdaFleet) -> str:
    """What a green judged: the function(s) a page names, or the whole fleet."""
    if fleet.whole:
        return f"{', '.join(f.name for f in fleet.ours)} (the function(s) --alert names)"
    return f"any of {len(fleet.ours)} Cabal function(s)"


def _metric_cmd(metric: str, name: str, minutes: int) -> str:
    return (f"aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name {metric} --dimensions "
            f"Name=FunctionName,Value={name} --start-time $(date -u -d '-{minutes} min' +%FT%TZ) --end-time "
            "$(date -u +%FT%TZ) --period 60 --statistics Sum")


def _tail(group: str, minutes: int = 30) -> str:
    return f"aws logs tail {group} --since {minutes}m --filter-pattern '?ERROR ?Exception ?Traceback'"


# --- conditions --------------------------------------------------------------------------------------------------


def spike_condition(fleet: LambdaFleet, api: str, stage: str) -> Verdict:
    """Lambda5xxSpike re-evaluated: the clamped ratio of the API's 5XXError and Count rates over 10 min."""
    a = ALERTS["Lambda5xxSpike"]
    ev = condition.ratio(fleet.api_5xx, fleet.api_count, fleet.at, a.range, a.for_, a.threshold)
    erring = _erring(fleet, fleet.at - WHICH_WINDOW)
    first = erring[0][0] if erring else "<function>"
    return condition.verdict(ev, a.name, f"AWS/ApiGateway 5XXError / Count of {api} stage {stage}", C5XX, next=[
        "step 1: which Lambda: " + _metric_cmd("Errors", first, 15),
        *([f"functions with Errors in the last 15 min: {', '.join(f'{n} ({v:g})' for n, v in erring)}"]
          if erring else []),
        f"aws cloudwatch get-metric-statistics --namespace AWS/ApiGateway --metric-name 5XXError --dimensions "
        f"Name=ApiName,Value={api} Name=Stage,Value={stage} --start-time $(date -u -d '-30 min' +%FT%TZ) "
        "--end-time $(date -u +%FT%TZ) --period 60 --statistics Sum"])


def _per_function(fleet: LambdaFleet, rule: str, series: dict[str, Points], evaluate: Callable, what: str,
                  step: str, next_of: Callable[[str], list[str]]) -> Verdict:
    evals = {f.name: evaluate(series.get(f.name, ())) for f in fleet.ours}
    firing = [n for n, ev in evals.items() if ev.breached]
    if not firing:
        worst = max(evals.items(), key=lambda kv: kv[1].worst[1] if kv[1].worst else -1, default=None)
        evidence = [worst[1].evidence(f"{what} of {worst[0]}")] if worst else ["no Cabal function in the account"]
        return green(f"{rule} would not fire for {_judged(fleet)}", *evidence, *_left_out(fleet), step=step)
    return red(f"{rule} would be firing for {', '.join(firing)}: {what} {evals[firing[0]].op} "
               f"{evals[firing[0]].threshold:g} ({evals[firing[0]].over}) at every point of the last "
               f"{int(evals[firing[0]].for_.total_seconds() // 60)} min",
               *(evals[n].evidence(f"{what} of {n}") for n in firing), *_left_out(fleet), step=step,
               next=next_of(firing[0]), facts=(("functions", ",".join(firing)),))


def throttles_condition(fleet: LambdaFleet) -> Verdict:
    a = ALERTS["LambdaThrottles"]
    return _per_function(
        fleet, a.name, fleet.throttles,
        lambda pts: condition.rate(pts, fleet.at, a.range, a.for_, a.op, a.threshold), "AWS/Lambda Throttles",
        CTHR, lambda n: ["step 1: load or configuration: " + _metric_cmd("Invocations", n, 60),
                         f"step 2: aws lambda get-function-concurrency --function-name {n}",
                         "step 3: aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions"])


def errors_condition(fleet: LambdaFleet) -> Verdict:
    a = ALERTS["LambdaErrors"]
    by_name = {f.name: f for f in fleet.ours}
    return _per_function(
        fleet, a.name, fleet.errors,
        lambda pts: condition.increase(pts, fleet.at, a.range, a.for_, a.op, a.threshold), "AWS/Lambda Errors",
        CERR, lambda n: ["step 1: " + _tail(by_name[n].log_group),
                         f"step 2: aws lambda get-function-configuration --function-name {n} --query LastModified"])


# --- steps -------------------------------------------------------------------------------------------------------


def _erring(fleet: LambdaFleet, since: datetime) -> list[tuple[str, float]]:
    """(function, Errors since ``since``), most first."""
    found = [(f.name, _since(fleet.errors.get(f.name, ()), since)) for f in fleet.ours]
    return sorted(((n, v) for n, v in found if v > 0), key=lambda nv: (-nv[1], nv[0]))


def failing_functions(fleet: LambdaFleet) -> Verdict:
    """Step 1 (Errors per function, last 15 min) and step 3 (one function or all) of lambda-5xx-spike. Unlike the
    condition, a quiet API's failures show here (the rule's clamp needs 30 5xx in 10 min)."""
    erring = _erring(fleet, fleet.at - WHICH_WINDOW)
    if not erring:
        return green(f"no Cabal function has Errors in the last 15 min ({len(fleet.ours)} read)"
                     if not fleet.whole else f"no Errors in the last 15 min for {_judged(fleet)}", *_left_out(fleet),
                     step=S5XX_1)
    names = [n for n, _ in erring]
    if len(erring) == 1:
        scope = f"one function ({names[0]}): that function's own change or dependency"
    else:
        scope = (f"{len(erring)} of {len(fleet.ours)} functions: environment-wide (the authorizer, the shared "
                 "helper.py layer, DynamoDB: see dynamodb-throttling)")
    group = fleet.function(names[0]).log_group
    return red(f"Lambda errors in the last 15 min: {scope}",
               *(f"{n}: {v:g} Errors (AWS/Lambda Errors Sum)" for n, v in erring[:10]), *_left_out(fleet),
               step=S5XX_1, next=[_tail(group, 15), _metric_cmd("Errors", names[0], 15)],
               facts=(("functions", ",".join(names)),))


def error_text(fleet: LambdaFleet, found: ErrorLines) -> Verdict:
    """lambda-errors step 1 (lambda-5xx-spike step 2): the error in each erring function's own log group."""
    if not found.lines:
        if fleet.whole:
            return green(f"no Errors in the last {found.lookback_minutes} min for {_judged(fleet)}", *_narrowed(fleet),
                         step=SERR_1)
        return green(f"no Cabal function has Errors in the last {found.lookback_minutes} min", step=SERR_1)
    evidence = []
    for name, (group, lines) in sorted(found.lines.items()):
        if lines is None:
            evidence.append(f"{name}: its log group {group} does not exist")
        elif not lines:
            evidence.append(f"{name}: no ERROR/Exception/Traceback line in {group} (a timeout or an out-of-memory "
                            "end logs neither: look for 'Task timed out')")
        else:
            when, text = lines[-1]
            rows = [r.strip() for r in text.splitlines() if r.strip()] or [""]
            shown = rows[0] if len(rows) == 1 else f"{rows[-1]} (the last line of a {len(rows)}-line event)"
            evidence.append(f"{name}: {len(lines)} error line(s) in {group}, the last at {when:%H:%M:%S} UTC: "
                            f"{shown[:200]}")
    first = sorted(found.lines)[0]
    return red(f"{', '.join(sorted(found.lines))} erring in the last {found.lookback_minutes} min: the error, from "
               "each function's log group", *evidence, *_narrowed(fleet), step=SERR_1,
               next=[_tail(found.lines[first][0], found.lookback_minutes),
                     f"aws lambda get-function-configuration --function-name {first} --query LastModified"],
               facts=(("functions", ",".join(sorted(found.lines))),))


def not_after_deploy(fleet: LambdaFleet) -> Verdict:
    """The erring functions' ``LastModified`` against their first error minute: a change within ``DEPLOY_WINDOW``
    before it is the deploy the runbooks roll back (red); older code is a runtime cause (green: no rollback)."""
    since = fleet.at - WHICH_WINDOW - timedelta(minutes=15)
    deploys, runtime = [], []
    for name, _ in _erring(fleet, since):
        fn = fleet.function(name)
        first = min(t for t, v in fleet.errors[name] if v > 0 and t >= since)
        if fn.last_modified and first - DEPLOY_WINDOW <= fn.last_modified <= first + timedelta(minutes=1):
            deploys.append(f"{name}: last modified {fn.last_modified:%Y-%m-%d %H:%M} UTC, first error at "
                           f"{first:%H:%M} UTC")
        else:
            seen = f"{fn.last_modified:%Y-%m-%d %H:%M} UTC" if fn.last_modified else "unknown"
            runtime.append(f"{name}: last modified {seen}, first error at {first:%H:%M} UTC: runtime, not a deploy")
    if not deploys:
        return green("no erring function was changed within 1 h before its first error", *runtime,
                     *_narrowed(fleet), step=E5XX_1)
    name = deploys[0].split(":", 1)[0]
    return red(f"a deploy preceded the errors: {', '.join(d.split(':', 1)[0] for d in deploys)} changed within 1 h "
               "before the first error", *deploys, *runtime, *_narrowed(fleet), step=E5XX_1,
               next=[f"aws lambda list-versions-by-function --function-name {name} --query 'Versions[-3:]."
                     "{v:Version,modified:LastModified,sha:CodeSha256}'",
                     "roll back: re-run the previous app.yml deploy (GitHub Actions)  # printed, never run"])


def no_load_spike(fleet: LambdaFleet) -> Verdict:
    """lambda-throttles step 1: Invocations of the last 5 min against the hour before (per 5 min): ten times it
    (and at least ``LOAD_FLOOR``) is a load spike, not a configuration change."""
    recent_start = fleet.at - LOAD_WINDOW
    base_start = fleet.at - timedelta(hours=1)
    spikes = []
    for f in fleet.ours:
        pts = fleet.invocations.get(f.name, ())
        recent = _since(pts, recent_start, fleet.at)
        baseline = _since(pts, base_start, recent_start) / 11  # per 5 min over the 55 min before
        if recent >= LOAD_FLOOR and recent > LOAD_FACTOR * baseline:
            spikes.append((f.name, recent, baseline))
    if not spikes:
        return green(f"no Cabal function has 10x its hour's invocation rate in the last 5 min ({len(fleet.ours)} "
                     "read)" if not fleet.whole else f"no load spike in the last 5 min for {_judged(fleet)}",
                     *_narrowed(fleet), step=STHR_1)
    name = spikes[0][0]
    return red(f"load spike on {', '.join(n for n, _, _ in spikes)}: invocations at 10x the hour's baseline or more",
               *(f"{n}: {r:g} invocations in the last 5 min, baseline {b:.1f} per 5 min" for n, r, b in spikes),
               *_narrowed(fleet), step=STHR_1, next=[_metric_cmd("Invocations", name, 60),
                                  "a runaway client: the API's access log, API-Gateway-Execution-Logs_<rest-api-id>"
                                  "/prod, per source IP (test_lambda_throttles_no_runaway_client; escalation: a WAF "
                                  "rate rule, printed, never applied)"],
               facts=(("functions", ",".join(n for n, _, _ in spikes)),))


def no_reserved_concurrency(reserved: dict[str, int | None]) -> Verdict:
    """lambda-throttles step 2: no Cabal function sets reserved concurrency in Terraform, so any value is a change
    made by hand (0 throttles every call)."""
    set_ = {n: v for n, v in reserved.items() if v is not None}
    if not set_:
        return green(f"no Cabal function has reserved concurrency ({len(reserved)} read)", step=STHR_2)
    name = sorted(set_)[0]
    return red(f"reserved concurrency set on {', '.join(sorted(set_))}: cabal-infra sets none, so it was set by hand",
               *(f"{n}: ReservedConcurrentExecutions {v}" + (" (every call is throttled)" if v == 0 else "")
                 for n, v in sorted(set_.items())), step=STHR_2,
               next=[f"aws lambda get-function-concurrency --function-name {name}",
                     f"aws lambda delete-function-concurrency --function-name {name}  # printed, never run"],
               facts=(("functions", ",".join(sorted(set_))),))


def below_account_limit(fleet: LambdaFleet, limit: int) -> Verdict:
    """lambda-throttles step 3: ConcurrentExecutions (Maximum, account-wide) over the last hour against the
    account's limit."""
    peak = max((v for t, v in fleet.concurrent if t >= fleet.at - timedelta(hours=1)), default=0.0)
    seen = f"ConcurrentExecutions peak {peak:g} in the last hour, account limit {limit}"
    if peak < LIMIT_SHARE * limit:
        return green(f"account concurrency well below its limit: {seen}", step=STHR_3)
    return red(f"the account is near its Lambda concurrency limit: {seen} (>= {LIMIT_SHARE:.0%})", seen, step=STHR_3,
               next=["aws lambda get-account-settings --query AccountLimit",
                     "aws service-quotas get-service-quota --service-code lambda --quota-code L-B99A9384",
                     "request a quota increase (AWS Support)  # printed, never run"])


def no_runaway_client(sources: ApiSources) -> Verdict:
    """lambda-throttles escalation 2: no one source IP dominates the last hour of the API's access log (more than
    ``SOURCE_SHARE`` of the requests, at least ``SOURCE_FLOOR``). cabal-infra's access-log format logs the IP
    (``$context.identity.sourceIp``) but not the Cognito user (its ``user`` is the IAM user, empty here): the source
    is named by IP."""
    total = sources.total
    seen = f"{total} request(s) in {sources.group}, last {sources.minutes} min"
    top = list(sources.by_ip)
    shown = [f"{ip}: {n} request(s) ({n / total:.0%})" for ip, n in top[:3]]
    if not top or top[0][1] < SOURCE_FLOOR or top[0][1] <= SOURCE_SHARE * total:
        return green(f"no single source made more than half the API's requests and {SOURCE_FLOOR} or more ({seen})",
                     *shown, step=ETHR_2)
    ip, n = top[0]
    start = int(sources.start.timestamp() * 1000)
    return red(f"runaway client {ip}: {n} of the API's {total} requests in the last {sources.minutes} min "
               f"({n / total:.0%})", *shown, seen,
               "the access log names the source IP only: its format logs no Cognito user (its user field is the IAM "
               "user, empty behind the Cognito authorizer)", step=ETHR_2,
               next=[f"aws logs filter-log-events --log-group-name {sources.group} --filter-pattern '\"{ip}\"' "
                     f"--start-time {start} --max-items 50",
                     f"a WAF rate-based rule for {ip} on the admin CloudFront distribution (escalation: printed, "
                     "never applied)"],
               facts=(("source_ip", ip),))
