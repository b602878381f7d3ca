"""Probe-failure runbook, step 2: ECS service health (runningCount < desiredCount is the smoking gun)."""

import pytest

from cabal_checks.judge import ecs

pytestmark = [pytest.mark.probe_failure, pytest.mark.aws]


def test_ecs_service_running(service_key, ecs_services, stopped_tasks, settings, expect):
    name = settings.names[service_key]
    expect(ecs.service_running(settings.names["cluster"], name, ecs_services.get(name), stopped_tasks))


def test_ecs_service_not_restarting(service_key, stopped_tasks, settings, expect):
    expect(ecs.not_restarting(settings.names["cluster"], settings.names[service_key], stopped_tasks, settings.now))
