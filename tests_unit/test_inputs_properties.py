"""Property tests (hypothesis) over every input surface: each TOML key with values of every TOML type, command-line
values of any alphabet, ``--alert`` texts of any length, topology files, the ``cabal-sandbox`` and exporter command
lines, and whole in-process pytest runs. Whatever comes in: the answer is the settings, or one line naming the input
(the surface's own error: ``ConfigError``, ``TopologyError``, ``AlertError``, a usage error), never a traceback, an
exit status 3, or a file written where none was asked.

Reproducible: ``derandomize=True`` (the same examples on every run, on every machine) and no example database
(nothing written). The counts are modest: the whole file takes a few seconds. The notifier's inputs (its state and
results files, ``--webhook``) are in test_notify_properties.py.
"""

from __future__ import annotations

import math
import os
import runpy
import tempfile
from datetime import date, datetime, time, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from cabal_checks import alerts, exporter
from cabal_checks.config import KEYS, TYPES, ConfigError, load_settings
from cabal_checks.names import DEFAULT_NAMES
from cabal_checks.sandbox import __main__ as sandbox_cli
from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.topology import ENDPOINT_KEYS, TOP_KEYS, Topology, TopologyError, load_topology, parse_topology

pytest_plugins = ("pytester",)

# Hypothesis keeps caches (the test module's constants, Unicode tables) in ./.hypothesis, from collection on: here in a
# temporary folder removed at exit instead, so these tests leave nothing in the repository or the temporary folder.
HOME = tempfile.TemporaryDirectory(prefix="cabal-checks-hypothesis-")
set_hypothesis_home_dir(HOME.name)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
FEW = settings(max_examples=60, derandomize=True, database=None, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
RUNS = settings(FEW, max_examples=25)  # whole pytest runs: dearer
CONTROL = "".join(map(chr, range(32))) + "\x7f\x85\u2028\u202e\ufeff"


# --- strategies ---------------------------------------------------------------------------------------------------

def texts(max_size: int = 40):
    """Any text, with control characters, separators and the bidi override well represented."""
    return st.text(st.one_of(st.characters(), st.sampled_from(CONTROL)), max_size=max_size)


SCALARS = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), texts(12),
                    st.datetimes(timezones=st.none() | st.just(timezone.utc)), st.dates(), st.times())
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(texts(6), kids, max_size=3),
                      max_leaves=6)


