"""aws/cloudwatch.metric_data and aws/log_counts.count_per_minute against moto (in-process), through the suite's
reader, and re-judged by judge/condition: each proven green and red. Paging, limits and can't-tells moto does not
produce are shown with a scripted reader (the same ``call`` interface)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest

from cabal_checks.aws import cloudwatch as cw
from cabal_checks.aws import log_counts as lc
from cabal_checks.aws.reader import PACE_SECOND, AwsReader, Pace
from cabal_checks.judge import condition
from cabal_checks.verdict import CantTell

REGION = "us-east-1"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)  # moto's logs refuse events older than 14 days
MIN = timedelta(minutes=1)
API = (("ApiName", "cabal_gateway"), ("Stage", "prod"))


@pytest.fixture
def reader(mock_account):
    return AwsReader(REGION, 10.0)


def put_per_minute(namespace: str, name: str, dims: tuple, values, end: datetime = NOW) -> None:
    """One Sum datapoint per minute, the last in the minute before ``end``; None leaves the minute quiet."""
    client = boto3.client("cloudwatch", region_name=REGION)
    data = [{"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
             "Timestamp": end - (len(values) - i) * MIN, "Value": float(v), "Unit": "Count"}
            for i, v in enumerate(values) if v is not None]
    for first in range(0, len(data), 500):
        client.put_metric_data(Namespace=namespace, MetricData=data[first:first + 500])


def requests(reader: AwsReader, service: str, api: str) -> int:
    return sum(1 for call in reader.calls if call == (service, api))


# --- metric_data --------------------------------------------------------------------------------------------------


def test_metric_data_reads_each_metric_in_one_request(reader):
    put_per_minute("AWS/Lambda", "Errors", (("FunctionName", "list"),), [0, 2, None, 1])
    put_per_minute("AWS/Lambda", "Errors", (("FunctionName", "fetch_message"),), [0, 0, 0, 0])
    errors = [cw.Metric("AWS/Lambda", "Errors", (("FunctionName", fn),)) for fn in ("list", "fetch_message", "send")]
    out = cw.metric_data(reader, errors + errors[:1], NOW - timedelta(minutes=10), NOW)
    assert [v for _, v in out[errors[0]]] == [0, 2, 1]  # the quiet minute has no point
    assert out[errors[0]][0][0] == NOW - 4 * MIN
    assert [v for _, v in out[errors[1]]] == [0, 0, 0, 0]
    assert out[errors[2]] == ()  # no such function's metric: an empty series, not an error
    assert requests(reader, "cloudwatch", "GetMetricData") == 1


def test_metric_data_batches_500_queries_a_request(reader):
    metrics = [cw.Metric("AWS/Lambda", "Throttles", (("FunctionName", f"fn{i}"),)) for i in range(501)]
    put_per_minute("AWS/Lambda", "Throttles", (("FunctionName", "fn500"),), [3])
    out = cw.metric_data(reader, metrics, NOW - timedelta(minutes=5), NOW)
    assert len(out) == 501 and [v for _, v in out[metrics[500]]] == [3]
    assert requests(reader, "cloudwatch", "GetMetricData") == 2


@pytest.mark.parametrize("errors_per_min, fires", [(7, True), (5, False)], ids=["red-7pc", "green-at-5pc"])
def test_5xx_spike_re_evaluated_from_moto(reader, errors_per_min, fires):
    put_per_minute("AWS/ApiGateway", "5XXError", API, [errors_per_min] * 20)
    put_per_minute("AWS/ApiGateway", "Count", API, [100] * 20)
    five, count = cw.Metric("AWS/ApiGateway", "5XXError", API), cw.Metric("AWS/ApiGateway", "Count", API)
    out = cw.metric_data(reader, [five, count], NOW - timedelta(minutes=20), NOW)
    ev = condition.ratio(out[five], out[count], NOW, timedelta(minutes=10), timedelta(minutes=5), 0.05)
    assert ev.breached is fires
    assert ev.worst[1] == pytest.approx(errors_per_min / 100)


@pytest.mark.parametrize("balance, fires", [(19e9, True), (21e9, False)], ids=["red-below-20e9", "green-above"])
def test_efs_burst_credits_re_evaluated_from_five_minute_averages(reader, balance, fires):
    efs = (("FileSystemId", "fs-0cabal"),)
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_metric_data(Namespace="AWS/EFS", MetricData=[
        {"MetricName": "BurstCreditBalance", "Dimensions": [{"Name": "FileSystemId", "Value": "fs-0cabal"}],
         "Timestamp": NOW - timedelta(minutes=m), "Value": balance, "Unit": "Bytes"} for m in range(5, 80, 5)])
    metric = cw.Metric("AWS/EFS", "BurstCreditBalance", efs, "Average", 300)
    out = cw.metric_data(reader, [metric], NOW - timedelta(minutes=80), NOW)
    assert len(out[metric]) == 15
    assert condition.gauge(out[metric], NOW - 5 * MIN, timedelta(hours=1), "<", 20e9).breached is fires


@pytest.mark.parametrize("running, fires", [([1] * 60 + [0] * 30, True), ([1] * 85 + [0] * 5, False)],
                         ids=["red-down-for-30m", "green-restarted-5m-ago"])
def test_restart_loop_re_evaluated_from_container_insights(reader, running, fires):
    svc = (("ClusterName", "cabal-mail"), ("ServiceName", "cabal-imap"))
    put_per_minute("ECS/ContainerInsights", "DesiredTaskCount", svc, [1] * 90)
    put_per_minute("ECS/ContainerInsights", "RunningTaskCount", svc, running)
    run, want = (cw.Metric("ECS/ContainerInsights", m, svc, "Average") for m in ("RunningTaskCount", "DesiredTaskCount"))
    out = cw.metric_data(reader, [run, want], NOW - timedelta(minutes=90), NOW)
    assert condition.below_desired(out[run], out[want], NOW).breached is fires
    assert requests(reader, "cloudwatch", "GetMetricData") == 1


class Scripted:
    """A reader whose ``call`` answers GetMetricData / FilterLogEvents pages from a script, keyed by token."""

    def __init__(self, pages: dict):
        self.pages, self.asked = pages, []

    def call(self, service, method, **params):
        token = params.get("NextToken") or params.get("nextToken")
        self.asked.append((method, token))
        return self.pages[token](params) if callable(self.pages[token]) else self.pages[token]


def _result(qid, times, values, status="Complete"):
    return {"Id": qid, "Timestamps": times, "Values": values, "StatusCode": status}


def test_metric_data_follows_next_token_and_merges_pages():
    t0 = NOW - 2 * MIN
    fake = Scripted({None: {"MetricDataResults": [_result("m0", [t0], [1.0], "PartialData")], "NextToken": "p2"},
                     "p2": {"MetricDataResults": [_result("m0", [t0 + MIN], [2.0])]}})
    metric = cw.Metric("AWS/DynamoDB", "ThrottledRequests", (("TableName", "cabal-addresses"),))
    out = cw.metric_data(fake, [metric], NOW - timedelta(minutes=5), NOW)
    assert [v for _, v in out[metric]] == [1.0, 2.0] and fake.asked == [("get_metric_data", None),
                                                                       ("get_metric_data", "p2")]


@pytest.mark.parametrize("page, says", [
    ({"MetricDataResults": [_result("m0", [], [], "InternalError")]}, "returned InternalError for AWS/EFS"),
    ({"MetricDataResults": [_result("m0", [], [], "PartialData")]}, "returned PartialData"),
    ({"MetricDataResults": [], "Messages": [{"Code": "MaxQueryTimeRangeExceed", "Value": "too long"}]},
     "MaxQueryTimeRangeExceed: too long"),
], ids=["internal-error", "truncated", "request-message"])
def test_metric_data_incomplete_answers_are_cant_tell(page, says):
    metric = cw.Metric("AWS/EFS", "BurstCreditBalance", (("FileSystemId", "fs-1"),), "Average", 300)
    with pytest.raises(CantTell, match=says):
        cw.metric_data(Scripted({None: page}), [metric], NOW - timedelta(hours=1), NOW)


def test_metric_data_endless_pages_are_cant_tell():
    fake = Scripted({None: {"MetricDataResults": [], "NextToken": "again"},
                     "again": {"MetricDataResults": [], "NextToken": "again"}})
    with pytest.raises(CantTell, match="still had pages after 20"):
        cw.metric_data(fake, [cw.Metric("AWS/EC2", "CPUUtilization")], NOW - timedelta(hours=1), NOW)
    assert len(fake.asked) == cw.MAX_PAGES


# --- count_per_minute ------------------------------------------------------------------------------------------


def put_lines(group: str, lines: list[tuple[datetime, str]]) -> None:
    logs = boto3.client("logs", region_name=REGION)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="smtp/smtp/task")
    events = sorted(({"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in lines),
                    key=lambda e: e["timestamp"])
    logs.put_log_events(logGroupName=group, logStreamName="smtp/smtp/task", logEvents=events)


DEFERRED = "sm-mta[101]: 4B1Q: to=<a@example.org>, delay=00:00:01, mailer=esmtp, dsn=4.4.1, stat=Deferred: timeout"
SENT = "sm-mta[102]: 4B1R: to=<b@example.org>, delay=00:00:01, mailer=esmtp, dsn=2.0.0, stat=Sent (ok)"


@pytest.mark.parametrize("per_minute, fires", [(2, True), (1, False)], ids=["red-20-per-10m", "green-10-per-10m"])
def test_deferred_spike_counted_from_moto_and_re_evaluated(reader, per_minute, fires):
    lines = [(NOW - m * MIN + timedelta(seconds=s), DEFERRED) for m in range(1, 31) for s in range(per_minute)]
    lines += [(NOW - timedelta(minutes=m), SENT) for m in range(1, 31)]
    put_lines("/ecs/cabal-smtp-out", lines)
    count = lc.count_per_minute(reader, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - timedelta(minutes=30), NOW)
    assert count.total == 30 * per_minute and count.per_minute[0] == (NOW - timedelta(minutes=30), per_minute)
    ev = condition.increase(count.points(), NOW, timedelta(minutes=10), timedelta(minutes=15), ">", 10)
    assert ev.breached is fires
    assert requests(reader, "logs", "FilterLogEvents") == 1 and count.pages == 1


def test_checks_sharing_a_scan_send_one_request_and_keep_their_own_words_and_windows(reader):
    put_lines("/ecs/cabal-smtp-out", [(NOW - 50 * MIN, DEFERRED), (NOW - 20 * MIN, DEFERRED), (NOW - 3 * MIN, SENT),
                                      (NOW - 2 * MIN, "dsn=5.1.1, stat=User unknown"), (NOW - MIN, DEFERRED)])
    scan = lc.Scan(("stat=Deferred", "dsn=5", "[reconfigure] Done."), NOW - timedelta(hours=2), NOW)
    assert scan.pattern == '?"stat=Deferred" ?"dsn=5" ?"[reconfigure] Done."'
    deferred = lc.count_per_minute(reader, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - 30 * MIN, NOW, scan=scan)
    bounced = lc.count_per_minute(reader, "/ecs/cabal-smtp-out", ("dsn=5",), NOW - 5 * MIN, NOW, scan=scan)
    codes = lc.tally(reader, "/ecs/cabal-smtp-out", "dsn=5", NOW - 5 * MIN, NOW, lambda m: m.split(",")[:1], scan=scan)
    assert requests(reader, "logs", "FilterLogEvents") == 1  # one read of the group for the three
    assert deferred.per_minute == ((NOW - 20 * MIN, 1), (NOW - MIN, 1))  # the 50-minute-old line is outside the window
    assert bounced.per_minute == ((NOW - 2 * MIN, 1),) and codes == {"dsn=5.1.1": 1}
    alone = AwsReader(REGION, 10.0)  # the same counts read alone, one request each
    assert lc.count_per_minute(alone, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - 30 * MIN, NOW) == deferred
    assert lc.count_per_minute(alone, "/ecs/cabal-smtp-out", ("dsn=5",), NOW - 5 * MIN, NOW) == bounced


def test_a_window_or_word_the_scan_does_not_hold_is_read_on_its_own(reader):
    put_lines("/ecs/cabal-imap", [(NOW - 3 * 60 * MIN, "fail2ban: Ban 10.0.0.1"), (NOW - 2 * MIN, "auth failed")])
    scan = lc.Scan(("auth failed",), NOW - timedelta(hours=2), NOW)
    old = lc.count_per_minute(reader, "/ecs/cabal-imap", ("fail2ban",), NOW - timedelta(days=1), NOW, scan=scan)
    assert old.total == 1 and requests(reader, "logs", "FilterLogEvents") == 1
    wider = lc.count_per_minute(reader, "/ecs/cabal-imap", ("auth failed",), NOW - timedelta(hours=3), NOW, scan=scan)
    assert wider.total == 1 and requests(reader, "logs", "FilterLogEvents") == 2


def test_a_pace_lets_five_requests_start_in_any_second():
    clock, slept = [100.0], []
    pace = Pace(5, clock=lambda: clock[0], sleep=slept.append)
    starts = [pace.start() for _ in range(12)]
    assert starts == [100.0] * 5 + [100.0 + PACE_SECOND] * 5 + [100.0 + 2 * PACE_SECOND] * 2
    clock[0] = 103.0  # later, after a quiet while: at once again
    pace.wait()
    assert slept == []


def test_the_reader_paces_filter_log_events_and_nothing_else(reader):
    clock, slept = [0.0], []
    reader.paces[("logs", "FilterLogEvents")] = Pace(5, clock=lambda: clock[0], sleep=slept.append)
    put_lines("/ecs/cabal-imap", [(NOW - MIN, "auth failed")])
    for i in range(7):
        reader.call("logs", "filter_log_events", logGroupName="/ecs/cabal-imap", filterPattern=f'"w{i}"')
    reader.call("logs", "describe_log_streams", logGroupName="/ecs/cabal-imap")
    assert slept == [PACE_SECOND, PACE_SECOND]  # the sixth and seventh waited; DescribeLogStreams did not


def test_all_of_is_an_and_in_python(reader):
    # IMAPAuthFailureSpike's filter is "imap-login" "auth failed": moto reads that pattern as one literal, so one
    # word is asked and the other required here
    put_lines("/ecs/cabal-imap", [
        (NOW - 2 * MIN, "dovecot: imap-login: Disconnected: auth failed, 1 attempts in 2 secs: user=<u>, rip=10.64.1.5"),
        (NOW - 2 * MIN, "dovecot: auth: passwd-file(u,10.64.1.5): auth failed"),  # the auth process, not imap-login
        (NOW - MIN, "dovecot: imap-login: Login: user=<u>, rip=10.64.1.5")])
    count = lc.count_per_minute(reader, "/ecs/cabal-imap", ("auth failed",), NOW - timedelta(minutes=5), NOW,
                                all_of=("imap-login",))
    assert count.per_minute == ((NOW - 2 * MIN, 1),)


def test_any_of_counts_an_event_holding_both_words_once(reader):
    put_lines("/ecs/cabal-smtp-in", [(NOW - 3 * MIN, "dsn=5.1.1, stat=User unknown"),
                                     (NOW - 3 * MIN, "reject=550 5.7.1 dsn=5.7.1"),
                                     (NOW - 2 * MIN, "reject=550 5.7.1 relaying denied"),
                                     (NOW - 2 * MIN, "stat=Sent")])
    count = lc.count_per_minute(reader, "/ecs/cabal-smtp-in", ("dsn=5", "reject=550"), NOW - timedelta(minutes=5), NOW)
    assert count.per_minute == ((NOW - 3 * MIN, 2), (NOW - 2 * MIN, 1))
    assert count.pages == 1 and reader.calls.count(("logs", "FilterLogEvents")) == 1  # both words in one request


def test_a_missing_group_is_none(reader):
    assert lc.count_per_minute(reader, "/ecs/cabal-nothing", ("stat=Deferred",), NOW - MIN, NOW) is None


def test_count_follows_next_token_including_empty_pages():
    event = {"timestamp": int((NOW - MIN).timestamp() * 1000), "message": "[reconfigure] Done."}
    fake = Scripted({None: {"events": [], "nextToken": "t1"}, "t1": {"events": [event], "nextToken": "t2"},
                     "t2": {"events": [event]}})
    count = lc.count_per_minute(fake, "/ecs/cabal-imap", ("[reconfigure] Done.",), NOW - timedelta(hours=1), NOW)
    assert count.total == 2 and count.pages == 3


def test_a_count_that_cannot_finish_is_cant_tell_never_a_number():
    endless = Scripted({None: {"events": [], "nextToken": "x"}, "x": {"events": [], "nextToken": "x"}})
    with pytest.raises(CantTell, match="more than 3 pages"):
        lc.count_per_minute(endless, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - MIN, NOW, max_pages=3)
    with pytest.raises(CantTell, match="did not finish in time"):
        lc.count_per_minute(endless, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - MIN, NOW, deadline=-1)


@pytest.mark.parametrize("words", [(), ('say "hi"',), ("two\nlines",), ("",)], ids=["none", "quote", "newline", "empty"])
def test_words_must_be_one_quoted_term(words):
    with pytest.raises(ValueError):
        lc.count_per_minute(Scripted({}), "/ecs/cabal-imap", words, NOW - MIN, NOW)


def test_an_empty_window_is_a_bug_not_a_request():
    with pytest.raises(ValueError):
        cw.metric_data(Scripted({}), [cw.Metric("AWS/EC2", "CPUUtilization")], NOW, NOW + timedelta(seconds=30))


def test_the_window_ends_before_end(reader):
    put_lines("/ecs/cabal-smtp-out", [(NOW - MIN, DEFERRED), (NOW, DEFERRED)])  # the second is at the end: outside
    count = lc.count_per_minute(reader, "/ecs/cabal-smtp-out", ("stat=Deferred",), NOW - 5 * MIN, NOW)
    assert count.per_minute == ((NOW - MIN, 1),)


def test_a_shared_read_pages_as_far_as_one_read_per_word_did():
    """A scan of three words may follow 3 x max_pages pages: one busy word does not blind the checks of the others."""
    endless = Scripted({None: {"events": [], "nextToken": "t"}, "t": {"events": [], "nextToken": "t"}})
    scan = lc.Scan(("stat=Deferred", "dsn=5", "auth failed"), NOW - timedelta(hours=2), NOW)
    with pytest.raises(CantTell, match="more than 6 pages"):
        lc.count_per_minute(endless, "/ecs/cabal-smtp-out", ("dsn=5",), NOW - MIN, NOW, scan=scan, max_pages=2)
