"""DynamoDB, read-only: a table's description, and which (TableName, Operation) series CloudWatch holds for a metric."""

from __future__ import annotations

from .reader import AwsReader, NotFound

NAMESPACE = "AWS/DynamoDB"


def table(aws: AwsReader, name: str) -> dict | None:
    """``dynamodb:DescribeTable``'s ``Table``, or None when there is no such table."""
    try:
        return aws.call("dynamodb", "describe_table", TableName=name).get("Table")
    except NotFound:
        return None


def series_of(aws: AwsReader, metrics, tables) -> tuple[tuple[str, str, str], ...]:
    """``cloudwatch:ListMetrics`` of the namespace, once (its pages): the (metric, TableName, Operation) series of
    ``metrics`` for ``tables`` (Operation "" for a TableName-only series), as CloudWatch lists them (the last two
    weeks). Another stage's tables with similar names are not these tables: only exact names count."""
    wanted, names = set(tables), set(metrics)
    out = []
    for m in aws.pages("cloudwatch", "list_metrics", "Metrics", Namespace=NAMESPACE):
        dims = {d["Name"]: d["Value"] for d in m.get("Dimensions") or ()}
        if m.get("MetricName") in names and dims.get("TableName") in wanted and set(dims) <= {"TableName", "Operation"}:
            out.append((m["MetricName"], dims["TableName"], dims.get("Operation", "")))
    return tuple(sorted(set(out)))
