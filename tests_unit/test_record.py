"""One record per test (cabal_checks/record.py) made by one collector (fixtures/collector.py): a test's reports in,
one frozen record out (verdict, or the one line of a skip or can't tell), secrets redacted; the diagnosis's roles
marked on the reds; and no renderer but the collector reads a report's user_properties."""

from __future__ import annotations

import re

import pytest

from cabal_checks.judge.diagnosis import diagnose
from cabal_checks.record import Record, judged, make, with_roles
from fixtures.collector import to_record

from .live_run import REPO

NODE = "tests_live/test_probe_failure_2_ecs.py::test_ecs_service_running[cabal-imap]"
VERDICT = [("runbook_step", "probe-failure, step 2"), ("verdict", "red"), ("summary", "cabal-imap: 0 < 1 (s3cret)"),
           ("evidence", "running 0\ndesired 1"), ("next", "aws ecs describe-services\naws ecs list-tasks"),
           ("markers", "imap"), ("pipeline", "acm"), ("aws_retried", "ecs DescribeServices x1")]


def report(when="call", outcome="passed", props=(), longrepr=None, keywords=("imap",), nodeid=NODE):
    return pytest.TestReport(nodeid, ("x.py", 1, "x"), dict.fromkeys(keywords, 1), outcome, longrepr, when, [],
                             user_properties=list(props))


def records(*reports, redact=lambda s: s.replace("s3cret", "<redacted>")) -> Record | None:
    rec = None
    for r in reports:
        rec = to_record(r, rec, redact)
    return rec


def test_a_red_verdict_is_one_record_with_everything_it_said():
    rec = records(report("setup"), report("call", "failed", VERDICT, "cabal-imap: 0 < 1"),
                  report("teardown", props=VERDICT))
    assert (rec.test_id, rec.status, rec.runbook, rec.step, rec.severity) == (
        "test_ecs_service_running[cabal-imap]", "red", "probe-failure", "pf-2", "critical")
    assert rec.summary == "cabal-imap: 0 < 1 (<redacted>)"
    assert rec.evidence == ("running 0", "desired 1") and rec.commands == ("aws ecs describe-services",
                                                                           "aws ecs list-tasks")
    assert rec.next == "aws ecs describe-services" and rec.probes == ("imap",)
    assert rec.fact("runbook_step") == "probe-failure, step 2" and rec.fact("aws_retried") == "ecs DescribeServices x1"
    assert (rec.role, rec.cause) == ("", "")  # until the diagnosis marks it


def test_skip_cant_tell_and_green_without_a_verdict():
    skipped = records(report("setup", "skipped", longrepr=("x.py", 1, "Skipped: no --vpc-host")))
    assert (skipped.status, skipped.summary) == ("not_applicable", "no --vpc-host")
    cant = records(report("setup", "failed", longrepr="can't tell: AccessDenied s3cret\nmore"), report("teardown"))
    assert (cant.status, cant.summary) == ("cant_tell", "can't tell: AccessDenied <redacted>")
    assert records(report("setup"), report("call"), report("teardown")).status == "green"
    red = records(report("call", "failed", VERDICT), report("teardown", "failed", longrepr="teardown broke"))
    assert red.status == "red"  # a later phase does not undo a verdict
    broke = records(report("setup"), report("call"), report("teardown", "failed", longrepr="teardown broke"))
    assert (broke.status, broke.summary) == ("cant_tell", "teardown broke")  # judged nothing: no verdict
    warning = records(report(keywords=("warning",), nodeid="tests_live/x.py::test_cert_days_left_warning[smtps://h:465]"))
    assert warning.severity == "warning" and warning.step == "ce-0" and warning.target == "smtps://h:465"


def test_the_diagnosis_marks_each_red_cause_or_consequence():
    ecs = make("test_ecs_service_running[cabal-imap]", "red", "0 < 1", probes=("imap",))
    probe = make("test_endpoint_answers[imaps://imap.x:993]", "red", "refused", probes=("imap",))
    green = make("test_ecs_service_running[cabal-smtp-in]", "green", "1 of 1", probes=("smtp_relay",))
    other = make("test_something_else", "red", "no step")
    rs = [ecs, probe, green, other]
    marked = with_roles(rs, diagnose([r.outcome() for r in judged(rs)]))
    assert [(r.role, r.cause) for r in marked] == [("cause", ecs.test_id), ("consequence", ecs.test_id), ("", ""),
                                                   ("", "")]
    assert with_roles(rs, None) == rs


def test_no_renderer_reads_user_properties():
    """The collector reads them; ``expect`` (fixtures/report.py) writes them, and its report hook carries them."""
    readers = {str(p.relative_to(REPO)) for d in ("cabal_checks", "fixtures") for p in (REPO / d).rglob("*.py")
               if re.search(r"user_properties", p.read_text())}
    assert readers == {"fixtures/collector.py", "fixtures/report.py"}
