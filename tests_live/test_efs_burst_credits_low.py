"""efs-burst-credits-low runbook (alert EFSBurstCreditsLow): the condition, then the runbook's steps.

Step 2 (who drives I/O per access point) has no read: no AWS/EFS metric has an access-point dimension. A file
system not in bursting mode has no credits: every test here is a skip saying so.
"""

import pytest

from cabal_checks.judge import efs

pytestmark = [pytest.mark.efs_burst_credits_low, pytest.mark.capacity, pytest.mark.aws]


@pytest.mark.condition
def test_efs_burst_credits_condition(efs_name, efs_facts, expect):
    expect(efs.credits_condition(efs_facts))


def test_efs_burst_credits_not_draining(efs_name, efs_facts, expect):
    expect(efs.credits_not_draining(efs_facts))


def test_efs_size_supports_baseline(efs_name, efs_facts, expect):
    expect(efs.size_supports_baseline(efs_facts))
