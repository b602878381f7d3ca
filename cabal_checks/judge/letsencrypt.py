"""Cert-expiring runbook, the Let's Encrypt pipeline: certbot Lambda, its schedule and runs, SSM, the tasks.

Real places by default (cabal-infra-facts section 0): the function logs to /cabal/lambda/certbot-renewal
(not the runbook's /aws/lambda/...), runs on an EventBridge Scheduler schedule at rate(60 days) (not
daily), and writes /cabal/control_domain_ssl_cert, _ssl_key, _chain_cert (not /cabal/letsencrypt/*).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..names import RUNBOOK_SAYS
from ..shapes import CertbotActivity, SsmCertificate, Zone
from ..topology import Endpoint
from ..verdict import NotApplicable, Verdict, green, red
from .acm import caa_allows
from .cert_wire import ALERTS, CRITICAL_DAYS, Served

STEP1 = "cert-expiring, Let's Encrypt step 1 (when did cabal-certbot-renewal last run)"
STEP1_CAA = "cert-expiring, Let's Encrypt step 1 (CAA allows letsencrypt.org)"
STEP2_SSM = "cert-expiring, Let's Encrypt step 2 (certificate in SSM)"
STEP2 = "cert-expiring, Let's Encrypt step 2 (SSM updated, task not redeployed)"
STEP3 = "cert-expiring, Let's Encrypt step 3 (rate limits)"
ESC = "cert-expiring, escalation"
LE_ISSUERS = ("letsencrypt.org",)
DEFAULT_PERIOD = timedelta(days=60)  # the Terraform schedule's rate(60 days)
GRACE = timedelta(hours=24)  # the certbot-renewal heartbeat's grace
RATE_LIMITED = re.compile(r"rateLimited|too many certificates|\b429\b")
RATE = re.compile(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)")
UNITS = {"minute": "minutes", "hour": "hours", "day": "days"}


def _ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _line(e: dict) -> str:
    return f"{_ms(e['timestamp']):%Y-%m-%d %H:%M}Z {e.get('logStreamName', '')}: {e['message'].strip()[:200]}"


def tail_cmd(names: dict, since: str = "7d") -> str:
    return (f"aws logs tail {names['certbot_log_group']} --since {since}  # not the runbook's "
            f"{RUNBOOK_SAYS['certbot_log_group']}")


def schedule_cmd(names: dict) -> str:
    return f"aws scheduler get-schedule --name {names['certbot_schedule']} --group-name {names['certbot_schedule_group']}"


def invoke_cmd(names: dict) -> str:
    return (f"aws lambda invoke --function-name {names['certbot_function']} /tmp/out.json && cat /tmp/out.json"
            "  # a cold start always issues a new certificate: mind the rate limits")


def caa_allows_letsencrypt(zone: Zone | None, domain: str) -> Verdict:
    return caa_allows(zone, domain, LE_ISSUERS, "Let's Encrypt (certbot)", STEP1_CAA)


# --- step 1: the Lambda and its runs ---------------------------------------------------------------


def function_exists(fn: dict | None, names: dict) -> Verdict:
    """The certbot Lambda exists (and is not in a Failed state)."""
    name = names["certbot_function"]
    if fn is None or fn.get("State") == "Failed":
        what = "not found" if fn is None else f"in state Failed: {fn.get('StateReason', '')}"
        return red(f"Lambda {name} {what}: nothing renews the Let's Encrypt certificate", step=STEP1,
                   next=[f"aws lambda get-function --function-name {name}",
                         "re-apply the infra stack (terraform apply) to restore it"])
    group = (fn.get("LoggingConfig") or {}).get("LogGroup")
    seen = [(f"{fn.get('PackageType', '?')} {fn.get('Architectures', [''])[0]}, timeout {fn.get('Timeout')} s, "
             f"state {fn.get('State', '?')}, last modified {fn.get('LastModified', '?')}")]
    if group and group != names["certbot_log_group"]:
        seen.append(f"it logs to {group}, not to the configured {names['certbot_log_group']}: set [names] "
                    "certbot_log_group so the run checks read the right group")
    return green(f"Lambda {name} exists", *seen, step=STEP1)


def schedule_enabled(sched: dict | None, names: dict) -> Verdict:
    """The EventBridge Scheduler schedule exists, is ENABLED, and targets the function."""
    name, group, fn = names["certbot_schedule"], names["certbot_schedule_group"], names["certbot_function"]
    look = schedule_cmd(names)
    if sched is None:
        return red(f"schedule {name} (group {group}) not found: the certbot Lambda never runs by itself",
                   "it is an EventBridge Scheduler schedule, not a CloudWatch Events rule", step=STEP1,
                   next=[f"aws scheduler list-schedules --name-prefix {name}",
                         "re-apply the infra stack (terraform apply) to restore it"])
    state, expr = sched.get("State"), sched.get("ScheduleExpression", "?")
    target = (sched.get("Target") or {}).get("Arn", "")
    seen = [f"{expr}, state {state}, target {target or 'none'}"]
    if state != "ENABLED":
        return red(f"schedule {name} is {state}: the certbot Lambda never runs by itself", *seen, step=STEP1,
                   next=[look, "re-apply the infra stack (terraform apply), which creates it ENABLED"])
    if target and not re.search(rf":function:{re.escape(fn)}(:|$)", target):
        return red(f"schedule {name} targets {target}, not the function {fn}", *seen, step=STEP1,
                   next=[look, "re-apply the infra stack (terraform apply)"])
    return green(f"schedule {name} is ENABLED", *seen, step=STEP1)


def period_of(expression: str) -> timedelta | None:
    """``rate(60 days)`` -> 60 days; None for cron() and anything else."""
    m = RATE.fullmatch((expression or "").strip())
    if not m:
        return None
    unit = m.group(2) if m.group(2).endswith("s") else UNITS[m.group(2)]
    return timedelta(**{unit: int(m.group(1))})


def last_run(activity: CertbotActivity) -> datetime | None:
    """The newest sign of a run: the newest log event, or the newest day with Invocations."""
    times = [_ms(s["lastEventTimestamp"]) for s in activity.streams or [] if s.get("lastEventTimestamp")]
    times += [p["Timestamp"].astimezone(UTC) for p in activity.invocations if p.get("Sum", 0) > 0]
    return max(times) if times else None


def ran_within_period(sched: dict | None, activity: CertbotActivity, now: datetime, names: dict,
                      read_at: datetime | None = None) -> Verdict:
    """The Lambda ran within one schedule period plus the heartbeat's 24 h grace.

    ``read_at``: when the logs were read. A ``now`` after it (``--now +85d``) is judged at ``read_at``: the logs cannot
    show the runs the schedule makes between the two, and a run not seen yet is not a run missed."""
    fn, group = names["certbot_function"], activity.group
    expr = (sched or {}).get("ScheduleExpression", "")
    period = period_of(expr)
    how = f"schedule {expr}" if period else (f"schedule {expr or 'not found'} not a rate(): assumed {DEFAULT_PERIOD.days} days")
    limit = (period or DEFAULT_PERIOD) + GRACE
    seen = [how, f"log group {group}: " + ("does not exist" if activity.streams is None else
                                           f"{len(activity.streams)} recent stream(s)")]
    when = last_run(activity)
    next_ = [tail_cmd(names, "60d"), schedule_cmd(names), invoke_cmd(names)]
    if when is None:
        return red(f"no sign that {fn} ran lately: no log event in {group}, no Invocations metric",
                   *seen, step=STEP1, next=next_)
    at = read_at if read_at is not None and now > read_at else now
    if at < now:
        seen.append(f"--now {now:%Y-%m-%d %H:%M}Z is {(now - at).total_seconds() / 86400:.1f} days after the logs were "
                    f"read: judged at {at:%Y-%m-%d %H:%M}Z; the runs its schedule makes in between are not seen, not "
                    "missed")
    age = at - when
    if age <= limit:
        return green(f"{fn} last ran {when:%Y-%m-%d %H:%M}Z, {age.total_seconds() / 86400:.1f} days before "
                     f"{at:%Y-%m-%d %H:%M}Z (limit {limit.days} d {limit.seconds // 3600} h)", *seen, step=STEP1)
    return red(f"{fn} last ran {when:%Y-%m-%d %H:%M}Z, {age.total_seconds() / 86400:.1f} days ago: more than one "
               f"period plus {GRACE.total_seconds() / 3600:.0f} h grace", *seen, step=STEP1, next=next_)


def last_run_succeeded(activity: CertbotActivity, names: dict) -> Verdict:
    """The last run did not fail: no failure line since it started, no Errors of it.

    The last run starts at the newest ``START RequestId`` line, and its Errors are its own minutes': a failed
    attempt and the manual re-run that fixed it often share one warm stream and one day. Without a START
    line, the newest stream's first event and the Errors of its day or after."""
    fn = names["certbot_function"]
    streams = activity.streams or ()
    started = activity.last_start
    if started is None and streams and streams[0].get("firstEventTimestamp"):
        started = _ms(streams[0]["firstEventTimestamp"])
    lines = [e for e in activity.failures if started is None or _ms(e["timestamp"]) >= started]
    if activity.last_run_errors is not None:
        errors = [p for p in activity.last_run_errors if p.get("Sum", 0) > 0]
    else:
        errors = [p for p in activity.errors if p.get("Sum", 0) > 0
                  and (started is None or p["Timestamp"] + timedelta(days=1) > started)]
    since = f"since its last run started {started:%Y-%m-%d %H:%M}Z" if started else "in the window read"
    if not lines and not errors:
        return green(f"{fn}: no failure {since} (no 'certbot exited with code', no 'Task timed out', "
                     "no Errors)", step=STEP1)
    seen = [_line(e) for e in lines[-5:]]
    seen += [f"AWS/Lambda Errors {p['Sum']:g} on {p['Timestamp'].astimezone(UTC):%Y-%m-%d}" for p in errors[-3:]]
    if any("Task timed out" in e["message"] for e in lines):
        seen.append("the Lambda hit its 300 s timeout: DNS-01 propagation for _acme-challenge is the usual cause")
    return red(f"the last run of {fn} failed", *seen, step=STEP1, next=[tail_cmd(names), invoke_cmd(names)])


