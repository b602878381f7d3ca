"""What the monitoring proofs share: the real Prometheus tools (where they are), Cabalmail's Alertmanager config
with cabal-checks' route snippet (monitoring/alertmanager-route.yml) in it, the exporter as a process, an HTTP
receiver standing in for alert_sink / Pushover / ntfy, and a bounded wait on a condition.

Missing tools are a skip with one line, except in CI (``CI=true``), where they are a failure: .ci/run installs
them (Debian's prometheus and prometheus-alertmanager), so a skip there would hide a broken install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[1]
MONITORING = REPO / "monitoring"
INSTALL = "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"


def require(*names: str) -> str:
    """The path of the first of ``names`` on PATH (Debian calls alertmanager ``prometheus-alertmanager``)."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{names[0]} not installed ({INSTALL})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: CI must have it (.ci/run installs it)")
    pytest.skip(message)


def alertmanager_config(webhook_url: str, secret: str, timing: dict | None = None) -> dict:
    """Cabalmail's alertmanager.yml.tmpl (receivers, severity routes, Bearer secret), cabal-checks' route first."""
    snippet = yaml.safe_load((MONITORING / "alertmanager-route.yml").read_text())

    def receiver(name):
        return {"name": name, "webhook_configs": [{"url": webhook_url, "send_resolved": True, "max_alerts": 10,
                                                   "http_config": {"authorization": {"type": "Bearer",
                                                                                     "credentials": secret}}}]}

    route = {"group_by": ["alertname", "severity"], "group_wait": "30s", "group_interval": "5m",
             "repeat_interval": "24h", "receiver": "alert-sink-warning", **(timing or {}),
             "routes": [*snippet["route"]["routes"],
                        {"matchers": ["severity = critical"], "receiver": "alert-sink-critical", "repeat_interval": "24h"},
                        {"matchers": ["severity = warning"], "receiver": "alert-sink-warning", "repeat_interval": "6h"}]}
    return {"global": {"resolve_timeout": "5m"}, "route": route,
            "receivers": [receiver("alert-sink-critical"), receiver("alert-sink-warning")],
            "inhibit_rules": snippet["inhibit_rules"]}


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


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


class Receiver:
    """A webhook receiver on loopback: records every POST as ``(path, headers, body)``, answers ``status``."""

    def __init__(self):
        self.posts: list[tuple[str, dict, bytes]] = []
        self.status = 204
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        # a short poll: shutdown() waits for serve_forever's next poll (0.5 s by default), once per fault matrix case
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def take(self, path: str) -> list[tuple[dict, bytes]]:
        with self.lock:
            return [(h, b) for p, h, b in self.posts if p == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
