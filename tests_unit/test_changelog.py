"""CHANGELOG.md records the public contract: every option, TOML key, environment variable, marker, live test,
runbook step key, metric name and label, alert and the labels its rules join in, results.json key and program option
in the code appears in it (in backticks), so a new public name cannot land unrecorded. Names are read from the code,
not listed here."""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from cabal_checks import config, metrics
from cabal_checks.names import DEFAULT_NAMES
from cabal_checks.results import STATUSES, Result
from cabal_checks.runbooks import STEPS
from fixtures.options import MARKERS, OPTIONS
from tests_unit.test_runbook_coverage import live_tests

REPO = Path(__file__).resolve().parents[1]


def source(*globs: str) -> str:
    return "\n".join(p.read_text() for g in globs for p in sorted(REPO.glob(g)))


def public_names() -> dict[str, set[str]]:
    return {
        "pytest option": {f for flags, _, _ in OPTIONS for f in flags}
        | set(re.findall(r"addoption\(\s*\"(--[\w-]+)\"", source("fixtures/*.py", "conftest.py"))),
        "TOML key": set(config.KEYS.values()) | config.TABLES | set(DEFAULT_NAMES),
        "environment variable": set(re.findall(r"\"((?:CABAL|ALERT_SINK|NTFY|PUSHOVER)_[A-Z_]+)\"",
                                               source("cabal_checks/**/*.py", "fixtures/*.py"))),
        "marker": set(MARKERS),
        "live test": live_tests(),
        "runbook step key": {s.key for s in STEPS},
        "metric name": set(re.findall(r"GaugeMetricFamily\(\s*\"(\w+)\"", source("cabal_checks/metrics.py")))
        | set(metrics.ID_LABELS),
        "metric label": {label for labels in re.findall(r"labels=\(([^)]*)\)", source("cabal_checks/metrics.py"))
                         for label in re.findall(r"\"(\w+)\"", labels)} | set(metrics.ID_LABELS),
        "alert label": {label for labels in re.findall(r"group_left\(([\w, ]+)\)", source("monitoring/*.yml"))
                        for label in re.findall(r"\w+", labels)},
        "alert": set(re.findall(r"- alert: (\w+)", source("monitoring/*.yml"))),
        "results.json key": {f.name for f in fields(Result)} | set(STATUSES)
        | set(re.findall(r"\"(\w+)\": ", re.search(r"meta = \{.*\}", source("fixtures/results.py")).group(0))),
        "program option": set(re.findall(r"add_argument\(\"(--[\w-]+)\"", source(
            "cabal_checks/sandbox/__main__.py", "cabal_checks/exporter.py", "cabal_checks/notify.py"))),
    }


def missing(names: dict[str, set[str]], changelog: str) -> list[str]:
    return [f"{kind} {name}" for kind, found in names.items() for name in sorted(found) if f"`{name}`" not in changelog]


def test_names_are_read_from_the_code():
    names = public_names()
    assert {"--alert", "--runbook-report", "--results-json"} <= names["pytest option"]
    assert {"CABAL_API_TOKEN", "CABAL_CONFIG", "PUSHOVER_USER_KEY"} <= names["environment variable"]
    assert {"cabal_checks_up", "cabal_check_status"} <= names["metric name"]
    assert {"status", "summary", "role", "cause"} <= names["metric label"]
    assert {"role", "cause"} <= names["alert label"]
    assert {"started", "finished", "exitstatus", "severity"} <= names["results.json key"]
    assert {"--fault", "--listen", "--pushover-url"} <= names["program option"]
    assert all(names.values()), [k for k, v in names.items() if not v]


def test_every_public_name_is_in_the_changelog():
    text = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text and "## [0.1.0]" in text
    gone = missing(public_names(), text)
    assert not gone, "not recorded in CHANGELOG.md (add it under Unreleased): " + ", ".join(gone)


@pytest.mark.parametrize("kind, name", [("pytest option", "--new-option"), ("marker", "pop3"),
                                        ("metric name", "cabal_check_new_total"),
                                        ("metric label", "zone"), ("alert label", "zone")])
def test_a_new_public_name_missing_from_the_changelog_fails(kind, name):
    text = (REPO / "CHANGELOG.md").read_text()
    names = public_names()
    names[kind] = names[kind] | {name}
    assert missing(names, text) == [f"{kind} {name}"]
