"""The mail-log runbooks' checks against moto (in-process): each green beside its proven-red twin, through the facts
(facts/mail_logs.py, the real FilterLogEvents paging of aws/log_counts.py) and the judges (judge/mail_logs.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from moto.backends import get_backend

from cabal_checks.aws import log_counts as lc
from cabal_checks.aws.reader import AwsReader
from cabal_checks.facts import mail_logs as facts
from cabal_checks.judge import mail_logs as judge
from cabal_checks.mail_log_shapes import LastLine
from cabal_checks.names import DEFAULT_NAMES
from cabal_checks.verdict import CantTell

REGION = "us-east-1"
NOW = datetime.now(UTC).replace(second=30, microsecond=0)  # moto's logs refuse events older than 14 days
AT = NOW.replace(second=0)


@pytest.fixture
def ctx(mock_account):
    return SimpleNamespace(settings=SimpleNamespace(now=NOW, names=DEFAULT_NAMES), aws=AwsReader(REGION, 10.0),
                           name=DEFAULT_NAMES.__getitem__)


def put(group: str, lines) -> None:
    logs = boto3.client("logs", region_name=REGION)
    try:
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName="tier/tier/task")
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = sorted(({"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in lines),
                    key=lambda e: e["timestamp"])
    logs.put_log_events(logGroupName=group, logStreamName="tier/tier/task", logEvents=events)


def every(minutes: int, per_minute: float, line, end: datetime = AT):
    step = timedelta(seconds=60 / per_minute)
    t, i, out = end - timedelta(minutes=minutes), 0, []
    while t < end:
        out.append((t, line(i)))
        t, i = t + step, i + 1
    return out


def deferred(i: int, dsn: str = "4.7.0", domain: str = "bigmail.example") -> str:
    return f"sm-mta[1]: 5B{i:06d}: to=<u{i}@{domain}>, delay=00:00:30, mailer=esmtp, dsn={dsn}, stat=Deferred: timeout"


def bounced(i: int, domain: str = "bigmail.example") -> str:
    return f"sm-mta[2]: 5C{i:06d}: to=<gone{i}@{domain}>, mailer=esmtp, dsn=5.1.1, stat=User unknown"


def auth_failed(i: int, rip: str, user: str = "") -> str:
    return (f"imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user or f'user{i % 7}@x.test'}>, "
            f"method=PLAIN, rip={rip}, lip=10.0.1.5, TLS, session=<s{i}>")


# --- sendmail-deferred-spike -------------------------------------------------------------------------------------


def test_deferred_spike_on_one_tier_is_red_with_codes_substitute_and_next(ctx):
    put("/ecs/cabal-smtp-out", every(30, 2, deferred))  # 20 per 10 min for 30 min: > 10 at every point
    v = judge.spike_condition(facts.mail_log_spike(ctx, "deferred", "service_smtp_out"))
    text = v.render()
    assert not v.ok and "SendmailDeferredSpike would be firing" in v.summary, text
    assert "counted from the raw logs (substitute for the metric filter" in text and "per tier: stricter" in text
    assert "dsn codes: 4.7.0 x" in text and "runbook: sendmail-deferred-spike, step 1" in text
    assert "next: aws logs filter-log-events --log-group-name /ecs/cabal-smtp-out --filter-pattern '\"stat=Deferred\"'" in text
    assert "aws ecs list-tasks --cluster cabal-mail --service-name cabal-smtp-out" in text


def test_deferred_at_normal_rates_is_green(ctx):
    put("/ecs/cabal-smtp-out", every(30, 1, deferred))  # exactly 10 per 10 min: not > 10
    v = judge.spike_condition(facts.mail_log_spike(ctx, "deferred", "service_smtp_out"))
    assert v.ok, v.render()


def test_a_spike_in_another_tier_or_resolved_before_the_window_stays_green(ctx):
    put("/ecs/cabal-smtp-out", every(30, 3, deferred, end=AT - timedelta(minutes=26)))  # resolved, outside the 25 min
    put("/ecs/cabal-smtp-in", every(30, 3, deferred))
    assert judge.spike_condition(facts.mail_log_spike(ctx, "deferred", "service_smtp_out")).ok
    assert not judge.spike_condition(facts.mail_log_spike(ctx, "deferred", "service_smtp_in")).ok


def test_a_missing_group_is_cant_tell_not_red(ctx):
    with pytest.raises(CantTell, match="/ecs/cabal-smtp-out does not exist"):
        judge.spike_condition(facts.mail_log_spike(ctx, "deferred", "service_smtp_out"))


# --- sendmail-bounced-spike --------------------------------------------------------------------------------------


def test_bounce_spike_on_smtp_out_is_red_with_the_recipient_domains(ctx):
    put("/ecs/cabal-smtp-out", every(45, 1, bounced))  # 30 per 30 min for 45 min: > 15
    v = judge.spike_condition(facts.mail_log_spike(ctx, "bounced", "service_smtp_out"))
    text = v.render()
    assert not v.ok and "SendmailBouncedSpike would be firing" in v.summary, text
    assert "dsn codes: 5.1.1 x" in text and "recipient domains: bigmail.example x" in text
    assert "gone1@" not in text  # addresses are never shown: their domains are


def test_bounces_at_the_threshold_are_green(ctx):
    put("/ecs/cabal-smtp-out", every(45, 0.5, bounced))  # 15 per 30 min: not > 15
    assert judge.spike_condition(facts.mail_log_spike(ctx, "bounced", "service_smtp_out")).ok


def test_smtp_in_address_map_fresh_is_green(ctx):
    put("/ecs/cabal-smtp-in", [(AT - timedelta(minutes=14), "[reconfigure] Done.")])
    v = judge.address_map_fresh(facts.last_line(ctx, "service_smtp_in"))
    assert v.ok, v.render()


def test_smtp_in_address_map_stale_is_red(ctx):
    put("/ecs/cabal-smtp-in", [(AT - timedelta(minutes=95), "[reconfigure] Done."),
                               (AT - timedelta(minutes=20), "[reconfigure] Regenerating sendmail maps")])
    v = judge.address_map_fresh(facts.last_line(ctx, "service_smtp_in"))
    text = v.render()
    assert not v.ok and "the address map is stale" in v.summary, text
    assert "substitute for the virtusertable's age" in text and "sendmail-bounced-spike, step 3" in text
    assert "--force-new-deployment  # the runbook's remediation: printed, never run" in text


def test_a_task_younger_than_the_loop_is_not_stale():
    young = LastLine("/ecs/cabal-smtp-in", "cabal-smtp-in", "cabal-mail", "[reconfigure] Done.", NOW,
                     timedelta(hours=2), None, 0, NOW - timedelta(minutes=10))
    old = replace(young, started_at=NOW - timedelta(hours=5))
    assert judge.address_map_fresh(young).ok and not judge.address_map_fresh(old).ok


# --- imap-auth-failure-spike -------------------------------------------------------------------------------------


def lambda_eni(address: str) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address)["NetworkInterface"]
    get_backend("ec2")["123456789012"][REGION].enis[eni["NetworkInterfaceId"]].interface_type = "lambda"


def test_auth_failures_from_a_lambda_eni_are_red_cause_1(ctx):
    lambda_eni("10.0.2.77")
    put("/ecs/cabal-imap", every(10, 8, lambda i: auth_failed(i, "10.0.2.77")))  # 40 per 5 min: > 25
    v = judge.spike_condition(facts.mail_log_spike(ctx, "imap_auth", "service_imap"))
    text = v.render()
    assert not v.ok and judge.CAUSE_LAMBDA in v.summary, text
    assert "sources (rip=): 10.0.2.77 x80 (Lambda ENI)" in text and "7 distinct user(s)" in text
    assert "user1@" not in text  # user names only as counts
    assert "describe-network-interfaces --filters Name=addresses.private-ip-address,Values=10.0.2.77" in text


def test_auth_failures_from_one_client_are_red_cause_2(ctx):
    put("/ecs/cabal-imap", every(10, 8, lambda i: auth_failed(i, "198.51.100.9", "alice@x.test")))
    v = judge.spike_condition(facts.mail_log_spike(ctx, "imap_auth", "service_imap"))
    assert not v.ok and judge.CAUSE_CLIENT in v.summary and "no ENI in this account" in v.render(), v.render()


def test_auth_failed_without_imap_login_is_not_counted(ctx):
    put("/ecs/cabal-imap", every(10, 8, lambda i: f"pop3-login: Info: Disconnected (auth failed): rip=1.2.3.{i % 9}"))
    assert judge.spike_condition(facts.mail_log_spike(ctx, "imap_auth", "service_imap")).ok


def test_auth_failures_at_the_threshold_are_green(ctx):
    put("/ecs/cabal-imap", every(10, 5, lambda i: auth_failed(i, "198.51.100.9")))  # 25 per 5 min: not > 25
    assert judge.spike_condition(facts.mail_log_spike(ctx, "imap_auth", "service_imap")).ok


def test_plaintext_refusals_are_red_even_while_the_alert_is_quiet(ctx):
    put("/ecs/cabal-imap", [(AT - timedelta(minutes=20), "imap-login: Info: Disconnected (tried to use disallowed "
                                                         "plaintext auth): user=<>, rip=198.51.100.40")])
    assert judge.spike_condition(facts.mail_log_spike(ctx, "imap_auth", "service_imap")).ok
    v = judge.plaintext_not_refused(facts.plaintext_refusals(ctx))
    assert not v.ok and "1 plaintext login(s) refused" in v.summary and "imap-auth-failure-spike, step 3" in v.render()


def test_no_plaintext_refusal_is_green(ctx):
    put("/ecs/cabal-imap", [(AT - timedelta(minutes=20), auth_failed(1, "198.51.100.9"))])
    assert judge.plaintext_not_refused(facts.plaintext_refusals(ctx)).ok


# --- bounded ---------------------------------------------------------------------------------------------------


class Endless:
    """A reader whose every FilterLogEvents page says there is more."""

    def call(self, service, method, **params):
        return {"events": [{"timestamp": 0, "message": "dsn=5.1.1"}], "nextToken": "more"}


def test_a_tally_that_cannot_finish_is_cant_tell():
    with pytest.raises(CantTell, match="did not finish"):
        lc.tally(Endless(), "/ecs/cabal-smtp-out", "dsn=5", AT - timedelta(minutes=45), AT, lambda m: ["x"])


def test_a_tally_keeps_at_most_max_keys():
    class Many:
        def call(self, service, method, **params):
            return {"events": [{"timestamp": params["startTime"], "message": f"dsn=5 to=<a@d{i}.test>"}
                               for i in range(50)]}

    out = lc.tally(Many(), "/g", "dsn=5", AT - timedelta(minutes=5), AT, lambda m: [m.split("@")[1]], max_keys=10)
    assert len(out) == 11 and out[lc.OTHER] == 40


# --- selection: -m imap does not grow ----------------------------------------------------------------------------


def test_mail_log_tests_carry_no_probe_marker_and_read_like_tiers():
    import importlib

    from fixtures.params import PROBE_MARKS, cases

    settings = SimpleNamespace(names=DEFAULT_NAMES, topology=SimpleNamespace(
        services=lambda: ("service_imap", "service_smtp_in", "service_smtp_out", "service_ntfy")))
    tiers = cases(settings, "mail_tier")
    assert [p.id for p in tiers] == ["cabal-imap", "cabal-smtp-in", "cabal-smtp-out"]
    assert not [p for argname in ("mail_tier", "imap_log_tier", "smtp_in_log_tier") for p in cases(settings, argname)
                if p.marks]
    for name in ("test_sendmail_deferred_spike", "test_sendmail_bounced_spike", "test_imap_auth_failure_spike"):
        module = importlib.import_module(f"tests_live.{name}")
        marks = {m.name for m in module.pytestmark} | {m.name for f in vars(module).values()
                                                      for m in getattr(f, "pytestmark", [])}
        assert "mail_logs" in marks and "condition" in marks and not marks & set(PROBE_MARKS), (name, marks)
