"""The DynamoDB and EFS runbooks' healthy state: the eight tables (on demand), the cabal-efs file system (bursting,
a few GiB), and their CloudWatch history at normal rates (both topologies); the noisy state adds a throttling spike
resolved three hours ago and a staging neighbour (``cabal-stage-*`` tables throttling now, ``cabal-stage-efs`` with
its credits gone) that the checks must not take for Cabalmail's.

Also the helpers the faults and the unit tests build their states with (``put_points``, ``balance_history``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from ..facts.dynamodb import TABLES
from ..facts.efs import EFS_NAME

MIN = timedelta(minutes=1)
FULL_BALANCE = 2.31e12  # bytes: a bursting file system that has not burst in days (AWS: up to 2.1 TB per TiB + 2.1 TB)
EFS_SIZE = 6 * 1024 ** 3  # 6 GiB of queues: a baseline of 300 KiB/s
QUIET_IO = 40 * 1024 * 300  # MeteredIOBytes per 5 minutes: ~40 KiB/s
HISTORY = timedelta(hours=25)  # the EFS checks read 24 h
DDB_HISTORY = timedelta(minutes=70)  # the DynamoDB checks read 1 h
OPERATIONS = {"cabal-addresses": ("GetItem", "Query", "PutItem"), "cabal-user-preferences": ("GetItem",),
              "cabal-rate-limits": ("UpdateItem",), "cabal-push-tokens": ("Query",),
              "cabal-user-domain-access": ("Query",), "cabal-dmarc-reports": ("PutItem",),
              "cabal-caa-reports": ("PutItem",), "cabal-counter": ("UpdateItem",)}


def put_points(cw, namespace: str, metric: str, dims: dict, points: Iterable[tuple[datetime, float]],
               unit: str = "Count") -> None:
    data = [{"MetricName": metric, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
             "Timestamp": t, "Value": float(v), "Unit": unit} for t, v in points]
    for first in range(0, len(data), 500):
        cw.put_metric_data(Namespace=namespace, MetricData=data[first:first + 500])


def every(now: datetime, span: timedelta, step: timedelta, value: Callable[[int], float], lag: timedelta = MIN):
    """Points every ``step`` over ``span`` before ``now - lag`` (oldest first), ``value(i)`` for the i-th."""
    n = int(span / step)
    return [(now - lag - (n - i) * step, value(i)) for i in range(n + 1)]


def create_tables(ddb, names=TABLES) -> None:
    for name in names:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])


def table_history(cw, now: datetime, tables=TABLES) -> None:
    """Consumed capacity every five minutes (moto keeps every datapoint: the history stays small); ThrottledRequests
    and SystemErrors of 0 four days ago (a series ListMetrics lists, as AWS keeps one that once had data)."""
    for name in tables:
        put_points(cw, "AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": name},
                   every(now, DDB_HISTORY, 5 * MIN, lambda i: 10 + i % 5))
        put_points(cw, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": name},
                   every(now, DDB_HISTORY, 5 * MIN, lambda i: 1 + i % 3))
        for op in OPERATIONS.get(name, ("GetItem",)):
            for metric in ("ThrottledRequests", "SystemErrors"):
                put_points(cw, "AWS/DynamoDB", metric, {"TableName": name, "Operation": op},
                           [(now - timedelta(days=4), 0)])


def create_file_system(efs, backend_of, name: str = EFS_NAME, size: int = EFS_SIZE, mode: str = "bursting") -> str:
    fs = efs.create_file_system(CreationToken=name, PerformanceMode="generalPurpose", Encrypted=True,
                                ThroughputMode=mode, Tags=[{"Key": "Name", "Value": name}])
    backend_of().file_systems_by_id[fs["FileSystemId"]]._size_value = size  # moto reports 0 unless set
    return fs["FileSystemId"]


def forget_efs_history(cloudwatch_backend, fs_id: str) -> None:
    """Drop the file system's AWS/EFS datapoints from moto's CloudWatch (a fault rewrites its history: moto would
    average the new points with the healthy ones of the same periods)."""
    cloudwatch_backend.metric_data = [d for d in cloudwatch_backend.metric_data
                                      if not (d.namespace == "AWS/EFS"
                                              and any(x.value == fs_id for x in d.dimensions))]


def balance_history(cw, fs_id: str, points, io_points=()) -> None:
    put_points(cw, "AWS/EFS", "BurstCreditBalance", {"FileSystemId": fs_id}, points, unit="Bytes")
    if io_points:
        put_points(cw, "AWS/EFS", "MeteredIOBytes", {"FileSystemId": fs_id}, io_points, unit="Bytes")


def five_minutes(now: datetime, span: timedelta, value: Callable[[int], float]):
    """Points at 5-minute period starts, the newest the last complete period before ``now``."""
    end = datetime.fromtimestamp(now.timestamp() // 300 * 300, now.tzinfo)
    n = int(span / timedelta(minutes=5))
    return [(end - (n - i) * timedelta(minutes=5), value(i)) for i in range(n)]


def sparse(now: datetime, value: Callable[[int], float]):
    """5-minute points for the last two hours, one every half hour before (the day's slope needs no more): moto
    filters every datapoint it holds for each query, so the sandbox keeps its history small."""
    recent = five_minutes(now, timedelta(hours=2), value)
    older = [(t, v) for t, v in five_minutes(now, HISTORY, value) if t < recent[0][0] and t.minute % 30 == 0]
    return older + recent


def efs_history(cw, fs_id: str, now: datetime) -> None:
    balance_history(cw, fs_id, sparse(now, lambda i: FULL_BALANCE - (i % 7) * 1e6),
                    sparse(now, lambda i: QUIET_IO * (0.5 + (i % 4) / 4)))


LIST_GROUP = "/cabal/lambda/list"
TIERS = ("service_imap", "service_smtp_in", "service_smtp_out")


def ensure_group(s, group: str) -> None:
    logs = s.client("logs")
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass


def regenerations(s, service_key: str, times) -> None:
    """``[reconfigure] Regenerating`` lines (docker/shared/reconfigure.sh) in the tier's group."""
    from .aws_seed import put_log_lines

    group = f"/ecs/{s.names[service_key]}"
    ensure_group(s, group)
    put_log_lines(s, group, f"reconfigure/{s.names[service_key]}/loop",
                  [(t, "[reconfigure] Regenerating address maps from cabal-addresses") for t in times])


def list_lines(s, lines) -> None:
    from .aws_seed import put_log_lines

    ensure_group(s, LIST_GROUP)
    put_log_lines(s, LIST_GROUP, "2026/12/03/[$LATEST]0f3e0c1d", lines)


def seed(s) -> None:
    """The healthy state, in the seeded account ``s`` (aws_seed.Seeded)."""
    from .aws_seed import backend

    # the list function answering; each tier regenerating its maps a few times an hour (address changes)
    list_lines(s, [(s.now - timedelta(minutes=m), f"[list] listed 25 messages for folder INBOX (request {m})")
                   for m in (50, 31, 12, 4)])
    for key in (k for k in TIERS if k in s.topology.services()):
        regenerations(s, key, [s.now - timedelta(minutes=m) for m in (47, 22)])

    create_tables(s.client("dynamodb"))
    table_history(s.client("cloudwatch"), s.now)
    fs_id = create_file_system(s.client("efs"), lambda: backend("efs", s))
    efs_history(s.client("cloudwatch"), fs_id, s.now)


def noise(s) -> None:
    """What a lived-in account also holds (aws_noise.apply)."""
    from .aws_seed import backend

    cw, now = s.client("cloudwatch"), s.now
    # a throttling spike on cabal-addresses, resolved three hours ago (outside every window read)
    put_points(cw, "AWS/DynamoDB", "ThrottledRequests", {"TableName": "cabal-addresses", "Operation": "GetItem"},
               every(now - timedelta(hours=3), timedelta(minutes=10), MIN, lambda i: 4))
    # a staging neighbour with similar names, throttling and failing now, its file system drained
    stage = tuple(t.replace("cabal-", "cabal-stage-", 1) for t in TABLES[:2])
    create_tables(s.client("dynamodb"), stage)
    for name in stage:
        for metric in ("ThrottledRequests", "SystemErrors", "ReadKeyRangeThroughputThrottleEvents"):
            put_points(cw, "AWS/DynamoDB", metric, {"TableName": name, "Operation": "GetItem"},
                       every(now, timedelta(minutes=20), MIN, lambda i: 3))
    fs_id = create_file_system(s.client("efs"), lambda: backend("efs", s), "cabal-stage-efs", 1024 ** 3)
    balance_history(cw, fs_id, sparse(now, lambda i: 1e9), sparse(now, lambda i: 5e8))