def not_rate_limited(activity: CertbotActivity, now: datetime, names: dict) -> Verdict:
    """No Let's Encrypt rate limiting (rateLimited, 429, too many certificates) in the last 7 days."""
    group = activity.group
    since = now - timedelta(days=7)
    hits = [e for e in activity.rate_limits if _ms(e["timestamp"]) >= since and RATE_LIMITED.search(e["message"])]
    if not hits:
        return green(f"no rate-limit line in {group} in the 7 days before {now:%Y-%m-%d %H:%M}Z", step=STEP3)
    return red(f"Let's Encrypt rate-limited the certbot Lambda {len(hits)} time(s) in the last 7 days",
               *(_line(e) for e in hits[-5:]),
               "limits: 5 duplicate certificates per identical name set per 7 days; every cold start registers "
               "a new account and issues a new certificate", step=STEP3,
               next=[f"aws logs tail {group} --since 7d --filter-pattern rateLimited",
                     "wait until the 7-day window clears before invoking it again"])


# --- step 2: the certificate in SSM and what the tasks serve ----------------------------------------


def _ssm_absent(ssm: SsmCertificate | None, name: str) -> Verdict | None:
    if ssm is None:
        return red(f"SSM parameter {name} not found", f"the runbook's {RUNBOOK_SAYS['ssm_cert']} does not exist "
                   "either: the Lambda writes /cabal/control_domain_ssl_cert, _ssl_key and _chain_cert",
                   step=STEP2_SSM, next=[("aws ssm describe-parameters --parameter-filters "
                                          f"Key=Name,Option=BeginsWith,Values={name.rsplit('/', 1)[0]}/")])
    if ssm.error or not ssm.certs:
        return red(f"SSM parameter {name} (version {ssm.version}) does not parse: {ssm.error or 'no certificate'}",
                   "its value is not shown", step=STEP2_SSM,
                   next=[(f"aws ssm get-parameter --name {name} --query 'Parameter.{{version:Version,"
                          "modified:LastModifiedDate}'")])
    return None


