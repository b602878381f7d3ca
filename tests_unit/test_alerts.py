"""``--alert``: every Kuma monitor of the §10 table and every blackbox target of both eras resolves, in both
built-in topologies, to the tests of its runbook path; every name the mapping uses exists; an unknown alert or
an instance that is not an endpoint is a usage error of one line."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cabal_checks import alerts
from cabal_checks.sandbox.sandbox import clean_environ
from cabal_checks.topology import CERTS, PROBES, load_topology
from fixtures.options import MARKERS, SUITE_MARKERS

from .test_interface import REPO, pytest_run

CD = "example.net"
TOPOLOGIES = tuple(alerts.ERA_OF_TOPOLOGY)
_collected: dict = {}


def collected(topology: str) -> list:
    """[(test id, markers, scope, facts asked)] of the live suite in ``topology``, in run order, collected once in a
    child."""
    if topology not in _collected:
        out = Path(tempfile.mkdtemp(prefix="cabal-collected-")) / f"{topology}.json"
        try:
            proc = pytest_run("tests_live", "--collect-only", "-q", f"--control-domain={CD}", f"--topology={topology}",
                              "-p", "tests_unit.collected", env_extra={"CABAL_COLLECTED_TO": str(out)})
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
            _collected[topology] = [(n, set(m), tuple(s) if s else None, tuple(f))
                                    for n, m, s, f in json.loads(out.read_text())]
        finally:
            out.unlink(missing_ok=True)
            out.parent.rmdir()
    return _collected[topology]


def selection(text: str, topology: str) -> set[str]:
    path = alerts.resolve(text, load_topology(topology, CD), CD)
    return {name for name, markers, scope, _ in collected(topology) if alerts.selects(path, markers, scope)}


def pages(topology: str) -> list[str]:
    """Every page the deployment of this topology's era can send: each Kuma monitor of both eras' §10 tables
    (Kuma is configured by hand: a monitor may keep its old name), each blackbox target with its alerts."""
    era = alerts.ERA_OF_TOPOLOGY[topology]
    out = [f"kuma/{m}" for m in alerts.KUMA] + [f"healthchecks/{c}" for c, m in alerts.HEALTHCHECKS.items()
                                                if m in SUITE_MARKERS]  # issue #16's pages: test_alert_pages.py
    for target in alerts.BLACKBOX_TARGETS[era]:
        if target in alerts.NO_ENDPOINT:
            continue
        out += [f"[CRITICAL] alertmanager/BlackboxProbeFailure/{target.format(cd=CD)}"]
        if not target.startswith(("smtp-in.", "smtp-out.{cd}:587")):  # tcp_connect: no TLS, no expiry series
            out += [f"{a} instance={target.format(cd=CD)}" for a in alerts.ALERTS if a != "BlackboxProbeFailure"]
    return out


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_monitor_and_blackbox_target_maps_to_tests_of_its_path(topology):
    tests = {name for name, *_ in collected(topology)}
    for page in pages(topology):
        chosen = selection(page, topology)
        assert chosen and chosen <= tests, page
        path = alerts.resolve(page, load_topology(topology, CD), CD)
        for name, markers, *_ in collected(topology):
            if name in chosen:
                assert set(path.markers) & markers, (page, name)


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_every_endpoint_of_the_topology_is_reached_by_a_page(topology):
    topo = load_topology(topology, CD)
    reached = {e.spec for page in pages(topology) for e in alerts.resolve(page, topo, CD).endpoints}
    assert reached == {e.spec for e in topo.endpoints}


def test_every_name_the_mapping_uses_exists():
    assert {p for _, p, _ in alerts.KUMA.values()} <= set(PROBES)
    assert alerts.HEALTHCHECKS["certbot-renewal"] in CERTS
    assert set(alerts.HEALTHCHECKS.values()) - {""} <= set(MARKERS)
    assert set(alerts.RUNBOOK_MARKERS.values()) <= set(MARKERS)
    for era, monitors in alerts.KUMA_ERAS.items():
        assert set(monitors) <= set(alerts.KUMA), era
    assert set(alerts.ERA_OF_TOPOLOGY.values()) == set(alerts.KUMA_ERAS) == set(alerts.BLACKBOX_TARGETS)


@pytest.mark.parametrize("page", [
    "[CRITICAL] alertmanager/BlackboxProbeFailure/smtp-in.example.net:25",
    "alertmanager/BlackboxProbeFailure/smtp-in.example.net:25",
    'BlackboxProbeFailure{instance="smtp-in.example.net:25"}',
    "BlackboxProbeFailure instance=smtp-in.example.net:25",
    "kuma/SMTP relay (STARTTLS)",
])
def test_the_forms_of_one_page_select_the_same_tests(page):
    assert selection(page, "2026-05") == selection("kuma/SMTP relay (STARTTLS)", "2026-05")


def test_a_probe_page_is_the_probe_marker_restricted_to_its_endpoint():
    chosen = selection("kuma/Submission (implicit TLS)", "2026-05")
    assert "test_endpoint_answers[smtps://smtp-out.example.net:465]" in chosen
    assert "test_targets_healthy[cabal-ecs-submission-tg]" in chosen and "test_ecs_service_running[cabal-smtp-out]" in chosen
    assert "test_dns_points_at_front[public:smtp-out.example.net]" in chosen
    assert not {n for n in chosen if "587" in n or "starttls-tg" in n}
    assert "test_nat_instances_running[cabal-nat-*]" in chosen
    assert "test_ssm_certificate_parses[/cabal/control_domain_ssl_cert]" in chosen
    assert selection("kuma/API round-trip (`/list`)", "2026-05") == selection(
        "kuma/API reachable (/list)", "2026-05")


def test_the_critical_certificate_page_is_the_critical_tier_of_its_pipeline():
    warning = selection("BlackboxTLSCertExpiringSoonWarning instance=smtp-out.example.net:465", "2026-08")
    critical = selection("[CRITICAL] alertmanager/BlackboxTLSCertExpiringSoonCritical/smtp-out.example.net:465", "2026-08")
    assert critical < warning
    assert "test_cert_days_left_warning[smtps://smtp-out.cabal.internal:465]" in warning - critical
    assert "test_ssm_certificate_days_left_warning[/cabal/control_domain_ssl_cert]" in warning - critical
    assert "test_certbot_ran_within_period[cabal-certbot-renewal]" in critical
    assert not {n for n in warning if "acm" in n or "587" in n or n.startswith("test_endpoint_answers")}
    assert selection("healthchecks/certbot-renewal", "2026-08") >= warning


@pytest.mark.parametrize("page, words", [
    ("kuma/IMAP down", "unknown Kuma monitor"),
    ("alertmanager/NodeHighCPUs/i-0abc", "unknown alert 'NodeHighCPUs'"),
    ("BlackboxProbeFailure instance=imap.example.net:993", "imap.example.net:993 is not an endpoint of topology 2026-08"),
    ("BlackboxProbeFailure instance=https://example.net/", "the apex has no record"),
    ("BlackboxTLSCertExpiringSoonWarning instance=smtp-in.example.net:25", "no certificate pipeline covers"),
])
def test_an_unknown_page_is_a_usage_error_of_one_line_listing_what_is_known(page, words):
    with pytest.raises(alerts.AlertError, match="known|endpoints") as info:
        alerts.resolve(page, load_topology("2026-08", CD), CD)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_alert_is_an_option_and_a_toml_key_and_combines_with_m(tmp_path):
    config = tmp_path / "cabal.toml"
    config.write_text(f'control_domain = "{CD}"\nalert = "kuma/Admin app"\n')
    proc = pytest_run("tests_live", f"--cabal-config={config}", "--collect-only", "-q", "-m", "aws")
    listed = {line.split("::")[-1] for line in proc.stdout.splitlines() if "::" in line}
    assert listed == {n for n in selection("kuma/Admin app", "2026-05") if "aws" in dict(
        (name, m) for name, m, *_ in collected("2026-05"))[n]}, proc.stdout
    proc = pytest_run("tests_live", f"--cabal-config={config}", "--alert=kuma/Nope")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert proc.returncode == 4 and len(errors) == 1 and "unknown Kuma monitor" in errors[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_end_to_end_from_the_push_to_the_cause(tmp_path):
    """``cabal-sandbox --fault imap-service-down -- --alert "kuma/IMAP TLS handshake"``: exactly the IMAP probe's
    path runs (the same tests as ``-m imap``), the fault's tests are red, and the diagnosis names its cause."""
    from cabal_checks.sandbox.faults import FAULTS
    from cabal_checks.sandbox.sandbox import CONTROL_DOMAIN

    from .live_run import junit_properties, junit_results

    junit, report = tmp_path / "junit.xml", tmp_path / "report.md"
    proc = subprocess.run([sys.executable, "-m", "cabal_checks.sandbox", "--fault", "imap-service-down", "--",
                           "--alert", "[CRITICAL] kuma/IMAP TLS handshake", "-q", f"--junitxml={junit}",
                           f"--runbook-report={report}"],
                          cwd=REPO, env=clean_environ(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    ran = {nodeid.split("::")[-1]: outcome for nodeid, (outcome, _) in junit_results(junit).items()}
    marker = pytest_run("tests_live", "--collect-only", "-q", f"--control-domain={CONTROL_DOMAIN}", "-m", "imap")
    assert set(ran) == {line.split("::")[-1] for line in marker.stdout.splitlines() if "::" in line}
    red = {name for name, outcome in ran.items() if outcome == "failure"}
    assert red == FAULTS["imap-service-down"].red_for("2026-05", CONTROL_DOMAIN)
    props = junit_properties(junit)
    assert props["diagnosis_causes"] == "test_ecs_service_running[cabal-imap]"
    assert set(props["diagnosis_1_consequences"].splitlines()) == red - {"test_ecs_service_running[cabal-imap]"}
    assert "both fail: the service itself" in props["diagnosis_1_conclusion"]
    assert "--alert Kuma monitor 'IMAP TLS handshake'" in proc.stdout and "= diagnosis =" in proc.stdout
    top = report.read_text().split("\n## ")[1]  # the first section of the report
    assert top.startswith("diagnosis") and "probable cause: test_ecs_service_running[cabal-imap]" in top


def test_an_alert_without_instance_is_its_whole_runbook():
    everything = collected("2026-05")
    assert selection("alertmanager/BlackboxProbeFailure", "2026-05") == {n for n, m, *_ in everything if "probe_failure" in m}
    assert selection("BlackboxTLSCertExpiringSoonCritical", "2026-05") == {
        n for n, m, *_ in everything if "cert_expiring" in m and "warning" not in m}
