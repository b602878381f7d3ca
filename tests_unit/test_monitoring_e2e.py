"""End to end on loopback, with the real tools: the sandbox, cabal-checks-exporter against it, a real Prometheus
scraping the exporter with the shipped rules, a real Alertmanager with Cabalmail's config and cabal-checks'
route posting to a webhook receiver here that reads the payload exactly as alert_sink does.

The healthy sandbox fires nothing; a fault pages once, for its cause (the run's diagnosis): its consequences' alerts
fire too, and the shipped inhibit_rules hold them in Alertmanager while the cause fires; fixing it resolves the page.
Every wait is bounded and polls a condition; every process started is stopped, and the temp dir removed.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .monitoring_stack import MONITORING, ExporterProcess, Receiver, alertmanager_config, require, wait_for, write_yaml

RUNBOOK = "https://github.com/cabalmail/cabal-infra/blob/main/docs/operations/runbooks/"
SECRET = "alert-sink-shared-secret-for-the-test"
PUSHOVER_MAX, NTFY_MAX_BYTES = 1024, 4096


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alert_sink_reads(payload: dict) -> dict:
    """What alert_sink (lambda/api/alert_sink/function.py, _translate_alertmanager) takes from an Alertmanager
    payload: alerts[0]'s labels severity, alertname, instance and annotations summary (else description),
    runbook_url; a resolved one goes out as a warning."""
    first = payload["alerts"][0]
    labels, annotations = first.get("labels") or {}, first.get("annotations") or {}
    status = (payload.get("status") or first.get("status") or "firing").lower()
    source = f"alertmanager/{labels.get('alertname') or 'unknown'}" + (f"/{labels['instance']}" if labels.get("instance") else "")
    summary = annotations.get("summary") or annotations.get("description") or labels.get("alertname")
    extra = f" (+{len(payload['alerts']) - 1} more)" if len(payload["alerts"]) > 1 else ""
    return {"severity": "warning" if status == "resolved" else (labels.get("severity") or "warning").lower(),
            "summary": ("[RESOLVED] " if status == "resolved" else "") + summary + extra, "source": source,
            "runbook_url": annotations.get("runbook_url"), "status": status, "labels": labels,
            "group": payload.get("groupLabels", {})}


def sink_pages(receiver: Receiver) -> list[dict]:
    """What alert_sink would take from each post that carries its shared secret."""
    return [alert_sink_reads(json.loads(body)) for headers, body in receiver.take("/alert")
            if headers.get("Authorization") == f"Bearer {SECRET}"]


class Process:
    def __init__(self, cmd: list[str], log: Path):
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def stack(sandbox):
    """Prometheus, Alertmanager, the receiver and the sandbox's exporter; everything stopped and removed after."""
    prometheus, alertmanager = require("prometheus"), require("prometheus-alertmanager", "alertmanager")
    tmp = Path(tempfile.mkdtemp(prefix="cabal-monitoring-"))
    started: list = []
    try:
        receiver = Receiver()
        started.append(receiver)
        exporter = ExporterProcess(tmp, sandbox.process_env(), [
            "--interval", "2", "--run-timeout", "60", f"--cabal-config={sandbox.write_config(tmp / 'cabal.toml')}", "-m", "imap"])
        started.append(exporter)
        am_port, prom_port = free_port(), free_port()
        am_config = write_yaml(tmp / "alertmanager.yml", alertmanager_config(
            f"{receiver.base}/alert", SECRET, {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}))
        started.append(Process([alertmanager, f"--config.file={am_config}", f"--storage.path={tmp / 'am'}",
                                f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                               tmp / "alertmanager.log"))
        exporter_target = urllib.parse.urlsplit(exporter.url).netloc
        prom_config = write_yaml(tmp / "prometheus.yml", {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(MONITORING / "cabal-checks-rules.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": [{"job_name": "cabal-checks", "static_configs": [{"targets": [exporter_target]}]}]})
        started.append(Process([prometheus, f"--config.file={prom_config}", f"--storage.tsdb.path={tmp / 'prom'}",
                                f"--web.listen-address=127.0.0.1:{prom_port}", "--rules.alert.resend-delay=1s"],
                               tmp / "prometheus.log"))
        prom, am = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
        wait_for(lambda: ready(f"{prom}/-/ready") and ready(f"{am}/-/ready"), 60, "Prometheus and Alertmanager ready")
        yield {"sandbox": sandbox, "receiver": receiver, "prom": prom, "am": am, "tmp": tmp}
    finally:
        for thing in reversed(started):
            thing.stop()
        for log in sorted(tmp.glob("*.log")):  # shown when the test fails
            print(f"--- {log.name}", *log.read_text().splitlines()[-15:], sep="\n")
        shutil.rmtree(tmp)


def firing(prom: str) -> list[dict]:
    return [a for a in get_json(f"{prom}/api/v1/alerts")["data"]["alerts"]
            if a["state"] == "firing" and a["labels"]["alertname"].startswith("RunbookStep")]


def evaluated_after(prom: str, t: float) -> bool:
    """The cabal-checks rule group has been evaluated after unix time ``t`` (on data scraped by then)."""
    from datetime import datetime

    groups = get_json(f"{prom}/api/v1/rules")["data"]["groups"]
    stamps = [g["lastEvaluation"] for g in groups if g["name"] == "cabal-checks"]
    return bool(stamps) and datetime.fromisoformat(stamps[0][:26].rstrip("Z") + "+00:00").timestamp() > t


def scraped_run(prom: str) -> float | None:
    """The last run timestamp Prometheus has scraped from the exporter."""
    result = get_json(f"{prom}/api/v1/query?query=cabal_checks_last_run_timestamp_seconds")["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def inhibited(am: str, cause: str, steps: set[str]) -> list[dict]:
    """Alertmanager's RunbookStepRed alerts of these steps, once each is suppressed by an inhibit rule with ``cause``
    (the consequence's label) firing; [] until then."""
    alerts = [a for a in get_json(f"{am}/api/v2/alerts") if a["labels"].get("alertname") == "RunbookStepRed"
              and a["labels"].get("step") in steps]
    held = [a for a in alerts if a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"]
            and a["labels"].get("cause") == cause]
    return held if {a["labels"]["step"] for a in held} == steps else []


def test_a_fault_pages_with_its_cause_and_the_fix_resolves_it(stack):
    prom, receiver, sandbox = stack["prom"], stack["receiver"], stack["sandbox"]
    # Healthy: a completed run scraped and the rules evaluated on it, nothing fires, nothing is posted.
    wait_for(lambda: scraped_run(prom), 90, "Prometheus scraped a completed run")
    seen = time.time()
    wait_for(lambda: evaluated_after(prom, seen), 30, "the rules evaluated on it")
    assert firing(prom) == [] and sink_pages(receiver) == []

    t0 = time.monotonic()
    sandbox.apply("imap-service-down")
    cause = "test_ecs_service_running[cabal-imap]"
    wait_for(lambda: any(r["status"] == "firing" and r["labels"].get("cause") == cause for r in sink_pages(receiver)),
             120, "the cause's page (pf-2, role cause)")
    print(f"fault -> the cause's page: {time.monotonic() - t0:.1f} s")
    held = wait_for(lambda: inhibited(stack["am"], cause, {"pf-1", "pf-3"}), 60,
                    "the consequences (pf-1, pf-3) held in Alertmanager by the cause")
    assert all(a["labels"]["role"] == "consequence" for a in held), held
    pages = [r for r in sink_pages(receiver) if r["status"] == "firing"]
    assert [p["labels"]["step"] for p in pages if p["labels"].get("cause") == cause] == ["pf-2"], pages
    assert not [p for p in pages if p["labels"].get("role") == "consequence"], pages  # never paged while it fired
    by_step = {p["group"]["step"]: p for p in pages}
    for step, page in by_step.items():
        assert set(page["group"]) == {"alertname", "runbook", "step"}
        assert page["labels"]["alertname"] == "RunbookStepRed" and page["severity"] == "critical"
        runbook = page["group"]["runbook"]  # probe-failure; cert-expiring too when a run caught the IMAP TLS down
        assert page["runbook_url"] == f"{RUNBOOK}{runbook}.md"
        assert page["summary"].startswith(f"{runbook} {step}: ")
        assert page["source"] == f"alertmanager/RunbookStepRed/{page['labels']['instance']}"
        assert page["labels"]["instance"] == page["labels"]["target"]  # the endpoint or resource, not the exporter
        assert len(page["summary"]) <= PUSHOVER_MAX and len(page["summary"].encode()) <= NTFY_MAX_BYTES
    first, consequences = by_step["pf-2"]["summary"].split("\n")
    assert first == (
        "probe-failure pf-2: cabal-imap: runningCount 0 < desiredCount 1 | next: aws ecs describe-services "
        "--cluster cabal-mail --services cabal-imap --query "
        "'services[].{name:serviceName,running:runningCount,desired:desiredCount,events:events[0:3]}'")
    assert consequences.startswith("consequences (") and "test_targets_healthy[cabal-ecs-imap-tg]" in consequences
    assert by_step["pf-2"]["labels"]["instance"] == "cabal-imap" and by_step["pf-2"]["labels"]["role"] == "cause"
    posts = receiver.take("/alert")
    assert all(headers.get("Authorization") == f"Bearer {SECRET}" for headers, _ in posts)  # alert_sink's secret
    assert all(sandbox.seeded.probe_password.encode() not in body for _, body in posts)

    t1 = time.monotonic()
    sandbox.reset()
    resolved = wait_for(lambda: [r for r in sink_pages(receiver) if r["status"] == "resolved"
                                 and r["labels"].get("cause") == cause], 120, "the cause's page resolved")
    print(f"fix -> the cause's page resolved: {time.monotonic() - t1:.1f} s")
    assert [r["group"]["step"] for r in resolved] == ["pf-2"]
    for page in (r for r in sink_pages(receiver) if r["status"] == "resolved"):
        assert page["summary"].startswith(f"[RESOLVED] {page['group']['runbook']} ") and page["severity"] == "warning"
    wait_for(lambda: firing(prom) == [], 30, "nothing firing after the fix")


@pytest.fixture
def alertmanager():
    """The real Alertmanager alone, with Cabalmail's config and the shipped route and inhibit_rules, posting to a
    receiver here; alerts are posted to its API as Prometheus would."""
    binary = require("prometheus-alertmanager", "alertmanager")
    tmp = Path(tempfile.mkdtemp(prefix="cabal-am-"))
    receiver, port = Receiver(), free_port()
    config = write_yaml(tmp / "alertmanager.yml", alertmanager_config(
        f"{receiver.base}/alert", SECRET, {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}))
    am = Process([binary, f"--config.file={config}", f"--storage.path={tmp / 'am'}",
                  f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="], tmp / "alertmanager.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: ready(f"{url}/-/ready"), 60, "Alertmanager ready")
        yield url, receiver
    finally:
        am.stop()
        receiver.stop()
        print(*(tmp / "alertmanager.log").read_text().splitlines()[-10:], sep="\n")
        shutil.rmtree(tmp)


def red_alert(check: str, target: str, runbook: str, step: str, severity: str, role: str, cause: str) -> dict:
    """A RunbookStepRed alert as the shipped rules make it (labels), with its summary."""
    return {"labels": {"alertname": "RunbookStepRed", "severity": severity, "instance": target, "job": "cabal-checks",
                       "runbook": runbook, "step": step, "check": check, "target": target, "status": "red",
                       "role": role, "cause": cause},
            "annotations": {"summary": f"{runbook} {step}: {check}[{target}] is red",
                            "runbook_url": f"{RUNBOOK}{runbook}.md"}}


WIRE = "smtps://smtp-out.cabal.example.test:465"
ECS = "test_ecs_service_running[cabal-imap]"
DAYS = f"test_cert_days_left_warning[{WIRE}]"
FAULT_ALERTS = {  # one fault's alerts -> the (check, target) whose page alone goes out
    "imap-service-down": ([red_alert("test_ecs_service_running", "cabal-imap", "probe-failure", "pf-2", "critical", "cause", ECS),
                           red_alert("test_endpoint_answers", "imaps://imap.cabal.example.test:993", "probe-failure",
                                     "pf-1", "critical", "consequence", ECS),
                           red_alert("test_targets_healthy", "cabal-ecs-imap-tg", "probe-failure", "pf-3", "critical",
                                     "consequence", ECS)],
                          {("test_ecs_service_running", "cabal-imap")}),
    # the wire the cause at 21 days, its 7-day tier a consequence: one page, critical (no two alerts mute each other)
    "cert-in-critical-window": ([red_alert("test_cert_days_left_warning", WIRE, "cert-expiring", "ce-0", "warning",
                                           "cause", DAYS),
                                 red_alert("test_cert_days_left_critical", WIRE, "cert-expiring", "ce-0", "critical",
                                           "consequence", DAYS)],
                                {("test_cert_days_left_critical", WIRE)}),
}


@pytest.mark.parametrize("fault", FAULT_ALERTS)
def test_the_inhibit_rules_page_once_per_cause_on_the_real_alertmanager(alertmanager, fault):
    url, receiver = alertmanager
    alerts, paged = FAULT_ALERTS[fault]
    req = urllib.request.Request(f"{url}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200

    def settled():
        held = {(a["labels"]["check"], a["labels"]["target"]): a["status"]["state"]
                for a in get_json(f"{url}/api/v2/alerts")}
        sent = {(a["labels"]["check"], a["labels"]["target"]) for p in sink_pages_all(receiver) for a in p}
        return (held, sent) if len(held) == len(alerts) and sent >= paged else None

    held, sent = wait_for(settled, 30, f"{fault}: Alertmanager holds every alert and the cause's page went out")
    assert sent == paged, f"{fault}: pages for {sorted(sent)}, want only {sorted(paged)}"
    assert {k for k, state in held.items() if state == "active"} == paged, held
    assert {k for k, state in held.items() if state == "suppressed"} == {
        (a["labels"]["check"], a["labels"]["target"]) for a in alerts} - paged, held


def sink_pages_all(receiver: Receiver) -> list[list[dict]]:
    """Every alert of every post (not only alerts[0], which alert_sink reads): what went out at all."""
    return [json.loads(body)["alerts"] for _, body in receiver.take("/alert")]
