"""Facts of the probe-failure runbook, step 3: listeners, target groups, security groups, subnets."""

from __future__ import annotations

from dataclasses import replace

from ..aws import ec2, elb
from ..context import Context
from ..gather import concurrently
from ..shapes import Front, TargetGroup
from .account import cabal_vpc, front_load_balancers


def front_listeners(ctx: Context, lb_key: str) -> Front | None:
    """The load balancer and its listeners (what a listener's certificate needs, not where it forwards); None when
    the load balancer does not exist."""
    lb = front_load_balancers(ctx)[ctx.name(lb_key)]
    if lb is None:
        return None
    return Front(lb, tuple(elb.listeners(ctx.aws, lb["LoadBalancerArn"])))


def load_balancer(ctx: Context, lb_key: str) -> Front | None:
    """The load balancer, its listeners and where each forwards."""
    found = front_listeners(ctx, lb_key)
    if found is None:
        return None
    forwards = concurrently(*(lambda li=li: elb.listener_target_groups(ctx.aws, li) for li in found.listeners))
    return replace(found, forwards={li["ListenerArn"]: f for li, f in zip(found.listeners, forwards, strict=True)})


def target_group_description(ctx: Context, tg_key: str) -> dict | None:
    """The target group as described (its ARN: what a listener must forward to), None when it does not exist."""
    keys = dict.fromkeys([*ctx.settings.topology.target_groups(), tg_key])  # all of them, in one shared request
    return elb.target_groups(ctx.aws, [ctx.name(k) for k in keys])[ctx.name(tg_key)]


def target_group(ctx: Context, tg_key: str) -> TargetGroup | None:
    """The target group and its targets' health, None when the target group does not exist."""
    tg = target_group_description(ctx, tg_key)
    if tg is None:
        return None
    return TargetGroup(tg, tuple(elb.target_health(ctx.aws, tg["TargetGroupArn"])))


def security_group(ctx: Context, sg_key: str) -> dict | None:
    """The tier's group in the Cabalmail VPC (a staging VPC's group of the same name is not it). Every group of the
    topology is asked for in one request, beside the VPC's, and matched to the VPC here: no request waits for another."""
    keys = dict.fromkeys([*(e.security_group for e in ctx.settings.topology.endpoints if e.security_group), sg_key])
    vpc, groups = concurrently(lambda: cabal_vpc(ctx),
                               lambda: ec2.security_groups(ctx.aws, [ctx.name(k) for k in keys]))
    name = ctx.name(sg_key)
    return next((g for g in ec2.in_vpc(groups, vpc) if g.get("GroupName") == name), None)


def subnets(ctx: Context) -> dict[str, list[dict]]:
    """The deployment's subnets by kind (``public``, ``private``), every VPC's: the judge keeps the SG's VPC."""
    prefixes = {"private": ctx.name("private_subnet_prefix"), "public": ctx.name("public_subnet_prefix")}
    found = ec2.subnets_named(ctx.aws, *prefixes.values())
    return {kind: [s for s in found if ec2.tag(s, "Name").startswith(prefix)] for kind, prefix in prefixes.items()}



def front_zones(ctx: Context, lb_key: str) -> dict[str, str]:
    """Which zone each address of a load balancer is in, as AWS says: its ``LoadBalancerAddresses`` (Elastic IPs,
    private addresses) and the network interfaces of its nodes (``ELB net/<name>/<id>``: public and private addresses).
    Empty when the load balancer is not found."""
    lb = front_load_balancers(ctx)[ctx.name(lb_key)]
    if lb is None:
        return {}
    out = {}
    for az in lb.get("AvailabilityZones", []):
        for a in az.get("LoadBalancerAddresses", []):
            for key in ("IpAddress", "PrivateIPv4Address", "IPv6Address"):
                if a.get(key):
                    out[a[key]] = az.get("ZoneName", "")
    described = "ELB " + lb["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]
    for eni in ec2.network_interfaces_described(ctx.aws, [described]):
        zone = eni.get("AvailabilityZone", "")
        found = [eni.get("PrivateIpAddress"), (eni.get("Association") or {}).get("PublicIp"),
                 *(a.get("Ipv6Address") for a in eni.get("Ipv6Addresses", []))]
        out.update({ip: zone for ip in found if ip and zone})
    return out
