"""``cabal-checks-exporter``'s own arguments, and the in-VPC host it is given: a port in use or out of range, a bad
interval, an unreachable ``--vpc-host`` each say why in one line (no traceback, nothing served, nothing run)."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from cabal_checks import exporter
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.facts import backend_said, probes_in_vpc
from cabal_checks.verdict import CantTell


def refused(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exc:
        exporter.main(list(argv))
    out, err = capsys.readouterr()
    lines = [x for x in err.splitlines() if "error:" in x]
    assert exc.value.code == 2 and len(lines) == 1 and "Traceback" not in out + err and "serving" not in err, err
    return lines[0]


def test_a_port_in_use_is_one_line_saying_so(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = refused(capsys, "--listen", f"127.0.0.1:{port}")
    assert f"--listen 127.0.0.1:{port}: cannot serve there (Address already in use)" in line


def test_an_address_not_of_this_host_is_one_line(capsys):
    assert "cannot serve there (Cannot assign requested address)" in refused(capsys, "--listen", "192.0.2.1:0")


@pytest.mark.parametrize("argv, words", [
    (["--listen", "127.0.0.1:70000"], "port 70000 is out of range (0-65535)"),
    (["--listen", "127.0.0.1:99999999999999999999"], "out of range"),
    (["--listen", "127.0.0.1:\u0661\u0662"], "expected ADDR:PORT"),  # Arabic-Indic digits: isdigit, not a port
    (["--listen", "nowhere"], "expected ADDR:PORT"),
    (["--interval", "nan"], "expected seconds, a number > 0"),
    (["--interval", "0"], "expected seconds, a number > 0"),
    (["--run-timeout=-inf"], "expected seconds, a number > 0"),
])
def test_a_bad_exporter_argument_is_a_usage_error(capsys, argv, words):
    assert words in refused(capsys, *argv)


def test_an_unreachable_vpc_host_says_why_in_one_line():
    settings = load_settings({"control_domain": "example.net", "vpc_host": "ssh://127.0.0.1:1", "probe_timeout": "2"},
                             env={}, real_now=datetime(2026, 11, 23, tzinfo=timezone.utc))
    with pytest.raises(CantTell) as exc:
        probes_in_vpc(Context(settings), settings.topology.endpoints[:1])
    message = str(exc.value)
    assert message.startswith("--vpc-host ssh://127.0.0.1:1: could not run the probe there (")
    assert "Connection refused" in message and "\n" not in message


def test_what_a_backend_said_is_one_bounded_escaped_line():
    class Result:
        stderr = "Warning: something\nssh: Could not resolve hostname nohost: \x1b[31mName or service not known\r\n"

    assert backend_said(RuntimeError(Result())) == "'ssh: Could not resolve hostname nohost: \\x1b[31mName or service not known'"
    assert backend_said(Result()).startswith("'ssh: Could not resolve")
    assert backend_said(ValueError()) == "ValueError"
    assert len(backend_said(OSError("x" * 10_000))) < 230


def test_the_exporters_suite_runs_where_the_user_stands(tmp_path, monkeypatch):
    """A relative ``--cabal-config`` is the user's file, read from where they started the exporter (here a file
    with an unknown key, so the run stops at once with the line that proves which file it read)."""
    (tmp_path / "mine.toml").write_text('control_domain = "x.net"\nbogus = 1\n')
    monkeypatch.chdir(tmp_path)
    said = exporter.Exporter(["--cabal-config=mine.toml"], 60).run_once()
    assert "pytest exit status 4" in said and "config file mine.toml: unknown key(s) bogus" in said, said