def _require_ssm(ssm: SsmCertificate | None, name: str) -> SsmCertificate:
    """Checks built on the SSM certificate skip when it is missing or unreadable: that is
    test_ssm_certificate_parses' red step, not theirs to repeat. Returns it, usable."""
    if ssm is None or ssm.error or not ssm.certs:
        raise NotApplicable(f"no usable certificate in SSM {name}: see test_ssm_certificate_parses")
    return ssm


def ssm_parses(ssm: SsmCertificate | None, name: str, must_cover: list[str], names: dict) -> Verdict:
    """The SSM parameter holds PEM certificates; the leaf covers every name the endpoints verify."""
    absent = _ssm_absent(ssm, name)
    if absent:
        return absent
    ssm = _require_ssm(ssm, name)  # usable: not absent
    leaf = ssm.certs[0]
    seen = [f"version {ssm.version}, modified {ssm.modified}", *(c.short() for c in ssm.certs)]
    missing = [n for n in must_cover if not leaf.covers(n)]
    if missing:
        return red(f"the certificate in {name} does not cover {', '.join(missing)}", *seen,
                   f"it names {', '.join(leaf.names)}", step=STEP2_SSM,
                   next=[("the certbot Lambda issues *.<cd> from its CONTROL_DOMAIN environment variable: "
                          f"check it: aws lambda get-function-configuration --function-name {names['certbot_function']} "
                          "--query Environment.Variables.CONTROL_DOMAIN")])
    return green(f"{name} holds {len(ssm.certs)} certificate(s)", *seen, step=STEP2_SSM)


