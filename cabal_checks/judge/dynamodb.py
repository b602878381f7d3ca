"""Judges of the DynamoDB runbooks (dynamodb-throttling, dynamodb-system-errors): pure functions of the facts.

The conditions re-evaluate ``sum by (table_name) (increase(aws_dynamodb_<metric>_sum[5m])) > 0`` for 1 minute
(alerts.yml:96-114) from every (TableName, Operation) series ListMetrics enumerates: the exporter asks SystemErrors
by TableName only (config.yml:86-89), a series AWS may never publish; reading per operation avoids the question.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ..verdict import NotApplicable, Verdict, green, red
from . import condition

WINDOW, FOR = timedelta(minutes=5), timedelta(minutes=1)
RULES = {"ThrottledRequests": ("DynamoDBThrottling", "dynamodb-throttling"),
         "SystemErrors": ("DynamoDBSystemErrors", "dynamodb-system-errors")}
HOT_KEY = ("ReadKeyRangeThroughputThrottleEvents", "WriteKeyRangeThroughputThrottleEvents")
ON_DEMAND = "PAY_PER_REQUEST"


def _metric_cmd(metric: str, table: str, op: str = "", stat: str = "Sum", hours: int = 1) -> str:
    dims = f"Name=TableName,Value={table}" + (f" Name=Operation,Value={op}" if op else "")
    return (f"aws cloudwatch get-metric-statistics --namespace AWS/DynamoDB --metric-name {metric} --dimensions "
            f"{dims} --statistics {stat} --period 60 --start-time $(date -u -d '-{hours} hour' +%FT%TZ) "
            "--end-time $(date -u +%FT%TZ)")


def _per_operation(by_op: dict, start=None) -> list[tuple[str, float]]:
    """(operation, total) of each series with a non-zero total (since ``start``), largest first."""
    totals = [(op or "(TableName only)", sum(v for t, v in pts if start is None or t >= start))
              for op, pts in by_op.items()]
    return sorted(((op, n) for op, n in totals if n), key=lambda x: -x[1])


def _ops_line(what: str, totals: list[tuple[str, float]]) -> str:
    return f"{what}: " + (", ".join(f"{op} {n:g}" for op, n in totals) if totals else "none")


def condition_of(metric: str, table: str, m) -> Verdict:
    """The alert's condition for one table, the table's operations summed (``sum by (table_name)``)."""
    rule, runbook = RULES[metric]
    by_op = m.points(metric, table)
    ev = condition.increase([p for pts in by_op.values() for p in pts], m.at, WINDOW, FOR, ">", 0)
    what = f"{metric} of {table} (all operations)"
    first = _per_operation(by_op, m.at - WINDOW - FOR)
    v = condition.verdict(ev, rule, what, f"{runbook}, the alert's condition ({rule})", next=(
        _metric_cmd(metric, table, first[0][0] if first and first[0][0][0] != "(" else ""),))
    series = f"{len(by_op)} series listed by cloudwatch:ListMetrics" if by_op else \
        "no series in cloudwatch:ListMetrics (nothing in two weeks)"
    return replace(v, evidence=v.evidence + (_ops_line(f"{metric} per operation, last hour", _per_operation(by_op)),
                                             series))


def throttling_condition(table: str, m) -> Verdict:
    return condition_of("ThrottledRequests", table, m)


def system_errors_condition(table: str, m) -> Verdict:
    return condition_of("SystemErrors", table, m)


def no_hot_partition(table: str, m) -> Verdict:
    """Step 1, burst or hot partition: DynamoDB's key-range throttle events say a hot partition (one key or a narrow
    range takes the table's traffic); the consumed capacity is the evidence of a burst."""
    step = "dynamodb-throttling, step 1 (burst or hot partition)"
    hot = [(metric, sum(v for pts in m.points(metric, table).values() for _, v in pts)) for metric in HOT_KEY]
    hot = [(metric, n) for metric, n in hot if n]
    consumed = []
    for metric in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"):
        pts = [v for p in m.points(metric, table).values() for _, v in p]
        consumed.append(f"{metric} last hour: sum {sum(pts):g}, busiest minute {max(pts, default=0):g}")
    if hot:
        return red(f"{table}: a hot partition: key-range throttle events in the last hour ("
                   + ", ".join(f"{metric} {n:g}" for metric, n in hot) + ")",
                   *(_ops_line(f"{metric} per operation", _per_operation(m.points(metric, table)))
                     for metric, _ in hot), *consumed, step=step,
                   next=(_metric_cmd(hot[0][0], table), _metric_cmd("ConsumedReadCapacityUnits", table,
                                                                    stat="Maximum"),
                         "# a hot key: find the item the traffic concentrates on (the reconfigure loop reads "
                         "cabal-addresses by user; see step 2)"))
    return green(f"{table}: no key-range throttle events in the last hour (not a hot partition)", *consumed,
                 step=step)


