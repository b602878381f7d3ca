"""ELBv2: load balancers, listeners, target groups and target health, found by name."""

from __future__ import annotations

from ..gather import concurrently
from .reader import AwsReader, NotFound


def load_balancer(aws: AwsReader, name: str) -> dict | None:
    try:
        lbs = aws.call("elbv2", "describe_load_balancers", Names=[name]).get("LoadBalancers", [])
    except NotFound:
        return None
    return lbs[0] if lbs else None


def load_balancers(aws: AwsReader, names) -> dict[str, dict | None]:
    """Each named load balancer (None when it does not exist), asked in one call (Names takes up to 20)."""
    names = tuple(sorted(set(names)))
    try:
        found = aws.call("elbv2", "describe_load_balancers", Names=list(names)).get("LoadBalancers", [])
    except NotFound:
        return _one_by_one(aws, names, load_balancer)
    return {n: next((lb for lb in found if lb["LoadBalancerName"] == n), None) for n in names}


def _one_by_one(aws: AwsReader, names: tuple[str, ...], one) -> dict[str, dict | None]:
    """When any of the names does not exist, AWS answers NotFound for all of them: ask each alone (at once)."""
    return dict(zip(names, concurrently(*(lambda n=n: one(aws, n) for n in names)), strict=True))


def listeners(aws: AwsReader, lb_arn: str) -> list[dict]:
    return aws.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=lb_arn)


def target_group(aws: AwsReader, name: str) -> dict | None:
    try:
        groups = aws.call("elbv2", "describe_target_groups", Names=[name]).get("TargetGroups", [])
    except NotFound:
        return None
    return groups[0] if groups else None


def target_groups(aws: AwsReader, names) -> dict[str, dict | None]:
    """Each named target group (None when it does not exist), asked in one call (Names takes up to 20)."""
    names = tuple(sorted(set(names)))
    try:
        found = aws.call("elbv2", "describe_target_groups", Names=list(names)).get("TargetGroups", [])
    except NotFound:
        return _one_by_one(aws, names, target_group)
    return {n: next((tg for tg in found if tg["TargetGroupName"] == n), None) for n in names}


def target_health(aws: AwsReader, tg_arn: str) -> list[dict]:
    return aws.call("elbv2", "describe_target_health", TargetGroupArn=tg_arn).get("TargetHealthDescriptions", [])


def listener_target_groups(aws: AwsReader, listener: dict) -> list[str]:
    """Target group ARNs a listener forwards to (default actions and, for ALBs, rules)."""
    arns = []
    actions = list(listener.get("DefaultActions", []))
    if listener.get("Protocol") in ("HTTP", "HTTPS"):
        for rule in aws.pages("elbv2", "describe_rules", "Rules", ListenerArn=listener["ListenerArn"]):
            actions += rule.get("Actions", [])
    for action in actions:
        if action.get("TargetGroupArn"):
            arns.append(action["TargetGroupArn"])
        for tg in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            arns.append(tg["TargetGroupArn"])
    return list(dict.fromkeys(arns))
