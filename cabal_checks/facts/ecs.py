"""Facts of the probe-failure runbook, step 2: the ECS services, their stopped and running tasks."""

from __future__ import annotations

from ..aws import ecs
from ..aws.reader import NotFound
from ..context import Context


def ecs_services(ctx: Context) -> dict[str, dict | None]:
    """Every ECS service of the topology, one describe_services call."""
    names = tuple(ctx.name(k) for k in ctx.settings.topology.services())
    try:
        return ecs.services(ctx.aws, ctx.name("cluster"), names)
    except NotFound:  # no cluster: every service is missing, each a red step
        return {n: None for n in names}


def stopped_tasks(ctx: Context, service_key: str) -> list[dict]:
    try:
        return ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "STOPPED")
    except NotFound:
        return []


def running_tasks(ctx: Context, service_key: str) -> list[dict] | None:
    """The service's RUNNING tasks, newest first; None when the cluster or the service does not exist."""
    try:
        return ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "RUNNING")
    except NotFound:
        return None

