"""Before the runbooks: the account has the shape of the topology being checked.

Discovery (cabal_checks/discovery.py) reads the shape before collection. An explicit --topology the account
contradicts (2026-05 against an account whose NLB has no 993 listener and no cabal-ecs-imap-tg) is said here,
once and first, as a can't-tell ERROR naming what was found and the option that fits; the checks of the
contradicted probes are skipped (fixtures/report.py) rather than turned into a cascade of reds. Never red: a
shape is not a runbook step.
"""

import pytest

from cabal_checks.verdict import CantTell, green

SHAPE = "before the runbooks (the deployment's shape)"


@pytest.mark.aws
def test_deployment_matches_topology(topology_name, settings, expect):
    shape = settings.shape
    if shape.mismatch or shape.undecided:
        raise CantTell(shape.mismatch or shape.undecided)
    expect(green(f"the account has the shape of topology {shape.topology}", *shape.lines(), step=SHAPE))
