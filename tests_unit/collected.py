"""A plugin for a ``--collect-only`` child: write each collected test's id, marker names and alert scope
(``cabal_checks.alerts.scope_of``) as JSON to ``CABAL_COLLECTED_TO``, so a unit test can judge selections
over the real collection without running it."""

import json
import os

from cabal_checks.alerts import scope_of


def pytest_collection_finish(session):
    out = [[item.nodeid.split("::")[-1], sorted({m.name for m in item.iter_markers()}),
            scope_of(dict(item.callspec.params) if hasattr(item, "callspec") else {})] for item in session.items]
    with open(os.environ["CABAL_COLLECTED_TO"], "w") as f:
        json.dump(out, f)
