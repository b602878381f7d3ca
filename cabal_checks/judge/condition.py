"""An alert's own condition, re-evaluated from datapoints the way Prometheus (or Healthchecks) would: pure functions.

No AWS client, no clock, no I/O: callers pass the datapoints (CloudWatch ``Sum``/``Average`` points, per-minute log
counts) and the evaluation instant ``at``; each function answers a frozen ``Evaluation`` that carries what a red
verdict shows as evidence: the value at every evaluation point, the worst one, the threshold and its operator.
``verdict`` and ``heartbeat_verdict`` turn them into the condition test's ``Verdict`` (red: the alert would be
firing / the check would be down), with the runbook step and next command the caller names.

How a rule is re-evaluated (cabal-infra ``docker/prometheus/rules/alerts.yml``):

- ``expr ... for: F`` fires when the expression held at every evaluation from ``at - F`` to ``at``. Prometheus
  evaluates every 30 s; CloudWatch's finest points are one minute apart, so the points here are one ``step`` (60 s)
  apart: ``at - F, at - F + step, ..., at`` (``F/step + 1`` points, one when ``F`` is 0). Every point must breach.
- ``increase(x[W]) > T``: the count in the ``W`` before each point, i.e. the sum of the per-minute buckets that
  start in ``[t - W, t)``; a minute with no datapoint counts 0 (CloudWatch and a log search say nothing for a quiet
  minute). This is the rules' stated intent ("more than 10 stat=Deferred lines in the last 10 min"); the exporter's
  series are per-period sums, not counters, so Prometheus' own extrapolation over them is not reproduced.
- ``rate(x[W])``: that count divided by ``W`` in seconds.
- ``rate(a[W]) / clamp_min(rate(b[W]), 1) > T`` (Lambda5xxSpike): the denominator is a rate, clamped to 1 per second,
  so a quiet API needs more than ``T * W`` 5xx in ``W`` (30 in 10 min) before the ratio can pass 5 %.
- ``avg_over_time(x[W])``: the mean of the datapoints in ``(t - W, t]``; none there means no value (an absent series
  never fires).
- a bare gauge ``x < T`` (EFSBurstCreditsLow): the newest datapoint within ``lookback`` (Prometheus' 5 min) of each
  point; none means no value.
- a Healthchecks heartbeat: down once the last success is older than ``timeout + grace``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..verdict import Verdict, green, red

STEP = timedelta(seconds=60)
LOOKBACK = timedelta(minutes=5)  # Prometheus' default lookback delta for an instant selector
OPS = {">": lambda v, t: v > t, "<": lambda v, t: v < t, ">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t}

Points = Iterable[tuple[datetime, float]]  # (timestamp, value); a CloudWatch point is stamped with its period's start


@dataclass(frozen=True)
class Evaluation:
    """The condition at each evaluation point, oldest first, and whether it held at all of them (the alert fires)."""

    breached: bool
    op: str
    threshold: float
    window: timedelta
    for_: timedelta
    over: str  # what each value is: "count in 10m", "rate over 5m", "newest within 5m", ...
    values: tuple[tuple[datetime, float | None], ...]  # None: no value at that point (absent series)
    worst: tuple[datetime, float] | None  # the point furthest past the threshold (or nearest to it; the newest of
    # equals), None if no value

    @property
    def held(self) -> int:
        """At how many evaluation points the condition held."""
        return sum(1 for _, v in self.values if v is not None and OPS[self.op](v, self.threshold))

    def evidence(self, what: str) -> str:
        """One line for a verdict: ``stat=Deferred (count in 10m): held at 16 of 16 points 06:00-06:15 UTC (> 10;
        worst 14 at 06:07)``."""
        first, last = self.values[0][0], self.values[-1][0]
        worst = "no value" if self.worst is None else f"worst {_num(self.worst[1])} at {_hm(self.worst[0])}"
        return (f"{what} ({self.over}): held at {self.held} of {len(self.values)} points "
                f"{_hm(first)}-{_hm(last)} UTC ({self.op} {_num(self.threshold)}; {worst})")


@dataclass(frozen=True)
class Heartbeat:
    """A Healthchecks check re-evaluated: down when the last success is older than ``timeout + grace``."""

    down: bool
    last_success: datetime | None  # None: no success in what was read
    age: timedelta | None
    timeout: timedelta
    grace: timedelta

    @property
    def deadline(self) -> timedelta:
        return self.timeout + self.grace


def points_at(at: datetime, for_: timedelta, step: timedelta = STEP) -> tuple[datetime, ...]:
    """The evaluation points of a rule with ``for: for_`` that is firing at ``at``, oldest first."""
    if for_ < timedelta(0) or step <= timedelta(0):
        raise ValueError("for_ must be >= 0 and step > 0")
    at = _utc(at)
    n = int(for_ / step)
    return tuple(at - for_ + k * step for k in range(n + 1)) if for_ else (at,)


def per_minute(points: Points) -> dict[datetime, float]:
    """CloudWatch ``Sum`` points (any period <= 60 s, or per-minute log counts) as one total per UTC minute."""
    out: dict[datetime, float] = {}
    for when, value in points:
        minute = _minute(_utc(when))
        out[minute] = out.get(minute, 0.0) + float(value)
    return out


def window_sum(minutes: Mapping[datetime, float], t: datetime, window: timedelta) -> float:
    """The sum of the per-minute buckets starting in ``[t - window, t)``; a missing minute counts 0."""
    t = _utc(t)
    start = t - window
    return sum(v for m, v in minutes.items() if start <= m < t)


def increase(points: Points, at: datetime, window: timedelta, for_: timedelta, op: str, threshold: float,
             step: timedelta = STEP) -> Evaluation:
    """``increase(x[window]) <op> threshold`` held for ``for_`` (x: per-minute counts or CloudWatch Sum points).
    A ``sum(...)`` over several series (the three tiers' counts) is their points passed together: they add up."""
    minutes = per_minute(points)
    return _evaluate(((t, window_sum(minutes, t, window)) for t in points_at(at, for_, step)), op, threshold,
                     window, for_, f"count in {_span(window)}")


def rate(points: Points, at: datetime, window: timedelta, for_: timedelta, op: str, threshold: float,
         step: timedelta = STEP) -> Evaluation:
    """``rate(x[window]) <op> threshold``: the window's count per second."""
    minutes = per_minute(points)
    seconds = window.total_seconds()
    return _evaluate(((t, window_sum(minutes, t, window) / seconds) for t in points_at(at, for_, step)), op,
                     threshold, window, for_, f"per second over {_span(window)}")


def ratio(numerator: Points, denominator: Points, at: datetime, window: timedelta, for_: timedelta,
          threshold: float, clamp_min: float = 1.0, op: str = ">", step: timedelta = STEP) -> Evaluation:
    """``rate(num[window]) / clamp_min(rate(den[window]), clamp_min) <op> threshold`` (Lambda5xxSpike)."""
    num, den = per_minute(numerator), per_minute(denominator)
    seconds = window.total_seconds()

    def at_point(t: datetime) -> float:
        return (window_sum(num, t, window) / seconds) / max(window_sum(den, t, window) / seconds, clamp_min)

    return _evaluate(((t, at_point(t)) for t in points_at(at, for_, step)), op, threshold, window, for_,
                     f"ratio of rates over {_span(window)}, denominator at least {_num(clamp_min)}/s")


def average(points: Points, at: datetime, window: timedelta, for_: timedelta, op: str, threshold: float,
            step: timedelta = STEP) -> Evaluation:
    """``avg_over_time(x[window]) <op> threshold``: the mean of the datapoints in ``(t - window, t]``."""
    pts = _series(points)
    return _evaluate(((t, _mean(pts, t, window)) for t in points_at(at, for_, step)), op, threshold, window, for_,
                     f"average over {_span(window)}")


def gauge(points: Points, at: datetime, for_: timedelta, op: str, threshold: float, lookback: timedelta = LOOKBACK,
          step: timedelta = STEP) -> Evaluation:
    """A bare ``x <op> threshold`` held for ``for_``: at each point the newest datapoint within ``lookback``."""
    pts = _series(points)

    def newest(t: datetime) -> float | None:
        seen = [v for when, v in pts if t - lookback < when <= t]
        return seen[-1] if seen else None

    return _evaluate(((t, newest(t)) for t in points_at(at, for_, step)), op, threshold, lookback, for_,
                     f"newest within {_span(lookback)}")


def below_desired(running: Points, desired: Points, at: datetime, window: timedelta = timedelta(hours=1),
                  for_: timedelta = timedelta(minutes=30), step: timedelta = STEP) -> Evaluation:
    """ContainerRestartLoop: ``avg_over_time(running[1h]) < avg_over_time(desired[1h]) and avg_over_time(desired[1h])
    > 0`` held for ``for_``. The value at each point is the shortfall (mean desired - mean running), > 0 when it held;
    no value where desired averages 0 or either series has no datapoint in the window."""
    run, want = _series(running), _series(desired)

    def shortfall(t: datetime) -> float | None:
        r, d = _mean(run, t, window), _mean(want, t, window)
        if r is None or d is None or not d > 0:
            return None
        return d - r

    return _evaluate(((t, shortfall(t)) for t in points_at(at, for_, step)), ">", 0.0, window, for_,
                     f"average desired - average running over {_span(window)}")


def heartbeat(last_success: datetime | None, now: datetime, timeout: timedelta, grace: timedelta) -> Heartbeat:
    """Healthchecks' verdict on a check whose last ping would have been ``last_success``: down once ``now`` is past
    ``last_success + timeout + grace`` (exactly at the deadline it is still up). No success at all in what was read
    is down: the caller reads at least ``timeout + grace`` back, so none there means none in time."""
    if last_success is None:
        return Heartbeat(True, None, None, timeout, grace)
    last_success = _utc(last_success)
    age = _utc(now) - last_success
    return Heartbeat(age > timeout + grace, last_success, age, timeout, grace)


def verdict(ev: Evaluation, rule: str, what: str, step: str, next: Sequence[str] = ()) -> Verdict:
    """The condition test's verdict: red when ``rule`` would be firing. ``what`` names the measured thing and its
    scope (``"stat=Deferred lines in /ecs/cabal-smtp-out"``); ``next`` the runbook's next command, names filled in."""
    facts: tuple[tuple[str, str], ...] = (("threshold", f"{ev.op} {_num(ev.threshold)}"),
                                          ("held", f"{ev.held}/{len(ev.values)}"))
    if ev.worst is not None:
        facts += (("worst", _num(ev.worst[1])),)
    held = f"at every point of the last {_span(ev.for_)}" if ev.for_ else "now"
    if ev.breached:
        return red(f"{rule} would be firing: {what} {ev.op} {_num(ev.threshold)} ({ev.over}) {held}",
                   ev.evidence(what), step=step, next=tuple(next), facts=facts)
    return green(f"{rule} would not fire: {what} held at {ev.held} of {len(ev.values)} points", ev.evidence(what),
                 step=step, facts=facts)


def heartbeat_verdict(hb: Heartbeat, check: str, what: str, step: str, next: Sequence[str] = ()) -> Verdict:
    """The heartbeat test's verdict: red when Healthchecks' ``check`` would be down (``what``: the job's success, as
    read: ``"a [reconfigure] Done. line in /ecs/cabal-imap"``)."""
    deadline = f"timeout {_age(hb.timeout)} + grace {_age(hb.grace)}"
    if hb.last_success is None:
        return red(f"healthchecks/{check} would be down: no {what} in the last {_age(hb.deadline)}",
                   f"read back {_age(hb.deadline)} ({deadline}): none", step=step, next=tuple(next))
    seen = f"last {what} at {hb.last_success.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {_age(hb.age or timedelta(0))} ago"
    if hb.down:
        return red(f"healthchecks/{check} would be down: the last {what} is older than {deadline}", seen, step=step,
                   next=tuple(next))
    return green(f"healthchecks/{check} would be up: within {deadline}", seen, step=step)


def _evaluate(values: Iterable[tuple[datetime, float | None]], op: str, threshold: float, window: timedelta,
              for_: timedelta, over: str) -> Evaluation:
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}")
    vals = tuple(values)
    present = [(t, v) for t, v in vals if v is not None and not math.isnan(v)]
    worst = None
    if present:
        pick = max if op in (">", ">=") else min
        worst = pick(reversed(present), key=lambda tv: tv[1])  # of equal values, the newest
    breached = bool(vals) and all(v is not None and OPS[op](v, threshold) for _, v in vals)
    return Evaluation(breached, op, threshold, window, for_, over, vals, worst)


