"""The fault matrix: the proof that a red test is a failing runbook step.

For each topology, the unchanged live suite (tests_live, in its own process, reaching the sandbox only
through the public interface) runs against the healthy sandbox - nothing red, no errors - and against
every fault of the catalogue - exactly the fault's declared tests red, each with its runbook step and
next command, and nothing else red (no collateral).
"""

from __future__ import annotations

import pytest

from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.sandbox.sandbox import Sandbox

from .live_run import run_live

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


@pytest.mark.parametrize("topology, fault", CASES, ids=[f"{t}-{f or 'healthy'}" for t, f in CASES])
def test_fault_turns_exactly_its_tests_red(sandboxes, topology, fault, tmp_path):
    sb = sandbox_for(sandboxes, topology)
    sb.reset()
    if fault:
        sb.apply(fault)
    run = run_live(sb, tmp_path)
    assert not run.made_late, f"AWS clients made in a gathering thread (the os.environ race): {run.made_late}"
    results = {nodeid.split("::")[-1]: r for nodeid, r in run.results.items()}
    errors = {name: msg for name, (outcome, msg) in results.items() if outcome == "error"}
    red = {name: msg for name, (outcome, msg) in results.items() if outcome == "failure"}
    expected = FAULTS[fault].red_for(topology, sb.control_domain) if fault else set()
    assert not errors, f"errors (can't tell) under {fault or 'healthy'}: {errors}"
    assert set(red) == expected, (f"{fault or 'healthy'} on {topology}: unexpected red {sorted(set(red) - expected)}, "
                                  f"missing red {sorted(expected - set(red))}\n"
                                  + "\n".join(f"--- {n}\n{m[:600]}" for n, m in red.items() if n not in expected))
    for name, message in red.items():
        assert "runbook: " in message, f"{name}: red without its runbook step:\n{message}"
