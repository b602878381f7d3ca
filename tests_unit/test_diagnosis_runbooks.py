"""The diagnosis walks any runbook in ``runbooks.STEPS`` generically (issue #16): the alert's condition red is the
symptom, the first red step in the runbook's order the cause, the conclusion in the runbook's words from
``CONCLUDES`` (keyed by test function); can't tell blocks; several runbooks are independent causes. The two
hand-walked runbooks keep their behaviour (tests_unit/test_diagnosis.py)."""

from __future__ import annotations

import pytest

from cabal_checks.judge import diagnosis as d
from cabal_checks.judge.diagnosis import Outcome, diagnose
from cabal_checks.runbooks import Step

RUNBOOK = "heartbeat-ecs-reconfigure"
STEPS = (Step("er-0", RUNBOOK, "Condition: [reconfigure] Done. per tier within 60 min", ("test_reconfigure_condition",)),
         Step("er-1", RUNBOOK, "1. The loop alive in each tier", ("test_reconfigure_loop_alive",)),
         Step("er-2", RUNBOOK, "2. The SQS queue backing up", ("test_reconfigure_queue_drained",)),
         # a second generically walked runbook (the Lambda runbooks have a walk of their own: test_lambda_moto.py)
         Step("dx-0", "dynamodb-throttling", "Condition: Errors over 15 min", ("test_lambda_errors_condition",)),
         Step("dx-2", "dynamodb-throttling", "2. Deploy or runtime", ("test_lambda_errors_deploy_or_runtime",)))
STEP_OF = {t: s.key for s in STEPS for t in s.tests}


@pytest.fixture(autouse=True)
def steps(monkeypatch):
    """The families' rows as they will be in STEPS (this branch has none yet)."""
    monkeypatch.setattr(d, "_STEP", {**d._STEP, **{s.key: s for s in STEPS}})
    base = len(d._RANK)
    monkeypatch.setattr(d, "_RANK", {**d._RANK, **{(s.key, t): (base + i, j) for i, s in enumerate(STEPS)
                                                 for j, t in enumerate(s.tests)}})
    monkeypatch.setattr(d, "CONCLUDES", {**d.CONCLUDES, "test_reconfigure_loop_alive": "the reconfigure loop of "
                                         "{param} is dead", "test_lambda_errors_deploy_or_runtime": lambda o: (
                                             "a deploy" if "after the deploy" in o.evidence else "runtime")})


def o(test_id, status="green", **kw) -> Outcome:
    return Outcome(test_id, status, STEP_OF[test_id.split("[")[0]], summary=kw.pop("summary", f"{test_id} {status}"),
                   **kw)


def reconfigure(**status) -> list[Outcome]:
    s = lambda k: status.get(k, "green")  # noqa: E731
    return [o("test_reconfigure_condition[imap]", s("cond_imap")), o("test_reconfigure_condition[smtp-in]", s("cond_in")),
            o("test_reconfigure_loop_alive[imap]", s("loop_imap"), evidence="last Done. 3 h ago",
              next="aws logs filter-log-events --log-group-name /ecs/cabal-imap --filter-pattern '\"reconfigure\"'"),
            o("test_reconfigure_loop_alive[smtp-in]", s("loop_in")),
            o("test_reconfigure_queue_drained[cabal-reconfig-imap]", s("queue"))]


def test_green_names_the_runbook_checked():
    assert diagnose(reconfigure()).lines() == [f"nothing red: {RUNBOOK} checked and green"]


def test_the_condition_is_the_symptom_and_the_first_red_step_the_cause_in_the_runbooks_words():
    found = diagnose(reconfigure(cond_imap="red", loop_imap="red", queue="red"))
    (f,) = found.findings
    assert f.runbook == RUNBOOK and f.cause.test_id == "test_reconfigure_loop_alive[imap]"
    assert [c.test_id for c in f.consequences] == ["test_reconfigure_queue_drained[cabal-reconfig-imap]",
                                                   "test_reconfigure_condition[imap]"]  # its later steps, the symptom
    assert f.conclusion == "the reconfigure loop of imap is dead; the first failing step is 1. The loop alive in each tier"
    text = "\n".join(found.lines())
    assert "probable cause: test_reconfigure_loop_alive[imap]" in text and "seen: last Done. 3 h ago" in text
    assert "next: aws logs filter-log-events --log-group-name /ecs/cabal-imap" in text


def test_a_red_condition_with_every_step_green_is_its_own_finding():
    (f,) = diagnose(reconfigure(cond_in="red")).findings
    assert f.cause.test_id == "test_reconfigure_condition[smtp-in]" and "every step" in f.conclusion


def test_a_red_condition_whose_steps_cannot_be_told_is_blocked_not_concluded():
    (f,) = diagnose(reconfigure(cond_imap="red", loop_imap="cant_tell")).findings
    assert f.blocked and "blocked: the first step that could decide, test_reconfigure_loop_alive[imap]" in f.conclusion


