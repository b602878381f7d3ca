"""The capacity runbooks' healthy history in the sandbox (both topologies): Container Insights at desired for every
service (and CpuUtilized
and MemoryUtilized every 5 minutes), the ECS host's CPU well under 85 %, its launch template with a 30 GiB gp3
root volume.

The noisy state adds what a real account has: a tier restarted ten minutes ago (running 0 for three minutes, then
back: not a loop), a resolved CPU spike three hours ago (outside every window), and a staging neighbour's cluster
``cabal-mail-stage`` whose cabal-imap is below desired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .aws_seed import Seeded

MIN = timedelta(minutes=1)
PAST = timedelta(hours=2)  # history before the seed's instant (the noisy CPU spike is before it)
AHEAD = timedelta(hours=1)  # and after it: a sandbox lives for a run, and metrics keep arriving in a real account
STAGE_CLUSTER = "cabal-mail-stage"


def put(s: Seeded, namespace: str, data: list[dict]) -> None:
    from .aws_seed import put_metrics

    put_metrics(s, namespace, data)


def _datum(name: str, dims: dict[str, str], when: datetime, value: float, unit: str = "None") -> dict:
    return {"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()], "Timestamp": when,
            "Value": float(value), "Unit": unit}


def minutes(start: datetime, end: datetime):
    t = start.replace(second=0, microsecond=0)
    while t < end:
        yield t
        t += MIN


def task_counts(s: Seeded, service: str, start: datetime, end: datetime, running, desired: float = 1,
                cluster: str | None = None) -> None:
    """Running/Desired task counts per minute in ``[start, end)``; ``running(t)`` gives the running count."""
    dims = {"ClusterName": cluster or s.names["cluster"], "ServiceName": service}
    data = []
    for t in minutes(start, end):
        data += [_datum("RunningTaskCount", dims, t, running(t)), _datum("DesiredTaskCount", dims, t, desired)]
    put(s, "ECS/ContainerInsights", data)


def host_cpu(s: Seeded, start: datetime, end: datetime, value) -> None:
    """The ECS host's CPUUtilization, one point per 5 minutes in ``[start, end)``; ``value(t)`` gives it."""
    data = []
    t = datetime.fromtimestamp(start.timestamp() // 300 * 300, start.tzinfo)
    while t < end:
        data.append(_datum("CPUUtilization", {"InstanceId": s.ecs_instance_id}, t, value(t), "Percent"))
        t += timedelta(minutes=5)
    put(s, "AWS/EC2", data)


def seed(s: Seeded) -> None:
    """The healthy history of every service and the ECS host, and the launch template."""
    start, end = s.now - PAST, s.now + AHEAD
    for i, key in enumerate(s.topology.services()):
        name = s.names[key]
        task_counts(s, name, start, end, lambda t: 1)
        dims = {"ClusterName": s.names["cluster"], "ServiceName": name}
        put(s, "ECS/ContainerInsights", [_datum(name_, dims, t, value) for t in minutes(start, end) if t.minute % 5 == 0
                                         for name_, value in (("CpuUtilized", 20 + 10 * i),
                                                              ("MemoryUtilized", 180 + 40 * i))])
    host_cpu(s, start, end, lambda t: 18 + (t.minute % 3))
    s.client("ec2").create_launch_template(
        LaunchTemplateName="cabal-ecs-20260822101500000000000001",
        LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "m6g.medium",
                            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                                     "Ebs": {"VolumeSize": 30, "VolumeType": "gp3"}}]})


def noise(s: Seeded) -> None:
    """A tier restarted ten minutes ago, a resolved CPU spike, a staging neighbour below desired."""
    now = s.now
    restarted = s.names["service_smtp_in"]
    dip = (now - timedelta(minutes=12), now - timedelta(minutes=9))
    task_counts(s, restarted, *dip, lambda t: 0)  # the same minutes again: CloudWatch averages them (0.5)
    spike = (now - timedelta(hours=3), now - timedelta(hours=2, minutes=20))
    host_cpu(s, *spike, lambda t: 97)
    stage = [t for t in minutes(now - PAST, now + AHEAD) if t.minute % 5 == 0]  # 5-min points: cheap for moto
    put(s, "ECS/ContainerInsights", [_datum(n, {"ClusterName": STAGE_CLUSTER, "ServiceName": s.names["service_imap"]},
                                            t, v) for t in stage for n, v in (("RunningTaskCount", 0),
                                                                                ("DesiredTaskCount", 1))])