def ssm_days_left(ssm: SsmCertificate | None, name: str, now: datetime, tier: int, names: dict,
                  read_at: datetime | None = None) -> Verdict:
    """The certificate in SSM has at least ``tier`` days left at ``now``. With ``now`` after ``read_at`` (when SSM was
    read: ``--now +85d``) a red is a forecast: the renewals certbot's schedule makes before then are not seen yet."""
    ssm = _require_ssm(ssm, name)
    leaf = ssm.certs[0]
    days = leaf.days_left(now)
    if days >= tier:
        return green(f"{name}: {days:.1f} days left (>= {tier})", leaf.short(), step=STEP2_SSM)
    left = f"{days:.1f} days left" if days >= 0 else f"EXPIRED {-days:.1f} days ago"
    if read_at is not None and now > read_at:
        return red(f"the certificate in {name} would have {left} at {now:%Y-%m-%d %H:%M}Z (< {tier}: {ALERTS[tier]}) "
                   "unless renewed before then: a forecast; the certbot Lambda's runs until then are not seen yet",
                   leaf.short(), f"version {ssm.version}, modified {ssm.modified}; read {read_at:%Y-%m-%d %H:%M}Z",
                   step=STEP2_SSM, next=[schedule_cmd(names)])
    return red(f"the certificate in {name} has {left} (< {tier}: {ALERTS[tier]}): the certbot Lambda has not "
               "renewed it", leaf.short(), f"version {ssm.version}, modified {ssm.modified}", step=STEP2_SSM,
               next=[tail_cmd(names), schedule_cmd(names)])


def _started(task: dict) -> datetime | None:
    return task.get("startedAt") or task.get("createdAt")


def _started_before(task: dict, modified: datetime | None) -> bool:
    started = _started(task)
    return started is not None and modified is not None and started < modified


def ssm_is_served(ep: Endpoint, ssm: SsmCertificate | None, tasks: list[dict] | None, s: Served | None,
                  cluster: str, service: str, name: str) -> Verdict:
    """The endpoint serves the certificate in SSM; when the wire can't be read, every task started after SSM changed.

    With neither a handshake nor a running task there is nothing to compare: a skip (probe-failure's red step).
    """
    ssm = _require_ssm(ssm, name)
    leaf, modified = ssm.certs[0], ssm.modified
    fix = f"aws ecs update-service --cluster {cluster} --service {service} --force-new-deployment"
    seen = [f"SSM {name} version {ssm.version} last modified {modified}: {leaf.short()}"]
    stale = [t for t in tasks or [] if _started_before(t, modified)]
    seen += [f"task {t['taskArn'].rsplit('/', 1)[-1]} started {_started(t) or 'at an unknown time'}"
             + (" - BEFORE the SSM write" if t in stale else "") for t in (tasks or [])[:5]]
    if s is not None:
        if s.leaf.sha256 == leaf.sha256:
            return green(f"{ep.spec} serves the certificate in {name}", *seen, step=STEP2)
        served_line = f"served on {ep.spec}: {s.leaf.short()}"
        if leaf.not_after > s.leaf.not_after:
            if stale:  # a task that predates the write: the runbook's case, a redeploy picks the new one up
                return red(f"{ep.spec} serves an older certificate than {name}: SSM was updated, the task was not "
                           "redeployed (it reads the certificate once, at start)", served_line, *seen, step=STEP2,
                           next=[fix])
            return red(*_reads_elsewhere(ep, name, tasks, cluster, service), served_line, *seen, step=STEP2,
                       next=_source_cmds(tasks, cluster, service))
        return red(f"{ep.spec} serves a certificate that is not the one in {name}", served_line, *seen,
                   "SSM holds an older or a different certificate: a manual upload, or a partial certbot run",
                   step=STEP2, next=[(f"aws ssm get-parameter --name {name} --query "
                                      "'Parameter.{version:Version,modified:LastModifiedDate}'"), fix])
    if not tasks:
        raise NotApplicable(f"no running task of {service} and no handshake with {ep.spec}: nothing serves a "
                            "certificate; the probe-failure runbook applies (test_ecs_service_running)")
    if stale:
        return red(f"{len(stale)} {service} task(s) started before {name} was last written: they still serve the "
                   "previous certificate", *seen, f"(the wire of {ep.spec} could not be read from here)", step=STEP2,
                   next=[fix])
    return green(f"every running {service} task started after {name} was last written", *seen,
                 f"(the wire of {ep.spec} could not be read from here)", step=STEP2)


