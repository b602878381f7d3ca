"""The fault matrix: the proof that a red test is a failing runbook step.

For each topology, the unchanged live suite (tests_live, in its own process, reaching the sandbox only
through the public interface) runs against the healthy sandbox - nothing red, no errors - and against
every fault of the catalogue - exactly the fault's declared tests red, each with its runbook step and
next command, and nothing else red (no collateral).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.sandbox.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]
TOPOLOGIES = ("2026-05", "2026-08")
CASES = [(t, None) for t in TOPOLOGIES] + [(t, name) for t in TOPOLOGIES for name, f in FAULTS.items()
                                            if t in f.topologies]
_sandboxes: dict[str, Sandbox] = {}


@pytest.fixture(scope="module")
def sandboxes():
    yield _sandboxes
    for sb in _sandboxes.values():
        sb.stop()
    _sandboxes.clear()


def sandbox_for(sandboxes, topology: str) -> Sandbox:
    """The topology's sandbox; one at a time, since moto's backends are per process."""
    if topology not in sandboxes:
        for other in list(sandboxes):
            sandboxes.pop(other).stop()
        sandboxes[topology] = Sandbox(topology, probe_timeout=5.0).start()
    return sandboxes[topology]


def run_live(sb: Sandbox, tmp_path: Path) -> dict:
    """Run tests_live against the sandbox; return {test name: (outcome, message)}."""
    config, junit = sb.write_config(tmp_path / "cabal.toml"), tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CABAL_", "PYTEST_"))}
    env.update({k: v for k, v in sb.suite_env().items() if v is not None})
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests_live", f"--cabal-config={config}", "-q",
                           f"--junitxml={junit}", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert junit.exists(), f"live suite did not run:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome, message = kind, (node.get("message") or "") + "\n" + (node.text or "")
                break
        out[case.get("name")] = (outcome, message)
    return out


@pytest.mark.parametrize("topology, fault", CASES, ids=[f"{t}-{f or 'healthy'}" for t, f in CASES])
def test_fault_turns_exactly_its_tests_red(sandboxes, topology, fault, tmp_path):
    sb = sandbox_for(sandboxes, topology)
    sb.reset()
    if fault:
        sb.apply(fault)
    results = run_live(sb, tmp_path)
    errors = {name: msg for name, (outcome, msg) in results.items() if outcome == "error"}
    red = {name: msg for name, (outcome, msg) in results.items() if outcome == "failure"}
    expected = FAULTS[fault].red_for(topology, sb.control_domain) if fault else set()
    assert not errors, f"errors (can't tell) under {fault or 'healthy'}: {errors}"
    assert set(red) == expected, (f"{fault or 'healthy'} on {topology}: unexpected red {sorted(set(red) - expected)}, "
                                  f"missing red {sorted(expected - set(red))}\n"
                                  + "\n".join(f"--- {n}\n{m[:600]}" for n, m in red.items() if n not in expected))
    for name, message in red.items():
        assert "runbook: " in message, f"{name}: red without its runbook step:\n{message}"
