"""node-high-cpu runbook (alert NodeHighCPU). node_exporter is in the monitoring module (off): the condition is a
substitute, AWS/EC2 CPUUtilization of the ECS hosts; step 1's docker stats is Container Insights' CpuUtilized, and
steps 2 (sustained over hours or a burst) and 3 (every host > 80 % or one host hot) the same hosts'
CPUUtilization."""

import pytest

from cabal_checks.judge import capacity

pytestmark = [pytest.mark.node_high_cpu, pytest.mark.capacity, pytest.mark.aws]


def _hosts(ecs_host_name, capacity_metrics) -> tuple[str, ...]:
    """The ECS hosts' instance ids; none is a skip (test_container_instances_connected judges that)."""
    if not capacity_metrics.instances:
        pytest.skip(f"no EC2 instance named {ecs_host_name}: no ECS host to judge (test_container_instances_connected)")
    return capacity_metrics.instances


def _first_red(verdicts):
    return next((v for v in verdicts if not v.ok), verdicts[0])


@pytest.mark.condition
def test_node_high_cpu_condition(ecs_host_name, capacity_metrics, settings, expect):
    hosts = _hosts(ecs_host_name, capacity_metrics)
    services = [settings.names[k] for k in settings.topology.services()]
    top = capacity.top_cpu({s: list(capacity_metrics.ci(s, "CpuUtilized", 300)) for s in services},
                           capacity_metrics.ci_at)
    expect(_first_red([capacity.node_cpu_condition(i, capacity_metrics.cpu(i), capacity_metrics.ec2_at, top)
                       for i in hosts]))


def test_node_high_cpu_sustained(ecs_host_name, capacity_metrics, expect):
    """Step 2: sustained over hours (a runaway) or a burst."""
    expect(_first_red([capacity.cpu_sustained(i, capacity_metrics.cpu(i), capacity_metrics.ec2_at)
                       for i in _hosts(ecs_host_name, capacity_metrics)]))


def test_node_high_cpu_cluster_wide(ecs_host_name, capacity_metrics, expect):
    """Step 3: every ECS host above 80 % (the cluster needs capacity) or one host hot (that host's tasks)."""
    hosts = _hosts(ecs_host_name, capacity_metrics)
    expect(capacity.cluster_cpu(ecs_host_name, {i: list(capacity_metrics.cpu(i)) for i in hosts},
                                capacity_metrics.ec2_at))
