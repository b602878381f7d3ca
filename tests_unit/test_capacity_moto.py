"""The capacity runbooks' checks (container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low), each
proven green and red: facts read from moto (in-process) through the suite's reader, judged by judge/capacity."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.facts import capacity as f
from cabal_checks.judge import capacity as j
from cabal_checks.verdict import NotApplicable

REGION = "us-east-1"
MIN = timedelta(minutes=1)


@pytest.fixture
def ctx(mock_account):
    """An empty moto account (the shared fixture in conftest.py) and this module's context."""
    return Context(load_settings({"control_domain": "cabal.example.test", "region": REGION, "aws_timeout": 30.0},
                                env={}))


def fresh(ctx) -> Context:
    """A new run's context (the reader memoizes each distinct call for a run)."""
    return Context(ctx.settings)


@functools.cache
def client(name: str):
    """The seeding's clients, made once (making an EC2 client costs a second): moto intercepts them in every test."""
    return boto3.client(name, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


def host(name: str = "cabal-ecs-instance") -> str:
    return client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="m6g.medium",
                                       TagSpecifications=[{"ResourceType": "instance",
                                                           "Tags": [{"Key": "Name", "Value": name}]}]
                                       )["Instances"][0]["InstanceId"]


def per_minute(namespace: str, name: str, dims: dict, value, start: datetime, end: datetime,
               step: timedelta = MIN) -> None:
    """``value(t)`` (or a number) every ``step`` in ``[start, end)``."""
    data, t = [], datetime.fromtimestamp(start.timestamp() // step.total_seconds() * step.total_seconds(), UTC)
    while t < end:
        data.append({"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                     "Timestamp": t, "Value": float(value(t) if callable(value) else value)})
        t += step
    for first in range(0, len(data), 1000):
        client("cloudwatch").put_metric_data(Namespace=namespace, MetricData=data[first:first + 1000])


def counts(ctx, service: str, running, since=timedelta(hours=2)) -> None:
    now, dims = ctx.settings.now, {"ClusterName": "cabal-mail", "ServiceName": service}
    per_minute("ECS/ContainerInsights", "RunningTaskCount", dims, running, now - since, now)
    per_minute("ECS/ContainerInsights", "DesiredTaskCount", dims, 1, now - since, now)


def loop_verdict(ctx, service="cabal-imap", svc=None, stopped=()):
    m = f.capacity_metrics(ctx)
    return j.restart_loop_condition(m.cluster, service, m.ci(service, "RunningTaskCount"),
                                    m.ci(service, "DesiredTaskCount"), m.ci_at, svc, list(stopped))


def event(ctx, minutes_ago: float, message: str) -> dict:
    return {"createdAt": ctx.settings.now - timedelta(minutes=minutes_ago), "message": f"(service cabal-imap) {message}"}


PLACE = ("was unable to place a task because no container instance met all of its requirements. The closest matching "
         "(container-instance 1f2e) has insufficient memory available.")


# --- container-restart-loop: the condition --------------------------------------------------------------------------


def test_restart_loop_green_at_desired_and_red_below_it_says_crash_loop(ctx):
    counts(ctx, "cabal-imap", 1)
    counts(ctx, "cabal-smtp-in", 0)
    assert loop_verdict(ctx).ok
    crash = [event(ctx, 20, "has stopped 1 running tasks: (task 9a). Essential container in task exited")]
    v = loop_verdict(ctx, "cabal-smtp-in", {"events": crash},
                     [{"taskArn": "arn:aws:ecs:us-east-1:1:task/cabal-mail/9a"}])
    assert not v.ok and "ContainerRestartLoop would be firing" in v.summary and "a crash loop" in v.summary
    assert "held at 31 of 31 points" in v.evidence[0] and "has stopped" in v.evidence[1]
    assert v.step == j.CRL_C and any("describe-tasks --cluster cabal-mail --tasks arn:" in n for n in v.next)


def test_restart_loop_red_with_placement_events_says_capacity(ctx):
    counts(ctx, "cabal-imap", 0)
    v = loop_verdict(ctx, svc={"events": [event(ctx, 10, PLACE)]})
    assert not v.ok and "no capacity" in v.summary and "remainingResources" in v.next[-1]


def test_a_tier_restarted_ten_minutes_ago_is_not_a_loop(ctx):
    now = ctx.settings.now
    counts(ctx, "cabal-imap", lambda t: 0 if now - 12 * MIN <= t < now - 9 * MIN else 1)
    assert loop_verdict(ctx).ok


def test_below_desired_for_less_than_the_for_is_green(ctx):
    now = ctx.settings.now
    counts(ctx, "cabal-imap", lambda t: 0 if t >= now - 20 * MIN else 1)  # 20 min below: the for is 30
    assert loop_verdict(ctx).ok


def test_no_container_insights_series_is_a_skip_not_green_or_red(ctx):
    with pytest.raises(NotApplicable, match="no ECS/ContainerInsights"):
        loop_verdict(ctx)


def test_one_get_metric_data_for_the_family(ctx):
    host()
    counts(ctx, "cabal-imap", 1)
    f.capacity_metrics(ctx)
    assert sum(1 for call in ctx.aws.calls if call == ("cloudwatch", "GetMetricData")) == 1


# --- container-restart-loop: placement, failed to chown ------------------------------------------------------------


def test_placement_red_only_for_a_placement_failure_in_the_last_hour(ctx):
    ci = [{"containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/cabal-mail/1f2e", "ec2InstanceId": "i-1",
           "remainingResources": [{"name": "CPU", "integerValue": 512}, {"name": "MEMORY", "integerValue": 100}]}]
    td = {"containerDefinitions": [{"name": "imap", "cpu": 128, "memory": 1024, "memoryReservation": 768}]}
    now = ctx.settings.now
    assert j.placement("cabal-mail", "cabal-imap", {"events": [event(ctx, 3 * 60, PLACE)]}, ci, td, now).ok  # resolved
    v = j.placement("cabal-mail", "cabal-imap", {"events": [event(ctx, 10, PLACE)]}, ci, td, now)
    assert not v.ok and "unable to place a task" in v.summary and v.step == j.CRL_1
    assert "MEMORY 768 MiB" in "\n".join(v.evidence) and "remaining CPU 512, MEMORY 100 MiB" in "\n".join(v.evidence)


def test_chown_failure_green_without_and_red_with_the_line(ctx):
    logs = client("logs")
    logs.create_log_group(logGroupName="/ecs/cabal-imap")
    logs.create_log_stream(logGroupName="/ecs/cabal-imap", logStreamName="imap/imap/1")
    assert j.no_chown_failure("cabal-imap", f.chown_failures(ctx, "service_imap")).ok
    at = int((ctx.settings.now - 10 * MIN).timestamp() * 1000)
    logs.put_log_events(logGroupName="/ecs/cabal-imap", logStreamName="imap/imap/1", logEvents=[
        {"timestamp": at, "message": "chown: /var/mail: failed to chown: Operation not permitted"}])
    v = j.no_chown_failure("cabal-imap", f.chown_failures(fresh(ctx), "service_imap"))  # a new run: not memoized
    assert not v.ok and "failed to chown" in v.summary and " UTC: chown:" in v.evidence[0]
    with pytest.raises(NotApplicable):
        j.no_chown_failure("cabal-smtp-in", f.chown_failures(ctx, "service_smtp_in"))


# --- node-high-cpu (substitute) ---------------------------------------------------------------------------------------


def cpu_verdict(ctx):
    m = f.capacity_metrics(ctx)
    (instance,) = m.instances
    return j.node_cpu_condition(instance, m.cpu(instance), m.ec2_at, [("cabal-imap", 900.0)])


def test_node_cpu_green_under_85(ctx):
    instance, now = host(), ctx.settings.now
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance}, 40, now - timedelta(hours=1), now, 5 * MIN)
    assert cpu_verdict(ctx).ok


def test_node_cpu_red_over_85_for_three_points_says_substitute(ctx):
    instance, now = host(), ctx.settings.now
    host("cabal-ecs-instance-stage")  # a neighbour with a similar name: not one of ours (no data, not judged)
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance}, 96, now - timedelta(hours=1), now, 5 * MIN)
    v = cpu_verdict(ctx)
    assert not v.ok and "substitute" in v.evidence[0] and "NodeHighCPU would be firing" in v.summary
    assert "cabal-imap 900 CPU units" in "\n".join(v.evidence) and v.step == j.CPU_C and instance in v.next[0]


