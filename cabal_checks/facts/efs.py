"""Facts of the efs-burst-credits-low runbook: the file system tagged Name=cabal-efs and its AWS/EFS series over
the last day (BurstCreditBalance, MeteredIOBytes), in one GetMetricData."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..alerts import NOT_CABALS
from ..aws import efs
from ..aws.cloudwatch import Metric, Series, metric_data
from ..config import history_now
from ..context import Context
from ..verdict import CantTell

EFS_NAME = "cabal-efs"  # modules/efs/main.tf:5-14 (tag Name)
PERIOD = 300  # 5-minute points
LOOKBACK = timedelta(hours=24)  # step 1's slope; the condition reads its last hour


@dataclass(frozen=True)
class EfsFacts:
    """The file system (``DescribeFileSystems``' entry, None when there is none) and, when there is one, its
    BurstCreditBalance Average and MeteredIOBytes Sum per 5 minutes, ``at`` the start of the last complete period."""

    name: str
    file_system: dict | None
    at: datetime | None = None
    balance: Series = ()
    io: Series = ()

    @property
    def mode(self) -> str:
        return (self.file_system or {}).get("ThroughputMode", "bursting")

    @property
    def size(self) -> float:
        return float(((self.file_system or {}).get("SizeInBytes") or {}).get("Value", 0))


def efs_facts(ctx: Context, name: str = EFS_NAME, page_id: str = "") -> EfsFacts:
    """The file system tagged ``name`` and its series; ``page_id``: the one a page names (``--alert
    file_system_id``), which must be it: another is can't tell in one line (a neighbour's), never its green."""
    fs = efs.file_system(ctx.aws, name)
    if page_id and (fs or {}).get("FileSystemId") != page_id:
        ours = f"{name} is {fs['FileSystemId']}" if fs else f"there is no file system tagged Name={name}"
        raise CantTell(f"{NOT_CABALS} file system {page_id}, not Cabal's: {ours}")
    if fs is None:
        return EfsFacts(name, None)
    now = history_now(ctx.settings)
    end = datetime.fromtimestamp(now.timestamp() // PERIOD * PERIOD, UTC)  # the current period is incomplete
    at, dims = end - timedelta(seconds=PERIOD), (("FileSystemId", fs["FileSystemId"]),)
    balance = Metric("AWS/EFS", "BurstCreditBalance", dims, "Average", PERIOD)
    io = Metric("AWS/EFS", "MeteredIOBytes", dims, "Sum", PERIOD)
    data = metric_data(ctx.aws, [balance, io], end - LOOKBACK, end)
    return EfsFacts(name, fs, at, data[balance], data[io])
