"""The shipped rules and route, with the real tools: ``promtool check rules``, ``promtool test rules`` (red
critical and warning, resolved, can't tell, stale, absent: monitoring/cabal-checks-rules.test.yml), and
``amtool`` on Cabalmail's Alertmanager config with cabal-checks' route in it."""

from __future__ import annotations

import subprocess

from cabal_checks import metrics

from .monitoring_stack import MONITORING, alertmanager_config, require, write_yaml

RULES = MONITORING / "cabal-checks-rules.yml"


def run(*cmd, cwd=None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=cwd, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_promtool_checks_the_rules():
    assert "SUCCESS: 4 rules found" in run(require("promtool"), "check", "rules", str(RULES))


def test_promtool_unit_tests_of_every_rule():
    assert "SUCCESS" in run(require("promtool"), "test", "rules", "cabal-checks-rules.test.yml", cwd=MONITORING)


def test_alertmanager_config_with_the_route_and_where_pages_go(tmp_path):
    amtool = require("amtool")
    config = write_yaml(tmp_path / "alertmanager.yml", alertmanager_config("http://127.0.0.1:9/", "s3cret"))
    run(amtool, "check-config", str(config))

    def receiver(*labels):
        return run(amtool, "config", "routes", "test", f"--config.file={config}", *labels).strip()

    assert receiver("alertname=RunbookStepRed", "severity=critical", "runbook=probe-failure", "step=pf-2") == \
        "alert-sink-critical"
    assert receiver("alertname=RunbookStepRed", "severity=warning", "step=ce-0") == "alert-sink-warning"
    assert receiver("alertname=RunbookStepCantTell", "severity=warning") == "alert-sink-warning"
    assert receiver("alertname=BlackboxProbeFailure", "severity=critical") == "alert-sink-critical"  # theirs, unchanged


def test_the_page_fits_alert_sink():
    """The longest summary a rule can make (runbook, step key, red_info; a cause's line of at most 5 consequences,
    test ids of at most 100 characters), with alert_sink's '[RESOLVED] ' and ' (+N more)', stays under Pushover's 1024
    characters (ntfy's 4096 bytes is looser)."""
    consequences = len("\nconsequences (999): ") + 5 * 100 + 4 * len(", ") + len(", ...")
    longest = len("cert-expiring ce-l2: ") + metrics.RED_INFO_MAX + consequences + len("[RESOLVED] ") + len(" (+999 more)")
    assert longest < 1024


def test_the_scrape_job_and_the_drill_config_are_valid_prometheus_config(tmp_path):
    import yaml

    promtool = require("promtool")
    assert "SUCCESS" in run(promtool, "check", "config", str(MONITORING / "prometheus-drill.yml"))
    jobs = yaml.safe_load((MONITORING / "prometheus-scrape.yml").read_text())
    assert [j["job_name"] for j in jobs] == ["cabal-checks"] and jobs[0]["dns_sd_configs"][0]["port"] == 9117
    config = write_yaml(tmp_path / "prometheus.yml", {"scrape_configs": jobs})
    assert "SUCCESS" in run(promtool, "check", "config", str(config))
