"""ELBv2: load balancers, listeners, target groups and target health, found by name."""

from __future__ import annotations

from .reader import AwsReader, NotFound


def load_balancer(aws: AwsReader, name: str) -> dict | None:
    try:
        lbs = aws.call("elbv2", "describe_load_balancers", Names=[name]).get("LoadBalancers", [])
    except NotFound:
        return None
    return lbs[0] if lbs else None


def listeners(aws: AwsReader, lb_arn: str) -> list[dict]:
    return aws.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=lb_arn)


def target_group(aws: AwsReader, name: str) -> dict | None:
    try:
        groups = aws.call("elbv2", "describe_target_groups", Names=[name]).get("TargetGroups", [])
    except NotFound:
        return None
    return groups[0] if groups else None


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
