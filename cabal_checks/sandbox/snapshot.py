"""The seeded account, kept in memory and put back: a sandbox reset without seeding again.

Seeding sends about 150 requests to moto (1.5-2 s); putting back a copy of moto's backends as they stood right after
seeding takes milliseconds. ``take(seeded)`` copies, in one ``copy.deepcopy`` (so objects shared between services stay
shared), every backend moto holds, the patch registries of ``aws_seed`` and the ``Seeded`` record the faults work
from; ``restore(snapshot)`` puts a fresh copy of each back (the snapshot itself stays as taken) and forgets whatever
a fault added (another region, another service). What is not in moto's backends is reset by its owner: the wire
plant by ``WirePlant.reset``, the sandbox's own fields by ``Sandbox.reset``.

A snapshot keeps the times of its seeding: ``Sandbox.reset`` seeds afresh once a snapshot is ``MAX_AGE`` old, so that
the seeded times (a task started 2 h ago, the last certbot run 10 days ago) stay where a fresh seed puts them, well
inside every judge's window.
"""

from __future__ import annotations

import copy
import copyreg
import dataclasses
import datetime
import threading
import time
import weakref
from dataclasses import dataclass

from . import aws_seed, moto_patches

MAX_AGE = 120.0  # seconds


@dataclass
class Snapshot:
    taken: float  # time.monotonic()
    keys: list  # (BackendDict, account id, region) of each backend
    backends: list  # the backends as seeded (copies, never handed out)
    registries: dict
    seeded: aws_seed.Seeded

    def fresh(self) -> bool:
        return time.monotonic() - self.taken < MAX_AGE


def take(seeded: aws_seed.Seeded) -> Snapshot:
    from moto.core.base_backend import backend_lock

    _register_copiers()
    with backend_lock:
        keys = [(bd, account, region) for bd in _backend_dicts() for account, per in bd.items() for region in per]
        backends = _deepcopy([dict.__getitem__(dict.__getitem__(bd, a), r) for bd, a, r in keys])
    bare = dataclasses.replace(seeded, _clients={}, _session=None)  # boto3 clients are not copied: they are reused
    return Snapshot(time.monotonic(), keys, backends, copy.deepcopy(_registries()), copy.deepcopy(bare))


def restore(snapshot: Snapshot, live: aws_seed.Seeded) -> aws_seed.Seeded:
    """Moto's backends and the registries as seeded; returns the ``Seeded`` to use from now on."""
    from moto.core.base_backend import backend_lock

    backends = _deepcopy(snapshot.backends)
    with backend_lock:
        for bd in _backend_dicts():
            for per in bd.values():
                per.clear()
        for (bd, account, region), backend in zip(snapshot.keys, backends, strict=True):
            bd[account][region] = backend
    for name, registry in _registries().items():
        registry.clear()
        registry.update(copy.deepcopy(snapshot.registries[name]))
    seeded = copy.deepcopy(snapshot.seeded)
    seeded._clients, seeded._session = live._clients, live._session
    return seeded


def _deepcopy(backends: list) -> list:
    """``copy.deepcopy``, with two changes while it runs:

    * a ``WeakValueDictionary``'s values are copied too: its own ``__deepcopy__`` copies the keys only, so a copy's
      index (moto's ``LambdaStorage._arns``) would point at the objects first seeded, alive only while something
      else holds them; another sandbox's start drops them, and DeleteFunction then fails (KeyError);
    * the account's many small records (``_flat_classes``: a metric datum, its dimensions, a log event; three
      quarters of the objects a snapshot holds) are copied attribute by attribute, containers deep, without the
      generic ``__reduce_ex__`` round: the same copy, a reset in 0.04 s where it took 0.24 s."""
    swapped = {weakref.WeakValueDictionary: _copy_weak_values, **dict.fromkeys(_flat_classes(), _copy_flat)}
    own = {cls: cls.__dict__.get("__deepcopy__") for cls in swapped}
    for cls, copier in swapped.items():
        cls.__deepcopy__ = copier  # type: ignore[attr-defined]
    try:
        return copy.deepcopy(backends)
    finally:
        for cls, method in own.items():
            if method is None:
                del cls.__deepcopy__  # type: ignore[attr-defined]
            else:
                cls.__deepcopy__ = method  # type: ignore[attr-defined]


def _copy_weak_values(self, memo):
    new = self.__class__()
    for key, value in list(self.items()):
        new[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
    return new


def _flat_classes() -> tuple[type, ...]:
    from moto.cloudwatch.models import Dimension, MetricAggregatedDatum, MetricDatum
    from moto.logs.models import LogEvent

    return MetricDatum, MetricAggregatedDatum, Dimension, LogEvent


_ATOMS = (str, int, float, bool, type(None), datetime.datetime)


def _copy_flat(self, memo):
    new = object.__new__(type(self))
    memo[id(self)] = new
    new.__dict__.update({k: v if type(v) in _ATOMS else copy.deepcopy(v, memo) for k, v in self.__dict__.items()})
    return new


def _backend_dicts() -> list:
    """Every ``BackendDict`` moto made: its class-level registry, read as moto's own ``BackendDict.reset`` reads it."""
    from moto.core.base_backend import BackendDict

    return BackendDict._instances  # type: ignore[misc]  # a generic class's class-level list (moto ignores it alike)


def _registries() -> dict:
    return {"acm": moto_patches.ACM_OVERRIDES, "target_health": moto_patches.TARGET_HEALTH,
            "lambda": moto_patches.LAMBDA_CONFIG, "routes": moto_patches.ROUTE_STATES,
            "backup_jobs": moto_patches.BACKUP_JOBS}


def _register_copiers() -> None:
    # moto's SSM ParameterDict is a defaultdict whose __init__ wants (account_id, region_name): copy.deepcopy's
    # default for a defaultdict would call it with the default factory alone.
    from moto.ssm.models import ParameterDict

    copyreg.pickle(ParameterDict, _reduce_parameter_dict)
    # moto's SQS queues hold a threading.Condition (the heartbeat family's cabal-reconfig-<tier> queues): a copy gets
    # a fresh one, as a lock cannot be copied
    copyreg.pickle(threading.Condition, lambda _: (threading.Condition, ()))


def _reduce_parameter_dict(d):
    return _parameter_dict, (d.account_id, d.region_name), dict(d.__dict__), None, iter(dict.items(d))


def _parameter_dict(account_id: str, region_name: str):
    from moto.ssm.models import ParameterDict

    return ParameterDict(account_id, region_name)
