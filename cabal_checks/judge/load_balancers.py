"""Probe-failure step 3: the listener, the target group's health, the security group."""

from __future__ import annotations

import ipaddress

from ..shapes import Front, TargetGroup, admits
from ..topology import Endpoint
from ..verdict import Verdict, green, red

STEP3 = "probe-failure, step 3 (load-balancer target health)"


def listener_present(ep: Endpoint, lb_name: str, lb: Front | None, tg_arn: str | None,
                     forwards_to: dict[str, list[str]]) -> Verdict:
    """The front has a listener on the endpoint's port that forwards to the endpoint's target group."""
    if lb is None:
        return red(f"load balancer {lb_name} not found", step=STEP3,
                   next=[f"aws elbv2 describe-load-balancers --names {lb_name}"])
    arn = lb.lb["LoadBalancerArn"]
    ports = sorted(li["Port"] for li in lb.listeners)
    port = 443 if ep.scheme == "https" else ep.port
    match = [li for li in lb.listeners if li["Port"] == port]
    look = f"aws elbv2 describe-listeners --load-balancer-arn {arn}"
    if not match:
        return red(f"{lb_name} has no listener on port {port}", f"listeners on ports: {ports or 'none'}",
                   step=STEP3, next=[look, "re-apply the infra stack (terraform apply) to restore the listener"])
    listener = match[0]
    if tg_arn and tg_arn not in forwards_to.get(listener["ListenerArn"], []):
        return red(f"{lb_name} listener {port}/{listener['Protocol']} does not forward to {ep.target_group}",
                   f"forwards to: {forwards_to.get(listener['ListenerArn']) or 'nothing'}", step=STEP3, next=[look])
    return green(f"{lb_name} listener {port}/{listener['Protocol']} present", step=STEP3)


def targets_healthy(tg_name: str, tg: TargetGroup | None) -> Verdict:
    """At least one registered target is healthy; every unhealthy one is listed with its reason code."""
    if tg is None:
        return red(f"target group {tg_name} not found", step=STEP3,
                   next=[f"aws elbv2 describe-target-groups --names {tg_name}"])
    arn = tg.tg["TargetGroupArn"]
    look = f"aws elbv2 describe-target-health --target-group-arn {arn}"
    health = tg.health
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


def required_sources(kinds: tuple[str, ...], subnets: dict[str, list[dict]], vpc_id: str) -> dict[str, list[str]]:
    """Where the probes stand, as CIDRs: ``internet`` 0.0.0.0/0; ``public_subnets`` / ``private_subnets`` the CIDRs
    of the deployment's subnets of that kind in the SG's VPC (an empty list: none found by name)."""
    out = {}
    for kind in kinds:
        if kind == "internet":
            out[kind] = ["0.0.0.0/0"]
        else:
            out[kind] = [s["CidrBlock"] for s in subnets.get(kind.split("_")[0], []) if s.get("VpcId") == vpc_id]
    return out


def _covered(cidr: str, admitted: list[str]) -> bool:
    net = ipaddress.ip_network(cidr, strict=False)
    for source in admitted:
        try:
            other = ipaddress.ip_network(source, strict=False)
        except ValueError:  # a prefix list or another group: not a CIDR
            continue
        # net.subnet_of(other), for either IP version: CIDR blocks are nested or disjoint
        if other.version == net.version and net.overlaps(other) and net.prefixlen >= other.prefixlen:
            return True
    return False


def sg_admits(sg_name: str, sg: dict | None, ports: tuple[int, ...], sources: tuple[str, ...] = (),
              subnets: dict[str, list[dict]] | None = None) -> Verdict:
    """The tier's security group admits every port the endpoint needs, from where its probes (and, for the mail
    tiers, the API Lambdas) stand (``sources``): admitting the port from elsewhere only is red too."""
    if sg is None:
        return red(f"security group {sg_name} not found", step=STEP3,
                   next=[f"aws ec2 describe-security-groups --filters Name=group-name,Values={sg_name}"])
    missing = [p for p in ports if not admits(sg, p)]
    look = f"aws ec2 describe-security-groups --group-ids {sg['GroupId']}"
    restore = "re-apply the infra stack (terraform apply) to restore the rule"
    if missing:
        return red(f"{sg_name} ({sg['GroupId']}) admits nothing on TCP {', '.join(map(str, missing))}",
                   *(f"TCP {p} from {', '.join(admits(sg, p))}" for p in ports if p not in missing),
                   step=STEP3, next=[look, restore])
    seen = [f"TCP {p} from {', '.join(admits(sg, p))}" for p in ports]
    need = required_sources(sources, subnets or {}, sg.get("VpcId", ""))
    unknown = [k for k, cidrs in need.items() if not cidrs]
    notes = [f"no subnet named for {k} found in {sg.get('VpcId')}: that source not judged" for k in unknown]
    shut = [(p, k, c) for p in ports for k, cidrs in need.items() for c in cidrs if not _covered(c, admits(sg, p))]
    groups = sorted({s for p in ports for s in admits(sg, p) if s.startswith(("sg-", "pl-"))})
    if shut and groups:  # the probes may stand in a referenced group: not a CIDR question this check can answer
        notes.append(f"admits {', '.join(groups)} too: whether the probes stand there is not judged")
        shut = []
    if shut:
        p, kind, cidr = shut[0]
        return red(f"{sg_name} ({sg['GroupId']}) admits TCP {', '.join(map(str, sorted({s[0] for s in shut})))} but not "
                   f"from where the probes stand ({kind.replace('_', ' ')}: {', '.join(sorted({s[2] for s in shut}))})",
                   *seen, f"needed: {'; '.join(f'{k} ' + ', '.join(c) for k, c in need.items())}", *notes, step=STEP3,
                   next=[look, f"aws ec2 describe-security-group-rules --filters Name=group-id,Values={sg['GroupId']}",
                         restore])
    where = f" (sources needed: {', '.join(need)})" if need else ""
    return green(f"{sg_name} admits " + "; ".join(seen) + where, *notes, step=STEP3)
