"""The Lambda runbooks' healthy history in the sandbox (both topologies), and the noise a lived-in account adds.

Healthy: a second API function (``fetch_message``) beside ``list``; per minute over the last ``SPAN``: the API
``cabal_gateway``/``prod`` at 100 requests with 2 5xx (2 %, under Lambda5xxSpike's 5 %), each function's
Invocations at a steady rate with no Errors and no Throttles, the account's ConcurrentExecutions at 3; the stage's
access log (``API-Gateway-Execution-Logs_<rest-api-id>/prod``, cabal-infra's JSON format) at 6 lines a minute from
three IPs, the operator's own at half of them (a single operator's traffic is green: under the runaway floor).
Noisy: a resolved Errors and 5xx spike 40-50 min ago (outside every window the checks read: 15 min, 30 min of logs),
and a staging neighbour's function ``list-staging`` (its group ``/cabal-staging/lambda/list``) erring and throttled
now: never judged as ours (facts/lambdas.is_ours); a runaway client 65-75 min ago, resolved (outside the access log's
hour); the neighbour's REST API ``cabal_gateway-staging`` with its own access log, one IP load-testing it now (never
read: the API read is the one named ``cabal_gateway``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .aws_seed import LAMBDA_CONFIG, Seeded, _zip, put_log_lines, put_metrics

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
    put_metrics(s, namespace, data)


def api_dims(s: Seeded) -> dict:
    return {"ApiName": s.names["api_name"], "Stage": s.names["api_stage"]}


ACCESS_SOURCES = (("198.51.100.7", 3), ("203.0.113.24", 2), ("192.0.2.61", 1))  # (source IP, lines a minute)


def access_group(s: Seeded) -> str:
    return f"API-Gateway-Execution-Logs_{s.rest_api_id}/{s.names['api_stage']}"


def access_line(at: datetime, ip: str, n: int, path: str = "/list") -> str:
    """One line of cabal-infra's access-log format (modules/app/main.tf, ``access_log_settings``)."""
    rid = f"{at:%H%M%S}-{n:04d}-{ip.replace('.', '')}"
    fields = {"requestId": rid, "extendedRequestId": f"x{rid}", "ip": ip, "caller": "-", "user": "-",
              "requestTime": f"{at:%d/%b/%Y:%H:%M:%S +0000}", "httpMethod": "GET", "resourcePath": path,
              "status": "200", "protocol": "HTTP/1.1", "responseLength": "512"}
    return "{ " + ", ".join(f'"{k}":"{v}"' for k, v in fields.items()) + " }"


def access_log(s: Seeded, sources: tuple[tuple[str, int], ...], start: datetime, end: datetime,
               stream: str, group: str = "") -> None:
    """``rate`` lines a minute from each source IP in ``[start, end)``, in ``group`` (the stage's access log)."""
    group = group or access_group(s)
    logs = s.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    lines = [(start + i * MIN + timedelta(seconds=k * 60 // rate), access_line(start + i * MIN, ip, k))
             for i in range(int((end - start) / MIN)) for ip, rate in sources for k in range(rate)]
    for first in range(0, len(lines), 5000):
        put_log_lines(s, group, stream, lines[first:first + 5000])


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
    access_log(s, ACCESS_SOURCES, start, end, "access")


def noise(s: Seeded) -> None:
    spike = s.now - timedelta(minutes=50), s.now - timedelta(minutes=40)
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list"}, 4, *spike)
    per_minute(s, "AWS/ApiGateway", "5XXError", api_dims(s), 20, *spike)
    function(s, "list-staging", "/cabal-staging/lambda/list")
    now = s.now - SPAN, s.now
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list-staging"}, 3, *now)
    per_minute(s, "AWS/Lambda", "Throttles", {"FunctionName": "list-staging"}, 2, *now)
    access_log(s, (("203.0.113.77", 200),), s.now - timedelta(minutes=75), s.now - timedelta(minutes=65), "resolved")
    staging = s.client("apigateway").create_rest_api(name=f"{s.names['api_name']}-staging")["id"]
    access_log(s, (("192.0.2.200", 100),), s.now - timedelta(minutes=10), s.now, "load-test",
               f"API-Gateway-Execution-Logs_{staging}/{s.names['api_stage']}")
