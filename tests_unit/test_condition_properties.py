"""Properties of judge/condition over generated histories (hypothesis; skipped where it is not installed):
the re-evaluation agrees with a direct count, ignores input order, only grows when events are added, keeps the
clamped ratio's arithmetic, and mirrors between < and >."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cabal_checks.judge import condition as c  # noqa: E402

AT = datetime(2026, 12, 3, 6, 15, tzinfo=UTC)
MIN = timedelta(minutes=1)
FAST = settings(max_examples=60, deadline=None, database=None)

# a history: counts for each of the 60 minutes before AT (0 = quiet)
counts = st.lists(st.integers(min_value=0, max_value=40), min_size=60, max_size=60)
windows = st.sampled_from([5, 10, 15, 30])
fors = st.sampled_from([0, 1, 5, 15])
thresholds = st.integers(min_value=0, max_value=200)


def history(values) -> list[tuple[datetime, float]]:
    return [(AT - (60 - i) * MIN, float(v)) for i, v in enumerate(values) if v]


def direct(values, t: datetime, window: int) -> int:
    """The count of the minutes starting in [t - window, t), straight from the list."""
    first = 60 - int((AT - t) / MIN) - window
    return sum(values[max(first, 0):first + window])


@FAST
@given(counts, windows, fors, thresholds)
def test_increase_is_the_direct_count_at_every_point(values, window, for_, threshold):
    ev = c.increase(history(values), AT, window * MIN, for_ * MIN, ">", threshold)
    expected = [direct(values, t, window) for t, _ in ev.values]
    assert [v for _, v in ev.values] == expected
    assert ev.breached is all(v > threshold for v in expected)


@FAST
@given(counts, windows, fors, thresholds, st.randoms(use_true_random=False))
def test_order_of_the_datapoints_does_not_matter(values, window, for_, threshold, rnd):
    pts = history(values)
    shuffled = pts[:]
    rnd.shuffle(shuffled)
    assert c.increase(pts, AT, window * MIN, for_ * MIN, ">", threshold) == \
        c.increase(shuffled, AT, window * MIN, for_ * MIN, ">", threshold)


@FAST
@given(counts, counts, windows, fors, thresholds)
def test_more_events_never_clear_a_firing_count(values, extra, window, for_, threshold):
    before = c.increase(history(values), AT, window * MIN, for_ * MIN, ">", threshold)
    after = c.increase(history(values) + history(extra), AT, window * MIN, for_ * MIN, ">", threshold)
    assert all(b[1] <= a[1] for b, a in zip(before.values, after.values, strict=True))
    assert after.breached or not before.breached


@FAST
@given(counts, counts, fors)
def test_ratio_is_errors_over_clamped_requests(errors, more, for_):
    requests = [e + m for e, m in zip(errors, more, strict=True)]  # every 5xx is a request
    ev = c.ratio(history(errors), history(requests), AT, 10 * MIN, for_ * MIN, 0.05)
    for t, value in ev.values:
        e, r = direct(errors, t, 10), direct(requests, t, 10)
        assert value == pytest.approx(e / max(r, 600))  # clamp_min(rate, 1/s) over 600 s
        assert 0 <= value <= 1


@FAST
@given(st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=60), fors,
       st.floats(min_value=0, max_value=100))
def test_gauge_less_than_mirrors_greater_than(values, for_, threshold):
    pts = [(AT - i * MIN, v) for i, v in enumerate(values)]
    neg = [(t, -v) for t, v in pts]
    assert c.gauge(pts, AT, for_ * MIN, "<", threshold).breached is \
        c.gauge(neg, AT, for_ * MIN, ">", -threshold).breached


@FAST
@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=60, max_value=10**6),
       st.integers(min_value=0, max_value=10**6))
def test_heartbeat_is_down_exactly_past_the_deadline(ago, timeout, grace):
    hb = c.heartbeat(AT - timedelta(seconds=ago), AT, timedelta(seconds=timeout), timedelta(seconds=grace))
    assert hb.down is (ago > timeout + grace)
    later = c.heartbeat(AT - timedelta(seconds=ago), AT + MIN, timedelta(seconds=timeout), timedelta(seconds=grace))
    assert later.down or not hb.down  # time passing never brings a check back up
