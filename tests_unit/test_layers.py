"""The layers point one way (gather -> judge -> render): each proven by importing a layer in a fresh interpreter and
looking at what it pulled in (``sys.modules``)."""

import json
import pkgutil
import subprocess
import sys

import pytest

import cabal_checks.judge


def imported_by(*modules: str) -> set[str]:
    """Every module a fresh interpreter holds after importing ``modules``."""
    code = ("import importlib, json, sys\n"
            f"for m in {list(modules)!r}: importlib.import_module(m)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return set(json.loads(out.stdout))


JUDGES = [f"cabal_checks.judge.{m.name}" for m in pkgutil.iter_modules(cabal_checks.judge.__path__)]


def test_judges_import_no_aws_client_library():
    """A judge is a pure function of facts: no judge module imports boto3 or botocore, directly or through a
    lookup module (the pure helpers over AWS's shapes live in cabal_checks.shapes)."""
    assert len(JUDGES) >= 7
    pulled = {m for m in imported_by(*JUDGES) if m.split(".")[0] in ("boto3", "botocore")}
    assert not pulled, f"importing the judges imports {sorted(pulled)[:5]}"


@pytest.mark.parametrize("layer, must_not", [
    ("cabal_checks.facts", "cabal_checks.judge"),  # gathering does not judge (Served, served: certs, facts)
    ("cabal_checks.runbooks", "cabal_checks.sandbox"),  # the list of steps knows no faults: the faults say what they cover
    ("cabal_checks.judge", "cabal_checks.facts"),  # nor does a judge gather
], ids=["facts-import-no-judge", "runbooks-import-no-sandbox", "judges-import-no-facts"])
def test_a_layer_does_not_import_the_next(layer, must_not):
    modules = JUDGES if layer == "cabal_checks.judge" else [layer]
    crossed = sorted(m for m in imported_by(*modules) if m == must_not or m.startswith(must_not + "."))
    assert not crossed, f"importing {layer} imports {crossed}"
