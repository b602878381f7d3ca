"""A plugin for a ``--collect-only`` child: write each collected test's id, marker names, alert scope
(``cabal_checks.alerts.scope_of``) and the facts it asks for (by fixture name), in the order the run would run them, as
JSON to ``CABAL_COLLECTED_TO``, so a unit test can judge selections and order over the real collection without
running it."""

import json
import os

from cabal_checks.alerts import scope_of


def pytest_collection_finish(session):
    from fixtures.facts import FACTS

    out = [[item.nodeid.split("::")[-1], sorted({m.name for m in item.iter_markers()}),
            scope_of(dict(item.callspec.params) if hasattr(item, "callspec") else {}),
            [n for n in item.fixturenames if n in FACTS]] for item in session.items]
    with open(os.environ["CABAL_COLLECTED_TO"], "w") as f:
        json.dump(out, f)
