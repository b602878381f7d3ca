"""Judges of the mail-log runbooks: the log-derived alert re-evaluated per tier (the rule's own window, ``for`` and
threshold through ``condition.increase``), smtp-in's address map freshness, IMAP plaintext refusals. Pure functions
of ``mail_log_shapes``.

Per tier is stricter than the rule, which sums the three tiers: a tier over the threshold on its own is red here
even when the sum is what Prometheus would judge (the sum is never below a tier). Each verdict says so, and says its
counts come from the raw logs, a substitute for the monitoring module's metric filters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ..mail_log_shapes import LastLine, LogSpike
from ..verdict import CantTell, Verdict, green, red
from . import condition

SUBSTITUTE = "counted from the raw logs (substitute for the metric filter, which is in the monitoring module)"
PER_TIER = "per tier: stricter than the rule's sum over the three tiers"
RECONFIGURE_DEADLINE = timedelta(minutes=60)  # healthchecks/ecs-reconfigure: timeout 30 min + grace 30 min
RECONFIGURE_PERIOD = timedelta(minutes=30)  # a task younger than this may not have looped yet
STEP = {"deferred": "sendmail-deferred-spike, step 1 (which tier) and step 2 (the dsn=4.x.y codes)",
        "bounced": "sendmail-bounced-spike, step 1 (which tier, which dsn=5.x.y codes)",
        "imap_auth": "imap-auth-failure-spike, steps 1-3 (source: Lambda or one client; every user or one; "
                     "logins succeeding)"}
CAUSE_LAMBDA = "cause 1: the failures come from the Lambda/API side (a Lambda ENI): the master password or the API"
CAUSE_CLIENT = "cause 2: one client (not a Lambda ENI) guessing or misconfigured"


def spike_condition(spike: LogSpike) -> Verdict:
    """Red when the tier's count alone breaches the rule at every point of its ``for``."""
    rule = spike.rule
    if spike.per_minute is None:
        raise CantTell(f"{spike.group} does not exist: no {spike.service} lines to count for {rule.alert}")
    ev = condition.increase(spike.per_minute, spike.at, rule.window, rule.for_, rule.op, rule.threshold)
    what = f"{rule.words} lines in {spike.group}"
    start_ms = int((spike.at - rule.span).timestamp() * 1000)
    words = " ".join(f'"{w}"' for w in rule.any_of)
    nxt = [f"aws logs filter-log-events --log-group-name {spike.group} --filter-pattern '{words}' "
           f"--start-time {start_ms}"]
    if rule.key == "imap_auth":  # step 1 first: is the top source a Lambda's ENI?
        nxt[:0] = [f"aws ec2 describe-network-interfaces --filters Name=addresses.private-ip-address,"
                   f"Values={s.address}" for s in spike.sources[:1]]
    elif rule.key == "bounced" and spike.service.endswith("smtp-in"):
        nxt.append(f"aws logs filter-log-events --log-group-name {spike.group} --filter-pattern '\"[reconfigure]\"' "
                   f"--start-time {start_ms}  # the address map regenerated? (step 3)")
    else:
        nxt.append(f"aws ecs list-tasks --cluster {spike.cluster} --service-name {spike.service}  # then "
                   "execute-command ... --command mailq, as the runbook says (a change of nothing, but not a read)")
    v = condition.verdict(ev, rule.alert, what, STEP[rule.key], nxt)
    extra = [f"{spike.total} such lines in {_hm(spike.at - rule.span)}-{_hm(spike.at)} UTC, {SUBSTITUTE}; {PER_TIER}"]
    if spike.codes:
        extra.append("dsn codes: " + _hist(spike.codes))
    if spike.domains:
        extra.append("recipient domains: " + _hist(spike.domains))
    if rule.key == "imap_auth":
        extra += _imap_lines(spike)
    summary = v.summary + (f" ({_cause(spike)})" if not v.ok and rule.key == "imap_auth" and spike.sources else "")
    return replace(v, summary=summary, evidence=v.evidence + tuple(extra))


def _imap_lines(spike: LogSpike) -> list[str]:
    lines = []
    if spike.sources:
        lines.append("sources (rip=): " + ", ".join(f"{s.address} x{s.count} ({_eni(s.interface_type)})"
                                                    for s in spike.sources))
    lines.append(f"{spike.users} distinct user(s) among the failures; {spike.successes} successful login(s) "
                 "in the same span")
    return lines


