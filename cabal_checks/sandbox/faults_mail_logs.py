"""Faults of the mail-log runbooks (sendmail-deferred-spike, sendmail-bounced-spike, imap-auth-failure-spike): each
writes what the tier would log (or removes what it would stop logging), over the healthy history of
``history_mail_logs.py``. AWS state only: they reuse the matrix's running sandbox."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .aws_seed import backend, put_log_lines
from .faults import fault
from .history_mail_logs import auth_failed, bounced, deferred, every, group_of, stream_of

LAMBDA_RIP = "10.0.2.77"  # an address in a private subnet, held by a Lambda's ENI


def _burst(sb, key: str, minutes: int, step: timedelta, line) -> None:
    """``line(t, i)`` every ``step`` over the ``minutes`` before now (the real clock: the run judges against it)."""
    s = sb.seeded
    now = datetime.now(timezone.utc)
    put_log_lines(s, group_of(s, key), stream_of(s, key),
                  [(t, line(t, i)) for i, t in enumerate(every(now - timedelta(minutes=minutes), now, step))])


@fault("smtp-out-deferred-spike", "smtp-out defers every message to one provider (dsn=4.7.0, greylisting): "
       "3 stat=Deferred a minute for 30 min", ("test_sendmail_deferred_condition[cabal-smtp-out]",),
       runbook="sendmail-deferred-spike")
def _deferred(sb):
    _burst(sb, "service_smtp_out", 30, timedelta(seconds=20), lambda t, i: deferred(t, 5000 + i, "4.7.0", "bigmail.example"))


@fault("smtp-in-bounce-spike", "smtp-in bounces inbound mail as User unknown (dsn=5.1.1): 2 a minute for 50 min",
       ("test_sendmail_bounced_condition[cabal-smtp-in]",), runbook="sendmail-bounced-spike")
def _bounced(sb):
    s = sb.seeded
    _burst(sb, "service_smtp_in", 50, timedelta(seconds=30), lambda t, i: bounced(t, 5000 + i, domain=s.control_domain))


@fault("smtp-in-address-map-stale", "smtp-in's reconfigure loop stopped 3 h ago: no [reconfigure] Done. since",
       ("test_smtp_in_address_map_fresh[cabal-smtp-in]", "test_reconfigure_heartbeat[cabal-smtp-in]"),
       runbook="sendmail-bounced-spike",  # the same signal is heartbeat-ecs-reconfigure's: each runbook names it
       cause=("test_smtp_in_address_map_fresh[cabal-smtp-in]", "test_reconfigure_heartbeat[cabal-smtp-in]"))
def _stale(sb):
    s = sb.seeded
    stream = backend("logs", s).groups[group_of(s, "service_smtp_in")].streams[stream_of(s, "service_smtp_in")]
    stream.events = [e for e in stream.events if "[reconfigure] Done." not in e.message]


@fault("imap-auth-failures-lambda", "IMAP logins fail from a Lambda's ENI (cause 1: the master password or the API "
       "side): 10 auth failed a minute for 10 min, many users", ("test_imap_auth_failures_condition[cabal-imap]",),
       runbook="imap-auth-failure-spike")
def _auth_lambda(sb):
    s = sb.seeded
    ec2 = s.client("ec2")
    eni = ec2.create_network_interface(SubnetId=s.private_subnet_ids[1], PrivateIpAddress=LAMBDA_RIP,
                                       Description="AWS Lambda VPC ENI-cabal-list")["NetworkInterface"]
    backend("ec2", s).enis[eni["NetworkInterfaceId"]].interface_type = "lambda"  # moto hard-codes "interface"
    _burst(sb, "service_imap", 12, timedelta(seconds=6),
           lambda t, i: auth_failed(s, 5000 + i, LAMBDA_RIP, f"user{i % 9}@{s.control_domain}"))


@fault("imap-plaintext-refused", "a client logs in to IMAP without STARTTLS: Dovecot refuses the plaintext login "
       "(4 times in 20 min; the auth alert stays quiet)", ("test_imap_plaintext_not_refused[cabal-imap]",),
       runbook="imap-auth-failure-spike")
def _plaintext(sb):
    s = sb.seeded
    _burst(sb, "service_imap", 20, timedelta(minutes=5), lambda t, i: (
        f"imap-login: Info: Disconnected (tried to use disallowed plaintext auth): user=<>, rip=198.51.100.40, "
        f"lip={s.task_ips.get('service_imap', '10.0.1.10')}, session=<p{i:010d}>"))