def test_node_cpu_two_points_over_is_not_three(ctx):
    instance, now = host(), ctx.settings.now
    at = f.capacity_metrics(ctx).ec2_at
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance},
               lambda t: 96 if t >= at - 10 * MIN else 20, now - timedelta(hours=1), now, 5 * MIN)
    assert cpu_verdict(ctx).ok  # the periods ending at at-5 and at: two of the three


def sustained_verdict(ctx):
    m = f.capacity_metrics(ctx)
    (instance,) = m.instances
    return j.cpu_sustained(instance, m.cpu(instance), m.ec2_at)


def test_cpu_sustained_red_at_every_point_of_two_hours_says_runaway(ctx):
    instance, now = host(), ctx.settings.now
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance}, 97, now - timedelta(hours=3), now, 5 * MIN)
    v = sustained_verdict(ctx)
    assert not v.ok and "at every 5-min point of the last 2 h" in v.summary and "a runaway" in v.summary
    assert "24 of 24" in v.evidence[0] and "substitute" in v.evidence[0] and v.step == j.CPU_2
    assert instance in v.next[0] and "printed, never run" in v.next[2]


def test_cpu_sustained_green_for_a_burst_of_forty_minutes(ctx):
    """node-cpu-high's state: the condition fires (three points over), but not over hours."""
    instance, now = host(), ctx.settings.now
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance},
               lambda t: 96 if t >= now - 40 * MIN else 20, now - timedelta(hours=3), now, 5 * MIN)
    v = sustained_verdict(ctx)
    assert v.ok and "not sustained over hours" in v.summary


