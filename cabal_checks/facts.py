"""Facts the runbooks ask for, each a function of the run's Context (and an endpoint or a key).

Gathering only: no judgement here. AWS facts return plain data (None for "does not exist");
"can't tell" surfaces as ``CantTell``, "does not apply" as ``NotApplicable``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import tomltypes, wire
from .aws import acm, certbot, cloudfront, cognito, dns, ec2, ecs, elb, logs
from .aws.reader import SERVICES, NotFound
from .certs import pem_facts
from .config import Secret
from .context import Context
from .gather import concurrently
from .judge.cert_wire import Served, served
from .topology import Endpoint
from .verdict import CantTell, NotApplicable

WIRE_SOURCE = Path(wire.__file__)


# --- the wire ---------------------------------------------------------------------------------------


def probe_spec(endpoint: Endpoint, url: str = "") -> wire.ProbeSpec:
    """What to probe: the endpoint itself, or ``url`` (its backend) verified for the endpoint's name."""
    host, port, scheme = endpoint.host, endpoint.port, endpoint.scheme
    if url:
        scheme, _, rest = url.partition("://")
        host, _, port_text = rest.partition(":")
        port = int(port_text.split("/")[0])
    return wire.ProbeSpec(scheme, host, port, endpoint.path or "/", endpoint.verify_name)


def probe(ctx: Context, endpoint: Endpoint) -> wire.ProbeResult:
    """The endpoint probed from where this run stands, as the monitors do (but stricter).

    The /list probe connects and verifies TLS while its token is minted: the wait for the token is not
    the endpoint's time, and a hung endpoint ends at its own deadline however slow the minting is.
    """
    s = ctx.settings
    late = None
    if endpoint.probe == "api_list" and wants_token(s):
        if s.api_token is None:
            ctx.start("aws", minted_token)  # minted while the probe connects

        def late():
            token = api_token(ctx)
            return {"Authorization": f"Bearer {token.reveal()}"} if token is not None else {}
    return wire.probe(probe_spec(endpoint), s.probe_timeout, s.connect_to, s.ca_bundle, late_headers=late)


def probe_in_vpc(ctx: Context, endpoint: Endpoint) -> wire.ProbeResult:
    """The same probe run on ``--vpc-host`` (testinfra), against the endpoint's backend if it has one.

    Every endpoint the run compares goes in one batch (``ctx.vpc_endpoints``, set from the selected tests):
    one process there, one connection to the host, one deadline. It never carries a token: a secret must
    not travel on another host's command line.
    """
    if not ctx.settings.vpc_host:
        raise NotApplicable("no --vpc-host: the in-VPC comparison needs a host inside the VPC")
    batch = ctx.vpc_endpoints if endpoint in ctx.vpc_endpoints else (endpoint,)
    return ctx.get("vpc", probes_in_vpc, batch)[batch.index(endpoint)]


def probes_in_vpc(ctx: Context, endpoints: tuple[Endpoint, ...]) -> list[wire.ProbeResult]:
    import logging

    import testinfra  # imported here: only this fact needs it

    logging.getLogger("testinfra").setLevel(logging.WARNING)  # it logs every command (ours is this file)
    s = ctx.settings
    args = {"specs": [probe_spec(ep, ep.backend).__dict__ for ep in endpoints], "timeout": s.probe_timeout,
            "connect_to": s.vpc_connect_to, "cafile": s.ca_bundle}
    try:
        out = testinfra.get_host(s.vpc_host).run("timeout %s python3 -c %s %s", str(int(s.probe_timeout) + 2),
                                                 WIRE_SOURCE.read_text(), json.dumps(args))
    except Exception as exc:  # noqa: BLE001 - any backend failure means we cannot tell
        raise CantTell(f"--vpc-host {s.vpc_host}: could not run the probe there ({backend_said(exc)})") from None
    lines = out.stdout.strip().splitlines()[-len(endpoints):]
    if out.rc != 0 or len(lines) != len(endpoints):
        said = backend_said(out) if out.stderr.strip() else "is python3 there?"
        raise CantTell(f"--vpc-host {s.vpc_host}: probe did not run (exit {out.rc}: {said})")
    return [wire.ProbeResult.from_json(line) for line in lines]


