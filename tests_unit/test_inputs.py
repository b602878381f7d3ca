"""Trust at the edges (issue #17): every input a user gives is checked where it comes in, and a bad one is one line
(exit 4), never a traceback, an INTERNALERROR or a file written where none was asked: TOML values of the wrong type,
output paths that cannot be written, ``--alert`` texts of any length and alphabet. The property tests over the same
surfaces are in test_inputs_properties.py."""

from __future__ import annotations

import os
import runpy
from datetime import datetime, timezone
from pathlib import Path

import pytest

from cabal_checks import alerts, outputs
from cabal_checks.config import ConfigError, load_settings
from cabal_checks.topology import load_topology

pytest_plugins = ("pytester",)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parents[1]
PLUGINS = runpy.run_path(str(REPO / "conftest.py"))["pytest_plugins"]  # the suite's plugins, as the repository loads them


def from_toml(tmp_path, text: str):
    path = tmp_path / "cabal.toml"
    path.write_text(text)
    return load_settings({"cabal_config": str(path)}, env={}, real_now=NOW)


@pytest.fixture
def suite(pytester):
    """An in-process pytest with the suite's plugins (as the repository's conftest.py loads them) in a scratch folder."""
    pytester.makeconftest(f"pytest_plugins = {list(PLUGINS)!r}\n")
    pytester.makeini("[pytest]\naddopts = -p no:hypothesispytest\n")  # as pytest.ini: hypothesis may be imported here
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    return pytester


def one_error_line(result) -> str:
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    text = "\n".join(result.outlines + result.errlines)
    assert result.ret == 4 and len(errors) == 1, text
    assert "Traceback" not in text and "INTERNALERROR" not in text and "passed" not in text, text
    return errors[0]


# --- TOML value types: one table, every key ------------------------------------------------------------------


@pytest.mark.parametrize("line, words", [
    ("control_domain = 5", "control_domain = 5: got an integer, takes a string"),
    ("region = 5", "region = 5: got an integer, takes a string"),
    ("ca_bundle = 5", "ca_bundle = 5: got an integer, takes a string"),
    ("metrics_file = 5", "metrics_file = 5: got an integer, takes a string"),
    ("probe_timeout = true", "probe_timeout = True: got a boolean, takes an integer or a float or a string"),
    ("monitoring = 1", "monitoring = 1: got an integer, takes a boolean or a string"),
    ("connect_to = [1]", "connect_to = [1]: got an array holding an integer, takes a string or an array (of strings)"),
    ("topology = {a = 1}", "topology = {'a': 1}: got a table, takes a string"),
    ("now = 12:00:00", "now = datetime.time(12, 0): got a time, takes a string or a date-time or a date"),
    ('[names]\ncluster = 5', "names.cluster = 5: got an integer, takes a string"),
    ("names = 5", "names = 5: got an integer, takes a table"),
])
def test_a_value_of_the_wrong_type_is_one_line_naming_key_got_and_takes(tmp_path, line, words):
    prefix = "" if line.startswith("control_domain") else 'control_domain = "x.net"\n'
    with pytest.raises(ConfigError) as exc:
        from_toml(tmp_path, prefix + line + "\n")
    assert words in str(exc.value) and "\n" not in str(exc.value) and "cabal.toml" in str(exc.value)


def test_toml_values_of_the_right_types_still_work(tmp_path):
    s = from_toml(tmp_path, 'control_domain = "x.net"\nprobe_timeout = 3\naws_timeout = "4.5"\nmonitoring = false\n'
                            'now = 2026-12-01T00:00:00Z\nconnect_to = "a.net:25:127.0.0.1:2525"\n')
    assert (s.probe_timeout, s.aws_timeout, s.monitoring, s.now.day) == (3.0, 4.5, "false", 1)
    assert s.connect_to == {"a.net:25": "127.0.0.1:2525"}
    assert from_toml(tmp_path, 'control_domain = "x.net"\nnow = 2026-12-02\n').now.day == 2


def test_a_wrong_type_stops_the_run_with_exit_4_and_writes_nothing(suite):
    suite.makefile(".toml", cabal='control_domain = "x.net"\nmetrics_file = 5\n')
    result = suite.runpytest_inprocess("--cabal-config=cabal.toml")
    assert "metrics_file = 5: got an integer" in one_error_line(result)
    assert not (suite.path / "5").exists()
    suite.makefile(".toml", cabal="control_domain = 5\n")
    assert "control_domain = 5: got an integer" in one_error_line(suite.runpytest_inprocess("--cabal-config=cabal.toml"))


