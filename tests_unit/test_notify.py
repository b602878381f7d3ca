"""``cabal-checks-notify`` against a local HTTP receiver standing in for Pushover, alert_sink and ntfy: a new cause
pages once (critical, or warning for the 21-day tier), its first line naming it and its consequences folded in;
still red pages nothing, a cleared cause resolves once, can't tell warns once; a page that did not go out (a failed
send, no channel) keeps its state so the next run pages again; bad files are one line, bad URLs usage errors;
secrets stay out of bodies."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import replace

import pytest

from cabal_checks import notify, results

from .monitoring_stack import Receiver

RUNBOOK = "https://github.com/cabalmail/cabal-infra/blob/main/docs/operations/runbooks/"
ENV = {"PUSHOVER_APP_TOKEN": "po-app-token-SECRET", "PUSHOVER_USER_KEY": "po-user-key-SECRET",
       "ALERT_SINK_SECRET": "sink-shared-SECRET", "NTFY_TOKEN": "ntfy-token-SECRET"}


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def ecs(status, summary="cabal-imap: runningCount 0 < desiredCount 1", target="cabal-imap"):
    return results.make(f"test_ecs_service_running[{target}]", status, summary,
                        "aws ecs describe-services --cluster cabal-mail --services cabal-imap")


def cert_warning(status):
    return results.make("test_cert_days_left_warning[smtps://smtp-out.cabal.example.test:465]", status,
                        "leaf expires in 12.0 days (< 21)", warning=True)


def run(tmp_path, receiver, *rs, env=ENV):
    """One scheduled run: this run's results file, then the notifier; returns (exit code, pages per channel)."""
    receiver.posts.clear()
    results.dump({r.test_id: r for r in rs}, tmp_path / "results.json")
    rc = notify.main(["--results", str(tmp_path / "results.json"), "--state", str(tmp_path / "state" / "s.json"),
                      "--webhook", f"{receiver.base}/sink", "--ntfy", f"{receiver.base}/ntfy",
                      "--pushover-url", f"{receiver.base}/pushover"], env=env)
    sink = [json.loads(b) for _, b in receiver.take("/sink")]
    return rc, sink


def test_new_red_still_red_resolved(tmp_path, receiver):
    green = ecs("green", "cabal-imap: running 1 of 1")
    assert run(tmp_path, receiver, green) == (0, [])  # first run, all green: nothing

    rc, sink = run(tmp_path, receiver, ecs("red"))
    assert rc == 0 and sink == [{
        "severity": "critical", "source": "cabal-checks/RunbookStepRed/cabal-imap",
        "summary": "probe-failure pf-2: test_ecs_service_running[cabal-imap]: cabal-imap: runningCount 0 < desiredCount 1 "
                   "| next: aws ecs describe-services --cluster cabal-mail --services cabal-imap",
        "runbook_url": RUNBOOK + "probe-failure.md"}]
    (headers, _), = receiver.take("/sink")
    assert headers["Authorization"] == "Bearer sink-shared-SECRET"
    (_, form), = receiver.take("/pushover")
    fields = urllib.parse.parse_qs(form.decode())
    assert fields["priority"] == ["1"] and fields["url"] == [RUNBOOK + "probe-failure.md"]
    assert fields["title"] == ["[CRITICAL] cabal-checks/RunbookStepRed/cabal-imap"]
    assert fields["message"] == [sink[0]["summary"]]
    (ntfy_headers, ntfy_body), = receiver.take("/ntfy")
    assert ntfy_headers["Priority"] == "5" and ntfy_body.decode() == sink[0]["summary"]

    assert run(tmp_path, receiver, ecs("red", "cabal-imap: runningCount 0 < desiredCount 2")) == (0, [])  # still red
    assert receiver.posts == []

    rc, sink = run(tmp_path, receiver, green)
    assert rc == 0 and [(p["severity"], p["summary"]) for p in sink] == [
        ("warning", "[RESOLVED] probe-failure pf-2: test_ecs_service_running[cabal-imap] is green again")]
    assert run(tmp_path, receiver, green) == (0, [])


def test_cant_tell_warns_once(tmp_path, receiver):
    cant = ecs("cant_tell", "can't tell: AccessDenied: these credentials may not call ecs:DescribeServices")
    rc, sink = run(tmp_path, receiver, cant)
    assert rc == 0 and [(p["severity"], p["source"], p["summary"]) for p in sink] == [
        ("warning", "cabal-checks/RunbookStepCantTell/cabal-imap",
         "probe-failure pf-2: test_ecs_service_running[cabal-imap]: can't tell: AccessDenied: these credentials may "
         "not call ecs:DescribeServices")]
    assert run(tmp_path, receiver, cant) == (0, [])
    assert run(tmp_path, receiver, ecs("green")) == (0, [])  # never red, so nothing resolved


