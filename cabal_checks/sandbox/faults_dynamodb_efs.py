"""Faults of the DynamoDB and EFS runbooks (registered in faults.FAULTS on import): AWS state only, so the fault
matrix runs them on its running sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .aws_seed import backend
from .faults import fault
from .history_dynamodb_efs import (
    FULL_BALANCE,
    MIN,
    balance_history,
    every,
    five_minutes,
    forget_efs_history,
    list_lines,
    put_points,
    regenerations,
)

ADDR = "cabal-addresses"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@fault("dynamodb-throttled-addresses", "a hot key on cabal-addresses: GetItem throttled every minute for 10 minutes "
       "(ThrottledRequests, ReadKeyRangeThroughputThrottleEvents)",
       (f"test_dynamodb_throttling_condition[{ADDR}]", f"test_dynamodb_no_hot_partition[{ADDR}]"),
       runbook="dynamodb-throttling step 1", cause=f"test_dynamodb_no_hot_partition[{ADDR}]")
def _throttled(sb):
    cw, dims = sb.seeded.client("cloudwatch"), {"TableName": ADDR, "Operation": "GetItem"}
    for metric in ("ThrottledRequests", "ReadKeyRangeThroughputThrottleEvents"):
        put_points(cw, "AWS/DynamoDB", metric, dims, every(_now(), timedelta(minutes=10), MIN, lambda i: 7,
                                                           lag=timedelta(0)))


@fault("dynamodb-system-errors", "DynamoDB answers cabal-addresses' Query with 500s for 10 minutes (SystemErrors)",
       (f"test_dynamodb_system_errors_condition[{ADDR}]", f"test_dynamodb_system_errors_by_operation[{ADDR}]"),
       runbook="dynamodb-system-errors step 2", cause=f"test_dynamodb_system_errors_by_operation[{ADDR}]")
def _system_errors(sb):
    put_points(sb.seeded.client("cloudwatch"), "AWS/DynamoDB", "SystemErrors", {"TableName": ADDR, "Operation": "Query"},
               every(_now(), timedelta(minutes=10), MIN, lambda i: 2, lag=timedelta(0)))


@fault("table-provisioned", "cabal-addresses was switched from on demand to provisioned (5 RCU / 5 WCU)",
       (f"test_dynamodb_table_on_demand[{ADDR}]",), runbook="dynamodb-throttling step 3")
def _provisioned(sb):
    sb.seeded.client("dynamodb").update_table(TableName=ADDR, BillingMode="PROVISIONED",
                                              ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})


@fault("efs-credits-draining", "a heavy writer on cabal-efs: 4 MiB/s of metered I/O for a day, the burst credits "
       "drained under 20 GB for the last 90 minutes",
       ("test_efs_burst_credits_condition[cabal-efs]", "test_efs_burst_credits_not_draining[cabal-efs]",
        "test_efs_size_supports_baseline[cabal-efs]"),
       runbook="efs-burst-credits-low step 1", cause="test_efs_burst_credits_not_draining[cabal-efs]")
def _draining(sb):
    efs = sb.seeded.client("efs")
    fs_id = next(fs["FileSystemId"] for fs in efs.describe_file_systems()["FileSystems"] if fs.get("Name") == "cabal-efs")
    now, span = _now(), timedelta(hours=25)
    n = int(span / timedelta(minutes=5))
    low_from = n - 18  # the last 90 minutes under 20 GB

    def balance(i: int) -> float:
        return FULL_BALANCE * (low_from - i) / low_from + 19e9 if i < low_from else 12e9 - (i - low_from) * 1e8

    forget_efs_history(backend("cloudwatch", sb.seeded), fs_id)
    balance_history(sb.seeded.client("cloudwatch"), fs_id, five_minutes(now, span, balance),
                    five_minutes(now, span, lambda i: 4 * 1024 ** 2 * 300))


@fault("list-retrying-dynamodb", "the list function meets DynamoDB errors and retries: InternalServerError and "
       "ProvisionedThroughputExceededException lines in /cabal/lambda/list for 10 minutes",
       ("test_dynamodb_errors_not_retried[/cabal/lambda/list]",), runbook="dynamodb-system-errors step 3")
def _retrying(sb):
    now = _now()
    list_lines(sb.seeded, [(now - timedelta(minutes=m, seconds=20), f"[ERROR] ClientError: An error occurred ({word}) "
                            "when calling the Query operation (reached max retries: 3)")
                           for m in range(1, 11) for word in ("InternalServerError",
                                                              "ProvisionedThroughputExceededException")])


@fault("reconfigure-tight-loop", "the smtp-in reconfigure loop regenerates every 30 seconds for 40 minutes, "
       "reading cabal-addresses on every pass", ("test_reconfigure_not_in_tight_loop[cabal-smtp-in]",),
       runbook="dynamodb-throttling step 2")
def _tight_loop(sb):
    regenerations(sb.seeded, "service_smtp_in", [_now() - timedelta(seconds=30 * k + 5) for k in range(80)])
