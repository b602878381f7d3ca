"""Judges of the efs-burst-credits-low runbook: pure functions of ``facts.efs.EfsFacts``.

The alert (alerts.yml:116-124) is ``aws_efs_burst_credit_balance_average < 20e9`` for 1 h: an absolute 20 GB of
credit, not the runbook's "20 % of baseline". AWS publishes BurstCreditBalance only in bursting mode: a file system
in elastic or provisioned mode is a skip, never a green that means nothing.
"""

from __future__ import annotations

from datetime import timedelta

from ..verdict import NotApplicable, Verdict, green, red
from . import condition

THRESHOLD = 20e9  # bytes of credit
FOR = timedelta(hours=1)
HORIZON = timedelta(hours=24)  # step 1: a balance that reaches the threshold within a day is burning fast
BASELINE_PER_GIB = 50 * 1024  # bytes/s of metered throughput a GiB of storage earns in bursting mode
GIB = 1024 ** 3
RULE = "EFSBurstCreditsLow"


def _bursting(f) -> None:
    if f.file_system is None:
        raise NotApplicable(f"no EFS file system tagged Name={f.name} in this account")
    if f.mode != "bursting":
        raise NotApplicable(f"{f.name} ({f.file_system['FileSystemId']}) is in {f.mode} throughput mode, not "
                            f"bursting: it has no burst credits, {RULE} does not apply")


def _gb(b: float) -> str:
    return f"{b / 1e9:,.1f} GB"


def _cmd(f, metric: str, stat: str, hours: int) -> str:
    return (f"aws cloudwatch get-metric-statistics --namespace AWS/EFS --metric-name {metric} --dimensions "
            f"Name=FileSystemId,Value={f.file_system['FileSystemId']} --statistics {stat} --period 300 "
            f"--start-time $(date -u -d '-{hours} hour' +%FT%TZ) --end-time $(date -u +%FT%TZ)")


def credits_condition(f) -> Verdict:
    """The alert's condition: the newest BurstCreditBalance Average below 20e9 at every minute of the last hour."""
    _bursting(f)
    ev = condition.gauge(f.balance, f.at, FOR, "<", THRESHOLD)
    return condition.verdict(ev, RULE, f"BurstCreditBalance of {f.name} ({f.file_system['FileSystemId']}) in bytes",
                             f"efs-burst-credits-low, the alert's condition ({RULE})",
                             next=(_cmd(f, "BurstCreditBalance", "Average", 24),))


def slope(points) -> float | None:
    """Least-squares slope of the points, in value per hour (None for fewer than two)."""
    if len(points) < 2:
        return None
    xs = [t.timestamp() / 3600 for t, _ in points]
    ys = [v for _, v in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0


def credits_not_draining(f) -> Verdict:
    """Step 1, burning fast or a slow drain: the 24-hour slope of the balance; red when, at that rate, the balance
    is under 20e9 within a day (or already is)."""
    _bursting(f)
    step = "efs-burst-credits-low, step 1 (burning fast or a slow drain)"
    per_hour = slope(f.balance)
    if per_hour is None:
        raise NotApplicable(f"{f.name}: fewer than two BurstCreditBalance points in the last 24 h")
    first, last = f.balance[0], f.balance[-1]
    seen = (f"BurstCreditBalance {_gb(first[1])} at {first[0]:%m-%d %H:%M} UTC, {_gb(last[1])} at "
            f"{last[0]:%m-%d %H:%M} UTC: {per_hour / 1e9:+,.2f} GB/h over {len(f.balance)} points")
    hours_left = (last[1] - THRESHOLD) / -per_hour if per_hour < 0 else None
    if last[1] < THRESHOLD or (hours_left is not None and hours_left < HORIZON.total_seconds() / 3600):
        when = "already below 20 GB" if last[1] < THRESHOLD else f"20 GB in {hours_left:.1f} h at this rate"
        return red(f"{f.name}: burst credits burning fast ({when})", seen, step=step,
                   next=(_cmd(f, "MeteredIOBytes", "Sum", 24),
                         "# burning fast: find the workload (step 2; no per-access-point metric exists) and slow it, "
                         f"or switch {f.file_system['FileSystemId']} to elastic throughput (escalation)"))
    trend = "steady or rising" if hours_left is None else f"a slow drain: 20 GB in {hours_left / 24:.1f} days"
    return green(f"{f.name}: burst credits not burning fast ({trend})", seen, step=step)


def size_supports_baseline(f) -> Verdict:
    """Step 3, the file system is very small: its baseline (50 KiB/s per GiB stored) against the metered I/O it
    averaged over the last day; red when the workload outruns what the size earns (credits can only drain)."""
    _bursting(f)
    step = "efs-burst-credits-low, step 3 (file system very small: baseline 50 KiB/s per GiB)"
    baseline = f.size / GIB * BASELINE_PER_GIB
    average = sum(v for _, v in f.io) / HORIZON.total_seconds()
    seen = (f"SizeInBytes {f.size / GIB:,.2f} GiB: baseline {baseline / 1024:,.1f} KiB/s; MeteredIOBytes averaged "
            f"{average / 1024:,.1f} KiB/s over the last 24 h ({len(f.io)} points)")
    if average > baseline:
        return red(f"{f.name}: the workload ({average / 1024:,.1f} KiB/s) outruns the baseline its size earns "
                   f"({baseline / 1024:,.1f} KiB/s): the credits can only drain", seen, step=step,
                   next=(f"aws efs describe-file-systems --file-system-id {f.file_system['FileSystemId']} --query "
                         "'FileSystems[0].{size:SizeInBytes.Value,mode:ThroughputMode}'",
                         _cmd(f, "MeteredIOBytes", "Sum", 24)))
    return green(f"{f.name}: the baseline its size earns covers the workload", seen, step=step)
