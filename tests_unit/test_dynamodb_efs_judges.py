"""The DynamoDB and EFS runbooks' checks against moto (in-process), through the suite's reader and facts: each
proven green and red with the message the on-call person reads, and the states that are a skip, not a verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from moto.backends import get_backend

from cabal_checks.aws.reader import AwsReader
from cabal_checks.facts.dynamodb import TABLES, dynamodb_metrics, dynamodb_table
from cabal_checks.facts.efs import efs_facts
from cabal_checks.judge import dynamodb as ddb
from cabal_checks.judge import efs
from cabal_checks.sandbox import history_dynamodb_efs as h
from cabal_checks.verdict import CantTell, NotApplicable

REGION = "us-east-1"
NOW = datetime.now(UTC).replace(second=30, microsecond=0)
ADDR = "cabal-addresses"


@pytest.fixture
def ctx(mock_account):
    """An empty moto account (the shared fixture in conftest.py) and this module's context."""
    return SimpleNamespace(aws=AwsReader(REGION, 10.0), settings=SimpleNamespace(now=NOW))


def client(service: str):
    return boto3.client(service, region_name=REGION)


def healthy_tables(tables=(ADDR, "cabal-counter")) -> None:
    """Two of the eight tables (the others have no series: green as well); the sandbox seeds all eight."""
    h.create_tables(client("dynamodb"), tables)
    h.table_history(client("cloudwatch"), NOW, tables)


def per_minute(metric: str, table: str, op: str, minutes: int, value: float = 3, ago: timedelta = timedelta(0)):
    h.put_points(client("cloudwatch"), "AWS/DynamoDB", metric, {"TableName": table, "Operation": op},
                 h.every(NOW - ago, timedelta(minutes=minutes), h.MIN, lambda i: value))


# --- dynamodb-throttling / dynamodb-system-errors: the conditions ------------------------------------------------


@pytest.mark.parametrize("metric, judge", [("ThrottledRequests", ddb.throttling_condition),
                                           ("SystemErrors", ddb.system_errors_condition)])
def test_condition_green_when_healthy_red_when_every_point_breaches(ctx, metric, judge):
    healthy_tables()
    m = dynamodb_metrics(ctx)
    assert all(judge(t, m).ok for t in TABLES)
    assert ctx.aws.calls.count(("cloudwatch", "GetMetricData")) == 1  # one request for the family
    assert ctx.aws.calls.count(("cloudwatch", "ListMetrics")) == 1  # the namespace listed once, every metric in it
    per_minute(metric, ADDR, "GetItem", 10)
    ctx.aws = AwsReader(REGION, 10.0)
    m = dynamodb_metrics(ctx)
    v = judge(ADDR, m)
    assert not v.ok and f"{metric} of {ADDR} (all operations) > 0" in v.summary
    assert "held at 2 of 2 points" in v.evidence[0] and "per operation, last hour: GetItem" in v.evidence[1]
    assert v.step.endswith("the alert's condition (" + ddb.RULES[metric][0] + ")")
    assert f"--metric-name {metric} --dimensions Name=TableName,Value={ADDR} Name=Operation,Value=GetItem" in v.next[0]
    assert all(judge(t, m).ok for t in TABLES if t != ADDR)


def test_condition_sums_the_operations_and_needs_every_point(ctx):
    healthy_tables()
    # one throttle six minutes ago: in the window of the first point only (for: 1m) -> not firing
    h.put_points(client("cloudwatch"), "AWS/DynamoDB", "ThrottledRequests", {"TableName": ADDR, "Operation": "Query"},
                 [(NOW.replace(second=0) - timedelta(minutes=6), 1)])
    assert ddb.throttling_condition(ADDR, dynamodb_metrics(ctx)).ok


