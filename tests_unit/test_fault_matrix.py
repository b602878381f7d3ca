"""The fault matrix: the proof that a red test is a failing runbook step.

For each topology, the unchanged live suite (tests_live, in its own process, reaching the sandbox only
through the public interface) runs against the healthy sandbox - nothing red, no errors - and against
every fault of the catalogue - exactly the fault's declared tests red, each with its runbook step and
next command, and nothing else red (no collateral); and the diagnosis of each run names the fault's
declared cause, with every other red as a consequence. Two faults at once name both causes.
"""

from __future__ import annotations

import pytest

from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.sandbox.sandbox import Sandbox

from .live_run import run_live

TOPOLOGIES = ("2026-05", "2026-08")
CASES = [(t, None) for t in TOPOLOGIES] + [(t, name) for t in TOPOLOGIES for name, f in FAULTS.items()
                                            if t in f.topologies]
# Two independent faults at once: the diagnosis names both causes (NAT or the cluster instances do not explain
# one service's own failure; two pipelines are two causes).
COMBINATIONS = [("2026-05", ("nat-instance-stopped", "imap-service-down")),
                ("2026-08", ("container-instance-disconnected", "ntfy-down")),
                ("2026-05", ("relay-sg-rule-removed", "certbot-schedule-disabled")),
                ("2026-08", ("acm-validation-cname-missing", "le-cert-in-warning-window"))]
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
    check_faults(sandboxes, topology, (fault,) if fault else (), tmp_path)


@pytest.mark.parametrize("topology, faults", COMBINATIONS, ids=[f"{t}-{'+'.join(f)}" for t, f in COMBINATIONS])
def test_two_faults_at_once_the_diagnosis_names_both_causes(sandboxes, topology, faults, tmp_path):
    check_faults(sandboxes, topology, faults, tmp_path)


def check_faults(sandboxes, topology: str, faults: tuple, tmp_path) -> None:
    sb = sandbox_for(sandboxes, topology)
    sb.reset()
    sb.apply(*faults)
    run = run_live(sb, tmp_path)
    results = {nodeid.split("::")[-1]: r for nodeid, r in run.results.items()}
    errors = {name: msg for name, (outcome, msg) in results.items() if outcome == "error"}
    red = {name: msg for name, (outcome, msg) in results.items() if outcome == "failure"}
    expected = {t for f in faults for t in FAULTS[f].red_for(topology, sb.control_domain)}
    fault = "+".join(faults)
    assert not errors, f"errors (can't tell) under {fault or 'healthy'}: {errors}"
    assert set(red) == expected, (f"{fault or 'healthy'} on {topology}: unexpected red {sorted(set(red) - expected)}, "
                                  f"missing red {sorted(expected - set(red))}\n"
                                  + "\n".join(f"--- {n}\n{m[:600]}" for n, m in red.items() if n not in expected))
    for name, message in red.items():
        assert "runbook: " in message, f"{name}: red without its runbook step:\n{message}"
    causes, consequences = run.diagnosis()
    want = {c for f in faults for c in FAULTS[f].causes_for(topology, sb.control_domain)}
    text = run.properties.get("diagnosis", "")
    assert causes == want, f"{fault or 'healthy'} on {topology}: diagnosis names {sorted(causes)}, want {sorted(want)}\n{text}"
    missing = sorted(set(red) - want - consequences)
    assert consequences == set(red) - want, (f"{fault} on {topology}: consequences missing {missing}, "
                                             f"unexpected {sorted(consequences - set(red))}\n{text}")
    if not faults:
        assert text.startswith("nothing red: probe-failure (") and "cert-expiring (acm, letsencrypt)" in text, text