def backend_said(what) -> str:
    """Why a testinfra backend failed, in one bounded line: the last line of the command's stderr (ssh's "Connection
    refused", docker's "Cannot connect"), from a ``CommandResult`` or the ``RuntimeError`` that carries one, else the
    exception's own words."""
    result = what.args[0] if isinstance(what, Exception) and what.args and hasattr(what.args[0], "stderr") else what
    text = getattr(result, "stderr", None) if not isinstance(result, Exception) else None
    if not isinstance(text, str) or not text.strip():
        text = f"{type(what).__name__}: {what}" if isinstance(what, Exception) and str(what) else type(what).__name__
    line = [x for x in text.strip().splitlines() if x.strip()][-1:] or [type(what).__name__]
    return tomltypes.shown(line[0].strip(), 200)


def clients_needed(s, facts) -> tuple[str, ...]:
    """The AWS clients a run gathering ``facts`` ((kind, fn, args) each) will use (``CLIENTS``), Cognito's when the
    /list probe mints its token; in the order to make them: the services at the head of the longest chains first."""
    needed = {service for kind, fn, _ in facts if kind == "aws" for service in CLIENTS[fn]}
    if s.api_token is None and wants_token(s) and any(fn is probe and args[0].probe == "api_list"
                                                      for _, fn, args in facts):
        needed.add("cognito-idp")
    return tuple(service for service in CLIENT_ORDER if service in needed)


def wants_token(s) -> bool:
    """Whether the /list probe carries a token: CABAL_API_TOKEN, or the probe user's to mint one."""
    return bool(s.api_token or (s.probe_username and s.probe_password))


def api_token(ctx: Context) -> Secret | None:
    """The token the /list probe sends: CABAL_API_TOKEN, or one minted with the probe user's password."""
    s = ctx.settings
    if s.api_token is not None:
        return s.api_token
    if s.probe_username and s.probe_password is not None:
        return ctx.get("aws", minted_token)
    return None


def minted_token(ctx: Context) -> Secret:
    """Minted on the first pool of the name whose client knows the probe user (pool names need not be unique)."""
    s = ctx.settings
    username, password = s.probe_username, s.probe_password
    if not username or password is None:
        raise CantTell("cannot mint a token: set CABAL_PROBE_USERNAME and CABAL_PROBE_PASSWORD (or CABAL_API_TOKEN)")
    cids = cognito.client_ids(ctx.aws, ctx.name("cognito_pool"), ctx.name("cognito_client"))
    if not cids:
        raise CantTell(f"cannot mint a token: Cognito client {ctx.name('cognito_client')} in pool "
                       f"{ctx.name('cognito_pool')} not found")
    refused = []
    for cid in cids:
        try:
            token = cognito.mint_id_token(ctx.aws, cid, username, password.reveal())
        except (CantTell, NotFound) as exc:  # NotFound: no such user in this pool
            refused.append(str(exc))
            continue
        return Secret(token, "a token minted for CABAL_PROBE_USERNAME")
    also = f" (and {len(cids) - 1} other pool(s) named {ctx.name('cognito_pool')})" if len(cids) > 1 else ""
    raise CantTell(f"cannot mint a token for CABAL_PROBE_USERNAME: {refused[0]}{also}")


# --- AWS ------------------------------------------------------------------------------------------


def ecs_services(ctx: Context) -> dict[str, dict | None]:
    """Every ECS service of the topology, one describe_services call."""
    names = tuple(ctx.name(k) for k in ctx.settings.topology.services())
    try:
        return ecs.services(ctx.aws, ctx.name("cluster"), names)
    except NotFound:  # no cluster: every service is missing, each a red step
        return {n: None for n in names}


