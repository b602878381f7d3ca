"""EC2: security groups, NACLs, NAT instances and private route tables, found by name."""

from __future__ import annotations

from .reader import AwsReader


def security_groups(aws: AwsReader, names) -> dict[str, dict | None]:
    """Each named security group (None when there is none), asked in one call (filter values are OR-ed)."""
    names = sorted(set(names))
    groups = aws.pages("ec2", "describe_security_groups", "SecurityGroups",
                       Filters=[{"Name": "group-name", "Values": names}])
    return {n: next((g for g in groups if g.get("GroupName") == n), None) for n in names}


def admits(group: dict, port: int) -> list[str]:
    """The sources an SG admits on TCP ``port`` (CIDRs, prefix lists, other groups)."""
    sources = []
    for perm in group.get("IpPermissions", []):
        proto = perm.get("IpProtocol")
        if proto not in ("-1", "tcp", "6"):
            continue
        if proto != "-1" and not (perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)):
            continue
        sources += [r["CidrIp"] for r in perm.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        sources += [r["PrefixListId"] for r in perm.get("PrefixListIds", [])]
        sources += [r["GroupId"] for r in perm.get("UserIdGroupPairs", [])]
    return sources


def vpc(aws: AwsReader, name: str) -> dict | None:
    vpcs = aws.pages("ec2", "describe_vpcs", "Vpcs", Filters=[{"Name": "tag:Name", "Values": [name]}])
    return vpcs[0] if vpcs else None


def network_acls(aws: AwsReader, vpc_id: str) -> list[dict]:
    return aws.pages("ec2", "describe_network_acls", "NetworkAcls", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])


def instances_named(aws: AwsReader, prefix: str) -> list[dict]:
    """Instances (not terminated ones) whose Name tag starts with ``prefix``."""
    out = []
    for res in aws.pages("ec2", "describe_instances", "Reservations",
                         Filters=[{"Name": "tag:Name", "Values": [prefix + "*"]}]):
        out += [i for i in res.get("Instances", []) if i.get("State", {}).get("Name") != "terminated"]
    return sorted(out, key=lambda i: tag(i, "Name"))


def route_tables_named(aws: AwsReader, prefix: str) -> list[dict]:
    tables = aws.pages("ec2", "describe_route_tables", "RouteTables",
                       Filters=[{"Name": "tag:Name", "Values": [prefix + "*"]}])
    return sorted(tables, key=lambda t: tag(t, "Name"))


def tag(resource: dict, key: str) -> str:
    for t in resource.get("Tags", []):
        if t.get("Key") == key:
            return t.get("Value", "")
    return ""
