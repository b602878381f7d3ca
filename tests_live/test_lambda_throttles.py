"""lambda-throttles runbook: LambdaThrottles re-evaluated per Cabal function from AWS/Lambda Throttles, then load
or configuration, reserved concurrency, the account's limit, and escalation 2's runaway client (one source IP
dominating the last hour of the API's access log) (cabal-infra docs/operations/runbooks/lambda-throttles.md). The
limit (lambda:GetAccountSettings) is a skip where AWS does not answer it, never red."""

import pytest

from cabal_checks.judge import lambdas

pytestmark = [pytest.mark.lambda_throttles, getattr(pytest.mark, "lambda"), pytest.mark.aws]


@pytest.mark.condition
def test_lambda_throttles_condition(lambda_functions, lambda_fleet, expect):
    expect(lambdas.throttles_condition(lambda_fleet))


def test_lambda_throttles_no_load_spike(lambda_functions, lambda_fleet, expect):
    expect(lambdas.no_load_spike(lambda_fleet))


def test_lambda_no_reserved_concurrency(lambda_functions, lambda_concurrency, expect):
    expect(lambdas.no_reserved_concurrency(lambda_concurrency))


def test_lambda_account_below_limit(lambda_functions, lambda_fleet, lambda_account_limit, expect):
    if lambda_account_limit is None:
        pytest.skip("account limit unknown: lambda:GetAccountSettings did not answer (denied, or an endpoint "
                    "without it: moto has none); the step is not judged")
    expect(lambdas.below_account_limit(lambda_fleet, lambda_account_limit))


def test_lambda_throttles_no_runaway_client(api_stage, lambda_api_sources, expect):
    expect(lambdas.no_runaway_client(lambda_api_sources))
