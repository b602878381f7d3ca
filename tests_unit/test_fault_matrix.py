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


def sandbox_for(sandboxes, topology: str, monitoring: bool = True, apex: bool = False) -> Sandbox:
    """The topology's sandbox (with or without the monitoring module, with a hand-made apex distribution); one at
    a time, since moto's backends are per process."""
    key = (topology, monitoring, apex)
    if key not in sandboxes:
        for other in list(sandboxes):
            sandboxes.pop(other).stop()
        sandboxes[key] = Sandbox(topology, probe_timeout=5.0, monitoring=monitoring, apex=apex).start()
    return sandboxes[key]


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
    assert not run.made_late, f"AWS clients made in a gathering thread (the os.environ race): {run.made_late}"
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


NOISY = ("2026-08", "2026-05")  # the matrix's last sandbox first


@pytest.mark.parametrize("topology", NOISY, ids=[f"{t}-healthy-noisy" for t in NOISY])
def test_noisy_healthy_account_is_green(sandboxes, topology, tmp_path):
    """The healthy state under a lived-in account's noise (sandbox/aws_noise.py): nothing red, no errors."""
    sb = sandbox_for(sandboxes, topology)
    sb.noisy = True
    try:
        sb.reset()
        results = run_live(sb, tmp_path).results
    finally:
        sb.noisy = False  # the next case's reset() seeds the plain healthy state again
    bad = {name: text[:600] for name, (outcome, text) in results.items() if outcome in ("error", "failure")}
    assert not bad, f"red or errors on the noisy healthy {topology}: {bad}"


# Discovery: each built-in shape, with and without the monitoring module, is found by --topology auto and is green;
# ordered so that consecutive cases share a sandbox.
SHAPES = [("2026-05", True), ("2026-05", False), ("2026-08", True), ("2026-08", False)]


@pytest.mark.parametrize("topology, monitoring", SHAPES,
                         ids=[f"{t}-{'monitoring' if m else 'no-monitoring'}" for t, m in SHAPES])
def test_topology_auto_finds_the_shape_and_is_green(sandboxes, topology, monitoring, tmp_path):
    sb = sandbox_for(sandboxes, topology, monitoring)
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=auto", f"--runbook-report={tmp_path / 'report.md'}"))
    assert not run.outcomes("failure") and not run.outcomes("error"), (run.outcomes("failure"), run.outcomes("error"))
    ntfy = [n for n in run.results if "ntfy" in n]
    assert bool(ntfy) == monitoring, f"ntfy checks {'missing' if monitoring else 'collected'}: {ntfy}"
    report = (tmp_path / "report.md").read_text()
    assert f"- topology: {topology} (auto: NLB cabal-nlb listens on" in report
    assert ("monitoring module: present" if monitoring else "monitoring module: absent: the ntfy checks are not "
            "collected") in report
    assert f"ACM consumers found by alias (CloudFront): www.{sb.control_domain}" in report


def test_explicit_topology_contradicting_the_account_is_one_cant_tell(sandboxes, tmp_path):
    sb = sandbox_for(sandboxes, "2026-08", False)  # Cabalmail today (the last case above); told the May shape
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=2026-05",))
    errors = run.outcomes("error")
    assert not run.outcomes("failure"), run.outcomes("failure")
    assert list(errors) == ["tests_live/test_deployment_shape.py::test_deployment_matches_topology[2026-05]"], errors
    line = next(iter(errors.values()))
    assert line.count("\n") == 0 and "can't tell: topology 2026-05 does not fit this account" in line, line
    assert "NLB cabal-nlb listens on 25;" in line and "pass --topology 2026-08" in line, line


def test_a_hand_made_apex_distribution_is_found_and_checked_on_the_wire(sandboxes, tmp_path):
    """The HEAD cert table's https://<cd>/ row: Terraform makes no apex record, an operator may; found by its alias."""
    sb = sandbox_for(sandboxes, "2026-08", False, apex=True)
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=auto",))
    assert not run.outcomes("failure") and not run.outcomes("error"), (run.outcomes("failure"), run.outcomes("error"))
    apex = f"https://{sb.control_domain}/"
    for test_id in (f"test_cert_expiring_acm.py::test_acm_consumer_uses_certificate[cloudfront:{sb.control_domain}]",
                    f"test_cert_expiring_acm.py::test_acm_certificate_served[{apex}]",
                    f"test_cert_expiring_wire.py::test_cert_days_left_critical[{apex}]",
                    f"test_cert_expiring_wire.py::test_chain_verifies_for_public_name[{apex}]"):
        assert run.results[f"tests_live/{test_id}"][0] == "passed", test_id


def test_a_bad_load_balancer_node_is_named_with_its_address_and_zone(sandboxes, tmp_path):
    """Issue #17 item 15: smtp-in.<cd> stands for two NLB nodes; the one in the second zone never answers. The red
    line names that node's address and the zone the NLB's network interfaces say it is in, and the good node stays
    listed as answering; the in-VPC probe (straight to the task) stays green."""
    sb = sandbox_for(sandboxes, "2026-08")
    sb.reset()
    sb.apply("nlb-node-silent")
    run = run_live(sb, tmp_path)
    relay = f"smtp://smtp-in.{sb.control_domain}:25"
    outcome, text = next(r for n, r in run.results.items() if n.endswith(f"::test_endpoint_answers[{relay}]"))
    node, zones = sb.nodes[0].connect_to.split(":", 2)[2], sorted({s for s in _public_zones(sb)})
    assert outcome == "failure" and text.startswith(
        f"{relay} failed at banner at {node} in {zones[1]} (1 of 2 addresses failing): "), text
    assert f"seen: address 127.0.0.1:{sb.plant.front(relay).port} in {zones[0]}: answered" in text, text


def _public_zones(sb) -> list[str]:
    with sb.aws_env():
        subnets = sb.seeded.client("ec2").describe_subnets(SubnetIds=sb.seeded.public_subnet_ids)["Subnets"]
    return [s["AvailabilityZone"] for s in subnets]
