"""The Lambda runbooks' faults (lambda-errors, lambda-throttles, lambda-5xx-spike): AWS state only, so the fault
matrix reuses its running sandbox. Each puts its datapoints on the minutes up to now (the live run's evaluation
instant is the last whole minute less 2), covering every point of the rule's ``for`` and window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .aws_seed import LAMBDA_CONFIG, put_log_lines
from .faults import fault
from .history_lambda import access_log, api_dims, per_minute

FN = "functions"  # the test id of the checks judging every Cabal function
API = "cabal_gateway/prod"  # the test id of the checks judging the REST API's stage


def _recent(minutes: int) -> tuple[datetime, datetime]:
    now = datetime.fromtimestamp(datetime.now(UTC).timestamp() // 60 * 60, UTC)
    return now - timedelta(minutes=minutes), now + timedelta(minutes=1)


@fault("lambda-errors-list", "the list function raises on every few calls: Errors for 30 min, KeyError tracebacks "
       "in /cabal/lambda/list; its code unchanged for longer (runtime, not a deploy)",
       (f"test_lambda_errors_condition[{FN}]", f"test_lambda_errors_error_text[{FN}]",
        f"test_lambda_5xx_failing_functions[{FN}]"), runbook="lambda-errors", cause=f"test_lambda_errors_error_text[{FN}]")
def _errors_list(sb):
    s = sb.seeded
    start, end = _recent(30)
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list"}, 2, start, end)
    logs = s.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix="/cabal/lambda/list")["logGroups"]:
        logs.create_log_group(logGroupName="/cabal/lambda/list")
    at = end - timedelta(minutes=6)
    put_log_lines(s, "/cabal/lambda/list", f"{at:%Y/%m/%d}/[$LATEST]0c4f1e", [
        (at, "[ERROR] KeyError: 'Items'"),
        (at + timedelta(seconds=1), "Traceback (most recent call last):\n  File \"/var/task/function.py\", line 41, "
                                    "in handler\n    return response['Items']\nKeyError: 'Items'")])


@fault("lambda-throttled", "fetch_message throttled: Throttles every minute for the last 10 min",
       (f"test_lambda_throttles_condition[{FN}]",), runbook="lambda-throttles")
def _throttled(sb):
    per_minute(sb.seeded, "AWS/Lambda", "Throttles", {"FunctionName": "fetch_message"}, 3, *_recent(10))


@fault("reserved-concurrency-set", "someone set list's reserved concurrency to 0 by hand (cabal-infra sets none)",
       (f"test_lambda_no_reserved_concurrency[{FN}]",), runbook="lambda-throttles")
def _reserved(sb):
    sb.seeded.client("lambda").put_function_concurrency(FunctionName="list", ReservedConcurrentExecutions=0)


@fault("api-5xx-spike", "cabal_gateway/prod answers 9 % 5xx for 25 min (7 a minute over the healthy 2, of 100 "
       "requests): integration failures, no Lambda Errors",
       ("test_lambda_5xx_spike_condition[cabal_gateway/prod]",), runbook="lambda-5xx-spike")
def _api_5xx(sb):
    per_minute(sb.seeded, "AWS/ApiGateway", "5XXError", api_dims(sb.seeded), 7, *_recent(25))


@fault("lambda-deploy-broke-list", "a deploy of list 20 min ago broke it: Errors since, its LastModified just before",
       (f"test_lambda_errors_condition[{FN}]", f"test_lambda_errors_error_text[{FN}]",
        f"test_lambda_errors_not_after_deploy[{FN}]", f"test_lambda_5xx_failing_functions[{FN}]"),
       runbook="lambda-errors", cause=f"test_lambda_errors_error_text[{FN}]")
def _deploy_broke(sb):
    s = sb.seeded
    start, end = _recent(18)
    per_minute(s, "AWS/Lambda", "Errors", {"FunctionName": "list"}, 1, start, end)
    arn = s.client("lambda").get_function_configuration(FunctionName="list")["FunctionArn"]
    changed = start - timedelta(minutes=2)
    LAMBDA_CONFIG.setdefault(arn, {})["LastModified"] = changed.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@fault("lambda-load-spike", "a runaway client: list invoked 1000 times a minute for the last 8 min (30 before)",
       (f"test_lambda_throttles_no_load_spike[{FN}]",), runbook="lambda-throttles")
def _load_spike(sb):
    per_minute(sb.seeded, "AWS/Lambda", "Invocations", {"FunctionName": "list"}, 1000, *_recent(8))


@fault("lambda-near-account-limit", "the account's ConcurrentExecutions at 960 of its 1000 limit (another workload "
       "in the account); the sandbox answers GetAccountSettings (sandbox/moto_lambda.py)",
       (f"test_lambda_account_below_limit[{FN}]",), runbook="lambda-throttles")
def _near_limit(sb):
    per_minute(sb.seeded, "AWS/Lambda", "ConcurrentExecutions", {}, 960, *_recent(10))


@fault("runaway-client", "a runaway client: 203.0.113.99 calls the API 200 times a minute for the last 10 min (over "
       "2000 requests, most of the hour's; the healthy 6 a minute besides) in the stage's access log",
       (f"test_lambda_throttles_no_runaway_client[{API}]",), runbook="lambda-throttles",
       cause=f"test_lambda_throttles_no_runaway_client[{API}]")
def _runaway(sb):
    access_log(sb.seeded, (("203.0.113.99", 200),), *_recent(10), "runaway")
