"""A run's results as data and as Prometheus metrics (``--results-json``, ``--metrics-file``).

The unchanged live suite runs against the sandbox with a fault; its results file says, per live test id,
the check, target, runbook, step, status, summary, first next command and severity; its metrics file
(parsed back with prometheus_client's own parser) carries exactly the issue's families and labels, a
red_info line per red id only, nothing for can't-tell or not-applicable ids in cabal_check_success, and no
secret ever.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cabal_checks import metrics, results
from cabal_checks.results import Result
from cabal_checks.runbooks import STEPS
from cabal_checks.sandbox.faults import unsigned_jwt

from . import child_pytest
from .live_run import REPO, run_live

ID_LABELS = {"runbook", "step", "check", "target"}


def run_with_files(sb, tmp_path, env=None, args=()):
    metrics_file, results_file = tmp_path / "out" / "cabal.prom", tmp_path / "out" / "results.json"
    run = run_live(sb, tmp_path, env=env, args=args,
                   options=(f"--metrics-file={metrics_file}", f"--results-json={results_file}"))
    return run, metrics_file, results_file


def samples(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_faulted_run_as_results_and_metrics(sandbox, tmp_path):
    sandbox.reset()
    sandbox.apply("imap-service-down")
    run, metrics_file, results_file = run_with_files(sandbox, tmp_path)
    assert sorted(p.name for p in metrics_file.parent.iterdir()) == ["cabal.prom", "results.json"]  # no temp left
    by_id, meta = results.load(results_file)
    assert meta["exitstatus"] == 1
    assert len(by_id) == len(run.results)  # one result per live test id
    red = {k for k, r in by_id.items() if r.status == "red"}
    assert red == {n.split("::")[-1] for n in run.outcomes("failure")}
    ecs = by_id["test_ecs_service_running[cabal-imap]"]
    assert (ecs.check, ecs.target, ecs.runbook, ecs.step, ecs.status, ecs.severity) == (
        "test_ecs_service_running", "cabal-imap", "probe-failure", "pf-2", "red", "critical")
    assert ecs.step_title == next(s.title for s in STEPS if s.key == "pf-2")
    assert ecs.summary == "cabal-imap: runningCount 0 < desiredCount 1"
    assert ecs.next.startswith("aws ecs describe-services --cluster cabal-mail --services cabal-imap")
    token = next(r for r in by_id.values() if r.check == "test_seeded_token_not_expired")
    assert token.status == "not_applicable" and token.summary  # the skip's reason
    warning = {k for k, r in by_id.items() if r.severity == "warning"}
    assert warning == {n.split("::")[-1] for n, marks in run.markers.items() if "warning" in marks}

    fams = samples(metrics_file.read_text())
    assert set(fams) == {"cabal_check_success", "cabal_check_status", "cabal_check_red_info", "cabal_check_red_role",
                         "cabal_checks_last_run_timestamp_seconds", "cabal_checks_last_run_duration_seconds",
                         "cabal_checks_up"}
    success = {(s.labels["check"], s.labels["target"]): s.value for s in fams["cabal_check_success"]}
    assert all(set(s.labels) == ID_LABELS for s in fams["cabal_check_success"])
    assert success[("test_ecs_service_running", "cabal-imap")] == 0
    assert success[("test_ecs_service_running", "cabal-smtp-in")] == 1
    assert ("test_seeded_token_not_expired", token.target) not in success  # not applicable is not 0
    status = [s for s in fams["cabal_check_status"] if s.value == 1]
    assert all(set(s.labels) == ID_LABELS | {"status"} for s in fams["cabal_check_status"])
    assert len(status) == len(by_id) and len(fams["cabal_check_status"]) == 4 * len(by_id)  # a state set
    info = {f"{s.labels['check']}[{s.labels['target']}]": s.labels["summary"] for s in fams["cabal_check_red_info"]}
    assert set(info) == red
    assert info["test_ecs_service_running[cabal-imap]"].startswith(
        "cabal-imap: runningCount 0 < desiredCount 1 | next: aws ecs describe-services --cluster cabal-mail")
    assert all(len(s) <= metrics.RED_INFO_MAX for s in info.values())
    assert fams["cabal_checks_up"][0].value == 1

    # the diagnosis in both: the ECS service the cause, every other red its consequence
    cause = "test_ecs_service_running[cabal-imap]"
    assert {k: (r.role, r.cause) for k, r in by_id.items() if r.status == "red"} == {
        k: ("cause" if k == cause else "consequence", cause) for k in red}
    assert {k: r.role for k, r in by_id.items() if r.status != "red"} == dict.fromkeys(set(by_id) - red, "")
    roles = {f"{s.labels['check']}[{s.labels['target']}]": (s.labels["role"], s.labels["cause"], s.value)
             for s in fams["cabal_check_red_role"]}
    assert all(set(s.labels) == ID_LABELS | {"role", "cause"} for s in fams["cabal_check_red_role"])
    assert roles == {k: (by_id[k].role, cause, 1.0) for k in red}
    assert ecs.evidence and ecs.commands[0] == ecs.next and ecs.probes == ("imap",)


def test_cant_tell_is_its_own_status_not_red(sandbox, tmp_path):
    sandbox.reset()
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens: every AWS fact can't tell
    _, metrics_file, results_file = run_with_files(
        sandbox, tmp_path, env=env, args=("tests_live/test_probe_failure_2_ecs.py", "--aws-timeout=2"))
    by_id, _ = results.load(results_file)
    # (2026-05 has no container health checks: test_ecs_tasks_healthy[2026-05] is the one not-applicable skip)
    judged = {i: r for i, r in by_id.items() if i != "test_ecs_tasks_healthy[2026-05]"}
    assert by_id["test_ecs_tasks_healthy[2026-05]"].status == "not_applicable"
    assert judged and {r.status for r in judged.values()} == {"cant_tell"}
    assert all(r.summary.startswith("can't tell: ") for r in judged.values())
    fams = samples(metrics_file.read_text())
    assert fams["cabal_check_success"] == [] and fams["cabal_check_red_info"] == []
    assert {s.labels["status"] for s in fams["cabal_check_status"] if s.value == 1} == {"cant_tell", "not_applicable"}


def test_no_secret_in_results_or_metrics(sandbox, tmp_path):
    sandbox.reset()
    sandbox.apply("api-list-500", "imap-service-down")
    token = unsigned_jwt(3600, sig="c2VjcmV0LXNpZw", sub="probe-secret-subject")
    _, metrics_file, results_file = run_with_files(sandbox, tmp_path, env={"CABAL_API_TOKEN": token})
    out = metrics_file.read_text() + results_file.read_text()
    assert "cabal_check_red_info{" in out
    for piece in (token, token.split(".")[1], token.split(".")[2], sandbox.seeded.probe_password):
        assert piece not in out


def test_red_info_summary_is_one_bounded_line():
    long = Result("test_x", "t", "probe-failure", "pf-1", "", "red", "a\nb " + "x" * 2000, "cmd --flag", "critical")
    text = metrics.red_info_summary(long)
    assert len(text) == metrics.RED_INFO_MAX and "\n" not in text and text.endswith("...")
    short = Result("test_x", "t", "probe-failure", "pf-1", "", "red", "down", "", "critical")
    assert metrics.red_info_summary(short) == "down"


def test_warning_checks_are_named_for_their_tier():
    """The rules tell the 21-day tier by the check's name (``*_warning``): it must match the ``warning`` marker."""
    marked, named = set(), set()
    for path in (REPO / "tests_live").glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                marks = {ast.unparse(d) for d in node.decorator_list}
                if "pytest.mark.warning" in marks:
                    marked.add(node.name)
                if node.name.endswith("_warning"):
                    named.add(node.name)
    assert marked and marked == named