def stopped_tasks(ctx: Context, service_key: str) -> list[dict]:
    try:
        return ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "STOPPED")
    except NotFound:
        return []


def container_instances(ctx: Context) -> list[dict]:
    try:
        return ecs.container_instances(ctx.aws, ctx.name("cluster"))
    except NotFound:
        return []


def load_balancer(ctx: Context, lb_key: str) -> dict | None:
    """The load balancer, its listeners and where each forwards: ``{"lb", "listeners", "forwards"}``."""
    lb = front_load_balancers(ctx)[ctx.name(lb_key)]
    if lb is None:
        return None
    listeners = elb.listeners(ctx.aws, lb["LoadBalancerArn"])
    forwards = concurrently(*(lambda li=li: elb.listener_target_groups(ctx.aws, li) for li in listeners))
    return {"lb": lb, "listeners": listeners,
            "forwards": {li["ListenerArn"]: f for li, f in zip(listeners, forwards, strict=True)}}


FRONT_LBS = ("nlb", "alb")


def front_load_balancers(ctx: Context) -> dict[str, dict | None]:
    """Both load balancers (NLB, ALB), by name, in one request that every fact needing either shares."""
    return elb.load_balancers(ctx.aws, [ctx.name(k) for k in FRONT_LBS])


def front_zones(ctx: Context, lb_key: str) -> dict[str, str]:
    """Which zone each address of a load balancer is in, as AWS says: its ``LoadBalancerAddresses`` (Elastic IPs,
    private addresses) and the network interfaces of its nodes (``ELB net/<name>/<id>``: public and private addresses).
    Empty when the load balancer is not found."""
    lb = front_load_balancers(ctx)[ctx.name(lb_key)]
    if lb is None:
        return {}
    out = {}
    for az in lb.get("AvailabilityZones", []):
        for a in az.get("LoadBalancerAddresses", []):
            for key in ("IpAddress", "PrivateIPv4Address", "IPv6Address"):
                if a.get(key):
                    out[a[key]] = az.get("ZoneName", "")
    described = "ELB " + lb["LoadBalancerArn"].split(":loadbalancer/", 1)[-1]
    for eni in ec2.network_interfaces_described(ctx.aws, [described]):
        zone = eni.get("AvailabilityZone", "")
        found = [eni.get("PrivateIpAddress"), (eni.get("Association") or {}).get("PublicIp"),
                 *(a.get("Ipv6Address") for a in eni.get("Ipv6Addresses", []))]
        out.update({ip: zone for ip in found if ip and zone})
    return out


def target_group(ctx: Context, tg_key: str) -> dict | None:
    """``{"tg": ..., "health": [...]}``, None when the target group does not exist."""
    keys = dict.fromkeys([*ctx.settings.topology.target_groups(), tg_key])  # all of them, in one shared request
    tg = elb.target_groups(ctx.aws, [ctx.name(k) for k in keys])[ctx.name(tg_key)]
    if tg is None:
        return None
    return {"tg": tg, "health": elb.target_health(ctx.aws, tg["TargetGroupArn"])}


def security_group(ctx: Context, sg_key: str) -> dict | None:
    """The tier's group in the Cabalmail VPC (a staging VPC's group of the same name is not it). Every group of the
    topology is asked for in one request, beside the VPC's, and matched to the VPC here: no request waits for another."""
    keys = dict.fromkeys([*(e.security_group for e in ctx.settings.topology.endpoints if e.security_group), sg_key])
    vpc, groups = concurrently(lambda: cabal_vpc(ctx),
                               lambda: ec2.security_groups(ctx.aws, [ctx.name(k) for k in keys]))
    name = ctx.name(sg_key)
    return next((g for g in ec2.in_vpc(groups, vpc) if g.get("GroupName") == name), None)


def cabal_vpc(ctx: Context) -> dict | None:
    """The deployment's VPC, by its name (one shared request): what the SG, NACL and private-zone lookups match."""
    return ec2.vpc(ctx.aws, ctx.name("vpc"))


