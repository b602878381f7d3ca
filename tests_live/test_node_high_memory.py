"""node-high-memory runbook (alert NodeHighMemory). No host memory in AWS without an agent: the condition is a skip
with its reason; the steps are proxies (the services' MemoryUtilized for the heaviest task, OOM-stopped tasks instead
of the kernel log, the task definitions' caps)."""

import pytest

from cabal_checks.judge import capacity

pytestmark = [pytest.mark.node_high_memory, pytest.mark.capacity, pytest.mark.aws]


@pytest.mark.condition
def test_node_high_memory_condition(ecs_host_name):
    pytest.skip(f"{ecs_host_name}: {capacity.NO_AGENT_MEMORY}")


def test_node_memory_heaviest_task(ecs_host_name, capacity_metrics, container_instance_facts, settings, expect):
    """Step 1: which task on the hosts is the heavyweight (substitute: Container Insights MemoryUtilized per service,
    against the memory the cluster's container instances registered)."""
    used = {s: list(capacity_metrics.ci(s, "MemoryUtilized", 300))
            for s in (settings.names[k] for k in settings.topology.services())}
    expect(capacity.heaviest_task(settings.names["cluster"], used, container_instance_facts, capacity_metrics.ci_at))


def test_no_task_oom_killed(capacity_service_key, capacity_stopped_tasks, settings, expect):
    expect(capacity.no_task_oom_killed(settings.names["cluster"], settings.names[capacity_service_key],
                                       capacity_stopped_tasks, settings.history_now))


def test_task_memory_capped(capacity_service_key, task_definition_facts, settings, expect):
    expect(capacity.task_memory_capped(settings.names[capacity_service_key], task_definition_facts))
