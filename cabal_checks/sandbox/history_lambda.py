"""The Lambda runbooks' healthy history in the sandbox (both topologies), and the noise a lived-in account adds.

Healthy: a second API function (``fetch_message``) beside ``list``; per minute over the last ``SPAN``: the API
``cabal_gateway``/``prod`` at 100 requests with 2 5xx (2 %, under Lambda5xxSpike's 5 %), each function's
Invocations at a steady rate with no Errors and no Throttles, the account's ConcurrentExecutions at 3.
Noisy: a resolved Errors and 5xx spike 40-50 min ago (outside every window the checks read: 15 min, 30 min of logs),
and a staging neighbour's function ``list-staging`` (its group ``/cabal-staging/lambda/list``) erring and throttled
now: never judged as ours (facts/lambdas.is_ours).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .aws_seed import LAMBDA_CONFIG, Seeded, _zip

SPAN = timedelta(minutes=70)
MIN = timedelta(minutes=1)
API_FUNCTIONS = ("fetch_message",)  # beside the seeded ``list``
HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': '{}'}\n"


def function(s: Seeded, name: str, group: str) -> str:
    arn = s.client("lambda").create_function(
        FunctionName=name, Runtime="python3.13", Role=f"arn:aws:iam::{s.account_id}:role/cabal-lambda-list",
        Handler="function.handler", Code={"ZipFile": _zip({"function.py": HANDLER})}, Timeout=30, MemorySize=128,
        Architectures=["arm64"])["FunctionArn"]
    LAMBDA_CONFIG[arn] = {"LoggingConfig": {"LogGroup": group, "LogFormat": "Text"}}
    return arn


def per_minute(s: Seeded, namespace: str, metric: str, dims: dict, value: float, start: datetime, end: datetime,
               stat_unit: str = "Count") -> None:
    """One datapoint a minute in ``[start, end)``."""
    n = int((end - start) / MIN)
    data = [{"MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
             "Timestamp": start + i * MIN, "Value": float(value), "Unit": stat_unit} for i in range(n)]
    for first in range(0, len(data), 1000):
        s.client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data[first:first + 1000])


def api_dims(s: Seeded) -> dict:
    return {"ApiName": s.names["api_name"], "Stage": s.names["api_stage"]}


def seed(s: Seeded) -> None:
    for name in API_FUNCTIONS:
        function(s, name, f"/cabal/lambda/{name}")
    start, end = s.now - SPAN, s.now
    per_minute(s, "AWS/ApiGateway", "Count", api_dims(s), 100, start, end)
    per_minute(s, "AWS/ApiGateway", "5XXError", api_dims(s), 2, start, end)
    for name, rate in (("list", 30), *((n, 20) for n in API_FUNCTIONS)):
        per_minute(s, "AWS/Lambda", "Invocations", {"FunctionName": name}, rate, start, end)
        per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": name}, 0, start, end)
        per_minute(s, "AWS/Lambda", "Throttles", {"FunctionName": name}, 0, start, end)
    per_minute(s, "AWS/Lambda", "ConcurrentExecutions", {}, 3, start, end)


def noise(s: Seeded) -> None:
    spike = s.now - timedelta(minutes=50), s.now - timedelta(minutes=40)
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list"}, 4, *spike)
    per_minute(s, "AWS/ApiGateway", "5XXError", api_dims(s), 20, *spike)
    function(s, "list-staging", "/cabal-staging/lambda/list")
    now = s.now - SPAN, s.now
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list-staging"}, 3, *now)
    per_minute(s, "AWS/Lambda", "Throttles", {"FunctionName": "list-staging"}, 2, *now)