# --- output paths ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--runbook-report", "--results-json", "--metrics-file", "--junitxml"])
def test_an_output_path_under_a_file_stops_the_run_before_it_starts(suite, option):
    (suite.path / "plain").write_text("a file, not a folder")
    line = one_error_line(suite.runpytest_inprocess(f"{option}=plain/sub/out.txt"))
    assert line.startswith(f"ERROR: {option} plain/sub/out.txt:") and "is a file, not a folder" in line
    line = one_error_line(suite.runpytest_inprocess(f"{option}={suite.path}"))
    assert "is a folder, not a file" in line or "must be a filename" in line  # pytest's own for --junitxml


def test_an_output_path_under_a_missing_folder_is_made_as_before(suite):
    result = suite.runpytest_inprocess("--results-json=new/r.json", "--runbook-report=new/deeper/r.md")
    assert result.ret == 0 and (suite.path / "new/r.json").is_file() and (suite.path / "new/deeper/r.md").is_file()


def test_a_write_that_fails_at_the_end_costs_one_line_not_the_results(suite):
    """The folder is checked at the start and gone (a file in its place) by the end: the run's outcome and summary
    are still there, the failed write is one line, the exit status is the run's."""
    suite.mkdir("out")
    suite.makepyfile(test_one="from pathlib import Path\n\ndef test_one():\n    import shutil\n"
                              "    shutil.rmtree('out')\n    Path('out').write_text('in the way')\n")
    result = suite.runpytest_inprocess("--results-json=out/r.json", "--metrics-file=out/m.prom",
                                       "--runbook-report=out/r.md")
    text = "\n".join(result.outlines + result.errlines)
    assert result.ret == 0 and "1 passed" in text and "Traceback" not in text and "INTERNALERROR" not in text, text
    for option in ("--results-json out/r.json", "--metrics-file out/m.prom", "--runbook-report out/r.md"):
        assert sum(f"ERROR: {option}: not written" in line for line in result.outlines) == 1, text


def test_output_check_and_write_in_isolation(tmp_path):
    outputs.check("--x", tmp_path / "new" / "f")  # a folder that can be made
    with pytest.raises(ConfigError, match="an empty path"):
        outputs.check("--x", " ")
    with pytest.raises(ConfigError, match="NUL"):
        outputs.check("--x", "a\0b")
    said = []

    def fails():
        raise PermissionError(13, "Permission denied")

    assert outputs.write("--x", "p", fails, said.append) is False
    assert said == ["ERROR: --x p: not written (Permission denied); the results are above"]
    assert not os.listdir(tmp_path)


# --- --alert text ------------------------------------------------------------------------------------------------

TOPOLOGY = load_topology("2026-05", "example.net")


@pytest.mark.parametrize("text", ["x" * 100_000, "kuma/" + "y" * 100_000, "alertmanager/BlackboxProbeFailure/" + "z" * 100_000,
                                  "healthchecks/" + "h" * 100_000])
def test_a_long_alert_is_echoed_bounded(text):
    with pytest.raises(alerts.AlertError) as exc:
        alerts.resolve(text, TOPOLOGY, "example.net")
    assert len(str(exc.value)) < 4000 and "100" in str(exc.value) and "characters)" in str(exc.value)


@pytest.mark.parametrize("text", ["\x1b[31mBlackboxProbeFailure\x07", "kuma/Admin\napp\x1b]0;pwned\x07",
                                  "BlackboxProbeFailure instance=\x1b[2Jimap.x:1", "healthchecks/\u202ecert\r"])
def test_control_characters_of_an_alert_are_escaped(text):
    with pytest.raises(alerts.AlertError) as exc:
        alerts.resolve(text, TOPOLOGY, "example.net")
    message = str(exc.value)
    assert not any(c in message for c in "\x1b\x07\n\r\u202e"), message
    assert "\\x1b" in message or "\\u202e" in message or "\\n" in message


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_a_blank_alert_is_a_usage_error_not_a_run_of_everything(suite, value):
    line = one_error_line(suite.runpytest_inprocess(f"--alert={value}"))
    assert "--alert is blank" in line
    with pytest.raises(ConfigError, match="--alert is blank"):
        load_settings({"control_domain": "x.net", "alert": value}, env={}, real_now=NOW)


def test_a_blank_alert_in_the_config_file_is_a_usage_error(tmp_path):
    with pytest.raises(ConfigError, match="--alert is blank"):
        from_toml(tmp_path, 'control_domain = "x.net"\nalert = " "\n')


def test_a_far_relative_now_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"out of range \(years 1970-9000\)"):
        load_settings({"control_domain": "x.net", "now": "+99999999999d"}, env={}, real_now=NOW)


def test_no_file_is_written_by_a_refused_run(suite):
    before = sorted(p.name for p in Path(suite.path).iterdir())
    one_error_line(suite.runpytest_inprocess("--results-json=test_one.py/x"))
    assert sorted(p.name for p in Path(suite.path).iterdir()) == before


# --- topology files: the same typed table ------------------------------------------------------------------------


