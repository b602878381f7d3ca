"""CloudWatch Logs: events in a window that contain any of some plain words; a group's newest streams.

The events are read as ``log_counts`` reads them (one request sequence per group and scan, bounded in pages and
time; the words matched here), kept as a list for the checks that quote lines.
"""

from __future__ import annotations

from datetime import datetime

from .log_counts import Scan, read
from .reader import AwsReader, NotFound


def events_with(aws: AwsReader, group: str, words: tuple[str, ...], start: datetime, end: datetime,
                scan: Scan | None = None) -> list[dict] | None:
    """Events containing any of ``words`` (case-sensitive), oldest first; None when the group does not exist."""
    try:
        events = [e for page in read(aws, group, words, start, end, scan=scan) for e in page]
    except NotFound:
        return None
    return sorted(events, key=lambda e: e["timestamp"])


def latest_streams(aws: AwsReader, group: str, limit: int = 5) -> list[dict] | None:
    try:
        out = aws.call("logs", "describe_log_streams", logGroupName=group, orderBy="LastEventTime",
                       descending=True, limit=limit)
    except NotFound:
        return None
    return out.get("logStreams", [])

