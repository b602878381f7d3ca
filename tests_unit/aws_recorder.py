"""pytest plugin for the read-only proof: record every AWS call a live run makes, and each test's markers.

Used as ``python -m pytest tests_live ... -p tests_unit.aws_recorder`` with ``CABAL_RECORD_TO=<file.json>``.
It records twice, so that nothing slips past: the reader's own ``calls`` list (what went through the one
door to AWS) and every botocore API call made by any client in the process (``BaseClient._make_api_call``),
as ``[service, Operation]`` pairs. It also writes each test's marker names, so a caller can tell which
tests read AWS (``aws``) from the JUnit report alone.
"""

from __future__ import annotations

import json
import os
import threading

from botocore.client import BaseClient

_botocore_calls: list[tuple[str, str]] = []
_markers: dict[str, list[str]] = {}
_lock = threading.Lock()
_original = BaseClient._make_api_call


def _recording_make_api_call(self, operation_name, api_params):
    with _lock:
        _botocore_calls.append((self.meta.service_model.service_name, operation_name))
    return _original(self, operation_name, api_params)


def pytest_configure(config):
    BaseClient._make_api_call = _recording_make_api_call


def pytest_collection_finish(session):
    for item in session.items:
        _markers[item.nodeid] = sorted({m.name for m in item.iter_markers()})


def pytest_sessionfinish(session):
    BaseClient._make_api_call = _original
    target = os.environ.get("CABAL_RECORD_TO")
    if not target:
        return
    ctx = getattr(session.config, "cabal_context", None)
    reader_calls = sorted(set(ctx.aws.calls)) if ctx is not None else []
    with _lock:
        botocore_calls = sorted(set(_botocore_calls))
    with open(target, "w") as out:
        json.dump({"reader_calls": reader_calls, "botocore_calls": botocore_calls,
                   "retried": [[s, a, n] for (s, a), n in sorted(ctx.aws.retried.items())] if ctx else [],
                   "markers": _markers}, out, indent=1)
