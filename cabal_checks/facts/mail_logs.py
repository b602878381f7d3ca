"""Facts of the mail-log runbooks (sendmail-deferred-spike, sendmail-bounced-spike, imap-auth-failure-spike): the raw
lines of ``/ecs/cabal-{imap,smtp-in,smtp-out}`` counted per tier and per minute, and what the runbooks' steps ask of
the same events (dsn codes, recipient domains, login sources and their network interfaces, the user spread), the
newest ``[reconfigure] Done.`` of a tier (smtp-in's address map; the reconfigure heartbeat reads the same line).

The metric filters that feed the alerts (``Cabalmail/Logs``) are in the monitoring module, off in every environment:
these counts are their substitute. Every count goes through ``aws/log_counts.py``: one ``FilterLogEvents`` read per
group (``service_logs.scan``; AND/OR here), streamed page by page, bounded in pages and seconds (a count that cannot
finish is a can't-tell). User names and addresses are never kept: a count of distinct users, a domain histogram.
"""

from __future__ import annotations

import re
from datetime import timedelta

from ..aws import ecs, log_counts
from ..aws.cloudwatch import whole_minute
from ..aws.reader import NotFound
from ..config import history_now
from ..context import Context
from ..mail_log_shapes import LastLine, LogRule, LogSpike, Source
from ..runbook_catalog import RUNBOOKS
from . import service_logs
from .service_logs import AUTH_FAILED, BOUNCED, DEFERRED, LOGIN_OK, PLAINTEXT_WORDS, RECONFIGURE_DONE

TIERS = ("service_imap", "service_smtp_in", "service_smtp_out")


def _rule(key: str, runbook: str, any_of: tuple[str, ...], all_of: tuple[str, ...] = ()) -> LogRule:
    alert = next(r for r in RUNBOOKS if r.file == f"{runbook}.md").alerts[0]  # the catalog: alerts.yml as data
    assert alert.window is not None
    return LogRule(key, alert.name, runbook, any_of, all_of, alert.window, alert.for_, alert.op, alert.threshold)


RULES = {
    "deferred": _rule("deferred", "sendmail-deferred-spike", (DEFERRED,)),
    "bounced": _rule("bounced", "sendmail-bounced-spike", (BOUNCED,)),
    # the filter's pattern is "imap-login" "auth failed": moto reads two terms as one literal, so the AND is here
    "imap_auth": _rule("imap_auth", "imap-auth-failure-spike", (AUTH_FAILED,), ("imap-login",)),
}
RULE_TIERS = {"deferred": TIERS, "bounced": TIERS, "imap_auth": ("service_imap",)}
RECONFIGURE_LOOKBACK = timedelta(hours=2)
PLAINTEXT_LOOKBACK = timedelta(hours=1)
MAX_SOURCES = 5  # rip= addresses looked up (DescribeNetworkInterfaces), most failures first

_DSN = re.compile(r"dsn=(\d\.\d{1,3}\.\d{1,3})")
_TO = re.compile(r"to=<?[^@<>\s,]*@([A-Za-z0-9.-]+)")
_RIP = re.compile(r"rip=([0-9a-fA-F.:]+)")
_USER = re.compile(r"user=<([^>]*)>")


def group_of(ctx: Context, service_key: str) -> str:
    return f"/ecs/{ctx.name(service_key)}"


