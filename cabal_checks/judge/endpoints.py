"""Probe-failure step 1: does each endpoint answer as the monitors expect; is each name in DNS."""

from __future__ import annotations

import json
from dataclasses import replace

from .. import shapes
from ..shapes import DnsView
from ..topology import Endpoint
from ..verdict import NotApplicable, Verdict, green, red
from ..wire import NO_ROUTE, ProbeResult

STEP1 = "probe-failure, step 1 (external vs in-VPC)"
BLACKBOX_CODES = (200, 301, 302, 401)  # blackbox http_2xx valid_status_codes


def first_look(ep: Endpoint, address: str = "") -> str:
    """The runbook's own first command for this endpoint; at ``address`` (``ip:port``, one of the name's several),
    the same command aimed at that address alone."""
    ip, _, port = address.rpartition(":") if address else (ep.host, "", str(ep.port))
    ip = ip.strip("[]")
    if ep.scheme == "https":
        return f"curl -I --connect-to {ep.host}:{ep.port}:{ip}:{port} {ep.spec}" if address else f"curl -I {ep.spec}"
    where = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
    if ep.scheme in ("imaps", "smtps"):
        return f"openssl s_client -connect {where} -servername {ep.verify_name} -brief"
    starttls = "imap" if ep.scheme.startswith("imap") else "smtp"
    if ep.scheme == "smtp":
        return f"nc -zv {ip} {port}"
    return f"openssl s_client -connect {where} -starttls {starttls} -servername {ep.verify_name} -brief"


def dns_look(ep: Endpoint) -> str:
    """The name did not resolve: ask the resolver here, then a public one (the public zone's answer)."""
    return f"dig +short {ep.host}; dig +short {ep.host} @1.1.1.1  # this vantage's resolver, then a public one"


def probe_answers(ep: Endpoint, r: ProbeResult, *, with_token: bool, cluster: str, service: str,
                  inside: ProbeResult | None = None, targets_healthy: bool | None = None,
                  zones: dict[str, str] | None = None) -> Verdict:
    """The endpoint's dialogue succeeded and its answer is what the monitor accepts, at every address its name
    stands for (``zones``: address -> zone, as the load balancer says; a bad node is named with its zone)."""
    if not r.ok and ep.internal and r.step == "resolve":
        raise NotApplicable(f"{ep.host} is a VPC-internal name and does not resolve from this runner: "
                            f"run inside the VPC, pass --connect-to, or use --vpc-host")
    problem = _problem(ep, r, with_token, zones)
    problem = f"failed at {problem}" if problem and not r.ok else problem
    where = f" (connected to {r.address})" if r.address else ""
    if r.addresses and r.ok:
        where = f" at each of its {len(r.addresses)} addresses"
    if not problem:
        return green(f"{ep.spec} answered{where}", *_summary(r), *_per_address(r, zones), step=STEP1, facts=_facts(r))
    evidence = [*_summary(r), *_per_address(r, zones), *(f"transcript: {line}" for line in r.transcript[-6:])]
    bad = _bad_addresses(ep, r, with_token) if r.addresses else []
    if r.step == "resolve":
        next_ = [dns_look(ep)]  # the command that fits where it failed
    else:
        next_ = [first_look(ep, bad[0][0]), first_look(ep)] if bad else [first_look(ep)]
    if ep.probe == "api_list" and with_token:
        inside = None  # the in-VPC probe carries no token: its answer says nothing about this one
    if inside is not None:
        if inside.ok:
            evidence.append("from inside the VPC the same probe PASSES: the fault is at the load balancer or DNS layer")
        else:
            evidence.append(f"from inside the VPC it fails too ({inside.step}: {inside.error}): the service itself")
    if targets_healthy:
        evidence.append("its target group reports healthy targets: suspect a security-group rule, "
                        "the listener or DNS, not the service (step 3)")
    if service:
        next_.append(f"aws ecs describe-services --cluster {cluster} --services {service} "
                     "--query 'services[].{name:serviceName,running:runningCount,desired:desiredCount,events:events[0:3]}'")
    return red(f"{ep.spec} {problem}", *evidence, step=STEP1, next=next_, facts=_facts(r))


