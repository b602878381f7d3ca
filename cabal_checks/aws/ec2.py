"""EC2: security groups, NACLs, NAT instances and private route tables, found by name."""

from __future__ import annotations

from ..shapes import tag  # noqa: F401 - also used as ec2.tag (tests): pure, it lives in shapes
from .reader import AwsReader


def security_groups(aws: AwsReader, names) -> list[dict]:
    """The security groups of these names, every VPC's (names are unique per VPC only: callers match ``VpcId``
    with ``in_vpc``), asked in one call (filter values are OR-ed)."""
    return aws.pages("ec2", "describe_security_groups", "SecurityGroups",
                     Filters=[{"Name": "group-name", "Values": sorted(set(names))}])


def subnets_named(aws: AwsReader, *prefixes: str) -> list[dict]:
    """Subnets whose Name tag starts with one of ``prefixes`` (every VPC: callers match ``VpcId``)."""
    return aws.pages("ec2", "describe_subnets", "Subnets",
                     Filters=[{"Name": "tag:Name", "Values": [p + "*" for p in prefixes]}])


def vpc(aws: AwsReader, name: str) -> dict | None:
    vpcs = aws.pages("ec2", "describe_vpcs", "Vpcs", Filters=[{"Name": "tag:Name", "Values": [name]}])
    return vpcs[0] if vpcs else None


def network_acls(aws: AwsReader) -> list[dict]:
    """Every network ACL of the region (a few per VPC): matched to the VPC by the caller, so the request need not
    wait for the VPC's id."""
    return aws.pages("ec2", "describe_network_acls", "NetworkAcls")


def network_interfaces_described(aws: AwsReader, descriptions) -> list[dict]:
    """The network interfaces whose description is one of ``descriptions`` (a load balancer's are ``ELB net/<name>/<id>``
    or ``ELB app/<name>/<id>``: one per zone, with its addresses)."""
    return aws.pages("ec2", "describe_network_interfaces", "NetworkInterfaces",
                     Filters=[{"Name": "description", "Values": sorted(set(descriptions))}])


def in_vpc(resources: list[dict], vpc: dict | None) -> list[dict]:
    """Those of ``vpc`` (a neighbouring stack's VPC may share every name and prefix); all of them when the VPC
    itself was not found. Matched here, so the lookups need not wait for the VPC's id."""
    return [r for r in resources if r.get("VpcId") == vpc["VpcId"]] if vpc else resources


def instances_named(aws: AwsReader, prefix: str) -> list[dict]:
    """Instances (not terminated ones) whose Name tag starts with ``prefix``, every VPC's."""
    out = []
    for res in aws.pages("ec2", "describe_instances", "Reservations",
                         Filters=[{"Name": "tag:Name", "Values": [prefix + "*"]}]):
        out += [i for i in res.get("Instances", []) if i.get("State", {}).get("Name") != "terminated"]
    return sorted(out, key=lambda i: tag(i, "Name"))


def route_tables_named(aws: AwsReader, prefix: str) -> list[dict]:
    tables = aws.pages("ec2", "describe_route_tables", "RouteTables",
                       Filters=[{"Name": "tag:Name", "Values": [prefix + "*"]}])
    return sorted(tables, key=lambda t: tag(t, "Name"))
