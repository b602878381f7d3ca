"""CloudWatch Logs: events in a window that contain any of some plain words.

One ``filter_log_events`` call per word, all at once, OR-ed here, because moto and AWS disagree on every richer
filter-pattern syntax (moto-and-tooling-notes section 6). Words must be plain (letters, digits, -_./).
"""

from __future__ import annotations

from datetime import datetime

from ..gather import concurrently
from .reader import AwsReader, NotFound


def events_with(aws: AwsReader, group: str, words: tuple[str, ...], start: datetime, end: datetime) -> list[dict] | None:
    """Events containing any of ``words`` (case-sensitive), oldest first; None when the group does not exist."""
    try:
        found = concurrently(*(lambda w=word: aws.pages("logs", "filter_log_events", "events", logGroupName=group,
                                                        filterPattern=f'"{w}"', startTime=_ms(start), endTime=_ms(end))
                               for word in words))
    except NotFound:
        return None
    seen: dict[str, dict] = {}
    for word, events in zip(words, found, strict=True):
        for e in events:
            if word in e.get("message", ""):
                seen[e.get("eventId") or f"{e['timestamp']}:{e['message']}"] = e
    return sorted(seen.values(), key=lambda e: e["timestamp"])


def latest_streams(aws: AwsReader, group: str, limit: int = 5) -> list[dict] | None:
    try:
        out = aws.call("logs", "describe_log_streams", logGroupName=group, orderBy="LastEventTime",
                       descending=True, limit=limit)
    except NotFound:
        return None
    return out.get("logStreams", [])


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)
