"""Probe-failure step 3: the listener, the target group's health, the security group."""

from __future__ import annotations

from ..aws.ec2 import admits
from ..topology import Endpoint
from ..verdict import Verdict, green, red

STEP3 = "probe-failure, step 3 (load-balancer target health)"


def listener_present(ep: Endpoint, lb_name: str, lb: dict | None, tg_arn: str | None,
                     forwards_to: dict[str, list[str]]) -> Verdict:
    """The front has a listener on the endpoint's port that forwards to the endpoint's target group."""
    if lb is None:
        return red(f"load balancer {lb_name} not found", step=STEP3,
                   next=[f"aws elbv2 describe-load-balancers --names {lb_name}"])
    arn = lb["lb"]["LoadBalancerArn"]
    ports = sorted(li["Port"] for li in lb["listeners"])
    port = 443 if ep.scheme == "https" else ep.port
    match = [li for li in lb["listeners"] if li["Port"] == port]
    look = f"aws elbv2 describe-listeners --load-balancer-arn {arn}"
    if not match:
        return red(f"{lb_name} has no listener on port {port}", f"listeners on ports: {ports or 'none'}",
                   step=STEP3, next=[look, "re-apply the infra stack (terraform apply) to restore the listener"])
    listener = match[0]
    if tg_arn and tg_arn not in forwards_to.get(listener["ListenerArn"], []):
        return red(f"{lb_name} listener {port}/{listener['Protocol']} does not forward to {ep.target_group}",
                   f"forwards to: {forwards_to.get(listener['ListenerArn']) or 'nothing'}", step=STEP3, next=[look])
    return green(f"{lb_name} listener {port}/{listener['Protocol']} present", step=STEP3)


def targets_healthy(tg_name: str, tg: dict | None) -> Verdict:
    """At least one registered target is healthy; every unhealthy one is listed with its reason code."""
    if tg is None:
        return red(f"target group {tg_name} not found", step=STEP3,
                   next=[f"aws elbv2 describe-target-groups --names {tg_name}"])
    arn = tg["tg"]["TargetGroupArn"]
    look = f"aws elbv2 describe-target-health --target-group-arn {arn}"
    health = tg["health"]
    lines = [f"target {h['Target']['Id']}:{h['Target'].get('Port', '')} {h['TargetHealth']['State']}"
             f" {h['TargetHealth'].get('Reason', '')} {h['TargetHealth'].get('Description', '')}".rstrip()
             for h in health]
    healthy = [h for h in health if h["TargetHealth"]["State"] == "healthy"]
    facts = (("healthy", str(len(healthy))), ("registered", str(len(health))))
    if not health:
        return red(f"{tg_name} has no registered targets: no task is registered with the load balancer",
                   step=STEP3, next=[look], facts=facts)
    if not healthy:
        return red(f"{tg_name}: 0 of {len(health)} targets healthy", *lines, step=STEP3, next=[look], facts=facts)
    return green(f"{tg_name}: {len(healthy)} of {len(health)} targets healthy", *lines, step=STEP3, facts=facts)


def sg_admits(sg_name: str, sg: dict | None, ports: tuple[int, ...]) -> Verdict:
    """The tier's security group admits every port the endpoint needs."""
    if sg is None:
        return red(f"security group {sg_name} not found", step=STEP3,
                   next=[f"aws ec2 describe-security-groups --filters Name=group-name,Values={sg_name}"])
    missing = [p for p in ports if not admits(sg, p)]
    look = f"aws ec2 describe-security-groups --group-ids {sg['GroupId']}"
    if missing:
        return red(f"{sg_name} ({sg['GroupId']}) admits nothing on TCP {', '.join(map(str, missing))}",
                   *(f"TCP {p} from {', '.join(admits(sg, p))}" for p in ports if p not in missing),
                   step=STEP3, next=[look, "re-apply the infra stack (terraform apply) to restore the rule"])
    return green(f"{sg_name} admits " + "; ".join(f"TCP {p} from {', '.join(admits(sg, p))}" for p in ports),
                 step=STEP3)
