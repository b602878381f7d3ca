"""lambda-5xx-spike runbook: Lambda5xxSpike re-evaluated from AWS/ApiGateway, then which Lambda fails, one or all,
and a recent deploy (cabal-infra docs/operations/runbooks/lambda-5xx-spike.md; names from Terraform)."""

import pytest

from cabal_checks.judge import lambdas

pytestmark = [pytest.mark.lambda_5xx_spike, getattr(pytest.mark, "lambda"), pytest.mark.aws]


@pytest.mark.condition
def test_lambda_5xx_spike_condition(api_stage, lambda_fleet, expect):
    expect(lambdas.spike_condition(lambda_fleet, *api_stage))


def test_lambda_5xx_failing_functions(lambda_functions, lambda_fleet, expect):
    expect(lambdas.failing_functions(lambda_fleet))
