"""Probe-failure escalation: seeded token, NACLs, fail2ban, container instances, NAT instances."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone

from ..shapes import Network, tag
from ..verdict import Verdict, green, red
from . import nacl

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


def nacl_denies(nacls: list[dict], ports: tuple[int, ...], sources: list[str],
                subnet_ids: set[str] | None = None, targets: Sequence[str] = ()) -> Verdict:
    """Every NACL on the probe's path (associated with one of ``subnet_ids``; every associated one when unknown) lets
    the probe through both ways, as AWS evaluates it (stateless, first match by rule number, ``*`` last): in on the
    endpoint's ports from each probe source (NAT addresses for public probes, the private subnets for in-VPC ones),
    and out to that source on the ephemeral ports (nacl.EPHEMERAL), or the replies are dropped. When the probes stand
    in the path's subnets themselves (in-VPC), their side too: out on the ports to ``targets`` (where the tasks are),
    and the replies in from there. A deny of someone else (an abusive sender's range, added during an auth-failure
    spike) is not the probes' problem: listed, green."""
    acls = nacl.in_path(nacls, subnet_ids)
    judged = list(sources) or [nacl.ANYWHERE]
    ins = _unique(r for acl in acls for s in judged for p in ports for r in nacl.refusals(acl, False, s, (p, p)))
    outs = [r for acl in acls for s in judged for r in nacl.refusals(acl, True, s, nacl.EPHEMERAL)]
    own = _unique([*(r for acl in acls for t in targets for p in ports for r in nacl.refusals(acl, True, t, (p, p))),
                   *(r for acl in acls for t in targets for r in nacl.refusals(acl, False, t, nacl.EPHEMERAL))])
    others = [f"{_entry(acl['NetworkAclId'], e)} (not a probe source)"
              for acl in acls for e in nacl.denies_unmatched(acl, ports, judged)]
    ports_text = ", ".join(map(str, ports))
    where = f"probe sources: {', '.join(sources) or 'unknown (judged for any address)'}"
    if not ins and not outs and not own:
        return green(f"no NACL deny entry covers TCP {ports_text} for the probe sources; the replies (TCP "
                     f"{nacl.EPHEMERAL[0]}-{nacl.EPHEMERAL[1]}) are let out to them"
                     + (" and the probes' own traffic both ways" if targets else ""), *others, step=ESC)
    first = (ins or outs or own)[0]
    look = f"aws ec2 describe-network-acls --network-acl-ids {first.acl_id}"
    if ins and all(r.rule_number is not None for r in ins):
        summary = f"NACL deny {'entry blocks' if len(ins) == 1 else 'entries block'} TCP {ports_text} for the probes"
    elif ins:
        summary = f"NACL {first.acl_id} lets nothing in on TCP {ports_text} from the probes: no rule allows it"
    elif outs:
        summary = (f"NACL {first.acl_id} lets TCP {ports_text} in but drops the replies: egress to the probes' "
                   f"ephemeral ports TCP {_ports(first.ports)} is not allowed (NACLs are stateless)")
    else:
        summary = (f"NACL {first.acl_id} on the probes' own subnets drops "
                   + (f"them on the way out to TCP {_ports(first.ports)}" if first.egress else
                      f"the replies coming back on TCP {_ports(first.ports)}") + " (NACLs are stateless)")
    return red(summary, *(_refused(r) for r in ins + outs + own), where,
               *([f"the tasks' subnets: {', '.join(targets)}"] if targets else []), *others, step=ESC,
               next=[look, _fix(first, acls)])


def _unique(refusals) -> list[nacl.Refusal]:
    return list({(r.acl_id, r.egress, r.source, r.rule_number, r.ports): r for r in refusals}.values())


def _refused(r: nacl.Refusal) -> str:
    return r.text() + (f" (covers probe source {r.source})" if r.rule_number is not None else "")


def _fix(r: nacl.Refusal, acls: list[dict]) -> str:
    """The command that lets the refused traffic through: delete the deny entry, or add the missing allow."""
    way = "--egress" if r.egress else "--ingress"
    if r.rule_number is not None:
        return (f"aws ec2 delete-network-acl-entry --network-acl-id {r.acl_id} --rule-number {r.rule_number} {way}"
                "  # Terraform defines no NACL entries")
    acl = next(a for a in acls if a["NetworkAclId"] == r.acl_id)
    used = {e.get("RuleNumber") for e in acl.get("Entries", []) if bool(e.get("Egress")) == r.egress}
    number = next(n for n in range(100, nacl.DEFAULT_RULE) if n not in used)
    return (f"aws ec2 create-network-acl-entry --network-acl-id {r.acl_id} {way} --rule-number {number} --protocol tcp "
            f"--port-range From={r.ports[0]},To={r.ports[1]} --cidr-block {r.source if '/' in r.source else r.source + '/32'}"
            " --rule-action allow  # or re-associate the subnet with the VPC's default NACL")


def _ports(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}-{p[1]}"


def _entry(acl_id: str, e: dict) -> str:
    span = e.get("PortRange") or {}
    return (f"{acl_id} rule {e['RuleNumber']} {'egress' if e.get('Egress') else 'ingress'} deny proto {e.get('Protocol')} "
            f"ports {span.get('From', 'all')}-{span.get('To', 'all')} {nacl.cidr_of(e)}")


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
    if nats is None or tables is None:  # a gathering that did not ask for them: a wiring mistake, not a red
        raise ValueError("nat_ok judges the network's nat and route_tables parts: gather both")
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
