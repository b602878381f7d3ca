"""Facts of the probe-failure runbook's escalation: NACLs, NAT instances and route tables, fail2ban lines,
container instances."""

from __future__ import annotations

from datetime import timedelta

from ..aws import ec2, ecs, logs
from ..aws.reader import NotFound
from ..context import Context
from ..gather import concurrently
from .account import cabal_vpc


def network(ctx: Context) -> dict:
    """VPC, its NACLs, NAT instances and private route tables: those of the VPC (a neighbouring stack's
    ``cabal-nat-staging-0`` shares the prefix; without the VPC, whatever carries the names), matched here."""
    vpc, nacls, nat, route_tables = concurrently(
        lambda: cabal_vpc(ctx), lambda: ec2.network_acls(ctx.aws),
        lambda: ec2.instances_named(ctx.aws, ctx.name("nat_instance_prefix")),
        lambda: ec2.route_tables_named(ctx.aws, ctx.name("private_route_table_prefix")))
    return {"vpc": vpc, "nacls": ec2.in_vpc(nacls, vpc) if vpc else [], "nat": ec2.in_vpc(nat, vpc),
            "route_tables": ec2.in_vpc(route_tables, vpc)}


def fail2ban_lines(ctx: Context) -> list[dict] | None:
    """fail2ban lines of the last 24 h in the imap log group (the runbook's ``aws logs tail`` command)."""
    now = ctx.settings.now
    return logs.events_with(ctx.aws, ctx.name("imap_log_group"), ("fail2ban",), now - timedelta(days=1), now)


def container_instances(ctx: Context) -> list[dict]:
    try:
        return ecs.container_instances(ctx.aws, ctx.name("cluster"))
    except NotFound:
        return []

