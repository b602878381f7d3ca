"""pytest plugin for the bench's AWS-latency mode: write every AWS request of the run to $CABAL_BENCH_REQUESTS.

One ``[start, end, service, operation, gathering]`` per request (monotonic seconds), ``gathering`` being the
gathering thread that asked (``cabal_checks.gather.gathering``: a fact's helper threads count as the fact).
A thread that waited for an answer another thread was fetching (the reader sends each distinct call once)
also gets a record, operation prefixed ``wait:``, so a chain that crosses facts is not lost.
"""

import json
import os
import threading
import time

from botocore.client import BaseClient

from cabal_checks.aws.reader import AwsReader
from cabal_checks.gather import gathering

_records: list = []
_lock = threading.Lock()
_originals = {"api": BaseClient._make_api_call, "once": AwsReader._once}
WAITED = 0.001  # an answer that took longer than this to come from another thread's fetch was waited for


def _make_api_call(self, operation_name, api_params):
    start = time.monotonic()
    try:
        return _originals["api"](self, operation_name, api_params)
    finally:
        with _lock:
            _records.append([start, time.monotonic(), self.meta.service_model.service_name, operation_name,
                             gathering()])


def _once(self, key, fetch):
    fetched = []

    def fetch_and_note():
        fetched.append(True)
        return fetch()

    start = time.monotonic()
    try:
        return _originals["once"](self, key, fetch_and_note)
    finally:
        end = time.monotonic()
        if not fetched and end - start > WAITED:
            with _lock:
                _records.append([start, end, key[0], f"wait:{key[1]}", gathering()])


def pytest_configure(config):
    BaseClient._make_api_call = _make_api_call
    AwsReader._once = _once


def pytest_sessionfinish(session):
    BaseClient._make_api_call, AwsReader._once = _originals["api"], _originals["once"]
    target = os.environ.get("CABAL_BENCH_REQUESTS")
    if target:
        with _lock, open(target, "w") as out:
            json.dump(sorted(_records), out)