def subnets(ctx: Context) -> dict[str, list[dict]]:
    """The deployment's subnets by kind (``public``, ``private``), every VPC's: the judge keeps the SG's VPC."""
    prefixes = {"private": ctx.name("private_subnet_prefix"), "public": ctx.name("public_subnet_prefix")}
    found = ec2.subnets_named(ctx.aws, *prefixes.values())
    return {kind: [s for s in found if ec2.tag(s, "Name").startswith(prefix)] for kind, prefix in prefixes.items()}


def network(ctx: Context) -> dict:
    """VPC, its NACLs, NAT instances and private route tables: those of the VPC (a neighbouring stack's
    ``cabal-nat-staging-0`` shares the prefix; without the VPC, whatever carries the names), matched here."""
    vpc, nacls, nat, route_tables = concurrently(
        lambda: cabal_vpc(ctx), lambda: ec2.network_acls(ctx.aws),
        lambda: ec2.instances_named(ctx.aws, ctx.name("nat_instance_prefix")),
        lambda: ec2.route_tables_named(ctx.aws, ctx.name("private_route_table_prefix")))
    return {"vpc": vpc, "nacls": ec2.in_vpc(nacls, vpc) if vpc else [], "nat": ec2.in_vpc(nat, vpc),
            "route_tables": ec2.in_vpc(route_tables, vpc)}


def dns_view(ctx: Context) -> dict:
    """The control domain's zones with their records, and the DNS names of the fronts."""
    def zones():
        found = dns.zones(ctx.aws, ctx.settings.control_domain,
                          lambda: (vpc := cabal_vpc(ctx)) and vpc["VpcId"])
        records = concurrently(*(lambda z=z: dns.records(ctx.aws, z["Id"]) for z in found.values()))
        return {kind: {"zone": z, "records": r} for (kind, z), r in zip(found.items(), records, strict=True)}

    view_zones, lbs, admin_domain = concurrently(zones, lambda: front_load_balancers(ctx), lambda: cloudfront_domain(ctx))
    fronts = {key: lb["DNSName"].rstrip(".").lower() if (lb := lbs[ctx.name(key)]) else None for key in FRONT_LBS}
    return {"zones": view_zones, "fronts": {**fronts, "cloudfront": admin_domain}}


def cloudfront_domain(ctx: Context) -> str | None:
    """The admin distribution's domain name, found by the id the deployment stores in SSM; None when either the
    parameter or the distribution is missing (the DNS check then says the name points nowhere known)."""
    try:
        dist_id = ctx.aws.call("ssm", "get_parameter", Name=ctx.name("cf_distribution_param"))["Parameter"]["Value"]
        dist = ctx.aws.call("cloudfront", "get_distribution", Id=dist_id)["Distribution"]
    except NotFound:
        return None
    return dist["DomainName"].rstrip(".").lower()


def fail2ban_lines(ctx: Context) -> list[dict] | None:
    """fail2ban lines of the last 24 h in the imap log group (the runbook's ``aws logs tail`` command)."""
    now = ctx.settings.now
    return logs.events_with(ctx.aws, ctx.name("imap_log_group"), ("fail2ban",), now - timedelta(days=1), now)


# --- certificates -----------------------------------------------------------------------------------

PUBLIC_CERT_PARAMS = ("ssm_cert", "ssm_chain")  # never "ssm_key": the suite does not read key material
CERTBOT_LOOKBACK = timedelta(days=95)  # longer than a Let's Encrypt certificate lives
RATE_LIMIT_WINDOW = timedelta(days=7)
CERTBOT_RUN_SPAN = timedelta(minutes=10)  # one invocation's metrics: the Lambda's timeout is 300 s
CERTBOT_FAILURE_WORDS = ("certbot exited with code", "Task timed out")
CERTBOT_RATE_LIMIT_WORDS = ("rateLimited", "429", "too many certificates")


