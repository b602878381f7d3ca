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


def series_of(aws: AwsReader, metric: str, tables) -> tuple[tuple[str, str], ...]:
    """``cloudwatch:ListMetrics``: the (TableName, Operation) pairs of ``metric`` for ``tables`` (Operation "" for a
    TableName-only series), as CloudWatch lists them (the last two weeks). Another account's or stage's tables with
    similar names are not these tables: only exact names count."""
    wanted = set(tables)
    out = []
    for m in aws.pages("cloudwatch", "list_metrics", "Metrics", Namespace=NAMESPACE, MetricName=metric):
        dims = {d["Name"]: d["Value"] for d in m.get("Dimensions") or ()}
        if dims.get("TableName") in wanted and set(dims) <= {"TableName", "Operation"}:
            out.append((dims["TableName"], dims.get("Operation", "")))
    return tuple(sorted(set(out)))