def toml(value) -> str:
    """A TOML inline value (what tomllib reads back as ``value``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return '"' + "".join(c if c not in '"\\' and (ord(c) > 31 or c == "\t") and c != "\x7f" else f"\\u{ord(c):04x}"
                             for c in value) + '"'
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    return "{" + ", ".join(f"{toml(str(k))} = {toml(v)}" for k, v in value.items()) + "}"


def one_line(exc: Exception) -> str:
    text = str(exc)
    assert text and not set(text) & set(CONTROL) and "Traceback" not in text, text  # one line, nothing raw
    return text


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_the_toml_writer_of_these_tests_writes_what_tomllib_reads():
    import tomllib

    value = {"a\n\"b": [1, 2.5, "x\x00\x7f\u202e", True, datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                        date(2026, 1, 2), time(1, 2, 3)]}
    assert tomllib.loads(f"k = {toml(value)}\n") == {"k": value}


# --- the config file: each key with every TOML type ----------------------------------------------------------------

def load_file(path: Path, text: str):
    try:
        path.write_text(text)
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 file holds one (the command line can: see below)
        assume(False)
    return load_settings({"cabal_config": str(path)}, env={}, real_now=NOW, require_domain=False)


@FEW
@given(key=st.sampled_from(sorted(TYPES)), value=VALUES)
@example(key="metrics_file", value=5)
@example(key="ca_bundle", value="a\x00b")
@example(key="topology", value="\x00")
@example(key="now", value="+99999999999d")
def test_every_config_key_with_any_toml_value_is_settings_or_one_line(tmp_path, key, value):
    before = files_under(tmp_path)
    prefix = "" if key == "control_domain" else 'control_domain = "x.net"\n'
    try:
        s = load_file(tmp_path / "cabal.toml", f"{prefix}{key} = {toml(value)}\n")
    except ConfigError as exc:
        assert any(name in one_line(exc) for name in (key, "--" + key.replace("_", "-"), "topology", "alert")), str(exc)
    else:
        assert s.metrics_file is None or isinstance(value, str)  # never str(5): a file named "5"
    assert files_under(tmp_path) - before <= {"cabal.toml"}


@FEW
@given(key=st.sampled_from(sorted(DEFAULT_NAMES)), value=VALUES)
def test_every_names_key_with_any_toml_value_is_settings_or_one_line(tmp_path, key, value):
    try:
        s = load_file(tmp_path / "cabal.toml", f'control_domain = "x.net"\n[names]\n{toml(key)} = {toml(value)}\n')
    except ConfigError as exc:
        assert f"names.{key}" in one_line(exc)
    else:
        assert s.names[key] == value


# --- command-line values of any alphabet ----------------------------------------------------------------------------

LIST_OPTIONS = {"connect_to", "vpc_connect_to"}


@FEW
@given(dest=st.sampled_from(sorted(KEYS)), text=texts(60), texts_=st.lists(texts(30), max_size=3))
@example(dest="alert", text=" \t", texts_=[])
@example(dest="probe_timeout", text="nan", texts_=[])
@example(dest="ca_bundle", text="\x00", texts_=[])
@example(dest="connect_to", text="", texts_=["a:\u00b2:b:1"])
@example(dest="vpc_connect_to", text="", texts_=["a:1:b:65536"])
def test_every_option_with_any_text_is_settings_or_one_line(dest, text, texts_):
    cli = {"control_domain": "x.net", dest: texts_ if dest in LIST_OPTIONS else text}
    try:
        s = load_settings(cli, env={}, real_now=NOW, require_domain=False)
    except ConfigError as exc:
        one_line(exc)
    else:  # what is accepted is usable: the probes dial these ports
        for target in [*s.connect_to, *s.connect_to.values(), *s.vpc_connect_to, *s.vpc_connect_to.values()]:
            assert 0 < int(target.rsplit(":", 1)[1]) <= 65535


# --- --alert texts of any length and alphabet ---------------------------------------------------------------------

PREFIXES = ["", "[CRITICAL] ", "alertmanager/BlackboxProbeFailure/", "alertmanager/BlackboxTLSCertExpiringSoonCritical/",
            "BlackboxProbeFailure instance=", 'BlackboxProbeFailure{instance="', "kuma/", "healthchecks/"]
TOPOLOGIES = [load_topology(name, "example.net") for name in ("2026-05", "2026-08")]


@FEW
@given(prefix=st.sampled_from(PREFIXES), body=texts(80), repeat=st.sampled_from([1, 1, 1, 50, 2000]),
       topology=st.sampled_from(TOPOLOGIES))
@example(prefix="healthchecks/", body="\x1ccertbot-renewal", repeat=1, topology=TOPOLOGIES[0])
@example(prefix="alertmanager/BlackboxProbeFailure/", body="000", repeat=2000, topology=TOPOLOGIES[0])  # int("0" * 6000)
@example(prefix="BlackboxProbeFailure instance=", body="\x1csmtp-in.example.net:25\x1c", repeat=1, topology=TOPOLOGIES[0])
def test_an_alert_of_any_text_resolves_or_is_one_bounded_escaped_line(prefix, body, repeat, topology):
    text = prefix + body * repeat
    try:
        path = alerts.resolve(text, topology, "example.net")
    except alerts.AlertError as exc:
        message = one_line(exc)
        assert not set(message) & set(CONTROL), message
        assert len(message) <= len(alerts.known(topology)) + 600
    else:
        assert path.markers and not set(path.describe()) & set(CONTROL), path.describe()  # echoed at collection


# --- topology files --------------------------------------------------------------------------------------------------

PLAUSIBLE = st.one_of(VALUES, st.sampled_from(["imap", "smtp_relay", "imaps://imap.{control_domain}:993", "nlb", "acm",
                                                "public", "service_imap", "{0}", "{control_domain", "https://x:99999/"]),
                      st.lists(st.sampled_from(["public", "private", "internet", "x"]), max_size=2))
ENDPOINTS = st.lists(st.dictionaries(st.sampled_from(sorted(ENDPOINT_KEYS)), PLAUSIBLE, max_size=6) | VALUES, max_size=3)


@FEW
@given(data=st.dictionaries(st.sampled_from(sorted(TOP_KEYS)), PLAUSIBLE, max_size=4), endpoints=ENDPOINTS)
@example(data={}, endpoints=[{"probe": "imap", "url": "imaps://{0}.{control_domain}:993"}])
@example(data={"sites": [5]}, endpoints=[{"probe": "imap", "url": "imaps://imap.x:993", "sg_ports": ["a"]}])
def test_a_topology_of_any_shape_parses_or_is_one_line(data, endpoints):
    data = {**data, "endpoint": endpoints} if endpoints else data
    try:
        topo = parse_topology(data, "example.net", source="mine.toml")
    except TopologyError as exc:
        assert "mine.toml" in one_line(exc)
    else:
        assert isinstance(topo, Topology) and topo.endpoints


@FEW
@given(which=texts(30))
@example(which="\x00")
@example(which="../../etc/passwd")
def test_a_topology_name_of_any_text_loads_or_is_one_line(which):
    try:
        load_topology(which, "example.net")
    except TopologyError as exc:
        one_line(exc)


# --- the cabal-sandbox and exporter command lines ---------------------------------------------------------------------

FAULT_NAMES = sorted(FAULTS)


@FEW
@given(topology=st.one_of(texts(20), st.sampled_from(["2026-05", "2026-08", "auto", ""])),
       faults=st.lists(st.one_of(texts(20), st.sampled_from(FAULT_NAMES)), max_size=2),
       timeout=st.one_of(texts(10), st.sampled_from(["5", "0", "-1", "nan", "inf", "1e309"])))
def test_the_sandbox_command_line_builds_or_is_one_usage_line(monkeypatch, capsys, topology, faults, timeout):
    monkeypatch.setattr(sandbox_cli, "_run", lambda args, pytest_args: 0)  # what would be built, not built
    argv = [f"--topology={topology}", *(f"--fault={f}" for f in faults), f"--probe-timeout={timeout}"]
    try:
        code = sandbox_cli.main(argv)
    except SystemExit as exc:
        code = exc.code
        err = capsys.readouterr().err
        assert code == 2 and sum("error:" in line for line in err.splitlines()) == 1, err
        assert "Traceback" not in err
    assert code in (0, 2)


@FEW
@given(listen=texts(20), interval=texts(10), run_timeout=texts(10),
       number=st.sampled_from(["1", "0", "-5", "nan", "inf", "65536", "99999999999999999999", "\u0663"]))
def test_the_exporter_command_line_parses_or_is_one_usage_line(capsys, listen, interval, run_timeout, number):
    for argv in ([f"--listen={listen}"], [f"--listen=127.0.0.1:{number}"], [f"--interval={interval}"],
                 [f"--interval={number}"], [f"--run-timeout={run_timeout}"]):
        try:
            _, args, _ = exporter.parse_args(argv)
        except SystemExit as exc:
            err = capsys.readouterr().err
            assert exc.code == 2 and "Traceback" not in err and err.strip().splitlines()[-1].startswith(
                "cabal-checks-exporter: error:"), err
        else:
            assert 0 <= args.listen[1] <= 65535 and math.isfinite(args.interval) and args.interval > 0


# --- whole runs, in process: never exit 3, never a file nobody asked for ----------------------------------------------

PLUGINS = runpy.run_path(str(Path(__file__).resolve().parents[1] / "conftest.py"))["pytest_plugins"]
SEGMENT = st.text(st.one_of(st.characters(exclude_characters="/", exclude_categories=("Cs",)), st.just("\x00")),
                  min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
OUT_PATHS = st.lists(SEGMENT, min_size=1, max_size=3).map("/".join)
OUTPUT_OPTIONS = ["--runbook-report", "--results-json", "--metrics-file", "--junitxml"]


@pytest.fixture
def scratch(pytester):
    pytester.makeconftest(f"pytest_plugins = {list(PLUGINS)!r}\n")
    pytester.makeini("[pytest]\naddopts = -p no:hypothesispytest\n")  # as pytest.ini: hypothesis may be imported here
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    return pytester


@RUNS
@given(key=st.sampled_from(sorted(TYPES)), value=VALUES, dest=st.sampled_from(sorted(KEYS)), text=texts(30),
       outputs=st.dictionaries(st.sampled_from(OUTPUT_OPTIONS), OUT_PATHS, max_size=2))
@example(key="metrics_file", value=5, dest="alert", text=" ", outputs={})
@example(key="region", value=5, dest="control_domain", text="x.net", outputs={"--results-json": "a/b"})
def test_a_run_with_any_inputs_is_a_run_or_one_usage_line(scratch, key, value, dest, text, outputs):
    prefix = "" if key == "control_domain" else 'control_domain = "x.net"\n'
    (scratch.path / "cabal.toml").write_text(f"{prefix}{key} = {toml(value)}\n")
    assume("\x00" not in text)  # the OS refuses NUL in argv: no user can pass it
    option = "--" + dest.replace("_", "-")
    before = files_under(scratch.path)
    result = scratch.runpytest_inprocess("--co", "-q", "--cabal-config=cabal.toml", f"{option}={text}",
                                         *(f"{k}={v}" for k, v in outputs.items()))
    out = "\n".join(result.outlines + result.errlines)
    assert result.ret in (0, 4, 5) and "INTERNALERROR" not in out and "Traceback" not in out, out[-3000:]
    if result.ret == 4:
        assert sum(line.startswith("ERROR:") for line in result.errlines) == 1, out[-3000:]
    asked = {os.path.normpath(v) for v in outputs.values()} | {option == "--metrics-file" and os.path.normpath(text)}
    asked |= {os.path.normpath(value)} if key == "metrics_file" and isinstance(value, str) and value.strip() else set()
    made = {p for p in files_under(scratch.path) - before if (scratch.path / p).is_file()}
    assert made <= asked, (made, asked)
    for path in made:  # leave the next example the same folder
        (scratch.path / path).unlink()
