"""A run's results as Prometheus metric families, built with ``prometheus_client`` (no hand-written exposition).

One renderer for both uses: the exporter serves them (``exporter.py``) and ``--metrics-file`` writes them
once at the end of a pytest run. Labels stay bounded: runbook, step key, check (test function), target
(parameter id) and status; ``cabal_check_red_role`` adds, per red id, the diagnosis's role (cause | consequence)
and cause (the test id of its probable cause, one of the run's ids); the only free text is
``cabal_check_red_info``'s ``summary``, present while a step is red
and cut to ``RED_INFO_MAX`` characters (alert_sink cuts Pushover bodies at 1024). A run of a named deployment
(``--deployment prod``) adds the label ``deployment`` to every family, so several deployments' results sit side by side
in one Prometheus; an unnamed run's series are as they always were.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .results import STATUSES, Result

RED_INFO_MAX = 400
CACHED = ("Cached: the result of the last completed cabal-checks run (the suite runs on its own interval, "
          "never on a scrape).")
ID_LABELS = ("runbook", "step", "check", "target")


def red_info_summary(r: Result) -> str:
    """The summary line and the first ``next:``, on one line, at most ``RED_INFO_MAX`` characters."""
    text = " ".join((f"{r.summary} | next: {r.next}" if r.next else r.summary).split())
    return text if len(text) <= RED_INFO_MAX else text[:RED_INFO_MAX - 3] + "..."


def families(results: dict[str, Result], *, last_run: float | None, duration: float | None,
             up: bool, deployment: str = "") -> Iterable[GaugeMetricFamily]:
    for family in _families(results, last_run=last_run, duration=duration, up=up):
        yield _named(family, deployment) if deployment else family


def _named(family: GaugeMetricFamily, deployment: str) -> GaugeMetricFamily:
    """The family with ``deployment="<name>"`` on each sample (a gauge without labels gets it as its one label)."""
    named = GaugeMetricFamily(family.name, family.documentation, labels=())
    named.samples = [s._replace(labels={**s.labels, "deployment": deployment}) for s in family.samples]
    return named


def _families(results: dict[str, Result], *, last_run: float | None, duration: float | None,
              up: bool) -> Iterable[GaugeMetricFamily]:
    success = GaugeMetricFamily("cabal_check_success", "1 green, 0 red, one series per live test id; can't-tell and "
                                "not-applicable ids have no series here (see cabal_check_status). " + CACHED,
                                labels=ID_LABELS)
    status = GaugeMetricFamily("cabal_check_status", "State set per live test id: 1 for its status "
                               f"({'|'.join(STATUSES)}), 0 for the others. " + CACHED, labels=(*ID_LABELS, "status"))
    red_info = GaugeMetricFamily("cabal_check_red_info", "1 while the check is red; summary: its summary line and "
                                 f"first next command, at most {RED_INFO_MAX} characters. " + CACHED,
                                 labels=("check", "target", "summary"))
    role = GaugeMetricFamily("cabal_check_red_role", "1 per red live test id: role, its role in the run's diagnosis "
                             "(cause: the probable cause of a finding; consequence: follows from cause); cause: the "
                             "test id of its probable cause (its own for a cause). The rules' inhibit_rules mute a "
                             "consequence's page while its cause's fires. " + CACHED,
                             labels=(*ID_LABELS, "role", "cause"))
    for r in sorted(results.values(), key=lambda r: r.test_id):
        ids = [r.runbook, r.step, r.check, r.target]
        if r.status in ("green", "red"):
            success.add_metric(ids, 1 if r.status == "green" else 0)
        for s in STATUSES:
            status.add_metric([*ids, s], 1 if r.status == s else 0)
        if r.status == "red":
            red_info.add_metric([r.check, r.target, red_info_summary(r)], 1)
            if r.role:
                role.add_metric([*ids, r.role, r.cause], 1)
    yield from (success, status, red_info, role)
    if last_run is not None:
        yield GaugeMetricFamily("cabal_checks_last_run_timestamp_seconds",
                                "Unix time the last completed run ended. " + CACHED, value=last_run)
        yield GaugeMetricFamily("cabal_checks_last_run_duration_seconds",
                                "How long the last completed run took. " + CACHED, value=duration or 0.0)
    yield GaugeMetricFamily("cabal_checks_up", "1 when the last run attempt completed; 0 when it failed or hung "
                            "(the results above are then the previous run's). " + CACHED, value=1 if up else 0)


class RunCollector(Collector):
    """Serves whatever ``snapshot()`` returns: ``(results, last_run, duration, up)``."""

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def collect(self):
        results, last_run, duration, up, *named = self.snapshot()  # (..., deployment) when the run named one
        return families(results, last_run=last_run, duration=duration, up=up, deployment=named[0] if named else "")


def registry_for(snapshot) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(RunCollector(snapshot))
    return registry


def render(results: dict[str, Result], *, last_run=None, duration=None, up=True, deployment: str = "") -> str:
    """The text exposition of one run's families."""
    return generate_latest(registry_for(lambda: (results, last_run, duration, up, deployment))).decode()


def write_file(path: str, results: dict[str, Result], *, last_run: float, duration: float, up: bool,
               deployment: str = "") -> None:
    """Write the families once, atomically (prometheus_client writes a temporary file and renames it)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry_for(lambda: (results, last_run, duration, up, deployment)))