def _eni(interface_type: str) -> str:
    if interface_type == "lambda":
        return "Lambda ENI"
    return f"{interface_type} ENI" if interface_type else "no ENI in this account"


def _cause(spike: LogSpike) -> str:
    top = spike.sources[0]
    return CAUSE_LAMBDA if top.interface_type == "lambda" else CAUSE_CLIENT


def address_map_fresh(last: LastLine) -> Verdict:
    """smtp-in's address map (virtusertable) regenerated lately: the newest ``[reconfigure] Done.`` within the
    reconfigure check's timeout + grace (60 min), or a task too young to have looped. A substitute for the
    runbook's ``ls -la /etc/mail/virtusertable`` via ECS Exec (not a read)."""
    step = "sendmail-bounced-spike, step 3 (smtp-in: the address map fresh)"
    substitute = "the newest \"[reconfigure] Done.\" line (substitute for the virtusertable's age via ECS Exec)"
    if not last.group_exists:
        raise CantTell(f"{last.group} does not exist: no reconfigure lines to read for {last.service}")
    nxt = (f"aws logs filter-log-events --log-group-name {last.group} --filter-pattern '\"[reconfigure]\"' "
           f"--start-time {int((last.now - last.lookback).timestamp() * 1000)}",
           f"aws ecs update-service --cluster {last.cluster} --service {last.service} --force-new-deployment  "
           "# the runbook's remediation: printed, never run")
    young = last.started_at is not None and last.now - _utc(last.started_at) < RECONFIGURE_PERIOD
    if last.last is not None:
        age = last.now - last.last
        seen = f"{substitute}: {last.last:%H:%M} UTC, {int(age.total_seconds() // 60)} min ago ({last.count} in the " \
               f"last {_span(last.lookback)})"
        if age <= RECONFIGURE_DEADLINE:
            return green(f"{last.service}: the address map was regenerated within {_span(RECONFIGURE_DEADLINE)}",
                         seen, step=step)
        if young:
            return green(f"{last.service}: its task started under {_span(RECONFIGURE_PERIOD)} ago", seen, step=step)
        return red(f"{last.service}: the address map is stale: no \"[reconfigure] Done.\" within "
                   f"{_span(RECONFIGURE_DEADLINE)}", seen, step=step, next=nxt)
    if young:
        return green(f"{last.service}: its task started under {_span(RECONFIGURE_PERIOD)} ago (no loop yet)",
                     f"task started {_utc(last.started_at):%H:%M} UTC", step=step)  # type: ignore[arg-type]
    return red(f"{last.service}: the address map is stale: no \"[reconfigure] Done.\" in the last "
               f"{_span(last.lookback)}", f"{substitute}: none since {_hm(last.now - last.lookback)} UTC",
               step=step, next=nxt)


def plaintext_not_refused(seen: LastLine) -> Verdict:
    """Red when IMAP refused plaintext logins lately: clients configured without TLS, failing whatever the alert
    says (the runbook: red even while the alert is quiet)."""
    step = "imap-auth-failure-spike, step 3 (plaintext refused before auth)"
    if not seen.group_exists:
        raise CantTell(f"{seen.group} does not exist: no IMAP lines to read")
    what = f"{seen.word} lines in {seen.group} in the last {_span(seen.lookback)}"
    if not seen.count:
        return green(f"{seen.service}: no plaintext login refused", f"0 {what}", step=step)
    return red(f"{seen.service}: {seen.count} plaintext login(s) refused before TLS: a client is configured without "
               "STARTTLS (red even while IMAPAuthFailureSpike is quiet)",
               f"{seen.count} {what}, the newest at {seen.last:%H:%M} UTC", step=step,
               next=(f"aws logs filter-log-events --log-group-name {seen.group} --filter-pattern "
                     f"'\"Plaintext authentication\"' --start-time "
                     f"{int((seen.now - seen.lookback).timestamp() * 1000)}  # rip= names the client",))


def _hist(items) -> str:
    shown = ", ".join(f"{k} x{n}" for k, n in items[:5])
    return shown + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _hm(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%H:%M")


def _span(d: timedelta) -> str:
    m = int(d.total_seconds() // 60)
    return f"{m // 60}h" if m % 60 == 0 else f"{m} min"
