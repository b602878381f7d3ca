"""A plugin for a child suite run that misbehaves on demand (the exporter's proofs).

``CABAL_TEST_RUN_MODE`` names a file; when it says ``hang`` the run writes its pid next to it and never ends
(until killed), when it says ``fail`` the run stops with an internal error; otherwise nothing happens.
"""

import os
import threading
from pathlib import Path


def pytest_configure(config):
    path = os.environ.get("CABAL_TEST_RUN_MODE")
    mode = Path(path).read_text().strip() if path and Path(path).exists() else ""
    if mode == "fail":
        raise RuntimeError("simulated broken run")
    if mode == "hang":
        Path(path + ".pid").write_text(str(os.getpid()))
        threading.Event().wait()  # a run that never ends: the exporter must kill it
