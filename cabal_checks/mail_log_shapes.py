"""What the mail-log runbooks' facts hand their judges (sendmail-deferred-spike, sendmail-bounced-spike,
imap-auth-failure-spike): frozen, plain data, no AWS client (``facts/mail_logs.py`` gathers, ``judge/mail_logs.py``
judges)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LogRule:
    """A log-derived alert of alerts.yml, re-evaluated per tier from the raw lines (its metric filter lives in the
    monitoring module): the words its filter matches, the rule's window, ``for`` and threshold."""

    key: str  # deferred | bounced | imap_auth
    alert: str  # SendmailDeferredSpike
    runbook: str  # sendmail-deferred-spike
    any_of: tuple[str, ...]
    all_of: tuple[str, ...]
    window: timedelta
    for_: timedelta
    op: str
    threshold: float

    @property
    def span(self) -> timedelta:
        return self.window + self.for_

    @property
    def words(self) -> str:
        return " AND ".join(f'"{w}"' for w in self.any_of + self.all_of)


@dataclass(frozen=True)
class Source:
    """An address the failed logins came from (``rip=``) and what its network interface is (``lambda``:
    the Lambda/API side; ``interface``, ``nat_gateway``, ...: something else; ``""``: no interface in this VPC)."""

    address: str
    count: int
    interface_type: str


@dataclass(frozen=True)
class LogSpike:
    """One tier's lines of one rule, counted per minute over ``[at - span, at)``, with what the runbook's steps ask
    of the same events."""

    rule: LogRule
    group: str  # /ecs/cabal-smtp-out
    service: str  # cabal-smtp-out
    cluster: str
    at: datetime  # the evaluation instant (the last whole minute)
    per_minute: tuple[tuple[datetime, int], ...] | None  # None: the log group does not exist
    codes: tuple[tuple[str, int], ...] = ()  # dsn=4.4.1 -> n, most first
    domains: tuple[tuple[str, int], ...] = ()  # recipient domains (smtp-out), most first
    sources: tuple[Source, ...] = ()  # imap: rip= addresses, most first
    users: int = 0  # imap: distinct user names among the failures (never the names)
    successes: int = 0  # imap: successful logins in the same span
    requests: int = 0  # FilterLogEvents requests the count made

    @property
    def total(self) -> int:
        return sum(n for _, n in self.per_minute or ())


@dataclass(frozen=True)
class LastLine:
    """The newest line of ``word`` in a tier's log within ``lookback`` of ``now``, and its running task's start."""

    group: str
    service: str
    cluster: str
    word: str
    now: datetime
    lookback: timedelta
    last: datetime | None  # the minute of the newest such line; None: none within lookback (or no group)
    count: int  # such lines within lookback
    started_at: datetime | None  # the newest RUNNING task's startedAt; None: no running task
    group_exists: bool = True
