"""The sandbox, once, for every unit test module: the AWS account (moto) and the wire (real loopback listeners).

* ``aws_env``: a clean AWS environment (dummy keys, one region, no profile, no host config, no instance metadata);
  returns the monkeypatch, to add to it.
* ``mock_account``: ``aws_env`` plus an in-process moto account (``mock_aws``, Lambda without Docker), empty.
* ``sandboxes``: the module's running ``Sandbox`` by its options (``sandboxes.get("2026-08", monitoring=False)``),
  each started once; moto's backends are per process, so the one asked for last holds the account; all stopped
  when the module ends.
* ``sandbox``: the module's sandbox with ``sandbox_options`` (a module overrides that fixture to change them). Each
  test puts it back to healthy with ``sandbox.reset()`` first.
* ``pki``, ``started_plant``, ``plant``: the wire alone (no AWS): a test CA, the module's ``WirePlant`` for
  ``plant_topology`` (a module overrides that fixture, parametrized for several), reset after each test.

Module scope everywhere, as each module had it: a sandbox alive across modules would share moto's process-wide
backends with another module's in-process ``mock_aws`` tests.
"""

from __future__ import annotations

import gc
import logging
import os

import pytest

CD = "cabal.example.test"
REGION = "us-east-1"


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` here is one worker more than the cores: about a quarter of these proofs' time is spent waiting by
    design (a probe's deadline run out, the exporter's --run-timeout, Prometheus' evaluation interval), time a
    worker per core leaves the core idle for (2 cores: 3 workers; bench/RESULTS.md has the figures).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still says how many, as pytest-xdist documents."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS") or config.option.numprocesses != "auto":
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # not on macOS
    return cores + 1


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """pytest-xdist's load scheduling sends a worker up to half of its share of the pending tests at once (50 near the
    middle of this run): a run of fault-matrix cases, 4-8 s each, landed on one worker and it finished a minute after
    the others. At most four at a time keeps the tail short; the order stays the collection's, so a worker still runs
    a module's tests one after another. ``--maxschedchunk`` given still wins."""
    if getattr(config.option, "maxschedchunk", "absent") is None:
        config.option.maxschedchunk = 4


def pytest_collection_finish(session):
    """Garbage collection in these workers: what lives for the whole session (the collected tests, the imported
    modules) is out of every collection from here on, and a full collection comes ten times less often than Python's
    default. A sandbox reset makes a hundred thousand objects (the account's copy, the old one left in cycles), so a
    full collection came every few resets and walked everything: 0.3-0.4 s each, 50 s of a PR job's CPU (a
    ``gc.callbacks`` count over the three workers)."""
    gc.collect()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 100)


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """A clean AWS environment: dummy keys, one region, no profile, no host config, no instance metadata."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def mock_account(aws_env):
    """An empty in-process moto account for the test (Lambda on moto's simple backend: no Docker here)."""
    from moto import mock_aws

    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


class Sandboxes:
    """The module's sandboxes, by their options, each started once. Moto's account is one per process: the sandbox
    asked for last holds it, and one asked for again after another is put back first (``Sandbox.reset``: its
    snapshot, or seeded afresh), its listeners and server never stopped. A switch costs 0.05-1.5 s where a stop and a
    start cost 2-4 s: the fault matrix asked for another sandbox 22 times a PR job."""

    def __init__(self):
        self._running: dict[tuple, object] = {}
        self._key: tuple | None = None

    def get(self, topology: str = "2026-05", **options):
        from cabal_checks.sandbox.sandbox import Sandbox

        key = (topology, tuple(sorted(options.items())))
        sandbox = self._running.get(key)
        if sandbox is None:
            sandbox = self._running[key] = Sandbox(topology, **options).start()  # empties moto's account first
        elif key != self._key:
            sandbox.reset()  # moto holds another sandbox's account: this one's back
        self._key = key
        return sandbox

    def stop(self) -> None:
        running, self._running, self._key = self._running, {}, None
        for sandbox in running.values():
            sandbox.stop()


@pytest.fixture(scope="module")
def sandboxes():
    found = Sandboxes()
    yield found
    found.stop()


@pytest.fixture(scope="module")
def sandbox_options() -> dict:
    """Keyword arguments of the module's ``sandbox`` (``Sandbox("2026-05", **options)``); override to change."""
    return {}


@pytest.fixture(scope="module")
def sandbox(sandboxes, sandbox_options):
    return sandboxes.get(**sandbox_options)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    from cabal_checks.sandbox.pki import SandboxPKI

    return SandboxPKI(tmp_path_factory.mktemp("sandbox-pki"))


@pytest.fixture(scope="module")
def plant_topology() -> str:
    """The topology of the module's ``plant``; override (parametrized for several)."""
    return "2026-05"


@pytest.fixture(scope="module")
def started_plant(pki, plant_topology):
    from cabal_checks.sandbox.wire import WirePlant
    from cabal_checks.topology import load_topology

    # aiosmtpd logs a traceback for every STARTTLS handshake a client rejects (bad certificate): server noise,
    # not the client's; kept out of failure reports.
    mail_log = logging.getLogger("mail.log")
    level = mail_log.level
    mail_log.setLevel(logging.CRITICAL)
    plant = WirePlant(load_topology(plant_topology, CD), CD, pki)
    plant.start()
    try:
        yield plant
    finally:
        plant.stop()
        mail_log.setLevel(level)


@pytest.fixture
def plant(started_plant):
    """The module's plant, reset after each test (modes, knobs, certificates)."""
    yield started_plant
    started_plant.reset()
