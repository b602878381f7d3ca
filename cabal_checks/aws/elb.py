"""ELBv2: load balancers, listeners, target groups and target health, found by name."""

from __future__ import annotations

from ..gather import concurrently
from .reader import AwsReader, NotFound


def load_balancers(aws: AwsReader, names) -> dict[str, dict | None]:
    """Each named load balancer (None when it does not exist), asked in one call (Names takes up to 20)."""
    return _by_name(names, "LoadBalancerName", lambda ns: aws.call(
        "elbv2", "describe_load_balancers", Names=ns).get("LoadBalancers", []))


def target_groups(aws: AwsReader, names) -> dict[str, dict | None]:
    """Each named target group (None when it does not exist), asked in one call (Names takes up to 20)."""
    return _by_name(names, "TargetGroupName", lambda ns: aws.call(
        "elbv2", "describe_target_groups", Names=ns).get("TargetGroups", []))


def _by_name(names, key: str, ask) -> dict[str, dict | None]:
    """``ask(names)`` once for all of them; when any of the names does not exist, AWS answers NotFound for all of
    them: then each alone (at once), a missing one None."""
    names = sorted(set(names))

    def only(name):
        try:
            return next(iter(ask([name])), None)
        except NotFound:
            return None

    try:
        found = ask(names)
    except NotFound:
        return dict(zip(names, concurrently(*(lambda n=n: only(n) for n in names)), strict=True))
    return {n: next((x for x in found if x[key] == n), None) for n in names}


def listeners(aws: AwsReader, lb_arn: str) -> list[dict]:
    return aws.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=lb_arn)


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
