"""The sandbox, once, for every unit test module: the AWS account (moto) and the wire (real loopback listeners).

* ``aws_env``: a clean AWS environment (dummy keys, one region, no profile, no host config, no instance metadata);
  returns the monkeypatch, to add to it.
* ``mock_account``: ``aws_env`` plus an in-process moto account (``mock_aws``, Lambda without Docker), empty.
* ``sandboxes``: the module's running ``Sandbox`` by its options (``sandboxes.get("2026-08", monitoring=False)``),
  one at a time since moto's backends are per process; stopped when the module ends.
* ``sandbox``: the module's sandbox with ``sandbox_options`` (a module overrides that fixture to change them). Each
  test puts it back to healthy with ``sandbox.reset()`` first.
* ``pki``, ``started_plant``, ``plant``: the wire alone (no AWS): a test CA, the module's ``WirePlant`` for
  ``plant_topology`` (a module overrides that fixture, parametrized for several), reset after each test.

Module scope everywhere, as each module had it: a sandbox alive across modules would share moto's process-wide
backends with another module's in-process ``mock_aws`` tests.
"""

from __future__ import annotations

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
    """The module's running sandbox, by its options; asking for other options stops it and starts those."""

    def __init__(self):
        self._key: tuple | None = None
        self._sandbox = None

    def get(self, topology: str = "2026-05", **options):
        from cabal_checks.sandbox.sandbox import Sandbox

        key = (topology, tuple(sorted(options.items())))
        if key != self._key:
            self.stop()
            self._sandbox, self._key = Sandbox(topology, **options).start(), key
        return self._sandbox

    def stop(self) -> None:
        sandbox, self._sandbox, self._key = self._sandbox, None, None
        if sandbox is not None:
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
