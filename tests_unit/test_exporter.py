"""``cabal-checks-exporter`` against the sandbox: it serves the last run's result, keeps it when a run fails or
hangs (``cabal_checks_up`` 0; a hung run is killed), says in HELP that results are cached, never leaks a secret,
and stops cleanly on SIGTERM, taking its run with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .monitoring_stack import ExporterProcess, wait_for


def test_exporter_keeps_the_last_result_when_a_run_fails_or_hangs(sandbox, tmp_path):
    sandbox.reset()
    sandbox.apply("imap-service-down")
    mode = tmp_path / "mode"
    env = sandbox.process_env({"CABAL_TEST_RUN_MODE": str(mode)})
    exporter = ExporterProcess(tmp_path, env, ["--interval", "1", "--run-timeout", "20",
                                               f"--cabal-config={sandbox.write_config(tmp_path / 'c.toml')}",
                                               "-p", "tests_unit.run_hooks", "-k", "ecs_service or targets_healthy"])
    try:
        first = wait_for(lambda: (s := exporter.state())["last_run"] and s, 60, "a first completed run")
        assert first["up"] == 1 and "cached" in first["help"].lower()
        assert first["red"] == {("test_ecs_service_running", "cabal-imap"), ("test_targets_healthy", "cabal-ecs-imap-tg")}
        wait_for(lambda: "; causes: test_ecs_service_running[cabal-imap]\n" in exporter.log.read_text(), 30,
                 "the run's log line names its cause")
        t0 = time.perf_counter()
        text = exporter.scrape()
        print(f"scrape: {1000 * (time.perf_counter() - t0):.1f} ms, {len(text)} bytes")
        assert sandbox.seeded.probe_password not in text

        mode.write_text("hang")
        pid = int(wait_for(lambda: Path(f"{mode}.pid").exists() and Path(f"{mode}.pid").read_text(), 30, "a hung run"))
        hung = wait_for(lambda: (s := exporter.state())["up"] == 0 and s, 60, "the hung run killed, up 0")
        assert hung["red"] == first["red"] and hung["last_run"] >= first["last_run"]  # the last result stays
        assert "killed after --run-timeout 20s" in exporter.log.read_text()
        wait_for(lambda: not _alive(pid), 10, "the hung run's process gone")

        mode.write_text("")
        sandbox.reset()  # fixed: the next run is green and replaces the result
        healthy = wait_for(lambda: (s := exporter.state())["up"] == 1 and not s["red"] and s, 60, "a green run")
        mode.write_text("fail")
        failed = wait_for(lambda: (s := exporter.state())["up"] == 0 and s, 60, "a failed run, up 0")
        assert failed["last_run"] >= healthy["last_run"] and not failed["red"]
        assert "run failed (pytest exit status 3): INTERNALERROR> RuntimeError: simulated broken run" in exporter.log.read_text()
    finally:
        assert exporter.stop() == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_during_a_run_stops_the_exporter_and_its_run(sandbox, tmp_path):
    mode = tmp_path / "mode"
    mode.write_text("hang")
    exporter = ExporterProcess(tmp_path, sandbox.process_env({"CABAL_TEST_RUN_MODE": str(mode)}),
                               ["--interval", "60", f"--cabal-config={sandbox.write_config(tmp_path / 'c.toml')}",
                                "-p", "tests_unit.run_hooks"])
    pid = int(wait_for(lambda: Path(f"{mode}.pid").exists() and Path(f"{mode}.pid").read_text(), 30, "a run under way"))
    assert exporter.stop() == 0
    wait_for(lambda: not _alive(pid), 10, "the run's process gone with the exporter")


def test_a_scrape_reads_the_cached_result_and_never_runs_the_suite(sandbox, tmp_path):
    sandbox.reset()
    exporter = ExporterProcess(tmp_path, sandbox.process_env(), [
        "--interval", "3600", f"--cabal-config={sandbox.write_config(tmp_path / 'c.toml')}", "-k", "ecs_service_running"])
    try:
        first = wait_for(lambda: (s := exporter.state())["last_run"] and s, 60, "a first completed run")
        assert all(exporter.state()["last_run"] == first["last_run"] for _ in range(20))
        assert exporter.log.read_text().count("run done") == 1
    finally:
        assert exporter.stop() == 0
