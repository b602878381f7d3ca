"""dynamodb-throttling runbook (alert DynamoDBThrottling): the condition per table, then the runbook's steps.

Step 2 reads the reconfigure loop per tier (the access pattern of /cabal/lambda/list is data, not a verdict); the
escalation items are remediation.
"""

import pytest

from cabal_checks.judge import dynamodb

pytestmark = [pytest.mark.dynamodb_throttling, pytest.mark.dynamodb, pytest.mark.aws]


@pytest.mark.condition
def test_dynamodb_throttling_condition(ddb_table, dynamodb_metrics, expect):
    expect(dynamodb.throttling_condition(ddb_table, dynamodb_metrics))


def test_dynamodb_no_hot_partition(ddb_table, dynamodb_metrics, expect):
    expect(dynamodb.no_hot_partition(ddb_table, dynamodb_metrics))


def test_dynamodb_table_on_demand(ddb_table, dynamodb_table_facts, expect):
    if dynamodb_table_facts is None:
        pytest.skip(f"{ddb_table}: no such table in this account (dynamodb:DescribeTable)")
    expect(dynamodb.on_demand(ddb_table, dynamodb_table_facts))


def test_reconfigure_not_in_tight_loop(reconfigure_service_key, regeneration_lines, settings, expect):
    expect(dynamodb.reconfigure_not_looping(settings.names[reconfigure_service_key], regeneration_lines))
