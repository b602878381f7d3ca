"""CloudWatch Logs: the events of a window that contain some words, read page by page and counted as they arrive.

The log-derived alerts (SendmailDeferredSpike, SendmailBouncedSpike, IMAPAuthFailureSpike), the reconfigure
heartbeat and the runbooks' log steps read lines of a log group holding some plain words. AWS answers
``FilterLogEvents`` at 5 requests per second per account and Region, so a group is read in one request sequence, not
one per word: a ``Scan`` ORs every word a run's checks look for there (``?"a" ?"b"``, the form CDK's
``FilterPattern.anyTerm`` writes; AWS matches it server-side, moto answers it with every event and the sandbox
patches moto to match as AWS does) over a window that holds each check's window, and each check keeps, in Python,
the events of its own window holding its own words (AND/OR as it needs). The pages go through the reader's ``call``,
so its memo holds each for the run: every check sharing a scan shares its requests. No list of events is built
for a count: each page is folded as it arrives; memory is bounded by ``max_pages`` pages of at most 1 MB per word
of the read (as when each word was a read of its own: one busy word does not blind the others' checks), time by
``deadline`` seconds for the whole read. A read that cannot finish inside either bound is a ``CantTell``, never a
smaller number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..verdict import CantTell
from .reader import AwsReader, NotFound

MAX_PAGES = 20  # per word of a read: FilterLogEvents returns up to 10,000 events (1 MB) a page
DEADLINE = 20.0  # seconds for one count, every page of every word
FORBIDDEN = '"\n\r\t'  # a word is one quoted term: no quote, no line break
MAX_KEYS = 200  # distinct keys a tally keeps (memory bound); the rest count under OTHER
OTHER = "(other)"


@dataclass(frozen=True)
class LogCount:
    """Events of ``group`` in ``[start, end)`` containing any of ``any_of`` and all of ``all_of``, per UTC minute."""

    group: str
    any_of: tuple[str, ...]
    all_of: tuple[str, ...]
    start: datetime
    end: datetime
    per_minute: tuple[tuple[datetime, int], ...]  # minutes with at least one event, oldest first
    pages: int  # FilterLogEvents requests made (all words)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.per_minute)

    def points(self) -> tuple[tuple[datetime, float], ...]:
        """The counts as datapoints for ``judge/condition.py``."""
        return tuple((m, float(n)) for m, n in self.per_minute)


@dataclass(frozen=True)
class Scan:
    """One read of a log group that serves every check of a run reading it: the words they look for, OR-ed in one
    filter pattern, over ``[start, end)``, which holds each of their windows (``covers``)."""

    words: tuple[str, ...]
    start: datetime
    end: datetime

    def covers(self, words: tuple[str, ...], start: datetime, end: datetime) -> bool:
        return set(words) <= set(self.words) and self.start <= start and end <= self.end

    @property
    def pattern(self) -> str:
        return " ".join(f'?"{w}"' for w in self.words) if len(self.words) > 1 else f'"{self.words[0]}"'


def count_per_minute(aws: AwsReader, group: str, any_of: tuple[str, ...], start: datetime, end: datetime,
                     all_of: tuple[str, ...] = (), scan: Scan | None = None, max_pages: int = MAX_PAGES,
                     deadline: float = DEADLINE) -> LogCount | None:
    """Count the events containing any of ``any_of`` and every word of ``all_of`` (case-sensitive substrings), each
    once. None when the group does not exist."""
    minutes: dict[datetime, int] = {}
    pages = 0
    try:
        for page in read(aws, group, any_of, start, end, all_of, scan, max_pages, deadline):
            pages += 1
            for event in page:
                minute = _minute(event["timestamp"])
                minutes[minute] = minutes.get(minute, 0) + 1
    except NotFound:
        return None
    return LogCount(group, tuple(any_of), tuple(all_of), start, end, tuple(sorted(minutes.items())), pages)


def read(aws: AwsReader, group: str, any_of: tuple[str, ...], start: datetime, end: datetime,
         all_of: tuple[str, ...] = (), scan: Scan | None = None, max_pages: int = MAX_PAGES,
         deadline: float = DEADLINE) -> Iterator[list[dict]]:
    """The pages of the read that answers these words in ``[start, end)`` (``scan`` if it covers them, else a read of
    these words and this window alone), each cut to the events of this window holding any of ``any_of`` and every
    word of ``all_of``. Raises NotFound when the group does not exist, CantTell past ``max_pages`` or ``deadline``."""
    if not any_of:
        raise ValueError("any_of needs at least one word")
    for word in any_of + all_of:
        if not word or any(ch in word for ch in FORBIDDEN):
            raise ValueError(f"not a plain word for a quoted filter term: {word!r}")
    if scan is None or not scan.covers(any_of, start, end):
        scan = Scan(any_of, start, end)
    lo, hi, stop = _ms(start), _ms(end), time.monotonic() + deadline
    what = " or ".join(f'"{w}"' for w in any_of)
    limit = max_pages * len(scan.words)  # as many pages as one read per word had: a busy word does not blind the rest
    token = None
    for _ in range(limit):
        if time.monotonic() > stop:
            raise CantTell(f"counting {what} in {group} did not finish in time: the window holds too many events "
                           "to count within the deadline")
        # FilterLogEvents' endTime is inclusive: one millisecond less keeps the window [start, end)
        params = dict(logGroupName=group, filterPattern=scan.pattern, startTime=_ms(scan.start),
                      endTime=_ms(scan.end) - 1)
        if token:
            params["nextToken"] = token
        page = aws.call("logs", "filter_log_events", **params)
        # AWS and moto match a term as a substring; the scan holds other checks' words and a wider window
        yield [e for e in page.get("events") or [] if lo <= e.get("timestamp", -1) < hi
               and any(w in e.get("message", "") for w in any_of) and all(w in e.get("message", "") for w in all_of)]
        token = page.get("nextToken")  # AWS may answer an empty page with a token while it searches: followed
        if not token:
            return
    raise CantTell(f"counting {what} in {group} did not finish: more than {limit} pages of events in "
                   f"{start:%H:%M}-{end:%H:%M} UTC")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _minute(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 60000 * 60, UTC)


def tally(aws: AwsReader, group: str, word: str, start: datetime, end: datetime,
          keys: Callable[[str], Iterable[str]], all_of: tuple[str, ...] = (), scan: Scan | None = None,
          max_keys: int = MAX_KEYS, max_pages: int = MAX_PAGES, deadline: float = DEADLINE) -> dict[str, int] | None:
    """How many events containing ``word`` (and every word of ``all_of``) yield each key of ``keys(message)``
    (``dsn=5.1.1``, a recipient domain, a source address), folded page by page like ``count_per_minute`` (the same
    requests: the reader's memo shares them). At most ``max_keys`` distinct keys are kept; the rest count under
    ``OTHER``. None when the group does not exist."""
    out: dict[str, int] = {}
    try:
        for page in read(aws, group, (word,), start, end, all_of, scan, max_pages, deadline):
            for event in page:
                for key in keys(event.get("message", "")):
                    key = key if key in out or len(out) < max_keys else OTHER
                    out[key] = out.get(key, 0) + 1
    except NotFound:
        return None
    return out
