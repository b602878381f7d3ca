"""The monitor a deployment without its monitoring module lacks (issue #16 section 4): the scheduled workflow and the
exporter run every runbook's condition plus the probes and certificates; several deployments run side by side as the
CI matrix, one configuration each, and each metric, results.json and page names its deployment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cabal_checks import metrics, monitor, notify, results
from cabal_checks import runbook_catalog as cat
from cabal_checks.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "verify.yml"


def red(test_id="test_ecs_service_running[cabal-imap]"):
    return results.make(test_id, "red", "cabal-imap: runningCount 0 < desiredCount 1",
                        "aws ecs describe-services --cluster cabal-mail --services cabal-imap")


def test_the_monitor_selects_each_condition_and_every_check_outside_the_families():
    expr = monitor.SELECTION
    assert expr.startswith("condition or probe_failure or cert_expiring or not (")
    assert all(f in expr for f in cat.FAMILIES) and "imap" not in expr  # -m imap keeps its meaning
    assert monitor.pytest_args(["--cabal-config=c.toml"]) == ["-m", expr, "--cabal-config=c.toml"]
    for own in (["-m", "not vpc"], ["-mimap"], ["--markexpr=aws"]):
        assert monitor.pytest_args(own) == own
    assert f'-m "{expr}"' in (REPO / "docs" / "continuous-verification.md").read_text()  # the doc shows this one


def test_the_scheduled_workflow_runs_the_monitor_once_per_deployment_with_its_own_state():
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["live"]
    assert job["strategy"]["fail-fast"] is False
    assert "fromJSON(vars.DEPLOYMENTS" in job["strategy"]["matrix"]["deployment"]
    steps = {s.get("name") or s["uses"]: s for s in job["steps"]}
    run = steps["Runbook checks"]["run"]
    assert '-m "$(python -m cabal_checks.monitor)"' in run
    assert '--cabal-config "deployments/$DEPLOYMENT.toml" --deployment "$DEPLOYMENT"' in run
    caches = [s["with"]["key"] for s in job["steps"] if s.get("uses", "").startswith("actions/cache/")]
    assert len(caches) == 2 and all("${{ matrix.deployment }}" in k for k in caches)  # never another's state
    assert "matrix.deployment" in steps["aws-actions/configure-aws-credentials@v4"]["with"]["role-to-assume"]


@pytest.mark.parametrize("name", ["prod", "stage", "alice.example-2", "x" * 63])
def test_a_deployment_is_named_by_option_or_toml_key(tmp_path, name):
    config = tmp_path / f"{name[:10]}.toml"
    config.write_text(f'control_domain = "example.net"\ndeployment = "{name}"\n')
    assert load_settings({"cabal_config": str(config)}, env={}).deployment == name
    assert load_settings({"control_domain": "example.net", "deployment": "cli", "cabal_config": str(config)},
                         env={}).deployment == "cli"
    assert load_settings({"control_domain": "example.net"}, env={}).deployment == ""


@pytest.mark.parametrize("name", ["prod stage", "-prod", 'a"b', "x" * 64, "pröd", "a\nb"])
def test_a_deployment_name_that_cannot_label_a_metric_is_one_line(name):
    with pytest.raises(ConfigError) as info:
        load_settings({"control_domain": "example.net", "deployment": name}, env={})
    assert "deployment = " in str(info.value) and "\n" not in str(info.value)


def test_every_metric_of_a_named_run_carries_its_deployment_and_an_unnamed_run_is_unchanged():
    rs = {r.test_id: r for r in [red()]}
    plain = metrics.render(rs, last_run=1.0, duration=2.0)
    named = metrics.render(rs, last_run=1.0, duration=2.0, deployment="prod")
    samples = [line for line in named.splitlines() if line and not line.startswith("#")]
    assert samples and all('deployment="prod"' in line for line in samples)
    assert "deployment" not in plain
    assert named.replace(',deployment="prod"', "").replace('{deployment="prod"}', "") == plain.replace(
        "{}", "")  # the same series, one label more


def test_pages_name_their_deployment_from_the_results(tmp_path, capsys):
    results.dump({r.test_id: r for r in [red()]}, tmp_path / "results.json", deployment="stage")
    assert notify.main(["--results", str(tmp_path / "results.json"), "--state", str(tmp_path / "s.json")],
                       env={}) == 1  # no channel here: printed, state kept
    out = capsys.readouterr().out
    assert "page [critical] cabal-checks/RunbookStepRed/cabal-imap: [stage] probe-failure pf-2:" in out
    assert notify.named([], "prod") == [] and notify.named(notify.pages({}, {"x": red()}), "")[0].summary.startswith(
        "probe-failure")


def test_results_json_names_the_deployment(tmp_path):
    from .test_interface import pytest_run

    out = tmp_path / "results.json"
    proc = pytest_run("tests_live", "--control-domain=example.net", "--deployment=prod", f"--results-json={out}",
                      "-k", "test_seeded_token_not_expired", "-p", "no:randomly")
    assert json.loads(out.read_text())["meta"]["deployment"] == "prod", proc.stdout[-2000:] + proc.stderr[-2000:]