def _http_problem(ep: Endpoint, r: ProbeResult, with_token: bool) -> str:
    status = r.status
    if ep.probe == "api_list":
        if status and 200 <= status < 300:
            return ""
        if status == 401 and not with_token:
            return ""  # unauthenticated reachability, as the current 'API reachable (/list)' monitor accepts
        if status == 401:
            return ("answered 401: the token was refused - the seeded JWT has most likely expired "
                    "(see the escalation check of the token), not the API")
        if status and status >= 500:
            return f"answered {status}: API Gateway -> Lambda 'list' failed ({_error_of(r.body)}); the API, not the token"
        return f"answered {status}"
    if ep.probe == "ntfy":
        if status != 200:
            return f"answered {status}, want 200"
        try:
            data = json.loads(r.body)
        except ValueError:
            return f"answered 200 with a body that is not JSON: {r.body[:80]!r}"
        healthy = data.get("healthy") if isinstance(data, dict) else None
        if healthy is True:
            return ""
        return f"answered 200 but \"healthy\" is {json.dumps(healthy)}, want true: {r.body[:80]!r}"
    if status in BLACKBOX_CODES:
        return ""
    hint = {403: " (CloudFront serves US sources only; or the S3 object is missing)"}.get(status, "") if status else ""
    return f"answered {status}, want one of {', '.join(map(str, BLACKBOX_CODES))}{hint}"


def _error_of(body: str) -> str:
    try:
        return str(json.loads(body).get("Error") or json.loads(body).get("message"))[:120]
    except (ValueError, AttributeError):
        return body[:120] or "empty body"


def _summary(r: ProbeResult) -> list[str]:
    out = []
    if r.tls_version:
        out.append(f"TLS {r.tls_version}, chain {'verified' if r.verified else 'NOT verified'}"
                   f"{': ' + r.verify_error if r.verify_error else ''}")
    if r.status is not None:
        out.append(f"HTTP {r.status}" + (f" after redirects {' -> '.join(r.redirects)}" if r.redirects else ""))
    out.append(f"elapsed {r.elapsed:.2f}s")
    return out


def _facts(r: ProbeResult) -> tuple:
    verify = (("tls_verify", r.verify_error),) if r.verify_error else ()  # the diagnosis: a certificate failure
    return (("address", r.address), ("step", r.step or "ok"), ("elapsed", f"{r.elapsed:.3f}"), *verify)


def _problem(ep: Endpoint, r: ProbeResult, with_token: bool, zones: dict[str, str] | None = None) -> str:
    """What is wrong with the answer ("" when nothing); for a name of several addresses, the first bad one's, naming
    it (and its zone, where the load balancer says): `` at 1.2.3.4:25 in us-east-1b (1 of 3 addresses failing)``."""
    if r.addresses:
        bad = _bad_addresses(ep, r, with_token)
        if not bad:
            return ""
        address, step, problem = bad[0]
        where = f"at {address}{_zone(address, zones)} ({len(bad)} of {len(r.addresses)} addresses failing)"
        return f"{step} {where}: {problem}" if step else f"{where} {problem}"
    if not r.ok:
        return f"{r.step}: {r.error}"
    return _http_problem(ep, r, with_token) if ep.scheme == "https" else ""


