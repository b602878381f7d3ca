"""The Let's Encrypt pipeline: the certbot Lambda, its schedule, its metrics, and the SSM certificate.

Plain lookups. ``parameter`` is for the public certificate parameters only (the certificate and its
chain): the fact layer never asks it for the private key parameter.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .reader import AwsReader, NotFound


def function(aws: AwsReader, name: str) -> dict | None:
    """The function's configuration (``get_function_configuration``: not ``get_function``, whose answer
    also carries a pre-signed URL to the code), None when it does not exist."""
    try:
        return aws.call("lambda", "get_function_configuration", FunctionName=name)
    except NotFound:
        return None


def schedule(aws: AwsReader, name: str, group: str) -> dict | None:
    """The EventBridge Scheduler schedule, None when it does not exist."""
    try:
        return aws.call("scheduler", "get_schedule", Name=name, GroupName=group)
    except NotFound:
        return None


# How long CloudWatch keeps each resolution: 1-minute points 15 days, 5-minute points 63 days, hourly 455 days. A
# request for a finer period than the data's age allows gets no points at all, not coarser ones.
RETENTION = ((timedelta(days=15), 60), (timedelta(days=63), 300), (timedelta(days=455), 3600))


def window_of(start: datetime, span: timedelta, now: datetime) -> tuple[datetime, datetime, int]:
    """``(from, to, period)`` for the finest points CloudWatch still holds of ``[start, start + span]``, the bounds on
    that period's boundaries: a certbot run 20 days old is read in 5-minute points."""
    age = now - start
    period = next((p for keep, p in RETENTION if age < keep), RETENTION[-1][1])

    def floor(t: datetime) -> datetime:
        return datetime.fromtimestamp(t.timestamp() // period * period, UTC)

    return floor(start), floor(start + span) + timedelta(seconds=period), period


def metric_points(aws: AwsReader, function_name: str, metric: str, start: datetime, end: datetime,
                  period: int = 86400) -> list[dict]:
    """``Sum`` datapoints (daily unless told) of an AWS/Lambda metric of the function, oldest first."""
    out = aws.call("cloudwatch", "get_metric_statistics", Namespace="AWS/Lambda", MetricName=metric,
                   Dimensions=[{"Name": "FunctionName", "Value": function_name}],
                   StartTime=start, EndTime=end, Period=period, Statistics=["Sum"])
    return sorted(out.get("Datapoints", []), key=lambda p: p["Timestamp"])


def parameter(aws: AwsReader, name: str) -> dict | None:
    """An SSM parameter, decrypted (``get_parameter``), None when it does not exist."""
    try:
        return aws.call("ssm", "get_parameter", Name=name, WithDecryption=True)["Parameter"]
    except NotFound:
        return None