def test_cpu_sustained_with_a_gap_is_not_red_and_without_points_a_skip(ctx):
    instance, now = host(), ctx.settings.now
    with pytest.raises(NotApplicable, match="no EC2 CPUUtilization point in the last 2 h"):
        sustained_verdict(ctx)
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance}, 97, now - timedelta(minutes=70), now, 5 * MIN)
    assert sustained_verdict(fresh(ctx)).ok  # hot for the 70 minutes it has points: not "every point of 2 h"


def cluster_verdict(ctx):
    m = f.capacity_metrics(ctx)
    return j.cluster_cpu("cabal-ecs-instance", {i: list(m.cpu(i)) for i in m.instances}, m.ec2_at)


def test_cluster_cpu_green_when_one_host_is_hot_says_that_host(ctx):
    hot, cool, now = host(), host(), ctx.settings.now
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": hot}, 96, now - timedelta(hours=1), now, 5 * MIN)
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": cool}, 30, now - timedelta(hours=1), now, 5 * MIN)
    v = cluster_verdict(ctx)
    assert v.ok and f"one host hot ({hot})" in v.summary and "escalation 1" in v.summary and v.step == j.CPU_3
    assert v.evidence[0].startswith(f"{hot}: CPUUtilization 96 %") and "substitute" in v.evidence[0]


