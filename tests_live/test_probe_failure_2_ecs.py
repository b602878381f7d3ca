"""Probe-failure runbook, step 2: ECS service health (runningCount < desiredCount is the smoking gun).

Where a tier has container health checks (2026-08: imap, smtp-out), its health is ECS task health: a task that
runs but is UNHEALTHY is red, and a loop of health-check stops is the restart check's evidence.
"""

import pytest

from cabal_checks.judge import ecs

pytestmark = [pytest.mark.probe_failure, pytest.mark.aws]


def test_ecs_service_running(service_key, ecs_services, stopped_tasks, settings, expect):
    name = settings.names[service_key]
    expect(ecs.service_running(settings.names["cluster"], name, ecs_services.get(name), stopped_tasks))


def test_ecs_service_not_restarting(service_key, stopped_tasks, settings, expect):
    expect(ecs.not_restarting(settings.names["cluster"], settings.names[service_key], stopped_tasks, settings.now))


def test_ecs_tasks_healthy(health_service_key, running_task_facts, settings, expect):
    name = settings.names[health_service_key]
    if not running_task_facts:
        pytest.skip(f"{name}: no running task to judge (test_ecs_service_running says why)")
    expect(ecs.tasks_healthy(settings.names["cluster"], name, running_task_facts))