@pytest.mark.parametrize("text, words", [
    ('fail2ban = "yes"\n', "fail2ban = 'yes': got a string, takes a boolean"),
    ("sites = [5]\n", "sites = [5]: got an array holding an integer, takes an array (of strings)"),
    ("endpoint = 5\n", "endpoint = 5: got an integer, takes an array (of tables)"),
    ('[[endpoint]]\nprobe = "imap"\nurl = "imaps://imap.{control_domain}:993"\nsg_ports = ["a"]\n',
     "endpoint #1: sg_ports = ['a']: got an array holding a string, takes an array (of integers)"),
    ('[[endpoint]]\nprobe = "imap"\nurl = "imaps://{0}.{control_domain}:993"\n', None),  # braces are text
    ('[[endpoint]]\nprobe = 5\nurl = "imaps://imap.x:993"\n', "endpoint #1: probe = 5: got an integer, takes a string"),
    ('"\\u001b[2J" = 1\n', "unknown key(s) '\\x1b[2J'"),
])
def test_a_topology_value_of_the_wrong_type_is_one_line(tmp_path, text, words):
    topo = tmp_path / "mine.toml"
    topo.write_text(text)
    try:
        load_topology(str(topo), "x.net")
    except ValueError as exc:
        assert words and words in str(exc) and "\n" not in str(exc) and "\x1b" not in str(exc), str(exc)
    else:
        assert words is None


@pytest.mark.parametrize("which", ["\0", "x" * 5000, "/", "../topologies/2026-05"])
def test_a_topology_name_that_is_no_file_is_one_line(which):
    with pytest.raises(ValueError, match="not a built-in") as exc:
        load_topology(which, "x.net")
    assert len(str(exc.value)) < 300


# --- an interrupted run -------------------------------------------------------------------------------------------


def test_an_interrupted_run_never_says_checked_and_green(suite, monkeypatch):
    """One runbook check passes, then Ctrl-C: the terminal, the report and the JUnit diagnosis say the run was
    interrupted, and none says "nothing red ... checked and green", which only a whole run may say. (A process of
    its own: an in-process run hands its KeyboardInterrupt on to this one.)"""
    suite.makepyfile(test_one="def test_ecs_service_running():\n    pass\n\n"
                              "def test_targets_healthy():\n    raise KeyboardInterrupt\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    result = suite.runpytest_subprocess("--runbook-report=r.md", "--junitxml=j.xml", "-p", "no:cacheprovider")
    text = "\n".join(result.outlines)
    assert result.ret == 2 and "interrupted: the run was stopped before every check ran" in text, text
    for shown in (text, (suite.path / "r.md").read_text(), (suite.path / "j.xml").read_text()):
        assert "checked and green" not in shown and "interrupted: the run was stopped" in shown


# --- the AWS region: a name boto3 refuses is one line, never an INTERNALERROR --------------------------------------


@pytest.mark.parametrize("region", ["a b", "us-east-1\n", "-x", "x" * 80])
def test_a_region_that_is_no_region_name_is_one_line(region):
    with pytest.raises(ConfigError, match="not an AWS region name") as exc:
        load_settings({"control_domain": "x.net", "region": region}, env={}, real_now=NOW)
    assert "\n" not in str(exc.value)


def test_a_region_from_the_environment_that_is_no_name_is_cant_tell(monkeypatch):
    from cabal_checks.aws.reader import AwsReader
    from cabal_checks.verdict import CantTell

    monkeypatch.setenv("AWS_DEFAULT_REGION", "a b")
    with pytest.raises(CantTell, match="AWS region 'a b' is not a region name"):
        AwsReader(None, 2).client("ecs")


@pytest.mark.parametrize("entry", ["a.net:25:127.0.0.1:99999", "a.net:\u00b2:127.0.0.1:25", "a.net:0:b:1"])
def test_a_connect_to_port_that_is_no_port_is_one_line(entry):
    with pytest.raises(ConfigError, match=r"expected HOST:PORT:HOST2:PORT2 \(ports 1-65535\)"):
        load_settings({"control_domain": "x.net", "connect_to": [entry]}, env={}, real_now=NOW)


@pytest.mark.parametrize("when", ["9999-12-31", "0001-01-01T00:00:00Z", "+2800000d", "-600000h"])
def test_a_now_no_judgement_can_add_days_to_is_one_line(when):
    with pytest.raises(ConfigError, match=r"out of range \(years 1970-9000\)"):
        load_settings({"control_domain": "x.net", "now": when}, env={}, real_now=NOW)


def test_a_long_connect_to_is_echoed_bounded_and_named_by_its_option():
    with pytest.raises(ConfigError) as exc:
        load_settings({"control_domain": "x.net", "vpc_connect_to": ["a" * 100_000]}, env={}, real_now=NOW)
    assert str(exc.value).startswith("--vpc-connect-to 'aaa") and len(str(exc.value)) < 300
    assert "(100000 characters)" in str(exc.value)