def test_cluster_cpu_red_when_every_host_is_above_80(ctx):
    a, b, now = host(), host(), ctx.settings.now
    host("cabal-ecs-instance-stage")  # a neighbour with a similar name: not one of ours
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": a}, 96, now - timedelta(hours=1), now, 5 * MIN)
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": b}, 84, now - timedelta(hours=1), now, 5 * MIN)
    v = cluster_verdict(ctx)
    assert not v.ok and "cluster-wide: every host (2) above 80 %" in v.summary and v.step == j.CPU_3
    assert "  runbook: node-high-cpu, step 3 (cluster-wide or one host" in v.render()
    assert a in v.next[0] and b in v.next[0] and f"--instance-ids {' '.join(sorted([a, b]))}" in v.next[1]
    assert "printed, never run" in v.next[2]


def test_cluster_cpu_a_spike_before_the_quarter_hour_is_green(ctx):
    """The noisy sandbox's resolved spike: hot an hour ago, cool in the last 15 minutes."""
    instance, now = host(), ctx.settings.now
    at = f.capacity_metrics(ctx).ec2_at
    per_minute("AWS/EC2", "CPUUtilization", {"InstanceId": instance},
               lambda t: 20 if t + 5 * MIN > at - 15 * MIN else 99, now - timedelta(hours=1), now, 5 * MIN)
    v = cluster_verdict(fresh(ctx))  # a new run: the read above is memoized
    assert v.ok and "no host above 80 %" in v.summary


def test_cluster_cpu_without_any_point_is_a_skip(ctx):
    host()
    with pytest.raises(NotApplicable, match="no EC2 CPUUtilization point"):
        cluster_verdict(ctx)


# --- node-high-memory (proxies) ---------------------------------------------------------------------------------------


def memory(ctx, service: str, mib) -> None:
    now = ctx.settings.now
    per_minute("ECS/ContainerInsights", "MemoryUtilized", {"ClusterName": "cabal-mail", "ServiceName": service}, mib,
               now - timedelta(hours=1), now, 5 * MIN)


def registered(mib: int) -> list[dict]:
    """The container instances as DescribeContainerInstances returns them (their registered MEMORY)."""
    return [{"containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/cabal-mail/1f2e",
             "registeredResources": [{"name": "CPU", "integerValue": 2048}, {"name": "MEMORY", "integerValue": mib}]}]


def heaviest_verdict(ctx, mib: int = 3800):
    m = f.capacity_metrics(ctx)
    used = {s: list(m.ci(s, "MemoryUtilized", 300)) for s in ("cabal-imap", "cabal-smtp-in", "cabal-smtp-out")}
    return j.heaviest_task("cabal-mail", used, registered(mib), m.ci_at)


def test_heaviest_task_green_names_it_and_says_substitute(ctx):
    memory(ctx, "cabal-imap", 300)
    memory(ctx, "cabal-smtp-in", 500)
    v = heaviest_verdict(ctx)
    assert v.ok and v.summary.endswith("the heaviest is cabal-smtp-in") and v.step == j.MEM_1
    assert "substitute" in v.evidence[0] and v.evidence[1].startswith("cabal-smtp-in: MemoryUtilized 500 MiB")


def test_heaviest_task_red_above_85_percent_of_the_registered_memory(ctx):
    memory(ctx, "cabal-imap", 3000)
    memory(ctx, "cabal-smtp-out", 400)
    v = heaviest_verdict(ctx)
    assert not v.ok and "89 % of the memory the container instances registered" in v.summary
    assert v.summary.endswith("the heaviest task is cabal-imap") and "--service cabal-imap --force-new" in v.next[2]
    assert "printed, never run" in v.next[2] and "  runbook: node-high-memory, step 1" in v.render()


def test_heaviest_task_without_container_insights_or_instances_is_a_skip(ctx):
    with pytest.raises(NotApplicable, match="containerInsights off"):
        heaviest_verdict(ctx)
    memory(ctx, "cabal-imap", 300)
    with pytest.raises(NotApplicable, match="registers MEMORY"):
        heaviest_verdict(fresh(ctx), 0)