def test_unknown_check_still_has_bounded_labels():
    r = results.make("test_new_thing[x]", "green", "ok")
    assert (r.check, r.target, r.runbook, r.step, r.severity) == ("test_new_thing", "x", "other", "", "critical")
    assert "cabal_check_success{" in metrics.render({"test_new_thing[x]": r}, last_run=None)


def test_results_file_round_trips(tmp_path: Path):
    r = results.make("test_ecs_service_running[cabal-imap]", "red", "down", "aws ecs ...", warning=False,
                     evidence=("running 0",), probes=("imap",), facts=(("k", "v"),), role="cause",
                     cause="test_ecs_service_running[cabal-imap]")
    results.dump({r.test_id: r}, tmp_path / "r.json", exitstatus=1)
    assert results.load(tmp_path / "r.json") == ({r.test_id: r}, {"exitstatus": 1})


def test_a_results_file_of_an_older_suite_still_loads(tmp_path: Path):
    """results.json's original keys alone (an older suite's file, a notifier state kept from before): no role."""
    old = {"check": "test_x", "target": "t", "runbook": "probe-failure", "step": "pf-1", "step_title": "",
           "status": "red", "summary": "down", "next": "cmd", "severity": "critical"}
    (tmp_path / "r.json").write_text(json.dumps({"meta": {}, "results": {"test_x[t]": old}}))
    (r,) = results.load(tmp_path / "r.json")[0].values()
    assert (r.test_id, r.status, r.role, r.cause, r.evidence) == ("test_x[t]", "red", "", "", ())
    assert {k: v for k, v in r.to_json().items() if k in old} == old


@pytest.mark.parametrize("text", ["", "{", "[]", '{"results": {"x": {"nope": 1}}}', '{"results": [1]}'])
def test_a_file_that_is_not_results_is_one_line(tmp_path: Path, text):
    (tmp_path / "r.json").write_text(text)
    with pytest.raises(results.BadFile) as exc:
        results.load(tmp_path / "r.json")
    assert "not a cabal-checks results file" in str(exc.value) and "\n" not in str(exc.value)


def test_metrics_file_from_the_toml_key(sandbox, tmp_path):
    """``metrics_file`` in the --cabal-config file does what --metrics-file does."""
    sandbox.reset()
    config, target = tmp_path / "cabal.toml", tmp_path / "m" / "cabal.prom"
    sandbox.write_config(config)
    config.write_text(config.read_text() + f'metrics_file = "{target}"\n')
    proc = child_pytest.run(["tests_live", f"--cabal-config={config}", "-q", "-k", "ecs_service_running"],
                            env=sandbox.process_env(), cwd=REPO, timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:]
    success = {s.labels["target"]: s.value for s in samples(target.read_text())["cabal_check_success"]}
    assert success and set(success.values()) == {1}
