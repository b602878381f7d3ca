"""Pure helpers over the shapes AWS answers in (records, groups, tags): no client, no request, no boto3.

The judges read facts with these; the AWS lookups (``aws/``) use them too."""

from __future__ import annotations


def find(records_: list[dict], name: str, types=("A", "AAAA", "CNAME")) -> list[dict]:
    want = name.rstrip(".").lower() + "."
    return [r for r in records_ if r["Name"].lower().replace("\\052", "*") == want and r["Type"] in types]


def target_of(record: dict) -> str:
    """Where a record points: the alias DNS name or the first value, lower case, no trailing dot."""
    if record.get("AliasTarget"):
        return record["AliasTarget"]["DNSName"].rstrip(".").lower()
    values = [r["Value"] for r in record.get("ResourceRecords", [])]
    return values[0].rstrip(".").lower() if values else ""


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


def tag(resource: dict, key: str) -> str:
    for t in resource.get("Tags", []):
        if t.get("Key") == key:
            return t.get("Value", "")
    return ""