def stopped(ctx, minutes_ago: float, exit_code: int | None, stop_code: str, reason: str = "") -> dict:
    return {"taskArn": "arn:aws:ecs:us-east-1:1:task/cabal-mail/77", "stopCode": stop_code,
            "stoppedAt": ctx.settings.now - timedelta(minutes=minutes_ago),
            "containers": [{"name": "smtp-in", "exitCode": exit_code, "reason": reason}]}


def test_oom_killed_red_on_exit_137_or_out_of_memory_not_on_ecs_own_stop(ctx):
    now = ctx.settings.now
    ok = [stopped(ctx, 30, 137, "ServiceSchedulerInitiated", "Task failed container health checks"),
          stopped(ctx, 30, 1, "EssentialContainerExited"), stopped(ctx, 25 * 60, 137, "EssentialContainerExited")]
    assert j.no_task_oom_killed("cabal-mail", "cabal-smtp-in", ok, now).ok
    for bad in (stopped(ctx, 30, 137, "EssentialContainerExited"),
                stopped(ctx, 30, None, "EssentialContainerExited", "OutOfMemoryError: Container killed due to memory")):
        v = j.no_task_oom_killed("cabal-mail", "cabal-smtp-in", [bad], now)
        assert not v.ok and "OOM-killed" in v.summary and "substitute for journalctl -k" in v.summary
        assert v.step == j.MEM_2 and "describe-tasks --cluster cabal-mail --tasks arn:" in v.next[0]


def service_with(ctx, container: dict) -> None:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="cabal-mail")
    arn = ecs.register_task_definition(family="cabal-imap", containerDefinitions=[
        {"name": "imap", "image": "cabal/imap", **container}])["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="cabal-mail", serviceName="cabal-imap", taskDefinition=arn, desiredCount=1)


def test_memory_cap_green_with_memory(ctx):
    service_with(ctx, {"memory": 1024, "memoryReservation": 768})
    v = j.task_memory_capped("cabal-imap", f.task_definition(ctx, "service_imap"))
    assert v.ok and "imap: memory 1024, reservation 768" in v.evidence


def test_memory_cap_red_with_a_reservation_only(ctx):
    service_with(ctx, {"memoryReservation": 768})
    v = j.task_memory_capped("cabal-imap", f.task_definition(ctx, "service_imap"))
    assert not v.ok and "no memory cap" in v.summary and v.step == j.MEM_3 and "cabal-imap:1" in v.next[0]


def test_memory_cap_of_a_missing_service_is_a_skip(ctx):
    with pytest.raises(NotApplicable):
        j.task_memory_capped("cabal-imap", f.task_definition(ctx, "service_imap"))


# --- node-disk-space-low ----------------------------------------------------------------------------------------------


def template(size: int, name: str = "cabal-ecs-20260822") -> None:
    client("ec2").create_launch_template(LaunchTemplateName=name, LaunchTemplateData={
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": size, "VolumeType": "gp3"}}]})


def test_root_volume_green_at_30_red_at_8_red_when_absent(ctx):
    assert not j.launch_template_root_volume("cabal-ecs-", f.launch_template(ctx)).ok
    template(8, "cabal-nat-x")  # another template: not the ECS hosts'
    template(30)
    v = j.launch_template_root_volume("cabal-ecs-", f.launch_template(fresh(ctx)))
    assert v.ok and "/dev/xvda 30 GiB gp3" in v.evidence[0]


def test_root_volume_red_when_the_latest_version_shrinks_it(ctx):
    template(30)
    ec2 = client("ec2")
    tid = ec2.describe_launch_templates()["LaunchTemplates"][0]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=tid, LaunchTemplateData={
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}]})
    v = j.launch_template_root_volume("cabal-ecs-", f.launch_template(ctx))
    assert not v.ok and "8 GiB < 30" in v.summary and v.step == j.DISK_E1 and tid in v.next[0]
