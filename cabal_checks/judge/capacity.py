"""The capacity runbooks' judges (container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low):
pure functions from facts to a Verdict. The alert conditions are re-evaluated by ``judge/condition.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..runbook_catalog import BY_ALERT
from ..verdict import NotApplicable, Verdict, green, red
from . import condition
from .ecs import _aware

CRL = "container-restart-loop"
CRL_C = f"{CRL}, alert ContainerRestartLoop (condition)"
CRL_1 = f"{CRL}, step 1 (each new task crashing, or no capacity)"
CRL_E2 = f"{CRL}, escalation (EFS access point: failed to chown)"
CPU_C = "node-high-cpu, alert NodeHighCPU (condition; substitute: EC2 CPUUtilization)"
CPU_2 = "node-high-cpu, step 2 (sustained workload or runaway: the hosts' CPU over hours)"
CPU_3 = "node-high-cpu, step 3 (cluster-wide or one host: every ECS host's CPU)"
MEM_1 = "node-high-memory, step 1 (the heaviest task; substitute: Container Insights MemoryUtilized)"
MEM_2 = "node-high-memory, step 2 (OOM-killed tasks; substitute for journalctl -k)"
MEM_3 = "node-high-memory, step 3 (every task has a memory cap)"
DISK_E1 = "node-disk-space-low, escalation (root volume undersized)"

PLACEMENT = "unable to place a task"
CRASH = "Essential container"
EVENT_SPAN = timedelta(hours=1)  # the events that explain a loop the alert sees over its 1-h average
OOM_SPAN = timedelta(hours=24)
MEMORY_SHARE = 85.0  # NodeHighMemory's threshold, applied to the proxy (the tasks' memory, not the host's)
OOM_EXIT = 137  # SIGKILL: the kernel's OOM killer or docker's memory cap, unless ECS itself stopped the task
ECS_STOPPED = ("ServiceSchedulerInitiated", "UserInitiated", "SpotInterruption", "TerminationNotice")  # then 137 is
# ECS's own SIGKILL after stopTimeout (a failed health check, a deployment), not memory
CPU_THRESHOLD = 85.0
CLUSTER_CPU = 80.0  # the runbook's step 3: "if every host is >80%, the cluster needs more capacity"
CLUSTER_SPAN = timedelta(minutes=15)  # the alert's ``for``: the hosts' average over the same quarter hour
EC2_POINT = timedelta(minutes=5)  # EC2 basic monitoring: a point per 5 minutes, stamped at its start
SUSTAINED = timedelta(hours=2)  # the runbook's step 2: "a continuous 90% over hours on one host" is a runaway
ROOT_DEVICE = "/dev/xvda"
ROOT_GIB = 30  # what the runbook says to raise it to (and modules/ecs/main.tf sets)

NO_AGENT_MEMORY = ("no agent: host memory (node_memory_MemAvailable_bytes) comes from node_exporter, which is in the "
                   "monitoring module (off), and no CloudWatch agent is deployed: AWS holds no host memory metric; "
                   "see test_no_task_oom_killed and test_task_memory_capped (the proxy steps)")
NO_AGENT_DISK = ("no agent: a filesystem's fill level comes from node_exporter (monitoring module, off) or df on the "
                 "host (ssm:SendCommand is not a read); no AWS API reports it. See test_launch_template_root_volume")


def _tid(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _when(ms) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC" if isinstance(ms, int | float) else "?"


def _events(svc: dict | None, now: datetime, span: timedelta = EVENT_SPAN) -> list[dict]:
    return [e for e in (svc or {}).get("events", [])
            if e.get("createdAt") and _aware(e["createdAt"]) >= now - span]


def classify(svc: dict | None, now: datetime) -> tuple[str, list[str]]:
    """The runbook's step 1 over the last hour's service events: ``capacity`` ("unable to place a task"), ``crash``
    ("Essential container ... exited", "has stopped"), or "" (neither seen); with the events that say so."""
    recent = _events(svc, now)
    placing = [e for e in recent if PLACEMENT in e.get("message", "")]
    crashing = [e for e in recent if CRASH in e.get("message", "") or "has stopped" in e.get("message", "")]
    kind = "capacity" if placing else "crash" if crashing else ""
    shown = (placing or crashing)[:3]
    return kind, [f"event {e.get('createdAt')}: {e.get('message', '')}" for e in shown]


def restart_loop_condition(cluster: str, name: str, running, desired, at: datetime, svc: dict | None,
                           stopped: list[dict]) -> Verdict:
    """ContainerRestartLoop re-evaluated from Container Insights: below desired on average over 1 h, for 30 min."""
    alert = BY_ALERT["ContainerRestartLoop"].alerts[0]
    if not running and not desired:
        raise NotApplicable(f"{name}: no ECS/ContainerInsights RunningTaskCount/DesiredTaskCount datapoints in "
                            f"cluster {cluster} for the last 90 min (containerInsights off, or a new service): the "
                            "alert has no series to fire on")
    ev = condition.below_desired(running, desired, at, alert.range, alert.for_)
    what = f"{name} RunningTaskCount below DesiredTaskCount"
    next_ = [f"aws ecs describe-services --cluster {cluster} --services {name} --query 'services[0].events[0:8]'"]
    verdict = condition.verdict(ev, "ContainerRestartLoop", what, CRL_C, next_)
    if verdict.ok:
        return verdict
    kind, seen = classify(svc, at)
    says = {"capacity": "no capacity: ECS cannot place the task (runbook step 3: remaining CPU/memory)",
            "crash": "a crash loop: each new task's essential container exits (runbook step 2: stop reason, logs)",
            "": "the service events of the last hour say neither (no placement failure, no exited container)"}[kind]
    if kind != "capacity" and stopped:
        next_.append(f"aws ecs describe-tasks --cluster {cluster} --tasks {stopped[0]['taskArn']} "
                     "--query 'tasks[0].{reason:stoppedReason,containers:containers[].{reason:reason,exit:exitCode}}'")
        next_.append(f"aws logs tail /ecs/{name} --since 1h --filter-pattern '?ERROR ?Exception ?error ?fatal'")
    if kind == "capacity":
        next_.append(f"aws ecs describe-container-instances --cluster {cluster} --container-instances "
                     f"$(aws ecs list-container-instances --cluster {cluster} --query 'containerInstanceArns' "
                     "--output text) --query 'containerInstances[].remainingResources[?name==`CPU`||name==`MEMORY`]'")
    return red(f"{verdict.summary}: {says}", *verdict.evidence, *seen, step=CRL_C, next=next_, facts=verdict.facts)


def _remaining(instances: list[dict]) -> list[str]:
    out = []
    for ci in instances:
        left = {r["name"]: r.get("integerValue", 0) for r in ci.get("remainingResources", [])
                if r.get("name") in ("CPU", "MEMORY")}
        out.append(f"container instance {_tid(ci.get('containerInstanceArn', '?'))} ({ci.get('ec2InstanceId', '?')}): "
                   f"remaining CPU {left.get('CPU', '?')}, MEMORY {left.get('MEMORY', '?')} MiB")
    return out


def _needs(task_def: dict | None) -> tuple[int, int]:
    if not task_def:
        return 0, 0
    containers = task_def.get("containerDefinitions", [])
    cpu = int(task_def.get("cpu") or sum(c.get("cpu", 0) for c in containers))
    mem = int(task_def.get("memory") or sum(c.get("memoryReservation") or c.get("memory") or 0 for c in containers))
    return cpu, mem


def placement(cluster: str, name: str, svc: dict | None, instances: list[dict], task_def: dict | None,
              now: datetime) -> Verdict:
    """Step 1 / step 3: no "unable to place a task" event in the last hour (capacity, not a crash loop)."""
    kind, seen = classify(svc, now)
    cpu, mem = _needs(task_def)
    need = f"{name} needs CPU {cpu}, MEMORY {mem} MiB a task"
    if kind != "capacity":
        return green(f"{name}: no placement failure in the last hour", need, *_remaining(instances), step=CRL_1)
    return red(f"{name}: ECS is unable to place a task: no capacity (not a crash loop)", *seen, need,
               *_remaining(instances), step=CRL_1,
               next=[f"aws ecs describe-container-instances --cluster {cluster} --container-instances "
                     f"$(aws ecs list-container-instances --cluster {cluster} --query 'containerInstanceArns' "
                     "--output text) --query 'containerInstances[].remainingResources[?name==`CPU`||name==`MEMORY`]'",
                     f"aws ecs describe-services --cluster {cluster} --services {name} --query 'services[0].events[0:8]'",
                     "scale the ECS host ASG up by one  # runbook escalation; printed, never run"])


def no_chown_failure(name: str, events: list[dict] | None) -> Verdict:
    """Escalation: "failed to chown" (the EFS access point's ownership) in the service's log of the last hour."""
    group = f"/ecs/{name}"
    if events is None:
        raise NotApplicable(f"log group {group} does not exist")
    if not events:
        return green(f"{group}: no \"failed to chown\" in the last hour", step=CRL_E2)
    return red(f"{name}: \"failed to chown\" {len(events)} time(s) in the last hour: the EFS access point's "
               "ownership (posix user / root directory creation info) does not match the container",
               *[f"log {_when(e.get('timestamp'))}: {e.get('message', '')[:200]}" for e in events[-3:]], step=CRL_E2,
               next=[f"aws logs filter-log-events --log-group-name {group} --filter-pattern '\"failed to chown\"' "
                     "--start-time $(($(date +%s) - 3600))000",
                     "aws efs describe-access-points --query 'AccessPoints[].{path:RootDirectory.Path,"
                     "owner:RootDirectory.CreationInfo,user:PosixUser}'"])


def node_cpu_condition(instance: str, points, at: datetime, top: list[tuple[str, float]]) -> Verdict:
    """NodeHighCPU, substitute: EC2 CPUUtilization (5-min points, stamped at their end) > 85 at three consecutive
    points (the rule's 15 minutes)."""
    alert = BY_ALERT["NodeHighCPU"].alerts[0]
    period = timedelta(minutes=5)
    ended = [(when + period, v) for when, v in points]
    ev = condition.gauge(ended, at, alert.for_ - period, ">", alert.threshold, lookback=period)
    what = f"substitute (EC2 CPUUtilization, not node_exporter) of {instance}"
    v = condition.verdict(ev, "NodeHighCPU", what, CPU_C,
                          [f"aws cloudwatch get-metric-statistics --namespace AWS/EC2 --metric-name CPUUtilization "
                           f"--dimensions Name=InstanceId,Value={instance} --statistics Average --period 300 "
                           "--start-time $(date -u -d '-6 hours' +%FT%TZ) --end-time $(date -u +%FT%TZ)",
                           f"aws ssm start-session --target {instance}  # then: docker stats --no-stream"])
    users = [f"CpuUtilized (ECS/ContainerInsights, last 15 min): {svc} {units:g} CPU units" for svc, units in top]
    return v if v.ok else red(v.summary, *v.evidence, *users, step=CPU_C, next=v.next, facts=v.facts)


def cpu_sustained(instance: str, points, at: datetime) -> Verdict:
    """Step 2, sustained workload or runaway: the host's CPU above 85 % at every 5-min point of the last 2 hours (none
    missing) is a runaway (a stuck procmail, a tight loop of IMAP logins), red; hot for less is a burst, green.
    Substitute: EC2 CPUUtilization, not node_exporter."""
    recent = [(when, v) for when, v in points if at - SUSTAINED < when + EC2_POINT <= at]
    if not recent:
        raise NotApplicable(f"{instance}: no EC2 CPUUtilization point in the last 2 h: nothing to tell a burst from a "
                            "runaway by")
    values = [v for _, v in recent]
    hot = [v for v in values if v > CPU_THRESHOLD]
    expected = int(SUSTAINED / EC2_POINT)
    hours = [values[i:i + 12] for i in range(0, len(values), 12)]
    seen = [f"{instance}: CPUUtilization {len(hot)} of {len(recent)} 5-min points of the last 2 h above "
            f"{CPU_THRESHOLD:g} % (substitute: EC2, not node_exporter); hourly averages "
            + ", ".join(f"{sum(h) / len(h):.0f} %" for h in hours)]
    if len(hot) < expected:
        return green(f"{instance}: not sustained over hours: {len(hot)} of {expected} 5-min points of the last 2 h "
                     f"above {CPU_THRESHOLD:g} %", *seen, step=CPU_2)
    return red(f"{instance}: CPU above {CPU_THRESHOLD:g} % at every 5-min point of the last 2 h ({min(values):.0f}-"
               f"{max(values):.0f} %): sustained, a runaway (a stuck procmail, a tight loop of IMAP logins), not a "
               "burst", *seen, step=CPU_2,
               next=[f"aws cloudwatch get-metric-statistics --namespace AWS/EC2 --metric-name CPUUtilization "
                     f"--dimensions Name=InstanceId,Value={instance} --statistics Average --period 3600 "
                     "--start-time $(date -u -d '-3 days' +%FT%TZ) --end-time $(date -u +%FT%TZ)  # a slow climb "
                     "over days: node-high-memory",
                     "pytest -m imap_auth_failure_spike  # a tight loop of IMAP logins (the runbook's escalation 2)",
                     f"aws ssm start-session --target {instance}  # then: docker stats --no-stream; not a read, "
                     "printed, never run"])


def cluster_cpu(name: str, by_host: dict[str, list[tuple[datetime, float]]], at: datetime) -> Verdict:
    """Step 3, cluster-wide or one host: every ECS host (``name``) above 80 % CPU on average over the last 15 minutes
    is the cluster short of capacity (red); one host hot is that host's tasks (green here: the condition names the
    host, escalation 1 drains it). Substitute: the hosts' EC2 CPUUtilization answers "every host > 80 %" (the
    runbook's cluster reservation, AWS/ECS CPUReservation, is what the services ask, not what they use)."""
    average = _recent_averages(by_host, at)
    if not average:
        raise NotApplicable(f"no EC2 CPUUtilization point of any {name} host in the last 15 min: nothing to compare "
                            "(a host without basic monitoring, or none running: test_container_instances_connected)")
    seen = [f"{host}: CPUUtilization {v:.0f} % on average over the last 15 min (substitute: EC2, not node_exporter)"
            for host, v in sorted(average.items(), key=lambda hv: -hv[1])]
    hot = sorted(h for h, v in average.items() if v > CLUSTER_CPU)
    silent = sorted(set(by_host) - set(average))
    if silent:
        seen.append(f"no point in the last 15 min: {', '.join(silent)} (not compared)")
    if len(hot) < len(average):
        what = (f"one host hot ({hot[0]}): that host's tasks, not the cluster (escalation 1: drain and replace it)"
                if len(hot) == 1 else f"{len(hot)} of {len(average)} hosts above {CLUSTER_CPU:g} %" if hot
                else f"no host above {CLUSTER_CPU:g} %")
        return green(f"{name}: not cluster-wide: {what}", *seen, step=CPU_3)
    ids = " ".join(sorted(average))
    return red(f"{name}: cluster-wide: every host ({len(average)}) above {CLUSTER_CPU:g} % CPU over the last 15 min: "
               "the cluster needs more capacity (or smaller services), not one host's tasks", *seen, step=CPU_3,
               next=[f"aws cloudwatch get-metric-data --start-time $(date -u -d '-1 hour' +%FT%TZ) --end-time "
                     f"$(date -u +%FT%TZ) --metric-data-queries '{_cpu_queries(sorted(average))}'",
                     f"aws ec2 describe-instances --instance-ids {ids} --query "
                     "'Reservations[].Instances[].{id:InstanceId,type:InstanceType,state:State.Name}'",
                     "scale the ECS host ASG up, or a larger instance class  # runbook escalation 2; printed, never "
                     "run"])


def _recent_averages(series: dict[str, list[tuple[datetime, float]]], at: datetime) -> dict[str, float]:
    """Each key's average over the 5-min points that ended in the last 15 minutes; keys without one left out."""
    averages = {}
    for key, points in series.items():
        values = [v for when, v in points if at - CLUSTER_SPAN < when + EC2_POINT <= at]
        if values:
            averages[key] = sum(values) / len(values)
    return averages


def _cpu_queries(hosts: list[str]) -> str:
    return "[" + ",".join(
        f'{{"Id":"h{i}","MetricStat":{{"Metric":{{"Namespace":"AWS/EC2","MetricName":"CPUUtilization",'
        f'"Dimensions":[{{"Name":"InstanceId","Value":"{h}"}}]}},"Period":300,"Stat":"Average"}}}}'
        for i, h in enumerate(hosts)) + "]"


def top_cpu(series_by_service: dict[str, list[tuple[datetime, float]]], at: datetime) -> list[tuple[str, float]]:
    """Step 1's substitute for docker stats: the services by average CpuUtilized over the last 15 minutes."""
    out = []
    for svc, pts in series_by_service.items():
        vals = [v for when, v in pts if at - timedelta(minutes=15) < when <= at]
        if vals:
            out.append((svc, round(sum(vals) / len(vals), 1)))
    return sorted(out, key=lambda sv: -sv[1])[:3]


def heaviest_task(cluster: str, by_service: dict[str, list[tuple[datetime, float]]], instances: list[dict],
                  at: datetime) -> Verdict:
    """Step 1, which task is the heavyweight (substitute: AWS holds no host memory without an agent): each service's
    Container Insights MemoryUtilized (MiB, 5-min points, the last 15 minutes' average), heaviest first, against the
    MEMORY the cluster's container instances registered. Above 85 % of it (NodeHighMemory's threshold, on this proxy)
    is red, naming the heaviest task; below, green, naming it too."""
    used = _recent_averages(by_service, at)
    if not used:
        raise NotApplicable(f"no Container Insights MemoryUtilized point of any service of {cluster} in the last 15 "
                            "min (containerInsights off): nothing names the heaviest task")
    registered = sum(r.get("integerValue", 0) for ci in instances for r in ci.get("registeredResources", [])
                     if r.get("name") == "MEMORY")
    if not registered:
        raise NotApplicable(f"no container instance of {cluster} registers MEMORY (none connected: "
                            "test_container_instances_connected): nothing to weigh the tasks against")
    ranked = sorted(used.items(), key=lambda sv: -sv[1])
    share = 100 * sum(used.values()) / registered
    heavy = ranked[0][0]
    seen = ["substitute: Container Insights MemoryUtilized per service against the container instances' registered "
            "MEMORY (host memory needs an agent: none is deployed)",
            *[f"{service}: MemoryUtilized {mib:.0f} MiB on average over the last 15 min ({100 * mib / registered:.0f} "
              f"% of {registered} MiB registered)" for service, mib in ranked]]
    if share <= MEMORY_SHARE:
        return green(f"{cluster}: the tasks use {share:.0f} % of the registered memory; the heaviest is {heavy}", *seen,
                     step=MEM_1)
    return red(f"{cluster}: the tasks use {share:.0f} % of the memory the container instances registered (> "
               f"{MEMORY_SHARE:g} %, NodeHighMemory's threshold on this proxy); the heaviest task is {heavy}", *seen,
               step=MEM_1,
               next=[f"aws cloudwatch get-metric-statistics --namespace ECS/ContainerInsights --metric-name "
                     f"MemoryUtilized --dimensions Name=ClusterName,Value={cluster} Name=ServiceName,Value={heavy} "
                     "--statistics Average --period 300 --start-time $(date -u -d '-6 hours' +%FT%TZ) --end-time "
                     "$(date -u +%FT%TZ)",
                     f"aws ecs describe-services --cluster {cluster} --services {heavy} --query "
                     "'services[0].taskDefinition'",
                     f"aws ecs update-service --cluster {cluster} --service {heavy} --force-new-deployment  # runbook "
                     "escalation 1 (bounce the heaviest task); printed, never run"])


def no_task_oom_killed(cluster: str, name: str, stopped: list[dict], now: datetime) -> Verdict:
    """Step 2, substitute for the kernel log: no task of the service stopped in the last 24 h with a container
    OutOfMemoryError or exit code 137."""
    oom = []
    for t in stopped:
        if not t.get("stoppedAt") or _aware(t["stoppedAt"]) < now - OOM_SPAN:
            continue
        for c in t.get("containers", []):
            if "OutOfMemory" in (c.get("reason") or "") or (c.get("exitCode") == OOM_EXIT
                                                             and t.get("stopCode") not in ECS_STOPPED):
                oom.append((t, c))
    if not oom:
        return green(f"{name}: no task OOM-killed in the last 24 h (substitute for journalctl -k: stopped tasks' "
                     "container reason and exit code)", step=MEM_2)
    t, _ = oom[0]
    return red(f"{name}: {len(oom)} container(s) OOM-killed in the last 24 h (substitute for journalctl -k: the "
               "stopped tasks' container reason / exit code 137)",
               *[f"stopped task {_tid(t['taskArn'])} at {t.get('stoppedAt')}: container {c.get('name')} exit "
                 f"{c.get('exitCode')} {c.get('reason', '')}".rstrip() for t, c in oom[:3]], step=MEM_2,
               next=[f"aws ecs describe-tasks --cluster {cluster} --tasks {t['taskArn']} "
                     "--query 'tasks[0].containers[].{name:name,reason:reason,exit:exitCode}'",
                     f"aws ecs describe-task-definition --task-definition {name} "
                     "--query 'taskDefinition.containerDefinitions[].{name:name,memory:memory,reservation:memoryReservation}'"])


def task_memory_capped(name: str, task_def: dict | None) -> Verdict:
    """Step 3: every container of the service's task definition has a hard memory cap (``memory``), or the task
    has a task-level one."""
    if task_def is None:
        raise NotApplicable(f"{name}: no task definition to read (the service is missing: test_ecs_service_running)")
    rev = f"{task_def.get('family', name)}:{task_def.get('revision', '?')}"
    containers = task_def.get("containerDefinitions", [])
    caps = [f"{c.get('name')}: memory {c.get('memory', 'none')}, reservation {c.get('memoryReservation', 'none')}"
            for c in containers]
    uncapped = [c.get("name") for c in containers if not c.get("memory")]
    if not uncapped or task_def.get("memory"):
        return green(f"{rev}: every container has a memory cap", *caps, step=MEM_3)
    return red(f"{rev}: container(s) {', '.join(uncapped)} have no memory cap: one can take the whole host",
               *caps, step=MEM_3,
               next=[f"aws ecs describe-task-definition --task-definition {rev} "
                     "--query 'taskDefinition.containerDefinitions[].{name:name,memory:memory}'",
                     "set memory on the container in terraform/infra/modules/ecs/task-definitions.tf  # printed"])


def launch_template_root_volume(prefix: str, template: dict | None) -> Verdict:
    """Escalation: the ECS hosts' launch template gives the root volume (/dev/xvda) at least 30 GiB."""
    if template is None:
        return red(f"no launch template named {prefix}*: the ECS hosts' root volume cannot be checked", step=DISK_E1,
                   next=[f"aws ec2 describe-launch-templates --query \"LaunchTemplates[?starts_with(LaunchTemplateName,"
                         f" '{prefix}')]\""])
    where = f"{template['name']} version {template.get('version')}"
    root = next((m for m in template.get("data", {}).get("BlockDeviceMappings", [])
                 if m.get("DeviceName") == ROOT_DEVICE), None)
    ebs = (root or {}).get("Ebs", {})
    size = ebs.get("VolumeSize")
    seen = f"{where}: {ROOT_DEVICE} " + (f"{size} GiB {ebs.get('VolumeType', '?')}" if root else "not mapped (the AMI's"
                                         " default size, 8 GiB for ECS-optimized AMIs)")
    facts = (("root_gib", str(size or 0)),)
    if size and size >= ROOT_GIB:
        return green(f"root volume {size} GiB (>= {ROOT_GIB})", seen, step=DISK_E1, facts=facts)
    return red(f"the ECS hosts' root volume is undersized: {size or 'default'} GiB < {ROOT_GIB}", seen, step=DISK_E1,
               next=[f"aws ec2 describe-launch-template-versions --launch-template-id {template['id']} "
                     "--versions '$Latest' --query 'LaunchTemplateVersions[0].LaunchTemplateData.BlockDeviceMappings'",
                     f"set root_block_device volume_size = {ROOT_GIB} in terraform/infra/modules/ecs/main.tf  # printed"],
               facts=facts)
