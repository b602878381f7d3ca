"""``cabal-checks-exporter``: the live suite on an interval, its last result served as Prometheus metrics.

    cabal-checks-exporter --cabal-config cabal.toml                     # every 300 s, served on :9117
    cabal-checks-exporter --listen 127.0.0.1:9117 --interval 60 --cabal-config=cabal.toml -m "not vpc"

Every option it does not know is the suite's (``--control-domain``, ``--vpc-host``, ``-m`` ...) and goes to
``python -m pytest tests_live`` unchanged; without a ``-m`` of its own it runs ``-m`` ``monitor.SELECTION`` (every
runbook's alert condition, the probes, the certificates). A run makes ~60 AWS calls, so it happens on the interval, never on
a scrape; a scrape only reads the last result (``metrics.py``). A run that fails or outlives ``--run-timeout``
is killed (its whole process group) and leaves the previous result in place, with ``cabal_checks_up`` 0.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from prometheus_client import start_http_server

from . import metrics, monitor, results, suite_run

DEFAULT_LISTEN = "0.0.0.0:9117"  # the exporters' security group admits 9100-9120


class Exporter:
    def __init__(self, pytest_args: list[str], run_timeout: float):
        self.pytest_args, self.run_timeout = pytest_args, run_timeout
        self.lock = threading.Lock()
        self.results: dict = {}
        self.last_run: float | None = None
        self.duration: float | None = None
        self.up = False
        self.deployment = ""  # as the last completed run's results.json names it (--deployment)
        self.proc: subprocess.Popen | None = None
        self.stopping = threading.Event()

    def snapshot(self):
        with self.lock:
            return self.results, self.last_run, self.duration, self.up, self.deployment

    def run_once(self) -> str:
        """One run of the suite; returns a one-line account of it."""
        with tempfile.TemporaryDirectory(prefix="cabal-exporter-") as tmp:
            out, log = Path(tmp, "results.json"), Path(tmp, "pytest.log")
            cmd = suite_run.command("-q", "-p", "no:cacheprovider", f"--results-json={out}", *self.pytest_args)
            t0 = time.monotonic()
            with open(log, "w") as log_file:  # where the user stands: a relative --cabal-config is theirs
                self.proc = subprocess.Popen(cmd, env=suite_run.environ(dict(os.environ)), stdin=subprocess.DEVNULL,
                                             stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
                try:
                    rc = self.proc.wait(timeout=self.run_timeout)
                except subprocess.TimeoutExpired:
                    rc = None
                finally:
                    _kill_group(self.proc)
            duration = time.monotonic() - t0
            done = rc in (0, 1) and out.exists()  # 1: some step is red or can't tell, a completed run all the same
            got, meta = results.load(out) if done else (None, {})
            lines = log.read_text().strip().splitlines() or [""]
            why = next((x for x in reversed(lines) if x.startswith(("ERROR", "INTERNALERROR>")) or ": error: " in x),
                       lines[-1])  # the telling line of a failed run
        if self.stopping.is_set():
            return "stopped"
        with self.lock:
            if got is not None:
                self.results, self.last_run, self.duration = got, time.time(), duration
                self.deployment = str(meta.get("deployment") or "")
            self.up = got is not None
        if got is not None:
            counts = {s: sum(r.status == s for r in got.values()) for s in results.STATUSES}
            causes = sorted(r.test_id for r in got.values() if r.role == "cause")
            return (f"run done in {duration:.1f}s: " + ", ".join(f"{n} {s}" for s, n in counts.items())
                    + (f"; causes: {', '.join(causes)}" if causes else ""))
        how = f"killed after --run-timeout {self.run_timeout:g}s" if rc is None else f"pytest exit status {rc}"
        return f"run failed ({how}): {why[:300]}; serving the previous result, cabal_checks_up 0"

    def loop(self, interval: float) -> None:
        while not self.stopping.is_set():
            start = time.monotonic()
            print(f"cabal-checks-exporter: {self.run_once()}", file=sys.stderr, flush=True)
            self.stopping.wait(max(0.0, start + interval - time.monotonic()))

    def stop(self) -> None:
        """From the signal handler: kill the run (not wait for it: the loop's own wait is interrupted and reaps it)."""
        self.stopping.set()
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen {text!r}: expected ADDR:PORT (or :PORT)")
    if not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"--listen {text!r}: port {int(port)} is out of range (0-65535)")
    return host.strip("[]") or "0.0.0.0", int(port)


def seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected seconds, a number > 0")
    return value


def parse_args(argv: list[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace, list[str]]:
    """The exporter's own options, and the rest (the suite's, for pytest). A bad value exits 2 with one line."""
    p = argparse.ArgumentParser(prog="cabal-checks-exporter", description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                epilog="Any other option is the suite's and is passed to pytest unchanged.")
    p.add_argument("--listen", type=parse_listen, default=DEFAULT_LISTEN, metavar="ADDR:PORT",
                   help=f"where to serve /metrics (default {DEFAULT_LISTEN})")
    p.add_argument("--interval", type=seconds, default=300.0, metavar="S", help="seconds between runs (default 300)")
    p.add_argument("--run-timeout", type=seconds, default=None, metavar="S",
                   help="a run still going after S seconds is killed (default: the interval)")
    args, pytest_args = p.parse_known_args(argv)
    return p, args, pytest_args


def main(argv: list[str] | None = None) -> int:
    p, args, pytest_args = parse_args(sys.argv[1:] if argv is None else argv)
    exporter = Exporter(monitor.pytest_args(pytest_args), args.run_timeout or args.interval)
    addr, port = args.listen
    try:
        server, _ = start_http_server(port, addr=addr, registry=metrics.registry_for(exporter.snapshot))
    except (OSError, OverflowError, UnicodeError) as exc:  # in use, not an address of this host, no such name
        p.exit(2, f"{p.prog}: error: --listen {addr}:{port}: cannot serve there "
                  f"({getattr(exc, 'strerror', None) or exc})\n")
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    print(f"cabal-checks-exporter: serving http://{host}:{port}/metrics, a run every {args.interval:g}s",
          file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: exporter.stop())
    try:
        exporter.loop(args.interval)
    except KeyboardInterrupt:
        exporter.stop()
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
