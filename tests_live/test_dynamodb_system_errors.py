"""dynamodb-system-errors runbook (alert DynamoDBSystemErrors): the condition per table, read per (TableName,
Operation) as AWS publishes it, then the runbook's steps.

Step 1 (an AWS incident) is the status page: health:DescribeEvents needs a Business support plan. Step 3 (the
application retrying) reads /cabal/lambda/list (the runbook's /aws/lambda/cabal-list).
"""

import pytest

from cabal_checks.judge import dynamodb

pytestmark = [pytest.mark.dynamodb_system_errors, pytest.mark.dynamodb, pytest.mark.aws]


@pytest.mark.condition
def test_dynamodb_system_errors_condition(ddb_table, dynamodb_metrics, expect):
    expect(dynamodb.system_errors_condition(ddb_table, dynamodb_metrics))


def test_dynamodb_system_errors_by_operation(ddb_table, dynamodb_metrics, expect):
    expect(dynamodb.system_errors_by_operation(ddb_table, dynamodb_metrics))


def test_dynamodb_errors_not_retried(list_log_group, list_retry_lines, expect):
    expect(dynamodb.not_retrying(list_log_group, list_retry_lines))
