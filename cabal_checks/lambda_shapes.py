"""The Lambda runbooks' facts as frozen data, crossing from ``facts/lambdas.py`` to ``judge/lambdas.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

Points = tuple[tuple[datetime, float], ...]  # (minute, value), oldest first


@dataclass(frozen=True)
class Function:
    name: str
    log_group: str
    last_modified: datetime | None


@dataclass(frozen=True)
class LambdaFleet:
    """The account's functions that are Cabal's (``ours``), what was left out and why, and each metric per function
    over one window read in one GetMetricData request."""

    ours: tuple[Function, ...]
    left_out: tuple[tuple[str, str], ...]  # (function name, why it is not judged)
    at: datetime  # the evaluation instant: the last complete minute CloudWatch has, less its delay
    errors: dict[str, Points]
    throttles: dict[str, Points]
    invocations: dict[str, Points]
    api_5xx: Points
    api_count: Points
    concurrent: Points  # AWS/Lambda ConcurrentExecutions Maximum, account-wide
    whole: int = 0  # narrowed by a page (--alert function_name): how many Cabal functions there are; 0: not narrowed

    def function(self, name: str) -> Function:
        """One of ours by name (the judges ask only for names taken from ``ours`` or its metrics)."""
        found = next((f for f in self.ours if f.name == name), None)
        if found is None:
            raise KeyError(f"{name}: not one of Cabal's functions")
        return found


@dataclass(frozen=True)
class ErrorLines:
    """Per function with errors in the lookback: its log group and the ERROR/Exception/Traceback lines found there
    (None: the group does not exist)."""

    lookback_minutes: int
    lines: dict[str, tuple[str, tuple[tuple[datetime, str], ...] | None]]


@dataclass(frozen=True)
class ApiSources:
    """The REST API's requests in its access log over the last ``minutes``, per source IP (``$context.identity.
    sourceIp``, the ``ip`` field of cabal-infra's access-log format), most first: at most ``log_counts.MAX_KEYS`` of
    them, the requests of any further IPs in ``others``."""

    group: str  # API-Gateway-Execution-Logs_<rest-api-id>/<stage>: the stage's access log (and its execution log)
    start: datetime
    end: datetime
    by_ip: tuple[tuple[str, int], ...]
    others: int = 0

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.by_ip) + self.others