def system_errors_by_operation(table: str, m) -> Verdict:
    """Step 2, one table, one operation, or all: SystemErrors per operation over the last hour."""
    step = "dynamodb-system-errors, step 2 (one table, one operation, or all)"
    totals = _per_operation(m.points("SystemErrors", table))
    others = sorted({t for (metric, t, _), pts in m.series if metric == "SystemErrors" and t != table
                     and any(v for _, v in pts)})
    scope = ("other tables too: " + ", ".join(others) + " (AWS-side: check the status page)") if others else \
        "only this table"
    if totals:
        op = totals[0][0]
        return red(f"{table}: SystemErrors in the last hour on {len(totals)} operation(s): "
                   + ", ".join(f"{o} {n:g}" for o, n in totals), scope, step=step,
                   next=(_metric_cmd("SystemErrors", table, "" if op.startswith("(") else op),
                         "# open https://health.aws.amazon.com/health/status (us-east-1 DynamoDB) before a ticket"))
    return green(f"{table}: no SystemErrors in the last hour on any operation", scope, step=step)


def on_demand(table: str, description: dict | None) -> Verdict:
    """Step 3, switched from on-demand to provisioned: every Cabalmail table is PAY_PER_REQUEST in Terraform."""
    step = "dynamodb-throttling, step 3 (billing mode)"
    mode = ((description or {}).get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    throughput = (description or {}).get("ProvisionedThroughput") or {}
    seen = f"BillingMode {mode}" + (f", provisioned {throughput.get('ReadCapacityUnits', 0)} RCU / "
                                    f"{throughput.get('WriteCapacityUnits', 0)} WCU" if mode != ON_DEMAND else "")
    if mode != ON_DEMAND:
        return red(f"{table}: billing mode is {mode}, not {ON_DEMAND} as Terraform sets it (someone switched it)",
                   seen, step=step,
                   next=(f"aws dynamodb describe-table --table-name {table} --query "
                         "'Table.{mode:BillingModeSummary,throughput:ProvisionedThroughput}'",
                         f"# then re-apply Terraform (terraform/infra) to put {table} back on {ON_DEMAND}"))
    return green(f"{table}: {ON_DEMAND} (on demand)", seen, step=step)


TIGHT_LOOP = 30  # regenerations in an hour: every two minutes or more often is a loop, not address changes


def _logs_cmd(group: str, word: str) -> str:
    return (f"aws logs filter-log-events --log-group-name {group} --filter-pattern '\"{word}\"' "
            "--start-time $(( $(date +%s) - 3600 ))000 --query 'events[-5:].message'")


def _peak(count) -> str:
    when, n = max(count.per_minute, key=lambda mn: mn[1])
    return f"busiest minute {when:%H:%M} UTC: {n}; first {count.per_minute[0][0]:%H:%M}, last " \
           f"{count.per_minute[-1][0]:%H:%M} UTC"


def not_retrying(group: str, count) -> Verdict:
    """dynamodb-system-errors step 3, the application retrying: the list function's log names a DynamoDB error."""
    step = "dynamodb-system-errors, step 3 (the application retrying)"
    if count is None:
        raise NotApplicable(f"no log group {group} in this account")
    words = " or ".join(count.any_of)
    if count.total:
        return red(f"{group}: {count.total} line(s) with {words} in the last hour: the function meets DynamoDB "
                   "errors (its retries add load)", _peak(count), step=step,
                   next=tuple(_logs_cmd(group, w) for w in count.any_of))
    return green(f"{group}: no {words} in the last hour", step=step)


def reconfigure_not_looping(service: str, count) -> Verdict:
    """dynamodb-throttling step 2, the access pattern: the reconfigure loop regenerating in a tight loop reads
    cabal-addresses on every pass."""
    step = "dynamodb-throttling, step 2 (access pattern: the reconfigure loop)"
    group = count.group if count is not None else f"/ecs/{service}"
    if count is None:
        raise NotApplicable(f"no log group {group} in this account")
    if count.total > TIGHT_LOOP:
        return red(f"{service}: the reconfigure loop regenerated {count.total} times in the last hour (more than "
                   f"{TIGHT_LOOP}): a tight loop reading cabal-addresses", _peak(count), step=step,
                   next=(_logs_cmd(group, "[reconfigure]"),
                         f"aws sqs get-queue-attributes --queue-url $(aws sqs get-queue-url --queue-name "
                         f"cabal-reconfig-{service.removeprefix('cabal-')} --query QueueUrl --output text) "
                         "--attribute-names ApproximateNumberOfMessages ApproximateNumberOfMessagesNotVisible"))
    return green(f"{service}: {count.total} regeneration(s) in the last hour (at most {TIGHT_LOOP}: not a loop)",
                 step=step)
