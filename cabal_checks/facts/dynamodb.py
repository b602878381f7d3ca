"""Facts of the DynamoDB runbooks (dynamodb-throttling, dynamodb-system-errors): the tables' CloudWatch series,
enumerated with ListMetrics and read in one GetMetricData, and each table's description."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..aws import dynamodb
from ..aws.cloudwatch import Metric, Series, metric_data, whole_minute
from ..aws.log_counts import LogCount, count_per_minute
from ..config import history_now
from ..context import Context
from . import service_logs
from .service_logs import REGENERATING

# The eight tables cabal-infra creates, all PAY_PER_REQUEST (modules/table/main.tf, modules/app/dmarc.tf:9-62,
# modules/user_pool/counter.tf:157-173); the runbook's "doesn't currently create others" is stale.
TABLES = ("cabal-addresses", "cabal-user-preferences", "cabal-rate-limits", "cabal-push-tokens",
          "cabal-user-domain-access", "cabal-dmarc-reports", "cabal-caa-reports", "cabal-counter")
# Per (TableName, Operation): the alerts' metrics and DynamoDB's cause-specific throttle metrics (hot key)
PER_OPERATION = ("ThrottledRequests", "SystemErrors")
HOT_KEY = ("ReadKeyRangeThroughputThrottleEvents", "WriteKeyRangeThroughputThrottleEvents")
CONSUMED = ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")  # per TableName
LOOKBACK = timedelta(hours=1)  # one window for the conditions (1 min + 5 min) and the steps (the last hour)


@dataclass(frozen=True)
class DynamoDbMetrics:
    """The tables' series over ``[start, at)``: ``series`` maps (metric, table, operation) to its Sum points per
    minute ("" operation: a TableName-only series); ``listed`` is what ListMetrics enumerated."""

    at: datetime
    start: datetime
    series: tuple[tuple[tuple[str, str, str], Series], ...]
    listed: tuple[tuple[str, str, str], ...]

    def points(self, metric: str, table: str) -> dict[str, Series]:
        """Operation -> points of ``metric`` for ``table``."""
        return {op: pts for (m, t, op), pts in self.series if m == metric and t == table}


def dynamodb_metrics(ctx: Context) -> DynamoDbMetrics:
    """Every series of the eight tables the DynamoDB runbooks read, over the last hour, in one GetMetricData."""
    now = history_now(ctx.settings)
    at = whole_minute(now)
    start = at - LOOKBACK
    listed = dynamodb.series_of(ctx.aws, PER_OPERATION + HOT_KEY, TABLES)
    wanted = list(listed) + [(metric, table, "") for metric in CONSUMED for table in TABLES]
    metrics = {key: Metric(dynamodb.NAMESPACE, key[0], (("TableName", key[1]),) + ((("Operation", key[2]),)
                                                                                     if key[2] else ()))
               for key in wanted}
    data = metric_data(ctx.aws, list(metrics.values()), start, at)
    return DynamoDbMetrics(at, start, tuple((key, data[m]) for key, m in metrics.items()), listed)


def dynamodb_table(ctx: Context, name: str) -> dict | None:
    """``DescribeTable`` of one table (None: no such table)."""
    return dynamodb.table(ctx.aws, name)


# Log steps: the application retrying (system-errors step 3), the reconfigure loop (throttling step 2)
LIST_GROUP = "/cabal/lambda/list"  # the runbook's /aws/lambda/cabal-list (modules/app/modules/call/lambda.tf:202)
RETRY_WORDS = ("ProvisionedThroughputExceededException", "InternalServerError")  # OR (the runbook's pair is an AND)


def list_retries(ctx: Context, group: str = LIST_GROUP) -> LogCount | None:
    """Lines of the last hour in the list function's group naming a DynamoDB error it retried (None: no group)."""
    now = history_now(ctx.settings)
    return count_per_minute(ctx.aws, group, RETRY_WORDS, now - LOOKBACK, now)


def reconfigure_regenerations(ctx: Context, service_key: str) -> LogCount | None:
    """``[reconfigure] Regenerating`` lines of the last hour in the tier's group (None: no group)."""
    now = history_now(ctx.settings)
    return count_per_minute(ctx.aws, f"/ecs/{ctx.name(service_key)}", (REGENERATING,), now - LOOKBACK, now,
                            scan=service_logs.scan(ctx))