def served_certificates(ctx: Context, endpoint: Endpoint) -> Served:
    """The chain the endpoint really serves, parsed, from the same probe the other checks use."""
    return served(ctx.get("wire", probe, endpoint), endpoint)


def acm_certificate(ctx: Context) -> dict | None:
    """The ACM wildcard ``*.<cd>``: ``{"cert": describe, "leaf": CertFacts | None, "others", "why"}``.

    Two may coexist briefly (create_before_destroy): prefer the one tagged Name=<acm_tag_name>, then
    the one in use, then the newest ISSUED; ``why`` says which was taken and why.
    """
    domain = f"*.{ctx.settings.control_domain}"
    summaries = acm.certificates_named(ctx.aws, domain)
    # The PEM of every certificate the listing says is ISSUED comes with its description and tags, not after the
    # choice: one round trip less, for one request per extra issued copy (usually none).
    def pem_ahead(summary):
        if summary.get("Status") == "ISSUED":
            try:
                acm.certificate_pem(ctx.aws, summary["CertificateArn"])
            except CantTell:  # matters only for the chosen one, whose fetch below raises it again (memoized)
                pass

    looks = concurrently(*(f for s in summaries for f in (
        lambda a=s["CertificateArn"]: acm.describe(ctx.aws, a), lambda a=s["CertificateArn"]: acm.tags(ctx.aws, a),
        lambda s=s: pem_ahead(s))))
    found = [(desc, tags) for desc, tags in zip(looks[::3], looks[1::3], strict=True) if desc is not None]
    if not found:
        return None
    tag = ctx.name("acm_tag_name")
    tagged = [d for d, t in found if t.get("Name") == tag]
    pool = sorted(tagged or [d for d, _ in found], key=_acm_rank, reverse=True)
    chosen = pool[0]
    pem = acm.certificate_pem(ctx.aws, chosen["CertificateArn"]) if chosen.get("Status") == "ISSUED" else None
    others = [d for d, _ in found if d is not chosen]
    return {"domain": domain, "cert": chosen, "leaf": facts_of_pem(pem), "others": others,
            "why": _acm_why(chosen, others, tag, bool(tagged))}


def _acm_rank(desc: dict) -> tuple:
    when = desc.get("NotAfter") or desc.get("IssuedAt") or desc.get("CreatedAt")
    return (bool(desc.get("InUseBy")), desc.get("Status") == "ISSUED", str(when or ""))


def _acm_why(chosen: dict, others: list[dict], tag: str, tagged: bool) -> str:
    untagged = "" if tagged else f"; none carries tag Name={tag}"
    if not others:
        return f"the only certificate named {chosen['DomainName']}{untagged}"
    reason = (f"in use by {len(chosen['InUseBy'])} resource(s)" if chosen.get("InUseBy")
              else "the newest ISSUED" if chosen.get("Status") == "ISSUED" else "the newest")
    rest = ", ".join(f"{d['CertificateArn']} ({d.get('Status')}, in use by {len(d.get('InUseBy') or [])})"
                     for d in others)
    return f"{len(others) + 1} certificates named {chosen['DomainName']}: took {chosen['CertificateArn']}, " \
           f"{reason}; also {rest}{untagged}"


def facts_of_pem(pem: str | None):
    if not pem:
        return None
    try:
        return pem_facts(pem)[0]
    except ValueError:
        return None


def acm_consumer(ctx: Context, consumer: tuple) -> dict:
    """Which certificate ARN a consumer of the ACM certificate presents: ``(front, port)`` for a listener of the
    NLB or the ALB, ``("cloudfront", alias)`` for the distribution that carries that alias.

    ``{"front", "name", "arn", "arn_cert", "resource_arn", "problem", ...}``; ``arn_cert`` describes the ARN it
    presents (its days left when it is not the current one); ``problem`` says why no ARN could be read.
    """
    front, where = consumer
    out = _cloudfront_consumer(ctx, where) if front == "cloudfront" else _listener_consumer(ctx, front, where)
    if out["arn"]:
        out["arn_cert"] = acm.describe(ctx.aws, out["arn"])
    return out


