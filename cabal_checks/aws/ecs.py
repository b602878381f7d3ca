"""ECS: services, their tasks, the cluster's container instances."""

from __future__ import annotations

from .reader import AwsReader, NotFound


def services(aws: AwsReader, cluster: str, names: tuple[str, ...]) -> dict[str, dict | None]:
    """``describe_services`` for all names in one call (10 at a time); a missing service maps to None."""
    found: dict[str, dict | None] = {n: None for n in names}
    for i in range(0, len(names), 10):
        batch = sorted(names[i:i + 10])
        try:
            out = aws.call("ecs", "describe_services", cluster=cluster, services=batch)
        except NotFound:
            raise NotFound(f"ECS cluster {cluster} not found") from None
        for svc in out.get("services", []):
            if svc.get("status") != "INACTIVE":
                found[svc["serviceName"]] = svc
    return found


def tasks(aws: AwsReader, cluster: str, service: str, desired_status: str) -> list[dict]:
    """The service's tasks in ``desired_status`` (RUNNING or STOPPED), newest first."""
    arns = aws.pages("ecs", "list_tasks", "taskArns", cluster=cluster, serviceName=service,
                     desiredStatus=desired_status)
    out = []
    for i in range(0, len(arns), 100):
        described = aws.call("ecs", "describe_tasks", cluster=cluster, tasks=arns[i:i + 100])
        out += [t for t in described.get("tasks", []) if t.get("group") in (None, f"service:{service}")]
    key = "stoppedAt" if desired_status == "STOPPED" else "startedAt"
    return sorted(out, key=lambda t: str(t.get(key) or t.get("createdAt") or ""), reverse=True)


def container_instances(aws: AwsReader, cluster: str) -> list[dict]:
    arns = aws.pages("ecs", "list_container_instances", "containerInstanceArns", cluster=cluster)
    out = []
    for i in range(0, len(arns), 100):
        out += aws.call("ecs", "describe_container_instances", cluster=cluster,
                        containerInstances=arns[i:i + 100]).get("containerInstances", [])
    return out
