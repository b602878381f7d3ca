"""The capacity runbooks' faults (container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low).

AWS state only (metrics, service events, stopped tasks, the launch template): the wire is untouched, so the fault
matrix reuses its running sandbox. Metric history is replaced, not added to: CloudWatch would average a fault's
datapoint with the healthy one of the same minute (``replace_series``, on moto's backend, as the seeding does for
states moto has no API for).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from . import aws_faults
from .aws_seed import backend, place_task, service_event, stop_task
from .faults import fault
from .history_capacity import AHEAD, MIN, put

RUNBOOK = "container-restart-loop"


def replace_series(sb, namespace: str, name: str, dims: dict[str, str], start: datetime, end: datetime, value,
                   step: timedelta = MIN) -> None:
    """The metric's datapoints in ``[start, end)`` become ``value`` every ``step`` (the healthy ones removed)."""
    cw = backend("cloudwatch", sb.seeded)

    def same(md) -> bool:
        when = md.timestamp if md.timestamp.tzinfo else md.timestamp.replace(tzinfo=UTC)
        return (md.namespace == namespace and md.name == name and start <= when < end
                and {d.name: d.value for d in md.dimensions} == dims)

    cw.metric_data = [md for md in cw.metric_data if not same(md)]
    data, t = [], datetime.fromtimestamp(start.timestamp() // step.total_seconds() * step.total_seconds(), UTC)
    while t < end:
        data.append({"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                     "Timestamp": t, "Value": float(value)})
        t += step
    put(sb.seeded, namespace, data)


def _running(sb, key: str, value: float, since: timedelta) -> None:
    now = datetime.now(UTC)
    dims = {"ClusterName": sb.names["cluster"], "ServiceName": sb.names[key]}
    replace_series(sb, "ECS/ContainerInsights", "RunningTaskCount", dims, now - since, now + AHEAD, value)


@fault("imap-restart-loop", "cabal-imap has averaged 0 of 1 running tasks for 70 minutes (Container Insights): each "
       "new task's essential container exits (service events); ECS reads it 1/1 between two attempts",
       ("test_container_restart_loop_condition[cabal-imap]",), runbook="container-restart-loop alert")
def _imap_restart_loop(sb):
    _running(sb, "service_imap", 0, timedelta(minutes=70))
    now = datetime.now(UTC)
    for i in range(3):
        service_event(sb.seeded, "service_imap", "has stopped 1 running tasks: (task 5e1d0c7a90f24c1b8e1c0d9a1b2c3d4"
                      f"{i}). Essential container in task exited", now - timedelta(minutes=50 - 20 * i))
    aws_faults._svc(sb.seeded, "service_imap").events.sort(key=lambda e: e["createdAt"], reverse=True)


@fault("several-services-restart-loop", "cabal-imap and cabal-smtp-in have both averaged 0 of 1 running tasks for 70 "
       "minutes, each new task's essential container exiting: several services at once, so the cluster (instance role, "
       "EFS, network) rather than either service (the runbook's last escalation bullet)",
       ("test_container_restart_loop_condition[cabal-imap]", "test_container_restart_loop_condition[cabal-smtp-in]"),
       runbook="container-restart-loop escalation",
       # the diagnosis' one finding for the runbook: its first condition red; its conclusion names both services and
       # suspects the cluster (tests_unit/test_fault_matrix.py SAYS)
       cause=("test_container_restart_loop_condition[cabal-imap]",))
def _several_loops(sb):
    now = datetime.now(UTC)
    for key in ("service_imap", "service_smtp_in"):
        _running(sb, key, 0, timedelta(minutes=70))
        for i in range(3):
            service_event(sb.seeded, key, f"has stopped 1 running tasks: (task 6f2e1d8b01a35d2c9f2d1e0b2c3d4e5{i}). "
                          "Essential container in task exited", now - timedelta(minutes=50 - 20 * i))
        aws_faults._svc(sb.seeded, key).events.sort(key=lambda e: e["createdAt"], reverse=True)


@fault("cluster-out-of-memory", "cabal-smtp-out cannot be placed: no container instance has the memory its task needs "
       "(\"unable to place a task\" for 40 minutes), running 0 of 1 on average for an hour",
       ("test_container_restart_loop_condition[cabal-smtp-out]", "test_container_restart_loop_placement[cabal-smtp-out]"),
       runbook="container-restart-loop step 1",  # the alert is the symptom; step 1 (no capacity) the cause
       cause="test_container_restart_loop_placement[cabal-smtp-out]")
def _out_of_memory(sb):
    _running(sb, "service_smtp_out", 0, timedelta(minutes=70))
    now, ci = datetime.now(UTC), sb.seeded.container_instance_arn.rsplit("/", 1)[1]
    for i in range(3):
        service_event(sb.seeded, "service_smtp_out", aws_faults.PLACEMENT_MESSAGE.format(ci=ci),
                      now - timedelta(minutes=40 - 15 * i))
    aws_faults._svc(sb.seeded, "service_smtp_out").events.sort(key=lambda e: e["createdAt"], reverse=True)


@fault("efs-chown-failure", "cabal-imap's log says \"failed to chown\" on its EFS mount (the access point's owner)",
       ("test_no_efs_chown_failure[cabal-imap]",), runbook="container-restart-loop escalation")
def _chown(sb):
    now = datetime.now(UTC)
    logs = sb.seeded.client("logs")
    group = f"/ecs/{sb.names['service_imap']}"
    stream = "imap/imap/chown0000000000000000000000000001"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": int((now - timedelta(minutes=m)).timestamp() * 1000),
         "message": "chown: /var/mail/cabal: failed to chown: Operation not permitted"} for m in (25, 15)])


