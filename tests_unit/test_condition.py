"""cabal_checks.judge.condition: each alert rule of cabal-infra's alerts.yml re-evaluated over datapoints, both sides
of every threshold, exactly at it (per the rule's operator), empty data, one point, gaps, and a heartbeat's deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cabal_checks.judge import condition as c

AT = datetime(2026, 12, 3, 6, 15, tzinfo=UTC)
MIN = timedelta(minutes=1)


def minutes(first: datetime, values) -> list[tuple[datetime, float]]:
    """Per-minute points from ``first``, one per value; None leaves that minute out (a gap)."""
    return [(first + i * MIN, v) for i, v in enumerate(values) if v is not None]


def steady(per_minute: float, span: timedelta, end: datetime = AT) -> list[tuple[datetime, float]]:
    n = int(span / MIN)
    return minutes(end - span, [per_minute] * n)


# --- evaluation points ------------------------------------------------------------------------------------------


def test_points_cover_the_for_duration_both_ends():
    pts = c.points_at(AT, timedelta(minutes=15))
    assert len(pts) == 16 and pts[0] == AT - timedelta(minutes=15) and pts[-1] == AT
    assert c.points_at(AT, timedelta(0)) == (AT,)


def test_points_refuse_a_negative_for():
    with pytest.raises(ValueError):
        c.points_at(AT, -MIN)


def test_per_minute_adds_sub_minute_points_and_treats_naive_as_utc():
    naive = datetime(2026, 12, 3, 6, 0, 10)
    out = c.per_minute([(naive, 1), (naive + timedelta(seconds=20), 2), (naive + MIN, 4)])
    assert out == {datetime(2026, 12, 3, 6, 0, tzinfo=UTC): 3.0, datetime(2026, 12, 3, 6, 1, tzinfo=UTC): 4.0}


def test_window_sum_is_the_minutes_starting_in_the_window():
    mins = c.per_minute(minutes(AT - timedelta(minutes=3), [1, 2, 4]))
    assert c.window_sum(mins, AT, timedelta(minutes=2)) == 6  # 06:13 and 06:14, not 06:12
    assert c.window_sum(mins, AT - MIN, timedelta(minutes=2)) == 3


# --- increase: SendmailDeferredSpike (> 10 per 10m, for 15m), SendmailBouncedSpike (> 15 per 30m, for 15m),
# --- IMAPAuthFailureSpike (> 25 per 5m, for 5m), LambdaErrors / DynamoDB* (> 0) ------------------------------------

DEFERRED = dict(window=timedelta(minutes=10), for_=timedelta(minutes=15), op=">", threshold=10)


@pytest.mark.parametrize("per_10m, fires", [(11, True), (10, False), (9, False)], ids=["above", "at", "below"])
def test_deferred_spike_both_sides_of_the_threshold(per_10m, fires):
    # per_10m lines in every 10 minutes, spread evenly (per_10m / 10 a minute)
    ev = c.increase(steady(per_10m / 10, timedelta(minutes=30)), AT, **DEFERRED)
    assert ev.breached is fires
    assert [round(v, 6) for _, v in ev.values] == [per_10m] * 16
    assert ev.held == (16 if fires else 0)


def test_deferred_spike_must_hold_at_every_point_of_the_for():
    # 20 lines a minute from 06:04 on: the last points' windows hold 200, but the for started at 06:00 with none
    busy = minutes(AT - timedelta(minutes=30), [0] * 19 + [20] * 11)  # busy from 06:04; the for starts 06:00
    ev = c.increase(busy, AT, **DEFERRED)
    assert not ev.breached
    assert ev.values[0][1] == 0 and ev.values[-1][1] == 200
    assert ev.worst == (AT, 200)
    assert 0 < ev.held < 16


def test_the_rule_sums_the_three_tiers_so_their_points_add_up():
    # sum(increase(...)) over imap, smtp-in, smtp-out: 4 in 10 minutes each is 12 together
    tier = steady(0.4, timedelta(minutes=30))
    assert not c.increase(tier, AT, **DEFERRED).breached
    assert c.increase(tier + tier + tier, AT, **DEFERRED).breached


def test_a_resolved_spike_outside_the_window_does_not_fire():
    spike = minutes(AT - timedelta(hours=2), [500] * 10)
    assert not c.increase(spike, AT, **DEFERRED).breached


def test_empty_data_never_fires_a_count():
    ev = c.increase([], AT, **DEFERRED)
    assert not ev.breached and ev.worst == (AT, 0) and ev.held == 0


def test_one_point_with_for_zero():
    one = [(AT - MIN, 1.0)]
    assert c.increase(one, AT, timedelta(minutes=15), timedelta(0), ">", 0).breached
    assert not c.increase(one, AT, timedelta(minutes=15), timedelta(0), ">", 1).breached


def test_gaps_count_zero_and_can_break_a_window():
    # bounced: > 15 in 30 minutes, for 15 minutes. 16 bounces in the one minute 05:35, then nothing: the windows
    # of 06:00-06:05 hold it, those of 06:06-06:15 do not
    burst = [(AT - timedelta(minutes=40), 16.0)]
    ev = c.increase(burst, AT, timedelta(minutes=30), timedelta(minutes=15), ">", 15)
    assert not ev.breached
    assert [v for _, v in ev.values][:6] == [16] * 6 and [v for _, v in ev.values][6:] == [0] * 10


@pytest.mark.parametrize("per_5m, fires", [(26, True), (25, False)], ids=["above", "at"])
def test_imap_auth_failures(per_5m, fires):
    ev = c.increase(steady(per_5m / 5, timedelta(minutes=15)), AT, timedelta(minutes=5), timedelta(minutes=5), ">", 25)
    assert ev.breached is fires


@pytest.mark.parametrize("errors, fires", [([0] * 19 + [1], False), ([1] + [0] * 19, False), ([0] * 9 + [1] + [0] * 10,
                                                                                            True)],
                         ids=["too-recent-for-5m", "aged-out", "inside-every-window"])
def test_lambda_errors_one_error_fires_only_if_every_15m_window_of_the_5m_holds_it(errors, fires):
    # LambdaErrors: increase(errors[15m]) > 0 for 5m; points 06:10..06:15, windows start 05:55..06:00
    ev = c.increase(minutes(AT - timedelta(minutes=20), errors), AT, timedelta(minutes=15), timedelta(minutes=5), ">", 0)
    assert ev.breached is fires


# --- rate: LambdaThrottles (rate(throttles[5m]) > 0 for 1m) ------------------------------------------------------


@pytest.mark.parametrize("throttles, fires", [(1, True), (0, False)])
def test_throttles_rate(throttles, fires):
    pts = minutes(AT - timedelta(minutes=3), [throttles, 0, 0])
    ev = c.rate(pts, AT, timedelta(minutes=5), MIN, ">", 0)
    assert ev.breached is fires
    assert ev.values[-1][1] == pytest.approx(throttles / 300)


# --- ratio with clamp_min: Lambda5xxSpike ------------------------------------------------------------------------

SPIKE = dict(window=timedelta(minutes=10), for_=timedelta(minutes=5), threshold=0.05)


@pytest.mark.parametrize("errors_per_min, requests_per_min, fires", [
    (7, 100, True),     # 7 % of a busy API (100/min = 1.67/s, no clamp)
    (5, 100, False),    # exactly 5 %: "> 0.05" does not hold
    (4, 100, False),
    (3.1, 10, True),    # quiet API: clamp to 1/s: 31 in 10m / 600 s = 0.0517
    (3, 10, False),     # 30 in 10 min over a clamped 1/s = exactly 0.05
    (2, 10, False),     # 20 % of requests fail but the clamp keeps it under: the rule as written
], ids=["busy-above", "busy-at", "busy-below", "quiet-above", "quiet-at", "quiet-20pc-clamped"])
def test_5xx_ratio_with_the_clamp(errors_per_min, requests_per_min, fires):
    ev = c.ratio(steady(errors_per_min, timedelta(minutes=20)), steady(requests_per_min, timedelta(minutes=20)), AT,
                 **SPIKE)
    assert ev.breached is fires


def test_5xx_ratio_with_no_requests_at_all():
    ev = c.ratio([], [], AT, **SPIKE)
    assert not ev.breached and all(v == 0 for _, v in ev.values)


# --- avg_over_time and the restart loop ----------------------------------------------------------------------


def test_average_over_time_ignores_missing_points_and_gives_none_for_none():
    pts = minutes(AT - timedelta(minutes=4), [10, None, 30, None])
    ev = c.average(pts, AT, timedelta(minutes=5), timedelta(0), ">", 19)
    assert ev.values == ((AT, 20.0),) and ev.breached
    empty = c.average([], AT, timedelta(minutes=5), timedelta(minutes=2), ">", 0)
    assert not empty.breached and empty.worst is None and all(v is None for _, v in empty.values)


def test_restart_loop_fires_when_running_averages_below_desired_for_30m():
    desired = steady(1, timedelta(hours=2))
    down = minutes(AT - timedelta(hours=2), [1] * 60 + [0] * 60)  # the task died an hour ago
    ev = c.below_desired(down, desired, AT)
    assert ev.breached and len(ev.values) == 31
    assert ev.worst == (AT, 1.0)


def test_restart_loop_healthy_and_scaled_to_zero_do_not_fire():
    desired = steady(1, timedelta(hours=2))
    assert not c.below_desired(desired, desired, AT).breached
    zero = steady(0, timedelta(hours=2))
    ev = c.below_desired(zero, zero, AT)
    assert not ev.breached and ev.worst is None  # desired averages 0: the "and desired > 0" clause


def test_restart_loop_a_restart_ten_minutes_ago_is_not_yet_a_loop():
    desired = steady(1, timedelta(hours=2))
    blip = minutes(AT - timedelta(hours=2), [1] * 110 + [0] + [1] * 9)  # one minute down, ten minutes ago
    ev = c.below_desired(blip, desired, AT)
    assert not ev.breached  # the points before the blip averaged exactly desired
    assert ev.held == 11  # 06:05 (the blip's minute) to 06:15


# --- a bare gauge: EFSBurstCreditsLow (< 20e9 for 1h); EC2 CPU > 85 for 15m --------------------------------------


@pytest.mark.parametrize("balance, fires", [(19.9e9, True), (20e9, False), (25e9, False)], ids=["below", "at", "above"])
def test_efs_burst_credits(balance, fires):
    pts = steady(balance, timedelta(minutes=70))
    ev = c.gauge(pts, AT, timedelta(hours=1), "<", 20e9)
    assert ev.breached is fires and len(ev.values) == 61


def test_gauge_needs_a_point_within_the_lookback_at_every_point():
    # 5-minute points (EFS/EC2 basic monitoring) cover every minute with the 5-minute lookback; a 10-minute gap does not
    every5 = [(AT - timedelta(minutes=m), 10e9) for m in range(0, 70, 5)]
    assert c.gauge(every5, AT, timedelta(hours=1), "<", 20e9).breached
    gap = [p for p in every5 if not AT - timedelta(minutes=31) < p[0] < AT - timedelta(minutes=19)]
    ev = c.gauge(gap, AT, timedelta(hours=1), "<", 20e9)
    assert not ev.breached and any(v is None for _, v in ev.values)


def test_gauge_worst_is_the_lowest_for_a_less_than():
    pts = minutes(AT - timedelta(minutes=15), [90, 95, 99] + [86] * 13)
    ev = c.gauge(pts, AT, timedelta(minutes=15), ">", 85)
    assert ev.breached and ev.worst[1] == 99
    low = c.gauge(pts, AT, timedelta(minutes=15), "<", 87)
    assert low.worst[1] == 86 and not low.breached


def test_unknown_operator_is_a_bug():
    with pytest.raises(ValueError):
        c.gauge([], AT, MIN, "!=", 1)


# --- heartbeats (healthchecks_iac/config.py: timeout + grace) ------------------------------------------------------

HEARTBEATS = {  # check: (timeout, grace)
    "certbot-renewal": (timedelta(days=60), timedelta(hours=24)),
    "aws-backup": (timedelta(days=1), timedelta(hours=6)),
    "dmarc-ingest": (timedelta(hours=6), timedelta(hours=2)),
    "ecs-reconfigure": (timedelta(minutes=30), timedelta(minutes=30)),
    "cognito-user-sync": (timedelta(days=30), timedelta(days=7)),
}


@pytest.mark.parametrize("check", sorted(HEARTBEATS))
@pytest.mark.parametrize("past, down", [(-timedelta(seconds=1), False), (timedelta(0), False),
                                        (timedelta(seconds=1), True)], ids=["inside", "at-deadline", "past"])
def test_heartbeat_deadline_is_timeout_plus_grace(check, past, down):
    timeout, grace = HEARTBEATS[check]
    hb = c.heartbeat(AT - timeout - grace - past, AT, timeout, grace)
    assert hb.down is down and hb.deadline == timeout + grace and hb.age == timeout + grace + past


def test_heartbeat_with_no_success_read_is_down():
    hb = c.heartbeat(None, AT, timedelta(minutes=30), timedelta(minutes=30))
    assert hb.down and hb.last_success is None and hb.age is None


# --- evidence -----------------------------------------------------------------------------------------------------


def test_evidence_line_names_points_threshold_and_worst():
    ev = c.increase(steady(1.2, timedelta(minutes=30)), AT, **DEFERRED)
    line = ev.evidence("stat=Deferred")
    assert line.startswith("stat=Deferred (count in 10m): held at 16 of 16 points 06:00-06:15 UTC (> 10; worst 12 at")
    assert c.gauge([], AT, MIN, "<", 20e9).evidence("BurstCreditBalance").endswith("(< 2e+10; no value)")


# --- verdicts: the condition test's red and its green twin ------------------------------------------------------

STEP = "sendmail-deferred-spike, alert condition"
NEXT = ("aws logs tail /ecs/cabal-smtp-out --since 30m --filter-pattern '\"stat=Deferred\"'",)


def test_red_verdict_says_what_fired_with_evidence_step_and_next():
    ev = c.increase(steady(1.5, timedelta(minutes=30)), AT, **DEFERRED)
    v = c.verdict(ev, "SendmailDeferredSpike", "stat=Deferred lines in /ecs/cabal-smtp-out", STEP, NEXT)
    assert not v.ok
    assert v.summary == ("SendmailDeferredSpike would be firing: stat=Deferred lines in /ecs/cabal-smtp-out > 10 "
                         "(count in 10m) at every point of the last 15m")
    assert v.evidence == (ev.evidence("stat=Deferred lines in /ecs/cabal-smtp-out"),)
    assert v.step == STEP and v.next == NEXT and ("held", "16/16") in v.facts and ("worst", "15") in v.facts


def test_green_verdict_twin():
    ev = c.increase(steady(1, timedelta(minutes=30)), AT, **DEFERRED)
    v = c.verdict(ev, "SendmailDeferredSpike", "stat=Deferred lines", STEP, NEXT)
    assert v.ok and v.summary == "SendmailDeferredSpike would not fire: stat=Deferred lines held at 0 of 16 points"
    assert v.next == ()


def test_ratio_evidence_names_the_clamp():
    ev = c.ratio(steady(7, timedelta(minutes=20)), steady(100, timedelta(minutes=20)), AT, **SPIKE)
    assert "(ratio of rates over 10m, denominator at least 1/s)" in c.verdict(ev, "Lambda5xxSpike", "5XX/Count",
                                                                             STEP).summary


HB_STEP = "heartbeat-ecs-reconfigure, heartbeat"
DONE = "[reconfigure] Done. in /ecs/cabal-imap"


def test_heartbeat_red_verdicts():
    late = c.heartbeat(AT - timedelta(minutes=61), AT, timedelta(minutes=30), timedelta(minutes=30))
    v = c.heartbeat_verdict(late, "ecs-reconfigure", DONE, HB_STEP, ("aws logs tail /ecs/cabal-imap --since 2h",))
    assert not v.ok and v.summary == (f"healthchecks/ecs-reconfigure would be down: the last {DONE} is older than "
                                      "timeout 30m + grace 30m")
    assert v.evidence == (f"last {DONE} at 2026-12-03 05:14 UTC, 1h 1m ago",) and v.next
    never = c.heartbeat_verdict(c.heartbeat(None, AT, timedelta(days=60), timedelta(hours=24)), "certbot-renewal",
                                "successful run", "heartbeat-certbot-renewal")
    assert not never.ok and never.summary == "healthchecks/certbot-renewal would be down: no successful run in the " \
                                             "last 61d"


def test_heartbeat_green_twin():
    ok = c.heartbeat(AT - timedelta(minutes=59), AT, timedelta(minutes=30), timedelta(minutes=30))
    v = c.heartbeat_verdict(ok, "ecs-reconfigure", DONE, HB_STEP)
    assert v.ok and v.evidence == (f"last {DONE} at 2026-12-03 05:16 UTC, 59m ago",)