def test_resolved_spike_and_a_staging_neighbour_are_not_red(ctx):
    healthy_tables()
    per_minute("ThrottledRequests", ADDR, "GetItem", 10, ago=timedelta(hours=3))
    h.create_tables(client("dynamodb"), ("cabal-stage-addresses",))
    per_minute("ThrottledRequests", "cabal-stage-addresses", "GetItem", 20)
    per_minute("SystemErrors", "cabal-stage-addresses", "GetItem", 20)
    m = dynamodb_metrics(ctx)
    assert all(ddb.throttling_condition(t, m).ok and ddb.system_errors_condition(t, m).ok for t in TABLES)
    assert all(t in TABLES for _, t, _ in m.listed)


def test_table_name_only_series_is_read_too(ctx):
    """The exporter's TableName-only selection: if such a series exists it counts (Operation "")."""
    healthy_tables()
    h.put_points(client("cloudwatch"), "AWS/DynamoDB", "SystemErrors", {"TableName": ADDR},
                 h.every(NOW, timedelta(minutes=10), h.MIN, lambda i: 1))
    v = ddb.system_errors_condition(ADDR, dynamodb_metrics(ctx))
    assert not v.ok and "(TableName only) 11" in v.evidence[1]


# --- the steps ----------------------------------------------------------------------------------------------------


def test_hot_partition_green_then_red(ctx):
    healthy_tables()
    v = ddb.no_hot_partition(ADDR, dynamodb_metrics(ctx))
    assert v.ok and "ConsumedReadCapacityUnits last hour: sum" in v.evidence[0]
    per_minute("ReadKeyRangeThroughputThrottleEvents", ADDR, "GetItem", 4, value=5)
    ctx.aws = AwsReader(REGION, 10.0)
    v = ddb.no_hot_partition(ADDR, dynamodb_metrics(ctx))
    assert not v.ok and "a hot partition" in v.summary and "ReadKeyRangeThroughputThrottleEvents 25" in v.summary
    assert v.step == "dynamodb-throttling, step 1 (burst or hot partition)"
    assert f"Name=TableName,Value={ADDR}" in v.next[0]


def test_system_errors_by_operation_green_then_red_naming_operation_and_scope(ctx):
    healthy_tables()
    assert ddb.system_errors_by_operation(ADDR, dynamodb_metrics(ctx)).ok
    per_minute("SystemErrors", ADDR, "Query", 3, value=2)
    per_minute("SystemErrors", "cabal-counter", "UpdateItem", 2, value=1, ago=timedelta(minutes=30))
    ctx.aws = AwsReader(REGION, 10.0)
    v = ddb.system_errors_by_operation(ADDR, dynamodb_metrics(ctx))
    assert not v.ok and "on 1 operation(s): Query 8" in v.summary
    assert v.evidence == ("other tables too: cabal-counter (AWS-side: check the status page)",)
    assert "Name=Operation,Value=Query" in v.next[0] and "health.aws.amazon.com" in v.next[1]


