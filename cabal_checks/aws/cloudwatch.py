"""CloudWatch metrics in bulk: ``GetMetricData``, up to 500 queries a request, one request (and its pages) per window.

Every alert condition of the Lambda, DynamoDB, EFS, ECS and EC2 runbooks reads CloudWatch datapoints; asking
``GetMetricStatistics`` once per function and metric is ~174 requests for the Lambda runbooks alone, one
``GetMetricData`` is one. The answer is plain datapoints per metric: ``judge/condition.py`` evaluates them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..verdict import CantTell
from .reader import AwsReader

MAX_QUERIES = 500  # GetMetricData's limit of MetricDataQueries per request
MAX_PAGES = 20  # NextToken pages of one request before the read is a can't-tell (a window that big is a bug)


@dataclass(frozen=True)
class Metric:
    """One metric statistic: ``Metric("AWS/Lambda", "Errors", (("FunctionName", "list"),))``; period in seconds."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str = "Sum"
    period: int = 60

    def query(self, qid: str) -> dict:
        return {"Id": qid, "ReturnData": True,
                "MetricStat": {"Metric": {"Namespace": self.namespace, "MetricName": self.name,
                                          "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions]},
                               "Period": self.period, "Stat": self.stat}}

    def __str__(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in self.dimensions)
        return f"{self.namespace} {self.name} {self.stat}" + (f" {dims}" if dims else "")


Series = tuple[tuple[datetime, float], ...]  # (period start, value), oldest first; a quiet period has no point


def metric_data(aws: AwsReader, queries: Sequence[Metric], start: datetime, end: datetime) -> dict[Metric, Series]:
    """The datapoints of each metric in ``[start, end)`` (both floored to the minute), one ``GetMetricData`` request
    per 500 distinct metrics, its ``NextToken`` pages followed. A metric with no data has an empty series; a result
    AWS could not complete (``InternalError``, ``Forbidden``, a truncated ``PartialData``) is a ``CantTell``."""
    start, end = whole_minute(start), whole_minute(end)
    if end <= start:
        raise ValueError(f"an empty window: {start:%H:%M}-{end:%H:%M} once floored to the minute")
    distinct = list(dict.fromkeys(queries))
    out: dict[Metric, Series] = {}
    for first in range(0, len(distinct), MAX_QUERIES):
        batch = distinct[first:first + MAX_QUERIES]
        out.update(_one_request(aws, batch, start, end))
    return out


def _one_request(aws: AwsReader, batch: list[Metric], start: datetime, end: datetime) -> dict[Metric, Series]:
    by_id = {f"m{i}": metric for i, metric in enumerate(batch)}
    found: dict[str, dict[datetime, float]] = {qid: {} for qid in by_id}
    status: dict[str, str] = {}
    token = None
    for _ in range(MAX_PAGES):
        params = dict(MetricDataQueries=[m.query(qid) for qid, m in by_id.items()], StartTime=start, EndTime=end,
                      ScanBy="TimestampAscending")
        if token:
            params["NextToken"] = token
        page = aws.call("cloudwatch", "get_metric_data", **params)
        if page.get("Messages"):  # the request as a whole (MaxQueryTimeRangeExceed, ...)
            message = page["Messages"][0]
            raise CantTell(f"AWS cloudwatch:GetMetricData could not answer for {start:%H:%M}-{end:%H:%M} UTC: "
                           f"{message.get('Code')}: {message.get('Value', '')}"[:300])
        for result in page.get("MetricDataResults") or ():
            qid = result.get("Id")
            if qid not in found:
                continue
            status[qid] = result.get("StatusCode", "Complete")
            for when, value in zip(result.get("Timestamps") or (), result.get("Values") or (), strict=False):
                found[qid][when.astimezone(UTC)] = float(value)
        token = page.get("NextToken")
        if not token:
            break
    else:
        raise CantTell(f"AWS cloudwatch:GetMetricData still had pages after {MAX_PAGES} for {len(batch)} metrics: "
                       "the window is too large to read")
    for qid, code in status.items():
        if code != "Complete":
            raise CantTell(f"AWS cloudwatch:GetMetricData returned {code} for {by_id[qid]}: its datapoints are "
                           "incomplete")
    return {metric: tuple(sorted(found[qid].items())) for qid, metric in by_id.items()}


def whole_minute(when: datetime) -> datetime:
    """``when`` floored to its minute, in UTC (naive is UTC): the last whole minute, a minute still being written not
    counted."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(when.timestamp() // 60 * 60, UTC)
