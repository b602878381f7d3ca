"""Runbook step <-> live test <-> fault, checked both ways, and the generated table is current."""

import ast
from pathlib import Path

from cabal_checks.runbooks import STEPS, table
from cabal_checks.sandbox.faults import FAULTS, faults_by_test

REPO = Path(__file__).resolve().parents[1]


def live_tests() -> set[str]:
    names = set()
    for path in (REPO / "tests_live").glob("test_*.py"):
        names |= {n.name for n in ast.parse(path.read_text()).body
                  if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def test_every_checking_step_has_a_test_that_exists():
    existing = live_tests()
    for step in STEPS:
        assert set(step.tests) <= existing, f"{step.key}: no such live test {set(step.tests) - existing}"


def test_every_live_test_belongs_to_a_step():
    mapped = {t for s in STEPS for t in s.tests}
    assert live_tests() <= mapped, f"live tests on no runbook step: {live_tests() - mapped}"


# Never red by design: a shape is not a runbook step. The fault matrix's mismatch case proves its one ERROR.
NEVER_RED = {"test_deployment_matches_topology"}
NEVER_RED |= {"test_node_high_memory_condition", "test_node_disk_space_low_condition"}  # capacity: no agent, a skip


def test_every_live_test_has_a_fault_that_turns_it_red():
    missing = live_tests() - set(faults_by_test()) - NEVER_RED
    assert not missing, f"no fault turns these red: {missing}"


def test_every_fault_names_red_tests_that_exist():
    existing = live_tests()
    for fault in FAULTS.values():
        named = {t.split("[")[0] for ids in fault.red.values() for t in ids}
        assert named, f"fault {fault.name} turns nothing red"
        assert named <= existing, f"fault {fault.name} names unknown tests {named - existing}"


def test_generated_table_is_current():
    assert (REPO / "docs" / "runbook-coverage.md").read_text() == table(faults_by_test()), \
        "regenerate: python -m cabal_checks.runbooks > docs/runbook-coverage.md"


def test_the_report_orders_steps_as_the_runbooks_do_escalation_last():
    """Issue #17: the runbook report listed 'escalation' before step 1 (sorted by text)."""
    from cabal_checks.judge import acm, cert_wire, ecs, endpoints, escalation, letsencrypt
    from cabal_checks.runbooks import runbook_order, step_order

    steps = [letsencrypt.ESC, letsencrypt.STEP3, acm.STEP3, letsencrypt.STEP2, escalation.ESC, acm.STEP1,
             letsencrypt.STEP1, cert_wire.STEP, ecs.STEP2, endpoints.STEP1, "(not judged)"]
    assert sorted(steps, key=step_order) == [
        endpoints.STEP1, ecs.STEP2, escalation.ESC, cert_wire.STEP, acm.STEP1, acm.STEP3, letsencrypt.STEP1,
        letsencrypt.STEP2, letsencrypt.STEP3, letsencrypt.ESC, "(not judged)"]
    assert sorted(["other", "cert-expiring", "probe-failure", "deployment"], key=runbook_order) == [
        "deployment", "probe-failure", "cert-expiring", "other"]


def test_every_runbook_of_cabal_infra_has_its_section_both_ways():
    """Issue #16: the table has a section for each of the 21 runbooks of the catalog (cabal-infra HEAD), and no other;
    every runbook STEPS names is one of them (or the deployment's shape)."""
    import re

    from cabal_checks import runbook_catalog as cat

    text = table(faults_by_test())
    sections = re.findall(r"^## (.+)$", text, flags=re.M)
    assert sections == [r.file.removesuffix(".md") for r in cat.RUNBOOKS] and len(sections) == 21
    assert {s.runbook for s in STEPS} - {"deployment"} <= set(sections)
    for r in cat.RUNBOOKS:
        part = text.split(f"## {r.file.removesuffix('.md')}\n", 1)[1].split("\n## ", 1)[0]
        assert (f"`-m {r.marker}`" if r.marker else "nothing in AWS to check") in part, r.file
        for step in r.steps:  # what cannot be read says why, in the catalog's words
            assert not step.why_not or f"cannot be read: {step.why_not.replace('|', chr(92) + '|')}" in part, \
                (r.file, step.key)
        if r.steps and not any(s.runbook == r.file.removesuffix(".md") for s in STEPS) and not r.existing:
            assert all(f"the read: {s.read}" in part for s in r.steps if s.read), r.file  # planned, said so
    certbot = text.split("## heartbeat-certbot-renewal\n", 1)[1].split("\n## ", 1)[0]
    assert "cert-expiring ce-l1 (mapped, not copied)" in certbot and "`test_certbot_schedule_enabled`" in certbot
