"""The live suite in a child process, standing where the user stands: ``cabal-sandbox`` and ``cabal-checks-exporter``
run it so. The suite, its plugins and pytest.ini are the repository's; the working directory is the caller's, so a
relative path the user gives after ``--`` (``--runbook-report out.md``, ``--cabal-config cabal.toml``) is theirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def command(*pytest_args: str) -> list[str]:
    """``python -m pytest tests_live ARGS`` from any working directory."""
    return [sys.executable, "-m", "pytest", str(REPO / "tests_live"), f"--rootdir={REPO}",
            f"--config-file={REPO / 'pytest.ini'}", *pytest_args]


def environ(env: dict) -> dict:
    """``env`` with the repository first on PYTHONPATH (its plugins, ``fixtures``, are not an installed package)."""
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)}