def mail_log_spike(ctx: Context, rule_key: str, service_key: str) -> LogSpike:
    """One tier's lines of one rule over the rule's window + ``for``, and the steps' breakdowns of the same events."""
    rule = RULES[rule_key]
    group, service, cluster = group_of(ctx, service_key), ctx.name(service_key), ctx.name("cluster")
    at = whole_minute(history_now(ctx.settings))
    start, scan = at - rule.span, service_logs.scan(ctx)
    count = log_counts.count_per_minute(ctx.aws, group, rule.any_of, start, at, rule.all_of, scan)
    if count is None:
        return LogSpike(rule, group, service, cluster, at, None)
    word = rule.any_of[0]
    extra: dict = {}
    if rule_key in ("deferred", "bounced"):
        extra["codes"] = _top(log_counts.tally(ctx.aws, group, word, start, at, lambda m: _DSN.findall(m)[:1], scan=scan))
        if service_key == "service_smtp_out" and rule_key == "bounced":
            extra["domains"] = _top(log_counts.tally(ctx.aws, group, word, start, at,
                                                     lambda m: [d.lower() for d in _TO.findall(m)], scan=scan))
    else:
        rips = _top(log_counts.tally(ctx.aws, group, word, start, at, lambda m: _RIP.findall(m)[:1], rule.all_of, scan))
        extra["sources"] = tuple(Source(a, n, _interface_type(ctx, a)) for a, n in rips[:MAX_SOURCES])
        users = log_counts.tally(ctx.aws, group, word, start, at, lambda m: _USER.findall(m)[:1], rule.all_of, scan)
        extra["users"] = len(users or {})  # distinct names, counted: the names themselves are dropped here
        ok = log_counts.count_per_minute(ctx.aws, group, LOGIN_OK, start, at, ("imap-login",), scan)
        extra["successes"] = ok.total if ok else 0
    return LogSpike(rule, group, service, cluster, at, count.per_minute, requests=count.pages, **extra)


def last_line(ctx: Context, service_key: str, word: str = RECONFIGURE_DONE,
              lookback: timedelta = RECONFIGURE_LOOKBACK) -> LastLine:
    """The newest ``word`` line of a tier within ``lookback`` (default: the reconfigure loop's ``[reconfigure]
    Done.``), and its newest running task's ``startedAt`` (a task younger than the loop's period has not looped)."""
    group, service, cluster = group_of(ctx, service_key), ctx.name(service_key), ctx.name("cluster")
    now = whole_minute(history_now(ctx.settings)) + timedelta(minutes=1)
    count = log_counts.count_per_minute(ctx.aws, group, (word,), now - lookback, now, scan=service_logs.scan(ctx))
    try:
        running = ecs.tasks(ctx.aws, cluster, service, "RUNNING")
    except NotFound:
        running = []
    started = max((t["startedAt"] for t in running if t.get("startedAt")), default=None)
    if count is None:
        return LastLine(group, service, cluster, word, now, lookback, None, 0, started, group_exists=False)
    last = count.per_minute[-1][0] if count.per_minute else None
    return LastLine(group, service, cluster, word, now, lookback, last, count.total, started)


def plaintext_refusals(ctx: Context, service_key: str = "service_imap") -> LastLine:
    """Plaintext logins refused before TLS in the last hour (the runbook: red even while the alert is quiet)."""
    group, service, cluster = group_of(ctx, service_key), ctx.name(service_key), ctx.name("cluster")
    now = whole_minute(history_now(ctx.settings)) + timedelta(minutes=1)
    count = log_counts.count_per_minute(ctx.aws, group, PLAINTEXT_WORDS, now - PLAINTEXT_LOOKBACK, now,
                                        scan=service_logs.scan(ctx))
    if count is None:
        return LastLine(group, service, cluster, " OR ".join(PLAINTEXT_WORDS), now, PLAINTEXT_LOOKBACK, None, 0, None,
                        group_exists=False)
    last = count.per_minute[-1][0] if count.per_minute else None
    return LastLine(group, service, cluster, " OR ".join(PLAINTEXT_WORDS), now, PLAINTEXT_LOOKBACK, last,
                    count.total, None)


def _interface_type(ctx: Context, address: str) -> str:
    """The InterfaceType of the network interface holding ``address`` ("" when none in this account holds it)."""
    found = ctx.aws.call("ec2", "describe_network_interfaces",
                         Filters=[{"Name": "addresses.private-ip-address", "Values": [address]}])
    enis = found.get("NetworkInterfaces") or []
    return (enis[0].get("InterfaceType") or "interface") if enis else ""


def _top(counts: dict[str, int] | None) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((counts or {}).items(), key=lambda kv: (-kv[1], kv[0])))