IMAP = "imaps://imap.cabal.example.test:993"
CAUSE = "test_ecs_service_running[cabal-imap]"


def imap_down(status="red"):
    """imap-service-down as the diagnosis marks it: the ECS service the cause, the probe and targets its consequences."""
    if status != "red":
        return [replace(ecs(status)), results.make(f"test_endpoint_answers[{IMAP}]", status, "answers"),
                results.make("test_targets_healthy[cabal-ecs-imap-tg]", status, "1 of 1 healthy")]
    return [replace(ecs("red"), role="cause", cause=CAUSE),
            results.make(f"test_endpoint_answers[{IMAP}]", "red", f"{IMAP}: connection refused", role="consequence",
                         cause=CAUSE),
            results.make("test_targets_healthy[cabal-ecs-imap-tg]", "red", "0 of 1 healthy", role="consequence",
                         cause=CAUSE)]


def test_one_page_per_cause_its_first_line_names_it(tmp_path, receiver):
    warning = replace(cert_warning("red"), role="cause", cause=cert_warning("red").test_id)
    rc, sink = run(tmp_path, receiver, warning, *imap_down())
    assert rc == 0 and sorted((p["severity"], p["summary"]) for p in sink) == [
        ("critical", f"probe-failure pf-2: {CAUSE}: cabal-imap: runningCount 0 < desiredCount 1 | next: aws ecs "
                     "describe-services --cluster cabal-mail --services cabal-imap\n"
                     f"consequences (2): test_endpoint_answers[{IMAP}], test_targets_healthy[cabal-ecs-imap-tg]"),
        ("warning", f"cert-expiring ce-0: {warning.test_id}: leaf expires in 12.0 days (< 21)")]
    assert next(p for p in sink if p["severity"] == "warning")["runbook_url"] == RUNBOOK + "cert-expiring.md"
    (_, form), = [(h, b) for h, b in receiver.take("/pushover") if b"cert-expiring" in b]
    assert urllib.parse.parse_qs(form.decode())["priority"] == ["0"]
    # a new consequence of a cause already paged pages nothing; the cause cleared resolves it once
    more = results.make("test_ecs_service_not_restarting[cabal-imap]", "red", "3 restarts", role="consequence",
                        cause=CAUSE)
    assert run(tmp_path, receiver, warning, *imap_down(), more) == (0, [])
    rc, sink = run(tmp_path, receiver, warning, *imap_down("green"), replace(more, status="green", role="", cause=""))
    assert rc == 0 and [(p["severity"], p["summary"]) for p in sink] == [
        ("warning", f"[RESOLVED] probe-failure pf-2: {CAUSE} is green again")]


def test_a_consequence_left_red_when_its_cause_clears_is_a_cause_of_its_own(tmp_path, receiver):
    run(tmp_path, receiver, *imap_down())
    probe = results.make(f"test_endpoint_answers[{IMAP}]", "red", f"{IMAP}: connection refused", role="cause",
                         cause=f"test_endpoint_answers[{IMAP}]")
    rc, sink = run(tmp_path, receiver, ecs("green"), probe, results.make("test_targets_healthy[cabal-ecs-imap-tg]",
                                                                          "green", "1 of 1 healthy"))
    named = sorted(p["summary"].split(": ")[1].removesuffix(" is green again") for p in sink)
    assert rc == 0 and named == [CAUSE, f"test_endpoint_answers[{IMAP}]"]
    assert sum(p["summary"].startswith("[RESOLVED] ") for p in sink) == 1


def test_results_of_an_older_suite_without_roles_page_each_red(tmp_path, receiver):
    rc, sink = run(tmp_path, receiver, ecs("red"), ecs("red", "cabal-smtp-in: 0 < 1", "cabal-smtp-in"))
    assert rc == 0 and len(sink) == 2 and all("consequences" not in p["summary"] for p in sink)


def test_a_failed_send_keeps_the_state_and_pages_again(tmp_path, receiver):
    receiver.status = 500
    rc, sink = run(tmp_path, receiver, ecs("red"))
    assert rc == 1 and len(sink) == 1
    receiver.status = 204
    rc, sink = run(tmp_path, receiver, ecs("red"))
    assert rc == 0 and len(sink) == 1  # sent again, now delivered
    assert run(tmp_path, receiver, ecs("red")) == (0, [])


def test_an_id_missing_from_a_narrower_run_keeps_its_state(tmp_path, receiver):
    run(tmp_path, receiver, ecs("red"), cert_warning("green"))
    assert run(tmp_path, receiver, cert_warning("green")) == (0, [])  # ecs not run: neither resolved nor new
    assert run(tmp_path, receiver, ecs("red")) == (0, [])


