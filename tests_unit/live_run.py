"""Run the unchanged live suite in a subprocess against a sandbox, and record what it did.

Parent side: ``run_live(sandbox, tmp_path, env=..., args=...)`` runs ``python -m pytest tests_live`` (in a process
forked from a warm server: tests_unit/child_pytest.py) with the
sandbox's config and environment (plus overrides), loads this module in the child as a plugin
(``-p tests_unit.live_run``), and returns a ``LiveRun``: each test's outcome and message from the JUnit
report, each test's markers, and every AWS call the run made.

Child side (the plugin hooks below): every AWS call is recorded twice, so that nothing slips past: the
reader's own ``calls`` (what went through the one door to AWS) and every botocore API call made by any
client in the process (``BaseClient._make_api_call``), as ``[service, Operation]`` pairs. At the end of the
session they are written, with each test's marker names, the reader's ``retried``, the clients it made outside the
main thread (``made_late``), whether garbage collection is on (``gc_enabled``) and the facts started before
discovery (``early``), to ``CABAL_RECORD_TO``.
"""

from __future__ import annotations

import gc
import json
import os
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from botocore.client import BaseClient

from cabal_checks import gather
from cabal_checks.aws.reader import AwsReader, iam_action

from . import child_pytest

REPO = Path(__file__).resolve().parents[1]

# --- parent side ----------------------------------------------------------------------------------


@dataclass
class LiveRun:
    results: dict  # nodeid -> (outcome: passed|failure|error|skipped, text)
    markers: dict  # nodeid -> [marker names]
    reader_calls: set  # {(service, Operation)}
    botocore_calls: set
    retried: list
    stdout: str
    made_late: list  # AWS clients made outside the main thread (the os.environ race): must stay empty
    gc_enabled: bool  # garbage collection on as the session ends (conftest.py turns it off while the plugins import)
    properties: dict = field(default_factory=dict)  # the JUnit testsuite properties (the diagnosis)
    needs: dict = field(default_factory=dict)  # nodeid -> the IAM actions its facts asked the reader for (see below)
    early: list = field(default_factory=list)  # the facts started before discovery (cabal_checks/facts/early.py)
    asked: set = field(default_factory=set)  # every fact the tests not skipped asked for, and those facts waited for

    def diagnosis(self) -> tuple[set, set]:
        """(causes, consequences) the run's diagnosis names, as test ids."""
        p = self.properties
        consequences = {c for k, v in p.items() if k.endswith("_consequences") for c in v.splitlines()}
        return set(p.get("diagnosis_causes", "").splitlines()), consequences

    def outcomes(self, outcome: str) -> dict:
        return {n: t for n, (o, t) in self.results.items() if o == outcome}


def run_live(sandbox, tmp_path: Path, env: dict | None = None, args: tuple = (), options: tuple = (),
             timeout: float = 180) -> LiveRun:
    config, junit, record = (sandbox.write_config(tmp_path / "cabal.toml"), tmp_path / "junit.xml",
                             tmp_path / "record.json")
    child_env = sandbox.process_env({**(env or {}), "CABAL_RECORD_TO": str(record)})
    proc = child_pytest.run([*(args or ("tests_live",)), f"--cabal-config={config}", *options, "-q",
                             f"--junitxml={junit}", "-p", "no:cacheprovider", "-p", "tests_unit.live_run"],
                            env=child_env, cwd=REPO, timeout=timeout)
    assert junit.exists() and record.exists(), f"live suite did not run:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    rec = json.loads(record.read_text())
    asked = facts_asked(rec, [k for n, keys in rec["test_facts"].items() if n not in rec["skipped"] for k in keys])
    run = LiveRun(junit_results(junit), rec["markers"], {tuple(c) for c in rec["reader_calls"]},
                  {tuple(c) for c in rec["botocore_calls"]}, rec["retried"], proc.stdout, rec["made_late"],
                  rec["gc_enabled"], junit_properties(junit), actions_needed(rec), rec["early"], asked)
    # what a run of every live test starts before discovery, its tests then ask for (cabal_checks/facts/early.py)
    assert set(run.early) <= run.asked, f"started before discovery, asked by no test: {sorted(set(run.early) - run.asked)}"
    return run


def facts_asked(rec: dict, keys) -> set[str]:
    """These facts and every fact they wait for, through the Gatherer (``fact_uses``), as fact keys."""
    uses = rec.get("fact_uses", {})
    seen, todo = set(), list(keys)
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo += uses.get(key, [])
    return seen


def actions_needed(rec: dict) -> dict[str, set[str]]:
    """nodeid -> every IAM action the facts it asks for (its fixtures', and the facts those facts wait for, through
    the Gatherer) sent or shared through the reader; the shape check's are discovery's. Computed from what the run
    recorded (``test_facts``, ``fact_uses``, ``fact_actions``)."""
    actions = rec.get("fact_actions", {})
    discovery = [k for k in actions if k.startswith("cabal_checks.discovery.")]
    return {nodeid: {a for key in facts_asked(rec, keys + (discovery if "::test_deployment_matches_topology[" in nodeid
                                                            else [])) for a in actions.get(key, [])}
            for nodeid, keys in rec.get("test_facts", {}).items()}


