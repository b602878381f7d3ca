"""The public interface as a user meets it: bad configuration stops the run with one line; markers select
exactly a probe's runbook path."""

import subprocess
import sys
from pathlib import Path

import pytest

from cabal_checks.sandbox.sandbox import clean_environ

from . import child_pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_run(*args, env_extra=None, cwd=REPO):
    """``python -m pytest ARGS`` in a child, as a user runs it (forked from a warm server: child_pytest.py)."""
    return child_pytest.run(list(args), env=clean_environ(env_extra), cwd=cwd, timeout=120)


@pytest.mark.parametrize("toml, words", [
    ('control_domain = "x.net"\ntopology = \n', "malformed TOML"),
    ('control_domain = "x.net"\nprobe_timout = 3\n', "unknown key(s) probe_timout"),
    ('control_domain = "x.net"\nconnect_to = ["a:1:b"]\n', "expected HOST:PORT:HOST2:PORT2"),
    ('control_domain = "x.net"\n[names]\nclustr = "c"\n', "unknown [names] key(s) clustr"),
    ('topology = "2026-05"\n', "no control domain"),
], ids=["malformed-toml", "unknown-key", "bad-connect-to", "unknown-name", "no-control-domain"])
def test_bad_configuration_is_a_usage_error_with_one_line(tmp_path, toml, words):
    config = tmp_path / "cabal.toml"
    config.write_text(toml)
    proc = pytest_run("tests_live", f"--cabal-config={config}")
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and words in errors[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "passed" not in proc.stdout


def test_topology_file_with_errors_is_a_usage_error(tmp_path):
    topo = tmp_path / "mine.toml"
    topo.write_text('[[endpoint]]\nprobe = "pop3"\nurl = "smtp://x.{control_domain}:25"\n')
    proc = pytest_run("tests_live", "--control-domain=x.net", f"--topology={topo}")
    assert proc.returncode == 4 and "endpoint #1: probe must be one of" in proc.stderr


def test_markers_are_registered_with_help():
    out = pytest_run("--markers").stdout
    for marker in ("imap", "smtp_relay", "submission", "admin_app", "api_list", "ntfy", "acm", "letsencrypt",
                   "probe_failure", "cert_expiring", "warning", "aws", "network", "vpc"):
        assert f"@pytest.mark.{marker}:" in out


SPECS = {"imap": ("imap", "993", "cabal-imap", "cabal-ecs-imap"), "smtp_relay": ("smtp-in", ":25", "relay"),
         "submission": ("smtp-out", "465", "587", "starttls-tg", "submission-tg"), "ntfy": ("ntfy", "uptime-alb"),
         "admin_app": ("admin",), "api_list": ("list",)}
SHARED = ("test_container_instances_connected", "test_nat_instances_running", "*.", "cloudfront:", "cabal-certbot",
          "/cabal/", "test_deployment_matches_topology")  # the shape check is on every path: a wrong shape misleads all


@pytest.mark.parametrize("topology", ["2026-05", "2026-08"])
@pytest.mark.parametrize("probe", sorted(SPECS))
def test_probe_marker_selects_only_its_runbook_path(probe, topology):
    proc = pytest_run("tests_live", "--co", "-q", "--control-domain=example.net", f"--topology={topology}", "-m", probe)
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert ids, proc.stdout
    others = {p: words for p, words in SPECS.items() if p != probe}
    for test_id in ids:
        param = test_id.split("[", 1)[-1]
        if any(s in test_id for s in SHARED) or any(w in param for w in SPECS[probe]):
            continue
        about = [p for p, w in others.items() if any(x in param for x in w)]
        raise AssertionError(f"-m {probe} selected {test_id}, which is about {about}")


def test_sandbox_command_ignores_the_callers_aws_environment():
    """A profile, config file or per-service endpoint of the caller's must reach neither the sandbox's moto nor
    the suite it runs: the run judges the sandbox, exactly as without them."""
    hostile = {"AWS_PROFILE": "nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
               "AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "AKIA-not-the-sandbox"}
    env = {**clean_environ(), **hostile}
    proc = subprocess.run([sys.executable, "-m", "cabal_checks.sandbox", "--fault", "ssm-cert-missing", "--",
                           "-q", "-m", "letsencrypt", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 1 and "1 failed" in summary and "error" not in summary, proc.stdout[-1500:]
    assert "FAILED tests_live/test_cert_expiring_letsencrypt.py::test_ssm_certificate_parses" in proc.stdout