def _reads_elsewhere(ep: Endpoint, name: str, tasks: list[dict] | None, cluster: str, service: str) -> tuple[str, ...]:
    """The served certificate is older than SSM's, yet no task predates the write: not a missing redeploy."""
    if tasks:
        return (f"{ep.spec} serves an older certificate than {name}, yet every running {service} task started after "
                f"{name} was written: a redeploy would not help; the task reads its certificate from another source "
                "(the secrets its task definition names)",)
    return (f"{ep.spec} serves an older certificate than {name}; when its tasks started could not be read: a task "
            "older than the write needs a redeploy, a newer one reads another source (its task definition's secrets)",)


def _source_cmds(tasks: list[dict] | None, cluster: str, service: str) -> list[str]:
    """What the task reads: its task definition's secrets (and, with no start time, the tasks' start times first)."""
    td = next((t["taskDefinitionArn"].rsplit("/", 1)[-1] for t in tasks or [] if t.get("taskDefinitionArn")), service)
    read = (f"aws ecs describe-task-definition --task-definition {td} --query "
            "'taskDefinition.containerDefinitions[].{name:name,secrets:secrets,environment:environment}'")
    if tasks:
        return [read]
    return [f"aws ecs describe-tasks --cluster {cluster} --tasks $(aws ecs list-tasks --cluster {cluster} "
            f"--service-name {service} --query 'taskArns' --output text) --query 'tasks[].startedAt'", read]


# --- escalation ------------------------------------------------------------------------------------


def escalation(ssm: SsmCertificate | None, now: datetime, names: dict, domain: str, services: list[str]) -> Verdict:
    """At 7 days or more left on the certificate in SSM, the manual renewal is not needed."""
    name = names["ssm_cert"]
    ssm = _require_ssm(ssm, name)
    days = ssm.certs[0].days_left(now)
    if days >= CRITICAL_DAYS:
        return green(f"{name}: {days:.1f} days left, not below the {CRITICAL_DAYS}-day manual-renewal threshold", step=ESC)
    apex = domain.removeprefix("*.")
    left = f"{days:.1f} days left" if days >= 0 else f"EXPIRED {-days:.1f} days ago"
    return red(f"the Let's Encrypt certificate in {name} has {left} (< {CRITICAL_DAYS}): renew it by hand",
               f"upload to the real parameters below; the runbook's {RUNBOOK_SAYS['ssm_cert']} does not exist",
               step=ESC,
               next=[(f"certbot certonly --manual --preferred-challenges dns -d '{domain}'  # publish the "
                      f"_acme-challenge.{apex} TXT it asks for in the public zone; files land in "
                      f"/etc/letsencrypt/live/{apex}/"),
                     f"aws ssm put-parameter --name {names['ssm_cert']} --type SecureString --overwrite --value file://cert.pem",
                     f"aws ssm put-parameter --name {names['ssm_chain']} --type SecureString --overwrite --value file://chain.pem",
                     f"aws ssm put-parameter --name {names['ssm_key']} --type SecureString --overwrite --value file://privkey.pem",
                     *(f"aws ecs update-service --cluster {names['cluster']} --service {svc} --force-new-deployment"
                       for svc in services)])