def _listener_consumer(ctx: Context, front: str, port: int) -> dict:
    lb_name = ctx.name(front)
    out = {"front": front, "name": f"{lb_name}:{port}", "port": port, "arn": None, "problem": "",
           "lb_arn": None, "listener_arn": None, "resource_arn": None}
    lb = load_balancer(ctx, front)
    if lb is None:
        return {**out, "problem": f"load balancer {lb_name} not found"}
    out["lb_arn"] = out["resource_arn"] = lb["lb"]["LoadBalancerArn"]
    listener = next((li for li in lb["listeners"] if li["Port"] == port), None)
    if listener is None:
        return {**out, "problem": f"{lb_name} has no listener on port {port}"}
    certs = listener.get("Certificates") or []
    out["listener_arn"] = listener["ListenerArn"]
    if not certs:
        return {**out, "problem": f"{lb_name} listener {port}/{listener.get('Protocol')} has no certificate"}
    return {**out, "arn": certs[0]["CertificateArn"]}


def _cloudfront_consumer(ctx: Context, alias: str) -> dict:
    """The distribution that carries ``alias``, found among all of the account's (not listed anywhere)."""
    out = {"front": "cloudfront", "alias": alias, "name": f"CloudFront alias {alias}", "arn": None, "problem": "",
           "distribution_id": None, "resource_arn": None}
    dist = next((d for d in cloudfront.distributions(ctx.aws) if alias in cloudfront.aliases(d)), None)
    if dist is None:
        return {**out, "problem": f"no CloudFront distribution carries the alias {alias}"}
    dist_id = dist["Id"]
    out.update(distribution_id=dist_id, resource_arn=dist.get("ARN"), name=f"CloudFront distribution {dist_id} ({alias})")
    viewer = dist.get("ViewerCertificate") or {}
    arn = viewer.get("ACMCertificateArn")
    if not arn:
        source = viewer.get("CertificateSource") or ("cloudfront" if viewer.get("CloudFrontDefaultCertificate") else "?")
        return {**out, "problem": f"CloudFront distribution {dist_id} ({alias}) presents no ACM certificate "
                                  f"(ViewerCertificate source: {source})"}
    return {**out, "arn": arn}


def public_zone(ctx: Context) -> dict | None:
    """The control domain's public hosted zone and its records, None when there is none."""
    zone = dns.zones(ctx.aws, ctx.settings.control_domain).get("public")
    if zone is None:
        return None
    return {"zone": zone, "records": dns.records(ctx.aws, zone["Id"])}


def certbot_function(ctx: Context) -> dict | None:
    return certbot.function(ctx.aws, ctx.name("certbot_function"))


def certbot_schedule(ctx: Context) -> dict | None:
    return certbot.schedule(ctx.aws, ctx.name("certbot_schedule"), ctx.name("certbot_schedule_group"))