def _bad_addresses(ep: Endpoint, r: ProbeResult, with_token: bool) -> list[tuple[str, str, str]]:
    """(address, failed step or "", problem) of each address whose answer is wrong; an IPv6 address this runner
    cannot reach is not judged."""
    out = []
    for a in r.addresses:
        if not a["ok"]:
            if NO_ROUTE not in a["error"]:
                out.append((a["address"], a["step"], a["error"]))
        elif ep.scheme == "https":
            problem = _http_problem(ep, replace(r, status=a.get("status"), body=a.get("body") or ""), with_token)
            if problem:
                out.append((a["address"], "", problem))
    if not out and not r.ok:  # no address this runner can reach at all: as red as a single one would be
        out = [(a["address"], a["step"], a["error"]) for a in r.addresses if not a["ok"]]
    return out


def _zone(address: str, zones: dict[str, str] | None) -> str:
    zone = (zones or {}).get(address.rsplit(":", 1)[0].strip("[]"))
    return f" in {zone}" if zone else ""


def _per_address(r: ProbeResult, zones: dict[str, str] | None) -> list[str]:
    return [f"address {a['address']}{_zone(a['address'], zones)}: "
            + (f"answered{' HTTP ' + str(a['status']) if a.get('status') else ''}" if a["ok"]
               else f"failed at {a['step']}: {a['error']}") for a in r.addresses]


def in_vpc(ep: Endpoint, inside: ProbeResult, outside: ProbeResult | None, cluster: str, service: str) -> Verdict:
    """The same probe from inside the VPC (never with a token). Red here means the service itself is broken."""
    problem = _problem(ep, inside, with_token=False)
    outside_problem = _problem(ep, outside, with_token=False) if outside is not None else ""
    if not problem:
        also = "; the public probe fails: load balancer or DNS layer" if outside_problem else ""
        return green(f"{ep.spec} answers from inside the VPC{also}", step=STEP1)
    evidence = [f"inside the VPC: {problem}"]
    if outside is not None:
        evidence.append(f"from this runner: {outside_problem or 'ok'}")
    next_ = []
    if service:
        next_ = [f"aws ecs execute-command --cluster {cluster} --task <task-id> --interactive --command /bin/sh",
                 f"aws ecs describe-services --cluster {cluster} --services {service}"]
    return red(f"{ep.spec} fails from inside the VPC too: the service itself" if outside_problem else
               f"{ep.spec} fails from inside the VPC", *evidence, step=STEP1, next=next_ or [first_look(ep)],
               facts=_facts(inside))


def dns_points_at_front(ep: Endpoint, zone_kind: str, view: DnsView) -> Verdict:
    """The endpoint's name exists in the zone and points at its front (NLB, ALB or CloudFront)."""
    zone = view.zones.get(zone_kind)
    if zone is None:
        return red(f"no {zone_kind} hosted zone named {ep.host.split('.', 1)[1]}",
                   step=STEP1, next=[f"aws route53 list-hosted-zones-by-name --dns-name {ep.host.split('.', 1)[1]}"])
    zid = zone.id
    found = shapes.find(zone.records, ep.host)
    want = view.fronts.get(ep.front)
    look = f"aws route53 list-resource-record-sets --hosted-zone-id {zid} --query \"ResourceRecordSets[?Name=='{ep.host}.']\""
    if not found:
        return red(f"{ep.host} has no A/AAAA/CNAME record in the {zone_kind} zone {zid}",
                   f"expected it to point at the {ep.front} {want or '(front not found)'}", step=STEP1, next=[look])
    targets = sorted({_strip(shapes.target_of(r)) for r in found})
    if want and _strip(want) not in targets:
        return red(f"{ep.host} in the {zone_kind} zone points at {', '.join(targets)}, not at the {ep.front}",
                   f"{ep.front} DNS name: {want}", step=STEP1, next=[look])
    if not want:
        return red(f"{ep.host} points at {', '.join(targets)} but the {ep.front} it should point at was not found",
                   step=STEP1, next=[look])
    return green(f"{ep.host} ({zone_kind}) -> {', '.join(targets)}", step=STEP1)


def _strip(name: str) -> str:
    return name.removeprefix("dualstack.").rstrip(".").lower()
