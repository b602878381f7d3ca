"""lambda-errors runbook: LambdaErrors re-evaluated per Cabal function from AWS/Lambda Errors, the error in each
erring function's own log group, deploy or runtime (cabal-infra docs/operations/runbooks/lambda-errors.md).

Step 3 (user-visible) is lambda-5xx-spike's condition for an API function; escalation's alert_sink exists only with
the monitoring module."""

import pytest

from cabal_checks.judge import lambdas

pytestmark = [pytest.mark.lambda_errors, getattr(pytest.mark, "lambda"), pytest.mark.aws]


@pytest.mark.condition
def test_lambda_errors_condition(lambda_functions, lambda_fleet, expect):
    expect(lambdas.errors_condition(lambda_fleet))


def test_lambda_errors_error_text(lambda_functions, lambda_fleet, lambda_error_lines, expect):
    expect(lambdas.error_text(lambda_fleet, lambda_error_lines))


def test_lambda_errors_not_after_deploy(lambda_functions, lambda_fleet, expect):
    expect(lambdas.not_after_deploy(lambda_fleet))