def certbot_activity(ctx: Context) -> dict:
    """What the certbot Lambda did lately, from its real log group and its AWS/Lambda metrics.

    ``streams``: newest log streams (None when the group does not exist); ``last_start``: the newest
    ``START RequestId`` line's time (None without one), ``last_run_errors``: that invocation's Errors, per minute
    while CloudWatch keeps minutes (15 days), then per 5 minutes or per hour (``certbot.window_of``);
    ``invocations``/``errors``: daily sums over CERTBOT_LOOKBACK; ``failures``: failure lines over the same
    window; ``rate_limits``: rate-limit lines of the last RATE_LIMIT_WINDOW.
    """
    now, group, fn = ctx.settings.now, ctx.name("certbot_log_group"), ctx.name("certbot_function")
    start = now - CERTBOT_LOOKBACK
    streams, invocations, errors, failures, rate_limits, starts = concurrently(  # independent: one round trip
        lambda: logs.latest_streams(ctx.aws, group),
        lambda: certbot.metric_points(ctx.aws, fn, "Invocations", start, now),
        lambda: certbot.metric_points(ctx.aws, fn, "Errors", start, now),
        lambda: logs.events_with(ctx.aws, group, CERTBOT_FAILURE_WORDS, start, now),
        lambda: logs.events_with(ctx.aws, group, CERTBOT_RATE_LIMIT_WORDS, now - RATE_LIMIT_WINDOW, now),
        lambda: logs.events_with(ctx.aws, group, ("START",), start, now))
    starts = [e for e in starts or [] if e["message"].startswith("START RequestId")]
    last_start = datetime.fromtimestamp(starts[-1]["timestamp"] / 1000, UTC) if starts else None
    return {"group": group, "streams": streams, "invocations": invocations, "errors": errors,
            "failures": failures or [], "rate_limits": rate_limits or [],
            # the last invocation: its START line (a warm re-run shares the failed run's stream), its own Errors
            "last_start": last_start,
            "last_run_errors": certbot.metric_points(ctx.aws, fn, "Errors", *certbot.window_of(
                last_start, CERTBOT_RUN_SPAN, now)) if last_start else None}


def ssm_certificate(ctx: Context, key: str) -> dict | None:
    """The certificate (``ssm_cert``) or chain (``ssm_chain``) the certbot Lambda wrote to SSM, as facts.

    The PEM itself is dropped here; the private key parameter is never read.
    """
    if key not in PUBLIC_CERT_PARAMS:
        raise ValueError(f"ssm_certificate reads only {', '.join(PUBLIC_CERT_PARAMS)}, not {key!r}")
    name = ctx.name(key)
    param = certbot.parameter(ctx.aws, name)
    if param is None:
        return None
    try:
        certs, error = pem_facts(param.get("Value") or ""), ""
    except ValueError:
        certs, error = [], "the value is not a PEM certificate"
    return {"key": key, "name": name, "version": param.get("Version"), "modified": param.get("LastModifiedDate"),
            "certs": certs, "error": error}


def running_tasks(ctx: Context, service_key: str) -> list[dict] | None:
    """The service's RUNNING tasks, newest first; None when the cluster or the service does not exist."""
    try:
        return ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "RUNNING")
    except NotFound:
        return None


# The AWS clients each fact uses, the one of its first request first (made up front in the main thread: see
# AwsReader.prepare; the fault matrix proves that no run makes one anywhere else), and the order to make them in:
# elbv2 (pools, then listeners, then rules) and Cognito (pools, then clients, then the token the /list probe waits
# for) head chains of three requests; ACM (list, then describe, tags and PEM at once), Logs -> CloudWatch (the last
# run's START line, then its minutes' Errors), Route 53, SSM -> CloudFront and ECS of two; EC2 (the costliest client
# to make) and the rest of one.
CLIENTS = {
    ecs_services: ("ecs",), stopped_tasks: ("ecs",), container_instances: ("ecs",), running_tasks: ("ecs",),
    load_balancer: ("elbv2",), target_group: ("elbv2",), security_group: ("ec2",), subnets: ("ec2",), network: ("ec2",),
    front_zones: ("elbv2", "ec2"),
    dns_view: ("route53", "elbv2", "ssm", "cloudfront", "ec2"), fail2ban_lines: ("logs",), acm_certificate: ("acm",),
    acm_consumer: ("elbv2", "cloudfront", "acm"), public_zone: ("route53",), certbot_function: ("lambda",),
    certbot_schedule: ("scheduler",), certbot_activity: ("logs", "cloudwatch"), ssm_certificate: ("ssm",),
    minted_token: ("cognito-idp",),
}
CLIENT_ORDER = ("elbv2", "cognito-idp", "acm", "logs", "cloudwatch", "route53", "ssm", "cloudfront", "ecs", "ec2",
                "lambda", "scheduler")
assert sorted(CLIENT_ORDER) == sorted(SERVICES)
