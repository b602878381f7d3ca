"""container-restart-loop runbook (alert ContainerRestartLoop): the condition from Container Insights, crash loop vs
capacity, "failed to chown". The service's state now (running vs desired, stopped tasks, restarts) is probe-failure
step 2's (test_ecs_service_running, test_ecs_service_not_restarting): not repeated here."""

import pytest

from cabal_checks import facts
from cabal_checks.judge import capacity

pytestmark = [pytest.mark.container_restart_loop, pytest.mark.capacity, pytest.mark.aws]


@pytest.mark.condition
def test_container_restart_loop_condition(capacity_service_key, capacity_metrics, cabal, settings, expect):
    """Judged from Container Insights alone; a red adds the service events and stopped tasks (crash loop or
    capacity) when they can be read: a denied ecs:DescribeServices does not blind the condition."""
    name = settings.names[capacity_service_key]

    def judge(svc=None, stopped=()):
        return capacity.restart_loop_condition(
            capacity_metrics.cluster, name, capacity_metrics.ci(name, "RunningTaskCount"),
            capacity_metrics.ci(name, "DesiredTaskCount"), capacity_metrics.ci_at, svc, list(stopped))

    verdict = judge()
    if not verdict.ok:
        verdict = judge((cabal.maybe("aws", facts.ecs_services) or {}).get(name),
                        cabal.maybe("aws", facts.stopped_tasks, capacity_service_key) or ())
    expect(verdict)


def test_container_restart_loop_placement(capacity_service_key, ecs_services, container_instance_facts,
                                          task_definition_facts, settings, expect):
    name = settings.names[capacity_service_key]
    expect(capacity.placement(settings.names["cluster"], name, ecs_services.get(name), container_instance_facts,
                              task_definition_facts, settings.history_now))


def test_no_efs_chown_failure(capacity_service_key, chown_facts, settings, expect):
    expect(capacity.no_chown_failure(settings.names[capacity_service_key], chown_facts))
