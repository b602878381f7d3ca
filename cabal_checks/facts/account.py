"""Facts several runbook families share: the deployment's VPC, both front load balancers (one request), the
control domain's public zone."""

from __future__ import annotations

from ..aws import dns, ec2, elb
from ..context import Context
from ..shapes import Zone


def cabal_vpc(ctx: Context) -> dict | None:
    """The deployment's VPC, by its name (one shared request): what the SG, NACL and private-zone lookups match."""
    return ec2.vpc(ctx.aws, ctx.name("vpc"))



FRONT_LBS = ("nlb", "alb")



def front_load_balancers(ctx: Context) -> dict[str, dict | None]:
    """Both load balancers (NLB, ALB), by name, in one request that every fact needing either shares."""
    return elb.load_balancers(ctx.aws, [ctx.name(k) for k in FRONT_LBS])


def public_zone(ctx: Context) -> Zone | None:
    """The control domain's public hosted zone and its records, None when there is none."""
    zone = dns.zones(ctx.aws, ctx.settings.control_domain).get("public")
    if zone is None:
        return None
    return Zone(zone, tuple(dns.records(ctx.aws, zone["Id"])))

