"""Probe-failure escalation: seeded token, NACLs, fail2ban, container instances, NAT instances."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from datetime import datetime, timezone

from ..shapes import Network, tag
from ..verdict import Verdict, green, red

ESC = "probe-failure, escalation"


def token_expiry(token: str, source: str, now: datetime, domain: str) -> Verdict:
    """The seeded id token's ``exp`` (decoded, not verified) is in the future. Never prints the token."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = datetime.fromtimestamp(int(claims["exp"]), timezone.utc)
    except (IndexError, ValueError, KeyError, TypeError):
        return red(f"the token in {source} is not a JWT with an exp claim", step=ESC,
                   next=[f"re-seed it: sign in at https://admin.{domain}/ and copy a fresh id_token"])
    hours = (exp - now).total_seconds() / 3600
    if hours > 0:
        return green(f"token from {source} expires {exp:%Y-%m-%d %H:%M}Z ({hours:.1f} h left)", step=ESC)
    return red(f"the seeded token from {source} expired {exp:%Y-%m-%d %H:%M}Z ({-hours:.1f} h ago)",
               "cabal_admin_client id tokens live 12 h: a pasted token keeps the /list monitor red",
               step=ESC, next=[f"re-seed it: sign in at https://admin.{domain}/, copy the id_token, paste it into "
                               "the Kuma monitor's Authorization header (docs/monitoring.md section 10)",
                               "or switch the monitor to the unauthenticated form that accepts 401 (cabal-infra 2417a33a)"])


def nacl_denies(nacls: list[dict], ports: tuple[int, ...], sources: list[str]) -> Verdict:
    """No NACL deny entry (before the default ``*`` rule) covers the endpoint's ports for a probe source (NAT
    addresses for public probes, the private subnets for in-VPC ones). A deny of someone else (an abusive
    sender's range, added during an auth-failure spike) is not the probes' problem: it is listed, green."""
    nacls = _in_effect(nacls, ports)
    hits, others = [], []
    for acl in nacls:
        for e in acl.get("Entries", []):
            if e.get("RuleAction") != "deny" or e.get("RuleNumber", 32767) >= 32767:
                continue
            if any(_covers(e, p) for p in ports):
                cidr = e.get("CidrBlock") or e.get("Ipv6CidrBlock") or ""
                ours = not sources or any(_overlaps(s, cidr) for s in sources)
                (hits if ours else others).append((acl["NetworkAclId"], e, cidr))
    ports_text = ", ".join(map(str, ports))
    if not hits:
        return green(f"no NACL deny entry covers TCP {ports_text} for the probe sources", *(
            f"{_entry(*h, [])} (not a probe source)" for h in others), step=ESC)
    acl_id, e, _ = hits[0]
    return red(f"NACL deny {'entry blocks' if len(hits) == 1 else 'entries block'} TCP {ports_text} for the probes",
               *(_entry(*h, sources) for h in hits), f"probe sources: {', '.join(sources) or 'unknown'}", step=ESC,
               next=[f"aws ec2 describe-network-acls --network-acl-ids {acl_id}",
                     f"aws ec2 delete-network-acl-entry --network-acl-id {acl_id} --rule-number {e['RuleNumber']}"
                     f" {'--egress' if e.get('Egress') else '--ingress'}  # Terraform defines no NACL entries"])


def _in_effect(nacls: list[dict], ports: tuple[int, ...]) -> list[dict]:
    """The NACLs and deny entries that can refuse a probe, as an incident leaves them: only a NACL associated with
    a subnet filters anything, and its entries match lowest number first, so a deny after an allow that lets the
    same ports in from the same addresses never matches."""
    out = []
    for acl in nacls:
        if acl.get("Associations") == []:  # AWS lists them always; a NACL without the key is kept
            continue
        entries = acl.get("Entries", [])
        out.append({**acl, "Entries": [e for e in entries
                                       if not (e.get("RuleAction") == "deny" and _shadowed(e, entries, ports))]})
    return out


def _shadowed(deny: dict, entries: list[dict], ports: tuple[int, ...]) -> bool:
    """Each of ``ports`` that ``deny`` covers is let in first by an earlier allow."""
    covered = [p for p in ports if _covers(deny, p)]
    return bool(covered) and all(_allowed_before(deny, entries, p) for p in covered)


def _covers(e: dict, port: int) -> bool:
    span = e.get("PortRange") or {}
    return e.get("Protocol") == "-1" or span.get("From", 0) <= port <= span.get("To", 65535)


def _allowed_before(deny: dict, entries: list[dict], port: int) -> bool:
    """An allow entry numbered before ``deny``, same direction, lets TCP ``port`` in from every address ``deny``
    names."""
    cidr = deny.get("CidrBlock") or deny.get("Ipv6CidrBlock") or ""
    return any(a.get("RuleAction") == "allow" and a.get("RuleNumber", 32767) < deny.get("RuleNumber", 32767)
               and bool(a.get("Egress")) == bool(deny.get("Egress")) and _covers(a, port)
               and a.get("Protocol") in ("-1", "6")
               and _contains(a.get("CidrBlock") or a.get("Ipv6CidrBlock") or "", cidr) for a in entries)


