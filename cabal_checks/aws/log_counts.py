"""CloudWatch Logs: how many events a minute contain some words, counted as the pages arrive.

The log-derived alerts (SendmailDeferredSpike, SendmailBouncedSpike, IMAPAuthFailureSpike) and the reconfigure
heartbeat count lines in ``/ecs/cabal-<tier>``. As in ``logs.py``: one quoted word per ``FilterLogEvents`` call (the
only pattern moto and AWS agree on), AND/OR applied here. Unlike ``logs.py`` no list of events is built: each page
is folded into per-minute counts as it arrives. The pages go through the reader's ``call``, so its memo holds each
for the run (two checks counting the same window share the requests): memory is bounded by ``max_pages`` pages of
at most 1 MB per word, time by ``deadline`` seconds for the whole count. A count that cannot finish inside either
bound is a ``CantTell``, never a smaller number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..verdict import CantTell
from .reader import AwsReader, NotFound

MAX_PAGES = 20  # per word and group: FilterLogEvents returns up to 10,000 events (1 MB) a page
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


def count_per_minute(aws: AwsReader, group: str, any_of: tuple[str, ...], start: datetime, end: datetime,
                     all_of: tuple[str, ...] = (), max_pages: int = MAX_PAGES,
                     deadline: float = DEADLINE) -> LogCount | None:
    """Count the events containing any of ``any_of`` (each event once, whichever words it holds) and every word of
    ``all_of`` (case-sensitive substrings). None when the group does not exist."""
    if not any_of:
        raise ValueError("any_of needs at least one word")
    for word in any_of + all_of:
        if not word or any(ch in word for ch in FORBIDDEN):
            raise ValueError(f"not a plain word for a quoted filter term: {word!r}")
    stop = time.monotonic() + deadline
    minutes: dict[datetime, int] = {}
    pages = 0
    try:
        for k, word in enumerate(any_of):
            earlier = any_of[:k]
            for page in _pages(aws, group, word, start, end, max_pages, stop):
                pages += 1
                for event in page:
                    message = event.get("message", "")
                    # moto and AWS match the term as a substring; an event an earlier word matched is counted there
                    if word not in message or any(w in message for w in earlier):
                        continue
                    if not all(w in message for w in all_of):
                        continue
                    minute = _minute(event["timestamp"])
                    minutes[minute] = minutes.get(minute, 0) + 1
    except NotFound:
        return None
    return LogCount(group, tuple(any_of), tuple(all_of), start, end, tuple(sorted(minutes.items())), pages)


def _pages(aws: AwsReader, group: str, word: str, start: datetime, end: datetime, max_pages: int,
           stop: float) -> Iterator[list[dict]]:
    """The events of each ``FilterLogEvents`` page for one quoted word, page by page (AWS may answer an empty page
    with a ``nextToken`` while it searches: followed, and counted against ``max_pages``)."""
    token = None
    for _ in range(max_pages):
        if time.monotonic() > stop:
            raise CantTell(f"counting \"{word}\" in {group} did not finish in time: the window holds too many events "
                           "to count within the deadline")
        # FilterLogEvents' endTime is inclusive: one millisecond less keeps the window [start, end)
        params = dict(logGroupName=group, filterPattern=f'"{word}"', startTime=_ms(start), endTime=_ms(end) - 1)
        if token:
            params["nextToken"] = token
        page = aws.call("logs", "filter_log_events", **params)
        yield page.get("events") or []
        token = page.get("nextToken")
        if not token:
            return
    raise CantTell(f"counting \"{word}\" in {group} did not finish: more than {max_pages} pages of events in "
                   f"{start:%H:%M}-{end:%H:%M} UTC")


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def _minute(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 60000 * 60, UTC)


def tally(aws: AwsReader, group: str, word: str, start: datetime, end: datetime,
          keys: Callable[[str], Iterable[str]], all_of: tuple[str, ...] = (), max_keys: int = MAX_KEYS,
          max_pages: int = MAX_PAGES, deadline: float = DEADLINE) -> dict[str, int] | None:
    """How many events containing ``word`` (and every word of ``all_of``) yield each key of ``keys(message)``
    (``dsn=5.1.1``, a recipient domain, a source address), folded page by page like ``count_per_minute`` (the same
    requests: the reader's memo shares them). At most ``max_keys`` distinct keys are kept; the rest count under
    ``OTHER``. None when the group does not exist."""
    stop = time.monotonic() + deadline
    out: dict[str, int] = {}
    try:
        for page in _pages(aws, group, word, start, end, max_pages, stop):
            for event in page:
                message = event.get("message", "")
                if word not in message or not all(w in message for w in all_of):
                    continue
                for key in keys(message):
                    key = key if key in out or len(out) < max_keys else OTHER
                    out[key] = out.get(key, 0) + 1
    except NotFound:
        return None
    return out