def _mean(pts: list[tuple[datetime, float]], t: datetime, window: timedelta) -> float | None:
    inside = [v for when, v in pts if t - window < when <= t]
    return sum(inside) / len(inside) if inside else None


def _utc(when: datetime) -> datetime:
    """A naive datetime is UTC (as CloudWatch's and the logs' timestamps are)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _series(points: Points) -> list[tuple[datetime, float]]:
    return sorted((_utc(when), float(v)) for when, v in points)


def _minute(when: datetime) -> datetime:
    return datetime.fromtimestamp(when.timestamp() // 60 * 60, UTC)


def _hm(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%H:%M")


def _span(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s and s % 86400 == 0:
        return f"{s // 86400}d"
    return f"{s // 3600}h" if s % 3600 == 0 and s else f"{s // 60}m" if s % 60 == 0 else f"{s}s"


def _age(d: timedelta) -> str:
    """``2d 3h``, ``45m``: a duration to the minute, its two largest units."""
    minutes = int(d.total_seconds() // 60)
    parts = [(minutes // 1440, "d"), (minutes // 60 % 24, "h"), (minutes % 60, "m")]
    shown = [f"{n}{u}" for n, u in parts if n][:2]
    return " ".join(shown) or "0m"


def _num(v: float) -> str:
    return f"{v:g}"