def _contains(outer: str, inner: str) -> bool:
    try:
        a, b = ipaddress.ip_network(outer, strict=False), ipaddress.ip_network(inner, strict=False)
    except ValueError:
        return False
    return a.version == b.version and b.subnet_of(a)


def _entry(acl_id: str, e: dict, cidr: str, sources: list[str]) -> str:
    span = e.get("PortRange") or {}
    return (f"{acl_id} rule {e['RuleNumber']} {'egress' if e.get('Egress') else 'ingress'} deny proto {e.get('Protocol')} "
            f"ports {span.get('From', 'all')}-{span.get('To', 'all')} {cidr}"
            + "".join(f" (covers probe source {s})" for s in sources if _overlaps(s, cidr)))


def _overlaps(source: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).overlaps(ipaddress.ip_network(cidr, strict=False))
    except (ValueError, TypeError):
        return False


BAN = re.compile(r"\bBan\s+(\S+)")


def fail2ban_bans(lines: list[dict] | None, group: str, sources: list[str], ran: bool) -> Verdict:
    """No fail2ban ban of a probe source in the imap log group in the last 24 h."""
    tail = f"aws logs tail {group} --filter-pattern fail2ban --since 24h | head -100"
    if lines is None:
        return red(f"log group {group} not found: the imap tier logs nowhere the runbook can read", step=ESC,
                   next=[f"aws logs describe-log-groups --log-group-name-prefix {group}"])
    bans = [(m.group(1), e) for e in lines if (m := BAN.search(e["message"]))]
    ours = [(ip, e) for ip, e in bans if ip in sources]
    note = ("" if ran else " (fail2ban is configured but its supervisord program is commented out at "
            "cabal-infra 763a5218, so no ban is expected)")
    if not ours:
        return green(f"no fail2ban ban of a probe source in {group} in the last 24 h"
                     f" ({len(bans)} ban(s) of other addresses){note}", step=ESC)
    return red(f"fail2ban banned a probe source: {', '.join(sorted({ip for ip, _ in ours}))}",
               *(e["message"][:200] for _, e in ours[:5]), step=ESC,
               next=[tail, "unban it in the imap task: aws ecs execute-command ... --command "
                           "'fail2ban-client unban <ip>'; the NAT/Kuma outbound address may have shifted"])


def container_instances_ok(cluster: str, instances: list[dict]) -> Verdict:
    """Every container instance is ACTIVE with its agent connected."""
    look = f"aws ecs list-container-instances --cluster {cluster}"
    if not instances:
        return red(f"cluster {cluster} has no registered container instances: no EC2 host to run the tiers",
                   step=ESC, next=[look, "aws autoscaling describe-auto-scaling-groups  # ASG prefix cabal-ecs-"])
    bad = [i for i in instances if i.get("status") != "ACTIVE" or not i.get("agentConnected")]
    lines = [f"{i.get('ec2InstanceId')} status {i.get('status')} agentConnected {i.get('agentConnected')}" for i in instances]
    if not bad:
        return green(f"{len(instances)} container instance(s) ACTIVE with agent connected", *lines, step=ESC)
    first = bad[0]
    return red(f"{len(bad)} of {len(instances)} container instance(s) wedged (agent disconnected or not ACTIVE)",
               *lines, step=ESC,
               next=[look, f"aws ecs describe-container-instances --cluster {cluster} --container-instances "
                           f"{first['containerInstanceArn']}",
                     f"aws ec2 describe-instance-status --instance-ids {first.get('ec2InstanceId')} --include-all-instances"])


def nat_ok(net: Network, prefix: str, rt_prefix: str) -> Verdict:
    """NAT instances running; no private route table's default route blackholed."""
    nats, tables = net.nat, net.route_tables
    lines = [f"{tag(i, 'Name')} {i['InstanceId']} {i['State']['Name']}" for i in nats]
    bad_nat = [i for i in nats if i["State"]["Name"] != "running"]
    bad_routes = []
    for t in tables:
        for r in t.get("Routes", []):
            if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State") != "active":
                target = r.get("InstanceId") or r.get("NetworkInterfaceId") or r.get("NatGatewayId")
                bad_routes.append(f"{tag(t, 'Name')} {t['RouteTableId']}: 0.0.0.0/0 -> {target} {r.get('State')}")
    if not nats:
        return red(f"no NAT instance named {prefix}*: private subnets have no way out", step=ESC,
                   next=[f"aws ec2 describe-instances --filters Name=tag:Name,Values='{prefix}*'"])
    if not tables:
        return red(f"no private route table named {rt_prefix}*", *lines, step=ESC,
                   next=[f"aws ec2 describe-route-tables --filters Name=tag:Name,Values='{rt_prefix}*'"])
    if not bad_nat and not bad_routes:
        return green(f"{len(nats)} NAT instance(s) running, default routes active", *lines, step=ESC)
    ids = " ".join(i["InstanceId"] for i in bad_nat) or " ".join(i["InstanceId"] for i in nats)
    return red(f"NAT broken: {len(bad_nat)} instance(s) not running, {len(bad_routes)} default route(s) not active",
               *lines, *bad_routes, "every in-VPC probe to a public name and every task start (image pull, SSM) fails",
               step=ESC, next=[f"aws ec2 describe-instance-status --instance-ids {ids} --include-all-instances",
                               f"aws ec2 start-instances --instance-ids {ids}  # if stopped; re-apply terraform if terminated"])