@fault("node-cpu-high", "the ECS host runs at 96 % CPU for the last 40 minutes (EC2 CPUUtilization): the only host, so "
       "cluster-wide (step 3)", ("test_node_high_cpu_condition[cabal-ecs-instance]",
                                 "test_node_high_cpu_cluster_wide[cabal-ecs-instance]"),
       runbook="node-high-cpu step 3",  # the alert is the symptom; step 3 (every host hot: capacity) the cause
       cause=("test_node_high_cpu_cluster_wide[cabal-ecs-instance]",))
def _cpu(sb):
    _host_cpu(sb, 96, timedelta(minutes=40))


def _host_cpu(sb, percent: float, span: timedelta) -> None:
    """The ECS host's EC2 CPUUtilization at ``percent`` over the last ``span`` (5-min points, as basic monitoring)."""
    now = datetime.now(UTC)
    replace_series(sb, "AWS/EC2", "CPUUtilization", {"InstanceId": sb.seeded.ecs_instance_id}, now - span,
                   now + AHEAD, percent, timedelta(minutes=5))


@fault("node-cpu-runaway", "the ECS host has run at 97 % CPU for the last 3 hours (EC2 CPUUtilization): sustained, a "
       "runaway (step 2), on the only host (step 3)",
       ("test_node_high_cpu_condition[cabal-ecs-instance]", "test_node_high_cpu_sustained[cabal-ecs-instance]",
        "test_node_high_cpu_cluster_wide[cabal-ecs-instance]"),
       runbook="node-high-cpu step 2",  # the alert is the symptom; step 2 (sustained: a runaway) the first cause
       cause=("test_node_high_cpu_sustained[cabal-ecs-instance]",))
def _cpu_runaway(sb):
    _host_cpu(sb, 97, timedelta(hours=3))


@fault("task-oom-killed", "a cabal-smtp-in container was OOM-killed 20 minutes ago (OutOfMemoryError, exit 137); ECS "
       "started a new task, which runs", ("test_no_task_oom_killed[cabal-smtp-in]",), runbook="node-high-memory step 2")
def _oom(sb):
    s, key = sb.seeded, "service_smtp_in"
    when = datetime.now(UTC) - timedelta(minutes=20)
    old = s.task_arns[key]
    stop_task(s, key, old, reason="Essential container in task exited", stop_code="EssentialContainerExited",
              stopped_at=when, exit_code=137)
    for container in backend("ecs", s).tasks[s.names["cluster"]][old].containers:
        container.reason = "OutOfMemoryError: Container killed due to memory usage"
    service_event(s, key, f"has stopped 1 running tasks: (task {old.rsplit('/', 1)[1]}).", when)
    s.task_arns[key], s.task_ips[key] = place_task(s, key, when + timedelta(minutes=1))
    aws_faults._set_counts(s, key, 1, 0)
    aws_faults._svc(s, key).events.sort(key=lambda e: e["createdAt"], reverse=True)


@fault("imap-memory-heavy", "cabal-imap's tasks use 7 GiB for the last 40 minutes (Container Insights MemoryUtilized): "
       "the tasks take over 85 % of the memory the container instance registered, cabal-imap the heaviest",
       ("test_node_memory_heaviest_task[cabal-ecs-instance]",), runbook="node-high-memory step 1")
def _memory_heavy(sb):
    now = datetime.now(UTC)
    dims = {"ClusterName": sb.names["cluster"], "ServiceName": sb.names["service_imap"]}
    replace_series(sb, "ECS/ContainerInsights", "MemoryUtilized", dims, now - timedelta(minutes=40), now + AHEAD, 7168,
                   timedelta(minutes=5))


@fault("root-volume-undersized", "the ECS hosts' launch template maps /dev/xvda at 8 GiB (the runbook's old size)",
       ("test_launch_template_root_volume[cabal-ecs-*]",), runbook="node-disk-space-low escalation")
def _root(sb):
    ec2 = sb.seeded.client("ec2")
    template = next(t for t in ec2.describe_launch_templates()["LaunchTemplates"]
                    if t["LaunchTemplateName"].startswith(sb.names["ecs_launch_template_prefix"]))
    ec2.create_launch_template_version(
        LaunchTemplateId=template["LaunchTemplateId"],
        LaunchTemplateData={"BlockDeviceMappings": [{"DeviceName": "/dev/xvda",
                                                     "Ebs": {"VolumeSize": 8, "VolumeType": "gp2"}}]})


@fault("task-memory-uncapped", "cabal-smtp-out's task definition has no hard memory cap (memoryReservation only): "
       "one runaway container can take the whole host", ("test_task_memory_capped[cabal-smtp-out]",),
       runbook="node-high-memory step 3")
def _uncapped(sb):
    for definition in backend("ecs", sb.seeded).task_definitions[sb.names["service_smtp_out"]].values():
        for container in definition.container_definitions:
            container["memoryReservation"] = container.pop("memory", 448)
