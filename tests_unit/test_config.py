"""The fixed interface: options, TOML keys, environment; bad configuration gives one line naming the problem."""

from datetime import datetime, timedelta, timezone

import pytest

from cabal_checks.config import ConfigError, load_settings, parse_now

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def settings(cli=None, env=None, **kw):
    return load_settings({"control_domain": "example.net", **(cli or {})}, env=env or {}, real_now=NOW, **kw)


def write(tmp_path, text):
    path = tmp_path / "cabal.toml"
    path.write_text(text)
    return str(path)


def test_defaults_are_the_runbook_era_and_the_blackbox_timeout():
    s = settings()
    assert s.topology.name == "2026-05" and s.probe_timeout == 5.0 and s.now == NOW and not s.now_given
    assert s.names["cluster"] == "cabal-mail" and s.names["certbot_log_group"] == "/cabal/lambda/certbot-renewal"


def test_toml_file_is_read_and_the_command_line_wins(tmp_path):
    path = write(tmp_path, 'control_domain = "from-file.net"\ntopology = "2026-08"\nprobe_timeout = 2\n'
                           'connect_to = ["a.net:25:127.0.0.1:2525"]\n[names]\ncluster = "other"\n')
    s = load_settings({"cabal_config": path, "probe_timeout": "3"}, env={}, real_now=NOW)
    assert (s.control_domain, s.topology.name, s.probe_timeout) == ("from-file.net", "2026-08", 3.0)
    assert s.connect_to == {"a.net:25": "127.0.0.1:2525"} and s.names["cluster"] == "other"


def test_cabal_config_environment_variable_names_the_file(tmp_path):
    path = write(tmp_path, 'control_domain = "env-file.net"\n')
    assert load_settings({}, env={"CABAL_CONFIG": path}, real_now=NOW).control_domain == "env-file.net"


@pytest.mark.parametrize("text, words", [
    ("control_domain = ", "malformed TOML"),
    ('contrl_domain = "x.net"\n', "unknown key(s) contrl_domain"),
    ('[names]\nclustr = "x"\n', "unknown [names] key(s) clustr"),
    ('probe_timeout = "soon"\n', "probe_timeout = 'soon'"),
    ('connect_to = ["a.net:25:127.0.0.1"]\n', "expected HOST:PORT:HOST2:PORT2"),
    ('topology = "2027-01"\n', "not a built-in"),
    ('now = "next tuesday"\n', "expected an ISO 8601 instant"),
    ("logs_rate = 0\n", "logs_rate = 0: expected FilterLogEvents requests per second"),
    ("logs_rate = 2.5\n", "logs_rate = 2.5: expected FilterLogEvents requests per second"),
])
def test_bad_config_file_is_one_line_naming_the_problem(tmp_path, text, words):
    path = write(tmp_path, 'control_domain = "x.net"\n' + text if "control_domain" not in text else text)
    with pytest.raises(ConfigError) as exc:
        load_settings({"cabal_config": path}, env={}, real_now=NOW)
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert path in str(exc.value) or "topology" in words or "ISO" in words or "built-in" in words


def test_bad_topology_file_names_the_file_and_the_entry(tmp_path):
    topo = tmp_path / "topo.toml"
    topo.write_text('[[endpoint]]\nprobe = "imap"\nurl = "gopher://imap.{control_domain}:70"\n')
    with pytest.raises(ConfigError, match=r"topo.toml: endpoint #1: url missing or scheme"):
        settings({"topology": str(topo)})


def test_missing_control_domain_is_an_error_only_when_required():
    with pytest.raises(ConfigError, match="no control domain"):
        load_settings({}, env={}, real_now=NOW)
    assert load_settings({}, env={}, real_now=NOW, require_domain=False).control_domain == ""


def test_now_accepts_iso_and_relative_days():
    assert parse_now("+14d", NOW) == NOW + timedelta(days=14)
    assert parse_now("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert parse_now("2026-12-01T10:00:00Z", NOW).hour == 10


def test_secrets_never_print_themselves():
    s = settings(env={"CABAL_API_TOKEN": "eyJhbGciOi.secret-token", "CABAL_PROBE_PASSWORD": "hunter2"})
    shown = f"{s!r} {s.api_token} {s.probe_password!r}"
    assert "secret-token" not in shown and "hunter2" not in shown
    assert "CABAL_API_TOKEN" in str(s.api_token) and s.api_token.reveal().endswith("secret-token")


def test_user_topology_file_extends_the_builtins(tmp_path):
    topo = tmp_path / "mine.toml"
    topo.write_text('name = "mine"\n[[endpoint]]\nprobe = "smtp_relay"\nurl = "smtp://mx.{control_domain}:2525"\n'
                    'service = "service_smtp_in"\n')
    s = settings({"topology": str(topo)})
    assert [e.spec for e in s.topology.endpoints] == ["smtp://mx.example.net:2525"]


def test_logs_rate_paces_the_runs_reader():
    """Default 5 (CloudWatch Logs' quota per account and Region); --logs-rate lowers it for runs sharing an account."""
    from cabal_checks.context import Context

    assert settings().logs_rate == 5
    slow = Context(settings({"logs_rate": "2"}))
    assert slow.aws.paces[("logs", "FilterLogEvents")]._starts.maxlen == 2
