"""moto_patches' speed-only patches answer exactly as moto does: GetMetricData, query by query over one metric name's
datapoints, against moto's own scan of every datapoint, on the seeded account's real histories (every family's)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from moto.cloudwatch.models import cloudwatch_backends
from moto.core import DEFAULT_ACCOUNT_ID

from cabal_checks.sandbox import moto_patches


@pytest.mark.parametrize("topology", ["2026-05", "2026-08"])
def test_get_metric_data_answers_as_moto_does(sandboxes, topology):
    sb = sandboxes.get(topology)
    sb.reset()
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]  # the sandbox's moto server runs in this process
    metrics = {(d.namespace, d.name, tuple(sorted((x.name, x.value) for x in d.dimensions)))
               for d in backend.get_all_metrics()}
    assert len(metrics) > 20, "the seeded histories hold many series"
    queries = [{"Id": f"q{i}", "ReturnData": i % 7 != 3,
                "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name,
                                          **({"Dimensions": [{"Name": k, "Value": v} for k, v in dims]} if dims else {})},
                               "Period": (60, 300)[i % 2], "Stat": ("Sum", "Average", "Maximum", "SampleCount")[i % 4]}}
               for i, (ns, name, dims) in enumerate(sorted(metrics))]
    queries.append({"Id": "nodims", "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                                                    "Period": 60, "Stat": "Sum"}})
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0, tzinfo=None)  # moto keeps naive UTC
    original = moto_patches._ORIGINALS["get_metric_data"]
    # each window and each order once (moto's own scan takes seconds over these histories: not every pair)
    for hours, scan in ((1, "TimestampAscending"), (6, "TimestampDescending")):
        window = (end - timedelta(hours=hours), end)
        answer = backend.get_metric_data(queries, *window, scan)
        assert answer == original(backend, queries, *window, scan)
        assert sum(len(a["values"]) for a in answer) > 100, "datapoints in the window, not empty answers"
    assert len(backend.get_all_metrics()) > 1000, "the narrowing is undone after the request"


def test_the_narrowing_is_the_querying_threads_alone(sandboxes):
    """moto serves requests in threads: a GetMetricStatistics or ListMetrics answered while another thread's
    GetMetricData query is narrowed still sees every datapoint."""
    sb = sandboxes.get("2026-05")
    sb.reset()
    backend = cloudwatch_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    everything = len(backend.get_all_metrics())
    seen = {}
    moto_patches._NARROWED.metrics = []
    try:
        worker = threading.Thread(target=lambda: seen.update(other=len(backend.get_all_metrics())))
        worker.start()
        worker.join()
        seen["this"] = len(backend.get_all_metrics())
    finally:
        moto_patches._NARROWED.metrics = None
    assert seen == {"other": everything, "this": 0}
