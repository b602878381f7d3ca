"""The embedded sandbox: a moto server and loopback endpoints shaped like Cabalmail, for one topology.

``Sandbox(topology).start()`` runs a ``ThreadedMotoServer`` in this process (so states moto does not
model can be set on its backends), the wire plant, and seeds the account with the real names. It
hands the suite only what a real user would: a TOML config (control domain, connect_to, ca_bundle,
vpc_host...) and environment variables (AWS_ENDPOINT_URL, dummy keys, the probe user). Nothing in
``tests_live`` knows it is talking to a sandbox.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from ..names import DEFAULT_NAMES
from ..topology import load_topology, site, without_monitoring
from . import aws_noise, aws_seed, moto_patches, snapshot
from .pki import SandboxPKI
from .wire import WirePlant

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

CONTROL_DOMAIN = "cabal.example.test"  # RFC 2606: never a real domain
REGION = "us-east-1"


def clean_environ(overrides: dict[str, str | None] | None = None) -> dict[str, str]:
    """The environment for a child suite run: this process's, less every ``AWS_*`` and ``CABAL_*`` (so no real
    account, profile or per-service endpoint such as ``AWS_ENDPOINT_URL_SSM`` leaks in) and what a pytest parent
    sets (``PYTEST_CURRENT_TEST``, ``PYTEST_XDIST_*``); then ``overrides``, where None means unset."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "CABAL_", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_"))}
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class Sandbox:
    """One per process at a time: moto keeps its state in process-wide backends."""

    def __init__(self, topology: str = "2026-05", control_domain: str = CONTROL_DOMAIN, probe_timeout: float = 5.0,
                 *, monitoring: bool = True, discover: bool = False, apex: bool = False, noisy: bool = False):
        """``monitoring=False``: an account without cabal-infra's monitoring module (no ALB, Kuma, ntfy), as every
        environment runs today. ``discover=True``: the suite is told ``topology = "auto"``, not the name.
        ``apex=True``: an operator made a CloudFront distribution for the apex by hand (the HEAD runbook's
        ``https://<cd>/`` row), on the ACM wildcard (whose sandbox certificate also names the apex).
        ``noisy=True``: lay aws_noise over the healthy seed: what a lived-in account also holds."""
        self.topology = load_topology(topology, control_domain)
        if not monitoring:
            self.topology = without_monitoring(self.topology)
        if apex:
            self.topology = replace(self.topology, sites=(site(control_domain),) + self.topology.sites)
        self.monitoring, self.discover, self.noisy = monitoring, discover, noisy
        self.control_domain = control_domain
        self.probe_timeout = probe_timeout
        self.names = dict(DEFAULT_NAMES)
        self.dir = Path(tempfile.mkdtemp(prefix="cabal-sandbox-"))
        self.faults: list[str] = []
        self.suite_env_extra: dict[str, str | None] = {}  # what a fault changes in the suite's environment
        self.unresolvable: set[str] = set()  # host:port a fault took out of DNS (dropped from connect_to)
        self.nodes: list = []  # load-balancer nodes a fault added (nodes.Node): more addresses behind a name
        # There from start() on (stop() lets the servers go again):
        self.moto: ThreadedMotoServer | None = None
        self.plant: WirePlant | None = None
        self.seeded: aws_seed.Seeded | None = None
        self._snapshots: dict[bool, snapshot.Snapshot] = {}  # noisy -> the account as seeded, put back by reset
        self.endpoint_url = ""
        self.start_seconds = 0.0

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        try:
            return self._start()
        except BaseException:
            self.stop()  # nothing left behind: no server, no folder
            raise

    def _start(self) -> Sandbox:
        t0 = time.monotonic()
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with self.aws_env():  # moto builds boto3 sessions as it is imported: keep the caller's AWS_* out
            moto_patches.install_patches()  # before moto builds a backend (the region memo)
            from moto.server import ThreadedMotoServer  # imported late: the env above must come first

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self.moto = moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            moto.start()
            host, port = moto.get_host_and_port()
            self.endpoint_url = f"http://{host}:{port}"
            # moto's backends are per process: start from an empty account even if another sandbox ran here.
            requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)
        self.plant = plant = WirePlant(self.topology, self.control_domain, SandboxPKI(self.dir))
        plant.start()
        self._seed()
        self.start_seconds = time.monotonic() - t0
        return self

    def _seed(self) -> None:
        with self.aws_env(), self._in_process():
            plant = self._plant()
            self.seeded = seeded = aws_seed.seed(self.topology, self.control_domain, self.names,
                                                 acm_cert=plant.acm_cert, le_cert=plant.le_cert, region=REGION)
            if self.noisy:
                aws_noise.apply(seeded)
            seeded.forget_clients()
        self._snapshots[self.noisy] = snapshot.take(seeded)

    @contextlib.contextmanager
    def _in_process(self):
        """Seed moto's backends (the server's: one per process) through moto's in-process dispatch, not over HTTP
        (half the cost of a start: 271 requests). moto's mock is started without a reset and stopped without removing
        data; the clients it served (no endpoint URL: moto's own) are forgotten after, so nothing made meanwhile can
        outlive it and reach past the sandbox."""
        from moto import mock_aws

        endpoint = os.environ.pop("AWS_ENDPOINT_URL", None)
        mock = mock_aws()
        mock.start(reset=False)
        try:
            yield
        finally:
            mock.stop(remove_data=False)
            if endpoint is not None:
                os.environ["AWS_ENDPOINT_URL"] = endpoint

    def _plant(self) -> WirePlant:
        if self.plant is None:
            raise RuntimeError("the sandbox is not started: no listeners yet (start() first)")
        return self.plant

    def _seeded(self) -> aws_seed.Seeded:
        if self.seeded is None:
            raise RuntimeError("the sandbox is not started: no account seeded yet (start() first)")
        return self.seeded

    def reset(self) -> None:
        """Back to healthy (noisy if ``noisy`` is set): the account as seeded (put back from the snapshot while it is
        fresh, else emptied and seeded again), every listener normal, faults forgotten."""
        self._plant().reset()
        self._stop_nodes()
        self.faults, self.suite_env_extra, self.unresolvable = [], {}, set()
        taken = self._snapshots.get(self.noisy)
        if taken is not None and taken.fresh():
            self.seeded = snapshot.restore(taken, self._seeded())
            return
        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=10)
        moto_patches.clear_registries()
        self._seed()

    def stop(self) -> None:
        """Stop everything and remove the sandbox's folder (the CA bundle and keys), whatever fails on the way."""
        try:
            self._stop_nodes()
            if self.plant is not None:
                self.plant.stop()
            if self.moto is not None:
                self.moto.stop()
        finally:
            self.plant = self.moto = None
            moto_patches.remove_patches()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_nodes(self) -> None:
        for node in self.nodes:
            node.listener.stop()
        self.nodes = []

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- faults -----------------------------------------------------------------------------------

    def apply(self, *names: str) -> None:
        from .faults import FAULTS

        for name in names:
            fault = FAULTS[name]
            if self.topology.name not in fault.topologies:
                raise ValueError(f"fault {name} does not apply to topology {self.topology.name}")
            with self.aws_env():
                fault.apply(self)
            self.faults.append(name)

    # --- what the suite is given ------------------------------------------------------------------

    @contextlib.contextmanager
    def aws_env(self):
        """This process's boto3 pointed at the moto server, only for the duration (no leak into other tests).

        The caller's own ``AWS_*`` (a profile, ``AWS_ENDPOINT_URL_SSM``...) are hidden meanwhile: seeding must
        reach the sandbox, never a real account."""
        saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        for key in saved:
            del os.environ[key]
        os.environ.update(self.aws_variables())
        try:
            yield
        finally:
            for key in [k for k in os.environ if k.startswith("AWS_")]:
                del os.environ[key]
            os.environ.update(saved)

    def aws_variables(self) -> dict[str, str]:
        """Dummy credentials and region, and the moto endpoint once the server is up."""
        variables = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
        return {**variables, "AWS_ENDPOINT_URL": self.endpoint_url} if self.endpoint_url else variables

    def suite_env(self) -> dict[str, str | None]:
        """Environment for the suite's process (None = unset)."""
        env: dict[str, str | None] = {**self.aws_variables(), "AWS_PROFILE": None, "AWS_SESSION_TOKEN": None,
                                      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": None,
                                      "CABAL_PROBE_USERNAME": self._seeded().probe_username,
                                      "CABAL_PROBE_PASSWORD": self._seeded().probe_password,
                                      "CABAL_API_TOKEN": None, "CABAL_CONFIG": None}
        env.update(self.suite_env_extra)
        return env

    def process_env(self, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        """The whole environment of a suite process pointed at this sandbox (``extra`` on top)."""
        return clean_environ({**self.suite_env(), **(extra or {})})

    def config(self) -> dict:
        plant = self._plant()
        connect_to = [c for c in plant.connect_to + [n.connect_to for n in self.nodes]
                      if ":".join(c.split(":")[:2]) not in self.unresolvable]
        return {
            "control_domain": self.control_domain,
            "topology": "auto" if self.discover else self.topology.name,
            "region": REGION,
            "connect_to": connect_to,
            "vpc_connect_to": plant.vpc_connect_to,
            "ca_bundle": str(plant.pki.ca_bundle_path),
            "probe_timeout": self.probe_timeout,
            "vpc_host": "local://",
        }

    def write_config(self, path: Path | None = None) -> Path:
        path = Path(path or self.dir / "cabal.toml")
        path.write_text(to_toml(self.config()))
        return path


def to_toml(data: dict) -> str:
    def value(v):
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v).lower() if isinstance(v, bool) else str(v)

    return "".join(f"{k} = {value(v)}\n" for k, v in data.items())
