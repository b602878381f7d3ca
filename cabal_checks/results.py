"""A run's results as data: one record (``record.Record``) per live test id, and its JSON form (results.json,
also the notifier's state file).

Made by the collector (``fixtures/collector.py``) and written by ``fixtures/results.py``; rendered by
``metrics.py`` (Prometheus families) and compared by ``notify.py``. Plain Python, no pytest.

results.json: ``{"meta": {...}, "results": {test id: {...}}}``; each result has its original keys (check,
target, runbook, step, step_title, status, summary, next, severity) and, added, the record's evidence,
commands, probes, pipeline, facts and the diagnosis: ``role`` (a red's: cause | consequence) and ``cause``
(the test id of its probable cause).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .record import STATUSES, STEP_OF_TEST, Record, make, split_name

Result = Record  # the name this module's readers have always used: the same one record type

__all__ = ["STATUSES", "STEP_OF_TEST", "Record", "Result", "make", "split_name", "dump", "load", "BadFile"]


class BadFile(ValueError):
    """A results (or state) file that is not one ``dump`` wrote: said in one line."""


def dump(results: dict[str, Record], path: str | Path, **meta) -> None:
    """Write ``{"meta": {...}, "results": {test id: {...}}}`` atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "results": {k: r.to_json() for k, r in sorted(results.items())}}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(data, out, indent=1)
    os.replace(tmp, path)


def load(path: str | Path) -> tuple[dict[str, Record], dict]:
    """The results and meta of a file written by ``dump``; ``BadFile`` (one line) for anything else."""
    try:
        data = json.loads(Path(path).read_text())
        return {str(k): Record.from_json(v) for k, v in data["results"].items()}, dict(data.get("meta") or {})
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BadFile(f"{path}: not a cabal-checks results file ({type(exc).__name__}: {str(exc)[:120]})") from None