def test_a_red_step_after_a_cant_tell_one_is_probable_unless():
    (f,) = diagnose(reconfigure(loop_imap="cant_tell", queue="red")).findings
    assert f.cause.test_id == "test_reconfigure_queue_drained[cabal-reconfig-imap]"
    assert "unless test_reconfigure_loop_alive[imap], an earlier step, fails" in f.conclusion
    assert "red on its own" in f.conclusion  # no condition red beside it


def test_words_from_a_function_of_the_evidence_and_two_runbooks_are_independent_causes():
    outcomes = reconfigure(loop_in="red") + [
        o("test_lambda_errors_condition[list]", "red"),
        o("test_lambda_errors_deploy_or_runtime[list]", "red", evidence="first error 2 min after the deploy")]
    found = diagnose(outcomes)
    assert found.causes() == ["test_reconfigure_loop_alive[smtp-in]", "test_lambda_errors_deploy_or_runtime[list]"]
    assert found.findings[1].conclusion.startswith("a deploy; the first failing step is 2. Deploy or runtime")
    assert "independent causes (2)" in found.lines()[-1]


def test_the_hand_walked_runbooks_are_not_walked_generically():
    assert set(d.HAND_WALKED) == {"deployment", "probe-failure", "cert-expiring"}
    assert not d._generic(Outcome("test_ecs_service_running[cabal-imap]", "red", "pf-2"))


@pytest.mark.parametrize("runbook, check, param, said, words", [
    ("container-restart-loop", "test_restart_loop_events", "cabal-imap",
     "(service cabal-imap) was unable to place a task because no container instance met all of its requirements",
     "cabal-imap: no capacity to place its task (capacity, not a crash loop)"),
    ("container-restart-loop", "test_restart_loop_events", "cabal-imap",
     "Essential container in task exited (exit code 1)", "cabal-imap: each new task crashes (a crash loop, not capacity)"),
    ("heartbeat-ecs-reconfigure", "test_reconfigure_loop_alive", "smtp-in", "last [reconfigure] Done. 3 h ago",
     "the reconfigure loop of smtp-in is dead"),
    ("imap-auth-failure-spike", "test_imap_auth_source", "", "rip=10.0.3.7 is InterfaceType lambda",
     "the failed logins come from a Lambda (the Lambda source: cause 1), not one client"),
    ("imap-auth-failure-spike", "test_imap_auth_source", "", "rip=203.0.113.9 (no ENI of this account)",
     "the failed logins come from one client (cause 2), not the Lambda source"),
    ("sendmail-bounced-spike", "test_bounces_by_tier", "smtp-out", "dsn=5.1.1 x 20, dsn=5.7.1 x 3",
     "smtp-out bounces (5.1.1, 5.7.1)"),
    ("heartbeat-aws-backup", "test_backup_latest_job", "cabal-addresses", "FAILED: Access denied",
     "the backup of cabal-addresses failed"),
])
def test_each_runbooks_own_conclusion_from_its_cause(monkeypatch, runbook, check, param, said, words):
    """Without a CONCLUDES row for the test function, the runbook's words come from the cause's own evidence."""
    monkeypatch.setattr(d, "CONCLUDES", {})
    step = Step("x-1", runbook, "1. the step", (check,))
    monkeypatch.setattr(d, "_STEP", {**d._STEP, "x-1": step})
    monkeypatch.setattr(d, "_RANK", {**d._RANK, ("x-1", check): (999, 0)})
    (f,) = diagnose([Outcome(f"{check}[{param}]" if param else check, "red", "x-1", evidence=said,
                             summary=f"{check} red")]).findings
    assert f.conclusion.startswith(f"{words}; the first failing step is 1. the step"), f.conclusion


def _loops(*reds: str) -> list[Outcome]:
    """container-restart-loop's condition and step 1 (the real STEPS rows) over three services, ``reds`` below desired."""
    services = ("cabal-imap", "cabal-smtp-in", "cabal-smtp-out")
    return [Outcome(f"test_container_restart_loop_condition[{s}]", "red" if s in reds else "green", "crl-c",
                    summary=f"{s} RunningTaskCount below DesiredTaskCount") for s in services] + \
        [Outcome(f"test_container_restart_loop_placement[{s}]", "green", "crl-1") for s in services]


def test_several_services_looping_at_once_suspect_the_cluster_not_the_services():
    """container-restart-loop's last escalation bullet: several services in restart loops simultaneously point at the
    cluster instance role, EFS or the network; one service alone does not say so."""
    (f,) = diagnose(_loops("cabal-imap", "cabal-smtp-in")).findings
    assert f.conclusion.startswith("several services below desired at once (cabal-imap, cabal-smtp-in): suspect the "
                                   "cluster instance role, EFS or the network, not the services themselves"), f.conclusion
    (one,) = diagnose(_loops("cabal-imap")).findings
    assert "several" not in one.conclusion and one.conclusion.startswith("the alert's condition holds"), one.conclusion
