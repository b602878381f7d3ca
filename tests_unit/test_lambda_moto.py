"""The Lambda runbooks (lambda-5xx-spike, lambda-throttles, lambda-errors) against moto, through the suite's reader:
facts/lambdas.py gathers, judge/lambdas.py judges. Every check proven green and red with the message on call reads
(evidence, runbook step, next command with the real names); a staging neighbour's functions are never judged."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import boto3
import pytest

from cabal_checks import facts
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.facts import lambdas as lf
from cabal_checks.judge import lambdas as lj
from cabal_checks.sandbox.moto_patches import LAMBDA_CONFIG, clear_registries, install_patches
from cabal_checks.verdict import CantTell, Verdict

REGION = "us-east-1"
MIN = timedelta(minutes=1)
API = [{"Name": "ApiName", "Value": "cabal_gateway"}, {"Name": "Stage", "Value": "prod"}]


@pytest.fixture
def ctx(mock_account):
    install_patches()
    clear_registries()
    c = Context(load_settings({"control_domain": "cabal.example.test", "region": REGION}, env={}))
    lam = boto3.client("lambda", region_name=REGION)
    boto3.client("iam", region_name=REGION).create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    role = f"arn:aws:iam::{boto3.client('sts').get_caller_identity()['Account']}:role/r"
    for name, group in (("list", "/cabal/lambda/list"), ("fetch_message", "/cabal/lambda/fetch_message"),
                        ("cabal-certbot-renewal", "/cabal/lambda/certbot-renewal"), ("assign_osid", None),
                        ("list-staging", "/cabal-staging/lambda/list"), ("aws-controltower-notify", None)):
        arn = lam.create_function(FunctionName=name, Runtime="python3.13", Role=role, Handler="f.handler",
                                  Code={"ZipFile": _zip()})["FunctionArn"]
        if group:
            LAMBDA_CONFIG[arn] = {"LoggingConfig": {"LogGroup": group, "LogFormat": "Text"}}
    yield c
    clear_registries()


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def handler(e, c):\n    return 1\n")
    return buf.getvalue()


def at(ctx) -> object:
    return lf.evaluation_instant(ctx.settings.now)


def put(ctx, namespace: str, metric: str, dims: list, values: list[float], stat_end=None) -> None:
    """One point a minute, the last in the minute before the evaluation instant (or ``stat_end``)."""
    end = stat_end or at(ctx)
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": metric, "Dimensions": dims, "Timestamp": end - (len(values) - i) * MIN, "Value": float(v)}
        for i, v in enumerate(values)])


def fn(name: str) -> list:
    return [{"Name": "FunctionName", "Value": name}]


def fresh(ctx) -> Context:
    return Context(ctx.settings)  # the reader memoizes: a judgement after a change needs its own run


def assert_red(v: Verdict, *words: str) -> None:
    text = v.render()
    assert not v.ok, text
    assert "runbook: lambda-" in text and "next: " in text, text
    for w in words:
        assert w in text, (w, text)


# --- which functions are Cabal's -------------------------------------------------------------------------------------


def test_fleet_judges_cabal_functions_only_in_one_metric_request(ctx):
    fleet = lf.lambda_fleet(ctx)
    assert [f.name for f in fleet.ours] == ["assign_osid", "cabal-certbot-renewal", "fetch_message", "list"]
    assert dict(fleet.left_out).keys() == {"aws-controltower-notify", "list-staging"}
    assert sum(1 for c in ctx.aws.calls if c == ("cloudwatch", "GetMetricData")) == 1


# --- LambdaErrors ----------------------------------------------------------------------------------------------------


def test_errors_condition_green_when_quiet_and_when_only_the_neighbour_errs(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list-staging"), [3] * 25)
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [0] * 25)
    v = lj.errors_condition(lf.lambda_fleet(ctx))
    assert v.ok, v.render()
    assert "list-staging" in v.render()  # said as not judged


def test_errors_condition_red_names_the_function_its_group_and_the_deploy_check(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 25)
    assert_red(lj.errors_condition(lf.lambda_fleet(ctx)), "LambdaErrors would be firing for list",
               "aws logs tail /cabal/lambda/list", "--function-name list --query LastModified")


def test_errors_condition_green_for_a_spike_resolved_before_the_window(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [5] * 5 + [0] * 20)  # 25-20 min ago: outside 15 m at every point
    assert lj.errors_condition(lf.lambda_fleet(ctx)).ok


def test_error_text_red_shows_the_last_error_line_of_the_functions_own_group(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 10)
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName="/cabal/lambda/list")
    logs.create_log_stream(logGroupName="/cabal/lambda/list", logStreamName="s")
    when = int((at(ctx) - 3 * MIN).timestamp() * 1000)
    logs.put_log_events(logGroupName="/cabal/lambda/list", logStreamName="s", logEvents=[
        {"timestamp": when, "message": "[ERROR] KeyError: 'Items' Traceback (most recent call last)"}])
    assert_red(lj.error_text(lf.lambda_fleet(ctx), lf.lambda_error_lines(ctx)), "list: 1 error line(s) in "
               "/cabal/lambda/list", "KeyError: 'Items'")


def test_error_text_green_without_errors(ctx):
    assert lj.error_text(lf.lambda_fleet(ctx), lf.lambda_error_lines(ctx)).ok


def test_deploy_before_first_error_is_red_and_old_code_is_runtime(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 10)
    assert lj.not_after_deploy(lf.lambda_fleet(ctx)).ok  # moto: LastModified is now, after the first error
    arn = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName="list")["FunctionArn"]
    changed = at(ctx) - 25 * MIN
    LAMBDA_CONFIG[arn]["LastModified"] = changed.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert_red(lj.not_after_deploy(lf.lambda_fleet(fresh(ctx))), "a deploy preceded the errors: list",
               "list-versions-by-function --function-name list")


# --- Lambda5xxSpike and its step 1/3 -----------------------------------------------------------------------------


def test_5xx_condition_red_above_5_percent_green_below(ctx):
    put(ctx, "AWS/ApiGateway", "Count", API, [100] * 20)
    put(ctx, "AWS/ApiGateway", "5XXError", API, [2] * 20)
    assert lj.spike_condition(lf.lambda_fleet(ctx), "cabal_gateway", "prod").ok
    put(ctx, "AWS/ApiGateway", "5XXError", API, [5] * 20)  # 7 a minute in all: 7 %
    assert_red(lj.spike_condition(lf.lambda_fleet(fresh(ctx)), "cabal_gateway", "prod"),
               "Lambda5xxSpike would be firing", "Name=ApiName,Value=cabal_gateway Name=Stage,Value=prod")


def test_failing_functions_one_or_all(ctx):
    assert lj.failing_functions(lf.lambda_fleet(ctx)).ok
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 3)
    assert_red(lj.failing_functions(lf.lambda_fleet(fresh(ctx))), "one function (list)")
    put(ctx, "AWS/Lambda", "Errors", fn("fetch_message"), [1] * 3)
    assert_red(lj.failing_functions(lf.lambda_fleet(fresh(ctx))), "2 of 4 functions: environment-wide")


# --- LambdaThrottles and its steps -------------------------------------------------------------------------------


def test_throttles_condition_red_with_throttles_green_without(ctx):
    put(ctx, "AWS/Lambda", "Throttles", fn("fetch_message"), [0] * 10)
    assert lj.throttles_condition(lf.lambda_fleet(ctx)).ok
    put(ctx, "AWS/Lambda", "Throttles", fn("fetch_message"), [2] * 3)
    assert_red(lj.throttles_condition(lf.lambda_fleet(fresh(ctx))), "LambdaThrottles would be firing for "
               "fetch_message", "get-function-concurrency --function-name fetch_message")


def test_load_spike_red_at_10x_the_hours_baseline(ctx):
    put(ctx, "AWS/Lambda", "Invocations", fn("list"), [20] * 60)
    assert lj.no_load_spike(lf.lambda_fleet(ctx)).ok
    put(ctx, "AWS/Lambda", "Invocations", fn("list"), [500] * 5)
    assert_red(lj.no_load_spike(lf.lambda_fleet(fresh(ctx))), "load spike on list")


def test_reserved_concurrency_red_when_set(ctx):
    assert lj.no_reserved_concurrency(lf.lambda_concurrency(ctx)).ok
    boto3.client("lambda", region_name=REGION).put_function_concurrency(FunctionName="list",
                                                                        ReservedConcurrentExecutions=0)
    assert_red(lj.no_reserved_concurrency(lf.lambda_concurrency(fresh(ctx))), "reserved concurrency set on list",
               "every call is throttled", "delete-function-concurrency --function-name list  # printed, never run")


def test_account_limit_unknown_is_none_and_judged_where_known(ctx, monkeypatch):
    assert lf.lambda_account_limit(ctx) == 1000  # the sandbox's GetAccountSettings (sandbox/moto_lambda.py)

    def denied(aws):
        raise CantTell("AWS lambda:GetAccountSettings: AccessDeniedException")

    monkeypatch.setattr(lf.lambdas, "account_limit", denied)
    assert lf.lambda_account_limit(fresh(ctx)) is None  # denied or absent: the live test skips, never red
    put(ctx, "AWS/Lambda", "ConcurrentExecutions", [], [950])
    assert_red(lj.below_account_limit(lf.lambda_fleet(fresh(ctx)), 1000), "near its Lambda concurrency limit")
    assert lj.below_account_limit(lf.lambda_fleet(fresh(ctx)), 10000).ok


# --- lambda-throttles escalation 2: a runaway client in the API's access log ----------------------------------------


def access_lines(ctx, group: str, sources: dict[str, int], minutes: int = 10) -> None:
    """``sources[ip]`` access-log lines a minute (cabal-infra's JSON format) over the last ``minutes`` before the
    run's instant (not the clock's: a minute turning meanwhile would move them past the read's window), plus one
    execution-log line that names no source."""
    from cabal_checks.sandbox.history_lambda import access_line
    logs = boto3.client("logs", region_name=REGION)
    if not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]:
        logs.create_log_group(logGroupName=group)
    stream = f"s{len(logs.describe_log_streams(logGroupName=group)['logStreams'])}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = ctx.settings.history_now.replace(second=0, microsecond=0)
    events = [{"timestamp": int((now - m * MIN).timestamp() * 1000) + k, "message": access_line(now - m * MIN, ip, k)}
              for m in range(minutes) for ip, rate in sources.items() for k in range(rate)]
    events.append({"timestamp": int(now.timestamp() * 1000), "message": "(abc) Method completed with status: 500"})
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=sorted(events, key=lambda e: e["timestamp"]))


def rest_api(name: str = "cabal_gateway") -> str:
    return boto3.client("apigateway", region_name=REGION).create_rest_api(name=name)["id"]


def test_runaway_client_green_for_a_busy_operator_red_for_one_ip_over_half_the_hour(ctx):
    rest_api("cabal_gateway-staging")  # a neighbour's API: never the one read
    group = f"API-Gateway-Execution-Logs_{rest_api()}/prod"
    access_lines(ctx, group, {"198.51.100.7": 25, "203.0.113.24": 2})  # one operator: most requests, under the floor
    sources = lf.lambda_api_sources(ctx, "cabal_gateway", "prod")
    assert sources.group == group and sources.total == 270 and sources.by_ip[0] == ("198.51.100.7", 250)
    v = lj.no_runaway_client(sources)
    assert v.ok and "198.51.100.7: 250 request(s) (93%)" in v.render(), v.render()
    access_lines(ctx, group, {"203.0.113.99": 190})
    assert_red(lj.no_runaway_client(lf.lambda_api_sources(fresh(ctx), "cabal_gateway", "prod")),
               "runaway client 203.0.113.99: 1900 of the API's 2170 requests in the last 60 min (88%)",
               "lambda-throttles, escalation (runaway client", f"--log-group-name {group} --filter-pattern "
               "'\"203.0.113.99\"'", "WAF rate-based rule for 203.0.113.99", "printed, never applied")


def test_runaway_client_cant_tell_without_the_api_or_its_access_log(ctx):
    with pytest.raises(CantTell, match="REST API cabal_gateway: none in this account"):
        lf.lambda_api_sources(ctx, "cabal_gateway", "prod")
    api = rest_api()
    with pytest.raises(CantTell, match=f"no log group API-Gateway-Execution-Logs_{api}/prod: the stage "
                                       "cabal_gateway/prod writes no access log here"):
        lf.lambda_api_sources(fresh(ctx), "cabal_gateway", "prod")
    rest_api()
    with pytest.raises(CantTell, match="REST API cabal_gateway: several"):
        lf.lambda_api_sources(fresh(ctx), "cabal_gateway", "prod")


# --- a page that names one function (--alert 'LambdaErrors{function_name="list"}') --------------------------------


def test_a_page_naming_another_function_is_green_though_list_errs_and_says_it_is_narrowed(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 25)
    put(ctx, "AWS/Lambda", "Invocations", fn("list"), [500] * 5)
    boto3.client("lambda", region_name=REGION).put_function_concurrency(FunctionName="list",
                                                                        ReservedConcurrentExecutions=0)
    fleet = lf.lambda_fleet(ctx, ("fetch_message",))
    assert [f.name for f in fleet.ours] == ["fetch_message"] and fleet.whole == 4 and not fleet.left_out
    for v in (lj.errors_condition(fleet), lj.error_text(fleet, lf.lambda_error_lines(ctx, ("fetch_message",))),
              lj.not_after_deploy(fleet), lj.failing_functions(fleet), lj.throttles_condition(fleet),
              lj.no_load_spike(fleet), lj.no_reserved_concurrency(lf.lambda_concurrency(ctx, ("fetch_message",)))):
        text = v.render()
        assert v.ok, text
        assert "list" not in text.replace("narrowed by --alert to fetch_message", ""), text  # the others: unnamed
    assert "narrowed by --alert to fetch_message: the other 3 Cabal function(s) are not judged" in \
        lj.errors_condition(fleet).render()
    assert sum(1 for c in ctx.aws.calls if c == ("cloudwatch", "GetMetricData")) == 1  # the fleet's one request


def test_a_page_naming_the_erring_function_is_red_naming_only_it(ctx):
    put(ctx, "AWS/Lambda", "Errors", fn("list"), [1] * 25)
    put(ctx, "AWS/Lambda", "Errors", fn("fetch_message"), [1] * 25)
    fleet = lf.lambda_fleet(ctx, ("list",))
    v = lj.errors_condition(fleet)
    assert_red(v, "LambdaErrors would be firing for list:", "aws logs tail /cabal/lambda/list",
               "narrowed by --alert to list: the other 3 Cabal function(s) are not judged")
    assert "fetch_message" not in v.render()
    assert_red(lj.failing_functions(fleet), "one function (list)")  # the whole fleet says "2 of 4": environment-wide
    assert_red(lj.failing_functions(lf.lambda_fleet(ctx)), "2 of 4 functions: environment-wide")


def test_a_page_naming_no_function_of_cabal_is_cant_tell_in_one_line(ctx):
    for name, words in (("nope", "nope: no such function in this account"),
                        ("list-staging", "list-staging: logs to /cabal-staging/lambda/list, not /cabal/lambda/"
                                         "list-staging: not a Cabal function of this deployment")):
        with pytest.raises(CantTell) as info:
            lf.lambda_fleet(ctx, (name,))
        text = str(info.value)
        assert f"--alert names function {name}, not one of Cabal's 4 functions here" in text and words in text
        assert "Cabal's: assign_osid, cabal-certbot-renewal, fetch_message, list" in text and "\n" not in text
    with pytest.raises(CantTell):
        lf.lambda_concurrency(ctx, ("nope",))


def test_facts_are_in_the_table():
    assert {"lambda_fleet", "lambda_concurrency", "lambda_account_limit", "lambda_error_lines"} <= set(facts.__all__)
