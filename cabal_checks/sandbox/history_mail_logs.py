"""The mail tiers' log history (sendmail-deferred-spike, sendmail-bounced-spike, imap-auth-failure-spike): what a
healthy account's ``/ecs/cabal-{imap,smtp-in,smtp-out}`` hold at normal rates, under every threshold (a deferral
every 15 min, a bounce an hour, a failed login every 12 min, the reconfigure loop's ``[reconfigure] Done.`` every
15 min in each tier), for both topologies; and the noise of a lived-in account (a resolved spike of each kind
outside the rules' windows, a staging neighbour's ``/ecs/cabal-staging-*`` groups spiking now).

The faults that break this history are in ``faults_mail_logs.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .aws_seed import MAIL_SERVICES, SERVICE_SPECS, Seeded, put_log_lines

HISTORY = timedelta(hours=3)
CLIENT = "203.0.113.7"  # a mail client on the internet (no ENI in the account)


def stream_of(s: Seeded, service_key: str) -> str:
    """The tier's awslogs stream: ``<container>/<container>/<task id>`` (imap's is the seeded one)."""
    if service_key == "service_imap" and s.imap_log_stream:
        return s.imap_log_stream
    container = SERVICE_SPECS[service_key]["container"]
    return f"{container}/{container}/{s.task_arns[service_key].rsplit('/', 1)[1]}"


def group_of(s: Seeded, service_key: str) -> str:
    return f"/ecs/{s.names[service_key]}"


def deferred(at: datetime, n: int, dsn: str = "4.4.1", domain: str = "example.org") -> str:
    return (f"sm-mta[{300 + n % 97}]: 5B{at:%H%M}{n:06d}: to=<user{n % 7}@{domain}>, delay=00:0{n % 6}:12, "
            f"xdelay=00:00:30, mailer=esmtp, pri={120000 + n}, relay=mx.{domain}. [192.0.2.25], dsn={dsn}, "
            f"stat=Deferred: Connection timed out with mx.{domain}.")


def bounced(at: datetime, n: int, dsn: str = "5.1.1", domain: str = "example.org") -> str:
    return (f"sm-mta[{400 + n % 89}]: 5C{at:%H%M}{n:06d}: to=<gone{n % 5}@{domain}>, delay=00:00:01, "
            f"xdelay=00:00:01, mailer=esmtp, pri={30000 + n}, relay=mx.{domain}. [192.0.2.26], dsn={dsn}, "
            "stat=User unknown")


def auth_failed(s: Seeded, n: int, rip: str = CLIENT, user: str = "") -> str:
    user = user or f"user{n % 3}@{s.control_domain}"
    return (f"imap-login: Info: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, "
            f"rip={rip}, lip={s.task_ips.get('service_imap', '10.0.1.10')}, TLS, session=<s{n:010d}>")


def every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    out, t = [], start
    while t < end:
        out.append(t)
        t += step
    return out


def seed(s: Seeded) -> None:
    """The healthy history, in every mail tier the topology runs."""
    now = s.now
    for key in (k for k in MAIL_SERVICES if k in s.task_arns):
        lines = [(t, f"[reconfigure] Done. (tier {SERVICE_SPECS[key]['container']})")
                 for t in every(now - HISTORY, now - timedelta(seconds=30), timedelta(minutes=15))]
        if key == "service_smtp_out":
            lines += [(t, deferred(t, i)) for i, t in enumerate(every(now - HISTORY, now, timedelta(minutes=15)))]
            lines += [(t, bounced(t, i)) for i, t in enumerate(every(now - HISTORY, now, timedelta(minutes=50)))]
        if key == "service_smtp_in":
            lines += [(t, bounced(t, i, domain=s.control_domain))
                      for i, t in enumerate(every(now - HISTORY, now, timedelta(minutes=90)))]
        if key == "service_imap":
            lines += [(t, auth_failed(s, i)) for i, t in enumerate(every(now - HISTORY, now, timedelta(minutes=12)))]
            lines += [(t, deferred(t, i, "4.2.0", s.control_domain))  # local delivery, now and then
                      for i, t in enumerate(every(now - HISTORY, now, timedelta(hours=1)))]
        put_log_lines(s, group_of(s, key), stream_of(s, key), lines)


def noise(s: Seeded) -> None:
    """A resolved spike of each kind outside the rules' windows; a staging neighbour's groups spiking now."""
    now = s.now
    spikes = {"service_smtp_out": lambda t, i: deferred(t, 1000 + i, "4.7.0"),
              "service_smtp_in": lambda t, i: bounced(t, 1000 + i),
              "service_imap": lambda t, i: auth_failed(s, 1000 + i)}
    for key, line in spikes.items():
        if key not in s.task_arns:
            continue
        start = now - timedelta(hours=2, minutes=30)
        put_log_lines(s, group_of(s, key), stream_of(s, key),
                      [(t, line(t, i)) for i, t in enumerate(every(start, start + timedelta(minutes=40),
                                                                   timedelta(seconds=20)))])
    logs = s.client("logs")
    for key, line in spikes.items():
        group = f"/ecs/cabal-staging-{SERVICE_SPECS[key]['container']}"
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        put_log_lines(s, group, "staging/0", [(t, line(t, i)) for i, t in enumerate(
            every(now - timedelta(minutes=50), now, timedelta(seconds=20)))])
