"""A run's results as data: one ``Result`` per live test id, and its JSON form (the notifier's state file).

Built by ``fixtures/results.py`` from the verdicts the ``expect`` fixture records; rendered by
``metrics.py`` (Prometheus families) and compared by ``notify.py``. Plain Python, no pytest.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .runbooks import STEPS

STATUSES = ("green", "red", "cant_tell", "not_applicable")
STEP_OF_TEST = {test: step for step in STEPS for test in step.tests}


@dataclass(frozen=True)
class Result:
    check: str  # the live test function
    target: str  # its parameter id ("" when unparametrized)
    runbook: str
    step: str  # runbooks.STEPS key ("pf-2")
    step_title: str
    status: str  # one of STATUSES
    summary: str  # the verdict's summary line (or the can't-tell / skip reason)
    next: str  # the first ``next:`` command ("" when none)
    severity: str  # "warning" (tests marked warning: the 21-day tier) or "critical"

    @property
    def test_id(self) -> str:
        return f"{self.check}[{self.target}]" if self.target else self.check


def split_name(name: str) -> tuple[str, str]:
    """``test_x[imaps://h:993]`` -> ``("test_x", "imaps://h:993")``."""
    check, _, rest = name.partition("[")
    return check, rest[:-1] if rest.endswith("]") else rest


def make(name: str, status: str, summary: str, next_: str = "", warning: bool = False) -> Result:
    check, target = split_name(name)
    step = STEP_OF_TEST.get(check)
    return Result(check, target, step.runbook if step else "other", step.key if step else "",
                  step.title if step else "", status, summary, next_, "warning" if warning else "critical")


def dump(results: dict[str, Result], path: str | Path, **meta) -> None:
    """Write ``{"meta": {...}, "results": {test id: {...}}}`` atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "results": {k: asdict(r) for k, r in sorted(results.items())}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1)
    os.replace(tmp, path)


def load(path: str | Path) -> tuple[dict[str, Result], dict]:
    """The results and meta of a file written by ``dump``."""
    data = json.loads(Path(path).read_text())
    return {k: Result(**v) for k, v in data["results"].items()}, data.get("meta", {})
