"""pytest plugin for the benchmark: write every AWS call the run made (in order) to $CABAL_BENCH_CALLS."""

import json
import os


def pytest_sessionfinish(session):
    ctx = getattr(session.config, "cabal_context", None)
    if ctx is not None and os.environ.get("CABAL_BENCH_CALLS"):
        with open(os.environ["CABAL_BENCH_CALLS"], "w") as f:
            json.dump(ctx.aws.calls, f)
