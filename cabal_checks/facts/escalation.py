"""Facts of the probe-failure runbook's escalation: NACLs, NAT instances and route tables, fail2ban lines,
container instances."""

from __future__ import annotations

from datetime import timedelta

from ..aws import ec2, ecs, logs
from ..aws.reader import NotFound
from ..context import Context
from ..gather import concurrently
from ..shapes import Network
from .account import cabal_vpc

NETWORK_PARTS = ("nacls", "nat", "route_tables")


def network(ctx: Context, parts: tuple[str, ...] = NETWORK_PARTS) -> Network:
    """The VPC and those of its NACLs (``nacls``), NAT instances (``nat``) and private route tables (``route_tables``)
    that ``parts`` asks for: those of the VPC (a neighbouring stack's ``cabal-nat-staging-0`` shares the prefix;
    without the VPC, whatever carries the names), matched here. Each check asks for the parts it judges, so a read
    denied for another part does not blind it."""
    asks = {"nacls": lambda: ec2.network_acls(ctx.aws),
            "nat": lambda: ec2.instances_named(ctx.aws, ctx.name("nat_instance_prefix")),
            "route_tables": lambda: ec2.route_tables_named(ctx.aws, ctx.name("private_route_table_prefix"))}
    vpc, *found = concurrently(lambda: cabal_vpc(ctx), *(asks[part] for part in parts))
    out = {part: tuple(ec2.in_vpc(items, vpc)) for part, items in zip(parts, found, strict=True)}
    if "nacls" in out and not vpc:
        out["nacls"] = ()
    return Network(vpc, **out)


def fail2ban_lines(ctx: Context) -> list[dict] | None:
    """fail2ban lines of the last 24 h in the imap log group (the runbook's ``aws logs tail`` command)."""
    now = ctx.settings.now
    return logs.events_with(ctx.aws, ctx.name("imap_log_group"), ("fail2ban",), now - timedelta(days=1), now)


def container_instances(ctx: Context) -> list[dict]:
    try:
        return ecs.container_instances(ctx.aws, ctx.name("cluster"))
    except NotFound:
        return []

