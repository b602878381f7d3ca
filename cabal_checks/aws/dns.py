"""Route 53: the control domain's public and private zones and their records."""

from __future__ import annotations

from ..gather import concurrently
from .reader import AwsReader


def zones(aws: AwsReader, domain: str, vpc_id=None) -> dict[str, dict]:
    """``{"public": zone, "private": zone}`` for the zones named exactly ``domain`` (either may be absent).

    Private zones of one name may exist once per VPC (a neighbouring stack's): of several, the one associated with
    the VPC whose id ``vpc_id()`` gives (``get_hosted_zone`` lists a private zone's VPCs), asked only then, and only
    by a caller that wants the private zone (gives ``vpc_id``)."""
    want = domain.rstrip(".") + "."
    found: dict[str, list[dict]] = {}
    out = aws.call("route53", "list_hosted_zones_by_name", DNSName=want, MaxItems="100")
    for zone in out.get("HostedZones", []):
        if zone["Name"].lower() == want.lower():
            found.setdefault("private" if zone.get("Config", {}).get("PrivateZone") else "public", []).append(zone)
    private = found.get("private", [])
    if len(private) > 1 and vpc_id is not None:
        vpc, *details = concurrently(vpc_id, *(lambda z=z: aws.call("route53", "get_hosted_zone", Id=z["Id"])
                                                for z in private))
        ours = [z for z, d in zip(private, details, strict=True)
                if vpc and any(v.get("VPCId") == vpc for v in d.get("VPCs", []))]
        found["private"] = ours or private
    return {kind: candidates[0] for kind, candidates in found.items()}


def records(aws: AwsReader, zone_id: str) -> list[dict]:
    return aws.pages("route53", "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id)
