"""node-disk-space-low runbook (alert NodeDiskSpaceLow). No AWS read reports a filesystem's fill level: the condition
is a skip with its reason; the launch template's root volume (the runbook's escalation) is checkable."""

import pytest

from cabal_checks.judge import capacity

pytestmark = [pytest.mark.node_disk_space_low, pytest.mark.capacity, pytest.mark.aws]


@pytest.mark.condition
def test_node_disk_space_low_condition(ecs_host_name):
    pytest.skip(f"{ecs_host_name}: {capacity.NO_AGENT_DISK}")


def test_launch_template_root_volume(launch_template_prefix, launch_template_facts, expect):
    expect(capacity.launch_template_root_volume(launch_template_prefix, launch_template_facts))
