"""``cabal-checks-exporter`` against the sandbox: it serves the last run's result, keeps it when a run fails or
hangs (``cabal_checks_up`` 0; a hung run is killed), says in HELP that results are cached, never leaks a secret,
and stops cleanly on SIGTERM, taking its run with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cabal_checks.sandbox.sandbox import Sandbox

REPO = Path(__file__).resolve().parents[1]


def wait_for(condition, timeout: float, what: str):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:g}s: {what}")


class ExporterProcess:
    """The exporter as its users start it (``python -m cabal_checks.exporter``), on a free loopback port."""

    def __init__(self, tmp: Path, env: dict, args: list[str]):
        self.log = tmp / "exporter.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "cabal_checks.exporter", "--listen", "127.0.0.1:0",
                                          *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            line = wait_for(lambda: next((x for x in self.log.read_text().splitlines() if "serving http://" in x), None),
                            30, "the exporter says where it serves")
        except BaseException:
            self.stop()
            raise
        self.url = line.split("serving ")[1].split(",")[0]

    def scrape(self) -> str:
        with urllib.request.urlopen(self.url, timeout=5) as resp:
            return resp.read().decode()

    def state(self) -> dict:
        fams = {f.name: f for f in text_string_to_metric_families(self.scrape())}
        red = {(s.labels["check"], s.labels["target"]) for s in fams["cabal_check_status"].samples
               if s.labels["status"] == "red" and s.value == 1}
        ts = fams.get("cabal_checks_last_run_timestamp_seconds")
        return {"up": fams["cabal_checks_up"].samples[0].value, "red": red, "help": fams["cabal_check_success"].documentation,
                "last_run": ts.samples[0].value if ts else None}

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox("2026-05") as sb:
        yield sb


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
