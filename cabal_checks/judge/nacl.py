"""Network ACLs as AWS evaluates them: stateless, each direction on its own, rules by ascending number, the first
that matches decides, and the ``*`` rule (32767, deny) last.

A probe crosses a NACL twice: in on the endpoint's port from the probe's address, and out again to that address on
the probe's own (ephemeral) port. Nothing remembers the connection, so an ACL that lets port 25 in but has no
outbound rule for the ephemeral ports drops every reply.

EPHEMERAL is 1024-65535, the range AWS documents for NACLs in front of load balancer and internet clients: a probe's
source port is not ours to choose (Kuma's Linux picks 32768-60999, the NAT instance may rewrite it, a Windows sender
uses 49152-65535), so every port of it must be let out, or some replies are dropped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

EPHEMERAL = (1024, 65535)
DEFAULT_RULE = 32767
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Refusal:
    """One direction of one NACL refuses (part of) the probe's traffic: ``rule`` is the entry that matched first (None:
    no entry matched, the implicit ``*`` deny), ``ports`` the span it refuses."""

    acl_id: str
    egress: bool
    source: str
    ports: tuple[int, int]
    rule: dict | None

    def text(self) -> str:
        replies = " (the replies)" if self.ports == EPHEMERAL else ""
        way = (f"egress to {self.source} on TCP {_span(self.ports)}{replies}" if self.egress
               else f"ingress from {self.source} on TCP {_span(self.ports)}{replies}")
        if self.rule is None or self.rule.get("RuleNumber", DEFAULT_RULE) >= DEFAULT_RULE:
            return f"{self.acl_id} {way}: no rule allows it, the * rule denies"
        e = self.rule
        span = e.get("PortRange") or {}
        return (f"{self.acl_id} {way}: rule {e['RuleNumber']} {'egress' if e.get('Egress') else 'ingress'} deny "
                f"proto {e.get('Protocol')} ports {span.get('From', 'all')}-{span.get('To', 'all')} {cidr_of(e)}")

    @property
    def rule_number(self) -> int | None:
        n = (self.rule or {}).get("RuleNumber")
        return n if n is not None and n < DEFAULT_RULE else None


def in_path(nacls: list[dict], subnet_ids: set[str] | None = None) -> list[dict]:
    """The NACLs that filter the path: associated with one of ``subnet_ids`` (every associated one when the path's
    subnets are unknown). A NACL associated with no subnet filters nothing; one listed without the key is kept."""
    out = []
    for acl in nacls:
        if "Associations" not in acl:
            out.append(acl)
            continue
        subnets = {a.get("SubnetId") for a in acl["Associations"]}
        if subnets and (not subnet_ids or subnets & subnet_ids):
            out.append(acl)
    return out


def path_subnets(internal: bool, subnets: dict[str, list[dict]], vpc_id: str) -> set[str]:
    """The deployment's subnets a probe crosses: an in-VPC endpoint's tasks sit in the private subnets; a public one's
    path crosses the load balancer's public subnets, then the tasks' private ones (client addresses preserved)."""
    kinds = ("private",) if internal else ("public", "private")
    return {s["SubnetId"] for k in kinds for s in subnets.get(k, []) if s.get("VpcId") == vpc_id and "SubnetId" in s}


def refusals(acl: dict, egress: bool, source: str, ports: tuple[int, int]) -> list[Refusal]:
    """Where ``acl`` refuses TCP ``ports`` (a span) to (egress) or from (ingress) ``source``, first match wins.

    A rule that matches only part of the source's addresses does not settle it: an allow for part of them lets the
    rest go on to the next rule; a deny of part of them refuses (some probes come from there)."""
    left = [ports]  # the port spans no rule has decided yet
    out = []
    for e in sorted((e for e in acl.get("Entries", []) if bool(e.get("Egress")) == egress),
                    key=lambda e: e.get("RuleNumber", DEFAULT_RULE)):
        if e.get("Protocol") not in ("-1", "6") or not _overlaps(source, cidr_of(e)):
            continue
        span = _span_of(e)
        hit = [s for s in (_cut(p, span) for p in left) if s]
        if not hit:
            continue
        if e.get("RuleAction") == "deny":
            out += [Refusal(acl["NetworkAclId"], egress, source, s, e) for s in hit]
            left = [r for p in left for r in _minus(p, span)]
        elif _contains(cidr_of(e), source):
            left = [r for p in left for r in _minus(p, span)]
        if not left:
            return out
    return out + [Refusal(acl["NetworkAclId"], egress, source, p, None) for p in left]


def denies_unmatched(acl: dict, ports: tuple[int, ...], sources: list[str]) -> list[dict]:
    """Ingress deny entries (not ``*``) on ``ports`` that none of ``sources`` falls under: someone else's block."""
    return [e for e in acl.get("Entries", []) if e.get("RuleAction") == "deny" and not e.get("Egress")
            and e.get("RuleNumber", DEFAULT_RULE) < DEFAULT_RULE and e.get("Protocol") in ("-1", "6")
            and any(_cut((p, p), _span_of(e)) for p in ports) and not any(_overlaps(s, cidr_of(e)) for s in sources)]


def cidr_of(e: dict) -> str:
    return e.get("CidrBlock") or e.get("Ipv6CidrBlock") or ""


def _span_of(e: dict) -> tuple[int, int]:
    if e.get("Protocol") == "-1":
        return (0, 65535)
    span = e.get("PortRange") or {}
    return (span.get("From", 0), span.get("To", 65535))


def _cut(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int] | None:
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None


def _minus(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    if not _cut(a, b):
        return [a]
    return [s for s in ((a[0], b[0] - 1), (b[1] + 1, a[1])) if s[0] <= s[1]]


def _span(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}-{p[1]}"


def _net(text: str):
    try:
        return ipaddress.ip_network(text, strict=False)
    except (ValueError, TypeError):
        return None


def _overlaps(a: str, b: str) -> bool:
    x, y = _net(a), _net(b)
    return bool(x and y and x.version == y.version and x.overlaps(y))


def _contains(outer: str, inner: str) -> bool:
    x, y = _net(outer), _net(inner)
    return bool(x and y and x.version == y.version and y.subnet_of(x))
