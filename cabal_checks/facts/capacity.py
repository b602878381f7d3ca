"""Facts of the capacity runbooks (container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low).

One ``GetMetricData`` for the family's metrics of a window (Container Insights per service, EC2 CPU per ECS host);
the services' task definitions; the ECS hosts' launch template; "failed to chown" in a service's log. The ECS
services and their stopped tasks are probe-failure step 2's facts (``facts/ecs.py``), reused, not read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..aws import ec2
from ..aws import logs as aws_logs
from ..aws.cloudwatch import Metric, Series, metric_data
from ..config import history_now
from ..context import Context
from . import service_logs
from .ecs import ecs_services
from .service_logs import CHOWN

INSIGHTS = "ECS/ContainerInsights"
CI_WINDOW = timedelta(minutes=90)  # ContainerRestartLoop: avg_over_time[1h] at every point of its 30-min for
CI_DELAY = timedelta(minutes=1)  # Container Insights' last complete minute
EC2_PERIOD = 300  # basic monitoring: one point per 5 minutes
EC2_DELAY = timedelta(minutes=10)  # the newest 5-min point is complete and published by then
EC2_WINDOW = timedelta(hours=2, minutes=5)  # node-high-cpu step 2: sustained over hours (the condition needs 30 min)
CHOWN_SPAN = timedelta(hours=1)


@dataclass(frozen=True)
class CapacityMetrics:
    """The family's datapoints: ``at`` is each metric kind's evaluation instant (the newest complete point's end)."""

    cluster: str
    instances: tuple[str, ...]  # InstanceIds of the ECS hosts (Name tag ``ecs_instance``)
    series: dict[Metric, Series]
    ci_at: datetime  # Container Insights
    ec2_at: datetime  # EC2 CPUUtilization (5-min points)

    def ci(self, service: str, name: str, period: int = 60) -> Series:
        return self.series.get(ci_metric(self.cluster, service, name, "Average", period), ())

    def cpu(self, instance: str) -> Series:
        return self.series.get(cpu_metric(instance), ())


def ci_metric(cluster: str, service: str, name: str, stat: str = "Average", period: int = 60) -> Metric:
    """A Container Insights metric of one service (CpuUtilized: 5-min points, evidence only)."""
    return Metric(INSIGHTS, name, (("ClusterName", cluster), ("ServiceName", service)), stat, period)


def cpu_metric(instance: str) -> Metric:
    return Metric("AWS/EC2", "CPUUtilization", (("InstanceId", instance),), "Average", EC2_PERIOD)


def _floor(when: datetime, seconds: int) -> datetime:
    return datetime.fromtimestamp(when.timestamp() // seconds * seconds, UTC)


def ecs_hosts(ctx: Context) -> list[dict]:
    """The ECS container hosts (EC2 instances whose Name tag is ``ecs_instance``), running or not."""
    name = ctx.name("ecs_instance")
    return [i for i in ec2.instances_named(ctx.aws, name) if ec2.tag(i, "Name") == name]


def capacity_metrics(ctx: Context) -> CapacityMetrics:
    """Running/Desired task counts per service (Container Insights, 1-min), CPU and memory used per service (5-min) and
    each ECS host's CPUUtilization (5-min), in one GetMetricData request over the longest window."""
    cluster = ctx.name("cluster")
    services = [ctx.name(k) for k in ctx.settings.topology.services()]
    hosts = tuple(i["InstanceId"] for i in ecs_hosts(ctx))
    now = history_now(ctx.settings)
    ci_at = _floor(now, 60) - CI_DELAY
    ec2_at = _floor(now - EC2_DELAY, EC2_PERIOD)
    queries = [ci_metric(cluster, s, n) for s in services for n in ("RunningTaskCount", "DesiredTaskCount")]
    queries += [ci_metric(cluster, s, n, period=EC2_PERIOD) for s in services for n in ("CpuUtilized", "MemoryUtilized")]
    queries += [cpu_metric(i) for i in hosts]
    start = min(ci_at - CI_WINDOW, ec2_at - EC2_WINDOW)
    series = metric_data(ctx.aws, queries, start, max(ci_at, ec2_at) + timedelta(minutes=1))
    return CapacityMetrics(cluster, hosts, series, ci_at, ec2_at)


def task_definition(ctx: Context, service_key: str) -> dict | None:
    """The task definition the service runs now (its ``taskDefinition``); None when the service is not there.
    The service comes from probe-failure step 2's ``ecs_services`` (the same request, read once)."""
    svc = ecs_services(ctx).get(ctx.name(service_key))
    if not svc or not svc.get("taskDefinition"):
        return None
    return ctx.aws.call("ecs", "describe_task_definition", taskDefinition=svc["taskDefinition"])["taskDefinition"]


def launch_template(ctx: Context) -> dict | None:
    """The ECS hosts' launch template (name prefix ``ecs_launch_template_prefix``): its name and latest version's
    data; None when there is none."""
    prefix = ctx.name("ecs_launch_template_prefix")
    found = [t for t in ctx.aws.pages("ec2", "describe_launch_templates", "LaunchTemplates")
             if t.get("LaunchTemplateName", "").startswith(prefix)]
    if not found:
        return None
    newest = max(found, key=lambda t: str(t.get("CreateTime", "")))
    versions = ctx.aws.call("ec2", "describe_launch_template_versions", LaunchTemplateId=newest["LaunchTemplateId"],
                            Versions=["$Latest"]).get("LaunchTemplateVersions", [])
    return {"name": newest["LaunchTemplateName"], "id": newest["LaunchTemplateId"],
            "version": versions[0].get("VersionNumber") if versions else None,
            "data": versions[0].get("LaunchTemplateData", {}) if versions else {}}


def chown_failures(ctx: Context, service_key: str) -> list[dict] | None:
    """Events with "failed to chown" in the service's log group in the last hour; None when the group is missing."""
    now = history_now(ctx.settings)
    return aws_logs.events_with(ctx.aws, f"/ecs/{ctx.name(service_key)}", (CHOWN,), now - CHOWN_SPAN, now,
                                service_logs.scan(ctx))
