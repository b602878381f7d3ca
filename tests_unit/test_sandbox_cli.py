"""``cabal-sandbox`` as a user meets it: a topology or fault it cannot build is a usage error listing the choices
(argparse's exit 2, no traceback, nothing started); relative paths after ``--`` are the user's, where they stand;
Ctrl-C is forwarded to the suite it runs, which writes its report and results and ends as an interrupted pytest."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cabal_checks.sandbox import __main__ as sandbox_main
from cabal_checks.sandbox.__main__ import main
from cabal_checks.sandbox.sandbox import clean_environ

REPO = Path(__file__).resolve().parents[1]


def usage_error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and "Traceback" not in out + err and "sandbox" not in out, out + err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, words", [
    (["--topology", "2027-01"], ["--topology '2027-01'", "not a built-in (2026-05, 2026-08) and no such file"]),
    (["--topology", "auto"], ["--topology auto", "choose 2026-05, 2026-08 or a FILE", "--discover"]),
    (["--topology", ""], ["--topology ''", "2026-05, 2026-08"]),
    (["--topology", "2026-08", "--fault", "fail2ban-ban"],
     ["fail2ban-ban do not apply to topology 2026-08", "faults of 2026-08:", "imap-task-unhealthy"]),
    (["--fault", "no-such-fault"], ["unknown fault(s) no-such-fault", "--list-faults"]),
], ids=["unknown-topology", "auto", "empty-topology", "fault-of-another-topology", "unknown-fault"])
def test_what_the_sandbox_cannot_build_is_a_usage_error_listing_the_choices(capsys, argv, words):
    line = usage_error(capsys, *argv)
    assert line.startswith("cabal-sandbox: error:") and all(w in line for w in words), line


@pytest.mark.parametrize("option", ["--write-config", "--env-file"])
def test_an_output_file_that_cannot_be_written_is_a_usage_error_before_the_sandbox_starts(capsys, tmp_path, option):
    (tmp_path / "plain").write_text("a file")
    line = usage_error(capsys, option, str(tmp_path / "plain" / "cabal.toml"))
    assert f"{option} {tmp_path}/plain/cabal.toml: {tmp_path}/plain is a file, not a folder" in line


def test_a_topology_file_that_is_not_one_is_a_usage_error(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"\xff\xfe not toml")
    assert "--topology" in usage_error(capsys, "--topology", str(bad))
    bad.write_text('[[endpoint]]\nprobe = "pop3"\nurl = "smtp://x.{control_domain}:25"\n')
    assert "probe must be one of" in usage_error(capsys, "--topology", str(bad))


ARGS = ["-m", "cabal_checks.sandbox", "--", "-p", "tests_unit.pause_hooks", "-m", "imap", "-k",
        "ecs_service or targets_healthy", "--runbook-report=out/report.md", "--results-json=out/results.json"]


def assert_interrupted_run(code: int, got: str, user: Path) -> None:
    assert code == 2, got[-3000:]  # pytest's "interrupted"
    assert "Traceback" not in got and "checked and green" not in got, got[-3000:]
    assert "interrupted: the run was stopped before every check ran" in got, got[-3000:]
    report = (user / "out/report.md").read_text()
    assert "pytest exit status 2" in report and "checked and green" not in report
    assert "interrupted: the run was stopped before every check ran" in report
    assert json.loads((user / "out/results.json").read_text())["meta"]["exitstatus"] == 2
    assert not (REPO / "out").exists()


def test_ctrl_c_at_a_terminal_reaches_the_child_once_and_the_report_is_written(tmp_path):
    """cabal-sandbox in the foreground of a terminal (a pty), ^C typed once a test is done: the terminal interrupts
    cabal-sandbox and its child alike; the child, interrupted once, writes its report; nobody kills it."""
    import pty

    fifo, user = tmp_path / "pause.fifo", tmp_path / "user"
    os.mkfifo(fifo)
    user.mkdir()
    env = clean_environ({"PAUSE_FIFO": str(fifo), "PYTHONPATH": str(REPO)})
    pid, master = pty.fork()
    if pid == 0:  # the child: cabal-sandbox with the pty as its controlling terminal
        try:
            os.chdir(user)
            os.execve(sys.executable, [sys.executable, *ARGS], env)
        finally:
            os._exit(127)
    out, paused, code = b"", False, None
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        while True:  # drain the terminal (a full pty would block the run), ^C once the child paused, until EOF
            ready = select.select([master] + ([] if paused else [reader]), [], [], 120)[0]
            if not ready:
                raise AssertionError("cabal-sandbox went quiet: " + out.decode(errors="replace")[-2000:])
            if reader in ready and b"ready" in os.read(reader, 64):
                paused = True
                os.write(master, b"\x03")  # what the terminal makes of Ctrl-C: SIGINT to its foreground group
            if master in ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last process has gone
                    break
                if not chunk:
                    break
                out += chunk
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        os.close(reader)
        os.close(master)
        if code is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert_interrupted_run(code, out.decode(errors="replace"), user)


def test_paths_after_the_double_dash_are_the_callers_and_ctrl_c_writes_the_report(tmp_path):
    """Run from a folder of the user's with relative output paths, and interrupted (SIGINT to cabal-sandbox alone,
    as ``kill -INT`` does) once a test is done: the report and the results are where the user stands, written as an
    interrupted run's (exit status 2), with no KeyboardInterrupt traceback and no "checked and green"."""
    fifo = tmp_path / "pause.fifo"
    os.mkfifo(fifo)
    user = tmp_path / "user"
    user.mkdir()
    env = clean_environ({"PAUSE_FIFO": str(fifo), "PYTHONPATH": str(REPO)})
    proc = subprocess.Popen([sys.executable, *ARGS], cwd=user, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # no terminal: the interrupt reaches the child only through
    # cabal-sandbox; a session of its own so that a failure here can stop the child too (it holds the pipe open)
    try:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        ready, got = b"", ""
        while b"ready" not in ready:  # a blocking read of the FIFO, bounded: the child writes once it paused
            if not select.select([reader], [], [], 120)[0]:
                raise AssertionError("the child run never paused")
            ready += os.read(reader, 64) or b""
        os.close(reader)
        proc.send_signal(signal.SIGINT)
        got, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired as exc:
        got = exc.output or ""
        raise AssertionError(f"the interrupted run did not end (exit {proc.poll()}):\n{got[-3000:]}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever is left of cabal-sandbox's session (its child)
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode is None:
            proc.communicate(timeout=30)
    assert_interrupted_run(proc.returncode, got, user)


def interrupted_run_suite(monkeypatch, child: str) -> int:
    """``run_suite`` with ``child`` (Python source) as the suite, interrupted (SIGINT delivered to another thread of
    this process, as the kernel may) once the child says it is up: it writes to the file descriptor in
    ``sys.argv[1]``, so the interrupt never lands while its interpreter is still starting."""
    up_read, up_write = os.pipe()
    monkeypatch.setattr(sandbox_main.suite_run, "command", lambda *args: [sys.executable, "-c", child, str(up_write)])
    monkeypatch.setattr(sandbox_main.suite_run, "environ", lambda env: env)
    monkeypatch.setattr(sandbox_main, "_terminal_interrupts_the_child", lambda: False)
    real_popen = subprocess.Popen
    monkeypatch.setattr(sandbox_main.subprocess, "Popen", lambda *a, **kw: real_popen(*a, **kw, pass_fds=(up_write,)))

    def interrupt_from_another_thread():
        if select.select([up_read], [], [], 30)[0]:  # bounded: a child that never comes up is not interrupted
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # this thread, not the main

    helper = threading.Thread(target=interrupt_from_another_thread)
    helper.start()
    try:
        return sandbox_main.run_suite(Path("cabal.toml"), dict(os.environ), [])
    finally:
        helper.join()
        os.close(up_read)
        os.close(up_write)


def test_an_interrupt_landing_on_another_thread_still_reaches_the_child(monkeypatch):
    """The kernel delivers a process's SIGINT to any of its threads (cabal-sandbox runs moto's server and the wire
    plant in threads). Landing on one of those, it must still be forwarded: the main thread polls its wait for the
    child instead of blocking in waitpid(), where Python's handler would never run (the flaky Ctrl-C proof above)."""
    code = interrupted_run_suite(monkeypatch, "import os, sys, time; os.write(int(sys.argv[1]), b'up'); time.sleep(60)")
    assert code == 128 + signal.SIGINT, f"the child was not interrupted (it slept its 60 s out: exit {code})"


def test_an_interrupted_child_that_exits_1_is_not_said_as_a_red_run(monkeypatch):
    """A Python interrupted while it starts dies with 'Fatal Python error' and status 1, pytest's "tests failed": an
    interrupted run's status is pytest's interrupted (2) when the child says so, else 128 + SIGINT, never a verdict."""
    code = interrupted_run_suite(monkeypatch, "import os, signal, sys, time; "
                                 "signal.signal(signal.SIGINT, lambda *_: os._exit(1)); "
                                 "os.write(int(sys.argv[1]), b'up'); time.sleep(60)")
    assert code == 128 + signal.SIGINT, f"an interrupted run said {code}"
