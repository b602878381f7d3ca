"""The reader's timestamp parser (``reader.parse_timestamp``) against botocore's own, over generated instants in
every form AWS answers with (hypothesis): the same instant, always aware when AWS says the zone; and the readers'
clients use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import boto3
import botocore.utils
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cabal_checks.aws.reader import AwsReader, parse_timestamp  # noqa: E402

FAST = settings(max_examples=200, deadline=None, database=None, derandomize=True)
instants = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC))
zones = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@FAST
@given(instants, zones)
@example(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), UTC)
def test_every_form_aws_answers_in_parses_to_the_instant_botocore_parses_it_to(when, zone):
    for value in (when.timestamp(), int(when.timestamp()), str(when.timestamp()),  # JSON protocols: epoch seconds
                  when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), when.strftime("%Y-%m-%dT%H:%M:%SZ"),  # query/XML: ISO 8601
                  when.astimezone(zone).isoformat(),
                  when.strftime("%a, %d %b %Y %H:%M:%S GMT")):  # RFC 822 (REST headers)
        ours, theirs = parse_timestamp(value), botocore.utils.parse_timestamp(value)
        assert ours.tzinfo is not None and ours == theirs, value


@pytest.mark.parametrize("value", ["2026-12-03T10:00:00", "2026-12-03"])
def test_a_time_without_a_zone_is_botocores_parse(value):
    assert parse_timestamp(value) == botocore.utils.parse_timestamp(value)


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-45T99:00:00Z"])
def test_what_is_no_timestamp_fails_as_botocore_fails(value):
    with pytest.raises(ValueError):
        botocore.utils.parse_timestamp(value)
    with pytest.raises(ValueError):
        parse_timestamp(value)


def test_the_readers_answers_are_parsed_with_it():
    """An answer's timestamps come back in UTC (botocore's own parse gives them the machine's local zone)."""
    from moto import mock_aws

    with mock_aws():
        boto3.client("cloudwatch", region_name="us-east-1").put_metric_data(Namespace="Cabal/Test", MetricData=[
            {"MetricName": "M", "Value": 1.0, "Timestamp": datetime.now(UTC) - timedelta(minutes=5)}])
        reader = AwsReader("us-east-1", 5)
        got = reader.call("cloudwatch", "get_metric_statistics", Namespace="Cabal/Test", MetricName="M",
                          StartTime=datetime.now(UTC) - timedelta(hours=1), EndTime=datetime.now(UTC), Period=3600,
                          Statistics=["Sum"])
    assert [p["Timestamp"].tzinfo for p in got["Datapoints"]] == [UTC]
