"""node-high-memory runbook (alert NodeHighMemory). No host memory in AWS without an agent: the condition is a skip
with its reason; the steps are proxies (OOM-stopped tasks instead of the kernel log, the task definitions' caps)."""

import pytest

from cabal_checks.judge import capacity

pytestmark = [pytest.mark.node_high_memory, pytest.mark.capacity, pytest.mark.aws]


@pytest.mark.condition
def test_node_high_memory_condition(ecs_host_name):
    pytest.skip(f"{ecs_host_name}: {capacity.NO_AGENT_MEMORY}")


def test_no_task_oom_killed(capacity_service_key, capacity_stopped_tasks, settings, expect):
    expect(capacity.no_task_oom_killed(settings.names["cluster"], settings.names[capacity_service_key],
                                       capacity_stopped_tasks, settings.history_now))


def test_task_memory_capped(capacity_service_key, task_definition_facts, settings, expect):
    expect(capacity.task_memory_capped(settings.names[capacity_service_key], task_definition_facts))