def junit_results(junit: Path) -> dict[str, tuple[str, str]]:
    """{nodeid: (outcome, text)} from a JUnit file (classname + name mapped back to a pytest node id)."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        nodeid = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        outcome, text = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome, text = kind, (node.text or node.get("message") or "")
                break
        out[nodeid] = (outcome, text)
    return out


def junit_properties(junit: Path) -> dict[str, str]:
    """The testsuite-level properties of a JUnit file (the diagnosis writes its findings there)."""
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    props = suite.find("properties")
    return {p.get("name"): p.get("value") for p in props} if props is not None else {}


# --- child side: the plugin -----------------------------------------------------------------------

_botocore_calls: list[tuple[str, str]] = []
_markers: dict[str, list[str]] = {}
_skipped: list[str] = []  # tests collected with a skip mark (the prefetch starts none of their facts)
_lock = threading.Lock()
_original = BaseClient._make_api_call
# Which facts each test asks for, which facts each fact waits for, which IAM actions each fact asks the reader for
# (a request shared through the reader's memo counts for every fact that asks it): by fact key, see fact_key.
_test_facts: dict[str, list[str]] = {}
_fact_of: dict[str, str] = {}  # gathering id -> fact key
_uses: dict[str, set[str]] = {}  # gathering id -> fact keys started or awaited from it
_asked: dict[str, set[str]] = {}  # gathering id -> IAM actions
_original_run, _original_start, _original_once = gather._run, gather.Gatherer.start, AwsReader._once


def fact_key(fn, args) -> str:
    """A fact and its arguments (the run's Context left out), the same in every run of one topology."""
    return f"{fn.__module__}.{fn.__qualname__}{tuple(args)!r}"


def _recording_run(fut, fn, args):
    with _lock:
        _fact_of[gather.gathering()] = fact_key(fn, args[1:])
    return _original_run(fut, fn, args)


def _recording_start(self, budget, fn, *args):
    with _lock:
        _uses.setdefault(gather.gathering(), set()).add(fact_key(fn, args[1:]))
    return _original_start(self, budget, fn, *args)


def _recording_once(self, key, fetch):
    try:
        action = iam_action(key[0], self.operation(key[0], key[1]))
    except Exception:  # noqa: BLE001 - no client (no region): nothing was asked
        action = None
    if action:
        with _lock:
            _asked.setdefault(gather.gathering(), set()).add(action)
    return _original_once(self, key, fetch)


def _recording_make_api_call(self, operation_name, api_params):
    with _lock:
        _botocore_calls.append((self.meta.service_model.service_name, operation_name))
    return _original(self, operation_name, api_params)


def pytest_configure(config):
    BaseClient._make_api_call = _recording_make_api_call
    gather._run, gather.Gatherer.start, AwsReader._once = _recording_run, _recording_start, _recording_once


def pytest_collection_finish(session):
    from fixtures.facts import FACTS

    for item in session.items:
        _markers[item.nodeid] = sorted({m.name for m in item.iter_markers()})
        if item.get_closest_marker("skip"):
            _skipped.append(item.nodeid)
        params = dict(item.callspec.params) if hasattr(item, "callspec") else {}
        keys = []
        for name in item.fixturenames:
            if name in FACTS:
                _, fn, args_of = FACTS[name]
                try:
                    keys.append(fact_key(fn, args_of(params)))
                except (KeyError, StopIteration):
                    pass
        _test_facts[item.nodeid] = keys


def pytest_sessionfinish(session):
    ctx = getattr(session.config, "cabal_context", None)
    if ctx is not None:
        ctx.gatherer.settle()  # a fact whose tests stopped at another fact's error may still be retrying: record it all
    BaseClient._make_api_call = _original
    gather._run, gather.Gatherer.start, AwsReader._once = _original_run, _original_start, _original_once
    target = os.environ.get("CABAL_RECORD_TO")
    if not target:
        return
    with _lock:
        botocore_calls = sorted(set(_botocore_calls))
    with open(target, "w") as out:
        json.dump({"reader_calls": sorted(set(ctx.aws.calls)) if ctx else [], "botocore_calls": botocore_calls,
                   "retried": [[s, a, n] for (s, a), n in sorted(ctx.aws.retried.items())] if ctx else [],
                   "markers": _markers, "made_late": ctx.aws.made_late if ctx else [], "gc_enabled": gc.isenabled(),
                   "early": [fact_key(fn, args) for _, fn, args in ctx.early] if ctx else [], "skipped": _skipped,
                   "test_facts": _test_facts, "fact_uses": _by_fact(_uses), "fact_actions": _by_fact(_asked)},
                  out, indent=1)


def _by_fact(by_gathering: dict[str, set[str]]) -> dict[str, list[str]]:
    """Gathering id -> values, merged by the fact each gathering gathered (helpers share their fact's id)."""
    out: dict[str, set[str]] = {}
    with _lock:
        for gid, values in by_gathering.items():
            if gid in _fact_of:
                out.setdefault(_fact_of[gid], set()).update(values)
    return {key: sorted(values) for key, values in out.items()}