def test_no_results_is_one_line_and_keeps_the_state(tmp_path, capsys):
    assert notify.main(["--results", str(tmp_path / "none.json"), "--state", str(tmp_path / "s.json")], env={}) == 2
    assert "the run did not complete" in capsys.readouterr().err and not (tmp_path / "s.json").exists()


def test_secrets_never_in_a_page(tmp_path, receiver, capsys):
    run(tmp_path, receiver, ecs("red"), cert_warning("red"))
    out = capsys.readouterr()
    for path, _headers, body in receiver.posts:
        text = body.decode()
        if path == "/pushover":  # the API's own credential fields, and nothing else carries them
            fields = urllib.parse.parse_qs(text)
            assert fields.pop("token") == [ENV["PUSHOVER_APP_TOKEN"]] and fields.pop("user") == [ENV["PUSHOVER_USER_KEY"]]
            text = json.dumps(fields)
        for secret in ENV.values():
            assert secret not in text
    for secret in ENV.values():
        assert secret not in out.out + out.err + (tmp_path / "state" / "s.json").read_text()


def test_no_channel_prints_and_keeps_the_state_until_one_exists(tmp_path, receiver, capsys):
    results.dump({r.test_id: r for r in imap_down()}, tmp_path / "results.json")
    state = tmp_path / "state" / "s.json"
    argv = ["--results", str(tmp_path / "results.json"), "--state", str(state)]
    assert notify.main(argv, env={}) == 1
    err = capsys.readouterr().err
    assert "no channel configured" in err and "state kept" in err
    rc, sink = run(tmp_path, receiver, *imap_down())  # a channel now: the page goes out
    assert rc == 0 and len(sink) == 1 and sink[0]["summary"].startswith(f"probe-failure pf-2: {CAUSE}: ")


def test_a_corrupt_state_is_said_once_and_recovered(tmp_path, receiver, capsys):
    state = tmp_path / "state" / "s.json"
    state.parent.mkdir()
    state.write_text('{"results": {"test_x": ')  # cut short
    rc, sink = run(tmp_path, receiver, *imap_down())
    err = capsys.readouterr().err
    assert rc == 0 and len(sink) == 1  # unknown: the cause pages
    assert err.count("\n") == 1 and "treated as unknown" in err and "Traceback" not in err
    assert run(tmp_path, receiver, *imap_down()) == (0, [])  # rewritten: said once, still red pages nothing
    assert "treated as unknown" not in capsys.readouterr().err


def test_a_corrupt_results_file_is_one_line_and_keeps_the_state(tmp_path, capsys):
    (tmp_path / "r.json").write_text("[1, 2")
    (tmp_path / "s.json").write_text("kept")
    assert notify.main(["--results", str(tmp_path / "r.json"), "--state", str(tmp_path / "s.json")], env={}) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a cabal-checks results file" in err and "state kept" in err
    assert (tmp_path / "s.json").read_text() == "kept"


@pytest.mark.parametrize("argv, env", [(["--webhook", "not a url"], {}), (["--ntfy", "ftp://x/y"], {}),
                                       (["--pushover-url", "https://"], {}), ([], {"ALERT_SINK_URL": "sink"})])
def test_a_bad_url_is_a_usage_error(tmp_path, capsys, argv, env):
    with pytest.raises(SystemExit) as exc:
        notify.main(["--results", str(tmp_path / "r.json"), "--state", str(tmp_path / "s.json"), *argv], env=env)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "is not an http(s) URL with a host" in err and "Traceback" not in err


def test_an_unwritable_state_is_one_line(tmp_path, receiver, capsys):
    (tmp_path / "state").write_text("a file where the state's directory should be")
    rc, sink = run(tmp_path, receiver, *imap_down())
    err = capsys.readouterr().err
    assert rc == 1 and len(sink) == 1 and "cannot write the state" in err and "Traceback" not in err


def test_a_page_is_as_severe_as_its_most_severe_red(tmp_path, receiver):
    """The wire the cause at 21 days, its 7-day tier a consequence: one page, critical, naming the 21-day cause."""
    days = "test_cert_days_left_warning[smtps://smtp-out.cabal.example.test:465]"
    cause = replace(cert_warning("red"), role="cause", cause=days)
    critical = results.make("test_cert_days_left_critical[smtps://smtp-out.cabal.example.test:465]", "red",
                            "leaf expires in 5.0 days (< 7)", role="consequence", cause=days)
    rc, sink = run(tmp_path, receiver, cause, critical)
    assert rc == 0 and [(p["severity"], p["summary"].split("\n")[0].split(": ")[1]) for p in sink] == [("critical", days)]
