"""No secret reaches the terminal, the logs, JUnit or the report: token, probe password, TLS key material.

The live suite runs against the sandbox with every verbosity turned up (-rA, DEBUG logs captured into
reports), with red checks so that failure messages and captured logs are produced, and its every output
is searched for each secret.
"""

from pathlib import Path

from cabal_checks.sandbox.faults import unsigned_jwt
from cabal_checks.sandbox.sandbox import Sandbox

from . import child_pytest

REPO = Path(__file__).resolve().parents[1]


def run(sb: Sandbox, tmp_path: Path, env_extra: dict) -> str:
    """Everything the run wrote: stdout, stderr, JUnit XML, the runbook report."""
    config, junit, report = sb.write_config(tmp_path / "c.toml"), tmp_path / "j.xml", tmp_path / "r.md"
    env = sb.process_env(env_extra)
    proc = child_pytest.run(["tests_live", f"--cabal-config={config}", "-rA", "-v", "--log-level=DEBUG",
                             f"--junitxml={junit}", f"--runbook-report={report}"], env=env, cwd=REPO, timeout=300)
    assert "passed" in proc.stdout and "failed" in proc.stdout, proc.stdout[-2000:]  # reds were produced
    return proc.stdout + proc.stderr + junit.read_text() + report.read_text()


def key_lines(pem: bytes) -> list[str]:
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]


def test_token_and_key_material_never_printed(sandbox, tmp_path):
    sandbox.reset()
    sandbox.apply("api-list-500", "imap-service-down")
    token = unsigned_jwt(3600, sig="c2VjcmV0LXNpZw", sub="probe-secret-subject")
    out = run(sandbox, tmp_path, {"CABAL_API_TOKEN": token, "CABAL_PROBE_USERNAME": None, "CABAL_PROBE_PASSWORD": None})
    for piece in (token, token.split(".")[1], token.split(".")[2]):
        assert piece not in out
    for line in key_lines(sandbox.plant.le_cert.key_pem) + key_lines(sandbox.plant.acm_cert.key_pem):
        assert line not in out
    assert "<redacted>" in out or "Authorization" not in out


def test_probe_password_never_printed(sandbox, tmp_path):
    sandbox.reset()
    sandbox.apply("api-list-500")
    out = run(sandbox, tmp_path, {})
    assert sandbox.seeded.probe_password not in out
