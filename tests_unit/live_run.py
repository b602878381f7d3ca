"""Run the unchanged live suite in a subprocess against a sandbox, and record what it did.

Parent side: ``run_live(sandbox, tmp_path, env=..., args=...)`` runs ``python -m pytest tests_live`` (in a process
forked from a warm server: tests_unit/child_pytest.py) with the
sandbox's config and environment (plus overrides), loads this module in the child as a plugin
(``-p tests_unit.live_run``), and returns a ``LiveRun``: each test's outcome and message from the JUnit
report, each test's markers, and every AWS call the run made.

Child side (the plugin hooks below): every AWS call is recorded twice, so that nothing slips past: the
reader's own ``calls`` (what went through the one door to AWS) and every botocore API call made by any
client in the process (``BaseClient._make_api_call``), as ``[service, Operation]`` pairs. At the end of the
session they are written, with each test's marker names, the reader's ``retried`` and the clients it made outside the
main thread (``made_late``), to ``CABAL_RECORD_TO``.
"""

from __future__ import annotations

import json
import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from botocore.client import BaseClient

from . import child_pytest

REPO = Path(__file__).resolve().parents[1]

# --- parent side ----------------------------------------------------------------------------------


@dataclass
class LiveRun:
    results: dict  # nodeid -> (outcome: passed|failure|error|skipped, text)
    markers: dict  # nodeid -> [marker names]
    reader_calls: set  # {(service, Operation)}
    botocore_calls: set
    retried: list
    stdout: str
    made_late: list  # AWS clients made outside the main thread (the os.environ race): must stay empty
    properties: dict = field(default_factory=dict)  # the JUnit testsuite properties (the diagnosis)

    def diagnosis(self) -> tuple[set, set]:
        """(causes, consequences) the run's diagnosis names, as test ids."""
        p = self.properties
        consequences = {c for k, v in p.items() if k.endswith("_consequences") for c in v.splitlines()}
        return set(p.get("diagnosis_causes", "").splitlines()), consequences

    def outcomes(self, outcome: str) -> dict:
        return {n: t for n, (o, t) in self.results.items() if o == outcome}


def run_live(sandbox, tmp_path: Path, env: dict | None = None, args: tuple = (), options: tuple = (),
             timeout: float = 180) -> LiveRun:
    config, junit, record = (sandbox.write_config(tmp_path / "cabal.toml"), tmp_path / "junit.xml",
                             tmp_path / "record.json")
    child_env = sandbox.process_env({**(env or {}), "CABAL_RECORD_TO": str(record)})
    proc = child_pytest.run([*(args or ("tests_live",)), f"--cabal-config={config}", *options, "-q",
                             f"--junitxml={junit}", "-p", "no:cacheprovider", "-p", "tests_unit.live_run"],
                            env=child_env, cwd=REPO, timeout=timeout)
    assert junit.exists() and record.exists(), f"live suite did not run:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    rec = json.loads(record.read_text())
    return LiveRun(junit_results(junit), rec["markers"], {tuple(c) for c in rec["reader_calls"]},
                   {tuple(c) for c in rec["botocore_calls"]}, rec["retried"], proc.stdout, rec["made_late"],
                   junit_properties(junit))


def junit_results(junit: Path) -> dict[str, tuple[str, str]]:
    """{nodeid: (outcome, text)} from a JUnit file (classname + name mapped back to a pytest node id)."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        nodeid = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        outcome, text = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome, text = kind, (node.text or node.get("message") or "")
                break
        out[nodeid] = (outcome, text)
    return out


def junit_properties(junit: Path) -> dict[str, str]:
    """The testsuite-level properties of a JUnit file (the diagnosis writes its findings there)."""
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    props = suite.find("properties")
    return {p.get("name"): p.get("value") for p in props} if props is not None else {}


# --- child side: the plugin -----------------------------------------------------------------------

_botocore_calls: list[tuple[str, str]] = []
_markers: dict[str, list[str]] = {}
_lock = threading.Lock()
_original = BaseClient._make_api_call


def _recording_make_api_call(self, operation_name, api_params):
    with _lock:
        _botocore_calls.append((self.meta.service_model.service_name, operation_name))
    return _original(self, operation_name, api_params)


def pytest_configure(config):
    BaseClient._make_api_call = _recording_make_api_call


def pytest_collection_finish(session):
    for item in session.items:
        _markers[item.nodeid] = sorted({m.name for m in item.iter_markers()})


def pytest_sessionfinish(session):
    ctx = getattr(session.config, "cabal_context", None)
    if ctx is not None:
        ctx.gatherer.settle()  # a fact whose tests stopped at another fact's error may still be retrying: record it all
    BaseClient._make_api_call = _original
    target = os.environ.get("CABAL_RECORD_TO")
    if not target:
        return
    with _lock:
        botocore_calls = sorted(set(_botocore_calls))
    with open(target, "w") as out:
        json.dump({"reader_calls": sorted(set(ctx.aws.calls)) if ctx else [], "botocore_calls": botocore_calls,
                   "retried": [[s, a, n] for (s, a), n in sorted(ctx.aws.retried.items())] if ctx else [],
                   "markers": _markers, "made_late": ctx.aws.made_late if ctx else []}, out, indent=1)