def test_billing_mode_green_then_red(ctx):
    healthy_tables()
    assert ddb.on_demand(ADDR, dynamodb_table(ctx, ADDR)).ok
    client("dynamodb").update_table(TableName=ADDR, BillingMode="PROVISIONED",
                                    ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    ctx.aws = AwsReader(REGION, 10.0)
    v = ddb.on_demand(ADDR, dynamodb_table(ctx, ADDR))
    assert not v.ok and v.summary.startswith(f"{ADDR}: billing mode is PROVISIONED, not PAY_PER_REQUEST")
    assert v.evidence == ("BillingMode PROVISIONED, provisioned 5 RCU / 5 WCU",)
    assert v.next[0].startswith(f"aws dynamodb describe-table --table-name {ADDR}")
    assert dynamodb_table(ctx, "cabal-nonexistent") is None  # the test skips


# --- efs-burst-credits-low ----------------------------------------------------------------------------------------


def file_system(size: int = h.EFS_SIZE, mode: str = "bursting") -> str:
    return h.create_file_system(client("efs"), lambda: get_backend("efs")["123456789012"][REGION], size=size,
                                mode=mode)


def test_efs_healthy_is_green(ctx):
    fs_id = file_system()
    h.efs_history(client("cloudwatch"), fs_id, NOW)
    f = efs_facts(ctx)
    assert f.file_system["FileSystemId"] == fs_id and len(f.balance) == 68 and f.size == h.EFS_SIZE
    for judge in (efs.credits_condition, efs.credits_not_draining, efs.size_supports_baseline):
        v = judge(f)
        assert v.ok, v.render()
    assert "steady or rising" in efs.credits_not_draining(f).summary


def test_efs_page_naming_cabals_file_system_is_judged_and_another_is_cant_tell(ctx):
    """``--alert 'EFSBurstCreditsLow file_system_id=...'``: Cabal's id is its facts (green here); another's (a
    neighbour's, a typo) is can't tell in one line naming Cabal's, never Cabal's green under another's page."""
    fs_id = file_system()
    h.efs_history(client("cloudwatch"), fs_id, NOW)
    assert efs.credits_condition(efs_facts(ctx, "cabal-efs", fs_id)).ok
    with pytest.raises(CantTell) as info:
        efs_facts(ctx, "cabal-efs", "fs-0000neighbour")
    assert str(info.value) == f"--alert names file system fs-0000neighbour, not Cabal's: cabal-efs is {fs_id}"


def drained(fs_id: str, low_points: int, level: float = 12e9, io: float = 4 * 1024 ** 2 * 300) -> None:
    n = int(timedelta(hours=24) / timedelta(minutes=5))
    h.balance_history(client("cloudwatch"), fs_id,
                      h.five_minutes(NOW, timedelta(hours=24),
                                     lambda i: 1e12 * (n - low_points - i) / n + 21e9 if i < n - low_points else level),
                      h.five_minutes(NOW, timedelta(hours=24), lambda i: io))


def test_efs_condition_red_after_an_hour_below(ctx):
    drained(file_system(), low_points=14)  # 70 minutes under 20 GB
    v = efs.credits_condition(efs_facts(ctx))
    assert not v.ok and v.summary.startswith("EFSBurstCreditsLow would be firing: BurstCreditBalance of cabal-efs")
    assert "held at 61 of 61 points" in v.evidence[0] and "--metric-name BurstCreditBalance" in v.next[0]


def test_efs_condition_green_below_for_less_than_an_hour(ctx):
    drained(file_system(), low_points=6)  # 30 minutes under: not yet for 1 h
    f = efs_facts(ctx)
    assert efs.credits_condition(f).ok
    v = efs.credits_not_draining(f)
    assert not v.ok and "already below 20 GB" in v.summary and v.step.endswith("step 1 (burning fast or a slow drain)")


def test_efs_slope_red_when_it_reaches_the_threshold_within_a_day(ctx):
    fs_id = file_system()
    h.balance_history(client("cloudwatch"), fs_id, h.five_minutes(NOW, timedelta(hours=24), lambda i: 60e9 - i * 1e8))
    v = efs.credits_not_draining(efs_facts(ctx))
    assert not v.ok and "20 GB in" in v.summary and "GB/h over 288 points" in v.evidence[0]


def test_efs_slow_drain_is_green_and_says_so(ctx):
    fs_id = file_system()
    h.balance_history(client("cloudwatch"), fs_id, h.five_minutes(NOW, timedelta(hours=24), lambda i: 2e12 - i * 1e8))
    v = efs.credits_not_draining(efs_facts(ctx))
    assert v.ok and "a slow drain: 20 GB in" in v.summary


def test_efs_baseline_red_when_the_workload_outruns_the_size(ctx):
    fs_id = file_system(size=1024 ** 3)  # 1 GiB: 50 KiB/s
    h.balance_history(client("cloudwatch"), fs_id, h.five_minutes(NOW, timedelta(hours=24), lambda i: h.FULL_BALANCE),
                      h.five_minutes(NOW, timedelta(hours=24), lambda i: 80 * 1024 * 300))
    v = efs.size_supports_baseline(efs_facts(ctx))
    assert not v.ok and "(80.0 KiB/s) outruns the baseline its size earns (50.0 KiB/s)" in v.summary
    assert v.next[0].startswith(f"aws efs describe-file-systems --file-system-id {fs_id}")


@pytest.mark.parametrize("judge", [efs.credits_condition, efs.credits_not_draining, efs.size_supports_baseline])
def test_efs_not_bursting_or_absent_is_a_skip(ctx, judge):
    with pytest.raises(NotApplicable, match="no EFS file system tagged Name=cabal-efs"):
        judge(efs_facts(ctx))
    file_system(mode="elastic")
    ctx.aws = AwsReader(REGION, 10.0)
    with pytest.raises(NotApplicable, match="elastic throughput mode, not bursting"):
        judge(efs_facts(ctx))


def test_efs_staging_neighbour_is_not_read(ctx):
    fs_id = file_system()
    h.efs_history(client("cloudwatch"), fs_id, NOW)
    stage = h.create_file_system(client("efs"), lambda: get_backend("efs")["123456789012"][REGION], "cabal-stage-efs")
    h.balance_history(client("cloudwatch"), stage, h.five_minutes(NOW, timedelta(hours=24), lambda i: 1e9))
    f = efs_facts(ctx)
    assert f.file_system["FileSystemId"] == fs_id and efs.credits_condition(f).ok


# --- the log steps ------------------------------------------------------------------------------------------------


def log_lines(group: str, lines: list[tuple[datetime, str]]) -> None:
    logs = client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    if lines:
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
            {"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in sorted(lines)])


def test_retries_green_then_red_either_word(ctx):
    from cabal_checks.facts.dynamodb import LIST_GROUP, list_retries

    with pytest.raises(NotApplicable, match="no log group /cabal/lambda/list"):
        ddb.not_retrying(LIST_GROUP, list_retries(ctx))
    log_lines(LIST_GROUP, [(NOW - timedelta(minutes=5), "[list] listed 25 messages"),
                           (NOW - timedelta(hours=2), "ClientError (InternalServerError): two hours ago")])
    ctx.aws = AwsReader(REGION, 10.0)
    assert ddb.not_retrying(LIST_GROUP, list_retries(ctx)).ok
    client("logs").put_log_events(logGroupName=LIST_GROUP, logStreamName="s", logEvents=[
        {"timestamp": int((NOW - timedelta(minutes=3)).timestamp() * 1000),
         "message": "An error occurred (ProvisionedThroughputExceededException) when calling the Query operation"}])
    ctx.aws = AwsReader(REGION, 10.0)
    v = ddb.not_retrying(LIST_GROUP, list_retries(ctx))
    assert not v.ok and v.summary.startswith("/cabal/lambda/list: 1 line(s) with ProvisionedThroughputExceededException "
                                             "or InternalServerError in the last hour")
    assert v.step == "dynamodb-system-errors, step 3 (the application retrying)"
    assert v.next[1].startswith("aws logs filter-log-events --log-group-name /cabal/lambda/list --filter-pattern "
                                "'\"InternalServerError\"'")


def test_reconfigure_loop_green_at_a_few_an_hour_red_above_thirty(ctx):
    from cabal_checks.facts.dynamodb import reconfigure_regenerations

    ctx.name = {"service_smtp_in": "cabal-smtp-in"}.get
    log_lines("/ecs/cabal-smtp-in", [(NOW - timedelta(minutes=m), "[reconfigure] Regenerating maps")
                                     for m in range(2, 62, 2)])  # 30: at the limit
    v = ddb.reconfigure_not_looping("cabal-smtp-in", reconfigure_regenerations(ctx, "service_smtp_in"))
    assert v.ok and "30 regeneration(s)" in v.summary
    client("logs").put_log_events(logGroupName="/ecs/cabal-smtp-in", logStreamName="s", logEvents=[
        {"timestamp": int((NOW - timedelta(seconds=30)).timestamp() * 1000), "message": "[reconfigure] Regenerating"}])
    ctx.aws = AwsReader(REGION, 10.0)
    v = ddb.reconfigure_not_looping("cabal-smtp-in", reconfigure_regenerations(ctx, "service_smtp_in"))
    assert not v.ok and "regenerated 31 times in the last hour (more than 30)" in v.summary
    assert "--queue-name cabal-reconfig-smtp-in" in v.next[1]
