"""Facts the runbooks ask for, each a function of the run's Context (and an endpoint or a key).

Gathering only: no judgement here. AWS facts return plain data (None for "does not exist");
"can't tell" surfaces as ``CantTell``, "does not apply" as ``NotApplicable``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from . import wire
from .aws import cognito, dns, ec2, ecs, elb, logs
from .aws.reader import NotFound
from .config import Secret
from .context import Context
from .topology import Endpoint
from .verdict import CantTell, NotApplicable

WIRE_SOURCE = Path(wire.__file__)


# --- the wire ---------------------------------------------------------------------------------------


def probe_spec(ctx: Context, endpoint: Endpoint, url: str = "") -> wire.ProbeSpec:
    host, port, scheme = endpoint.host, endpoint.port, endpoint.scheme
    if url:
        scheme, _, rest = url.partition("://")
        host, _, port_text = rest.partition(":")
        port = int(port_text.split("/")[0])
    headers = {}
    if endpoint.probe == "api_list":
        token = api_token(ctx)
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
    return wire.ProbeSpec(scheme, host, port, endpoint.path or "/", endpoint.verify_name, headers)


def probe(ctx: Context, endpoint: Endpoint) -> wire.ProbeResult:
    """The endpoint probed from where this run stands, as the monitors do (but stricter)."""
    s = ctx.settings
    return wire.probe(probe_spec(ctx, endpoint), s.probe_timeout, s.connect_to, s.ca_bundle)


def probe_in_vpc(ctx: Context, endpoint: Endpoint) -> wire.ProbeResult:
    """The same probe run on ``--vpc-host`` (testinfra), against the endpoint's backend if it has one."""
    s = ctx.settings
    if not s.vpc_host:
        raise NotApplicable("no --vpc-host: the in-VPC comparison needs a host inside the VPC")
    import testinfra  # imported here: only this fact needs it

    spec = probe_spec(ctx, endpoint, endpoint.backend)
    args = {"spec": spec.__dict__, "timeout": s.probe_timeout, "connect_to": s.vpc_connect_to, "cafile": s.ca_bundle}
    host = testinfra.get_host(s.vpc_host)
    try:
        out = host.run("timeout %s python3 -c %s %s", str(int(s.probe_timeout) + 2),
                       WIRE_SOURCE.read_text(), json.dumps(args))
    except Exception as exc:  # noqa: BLE001 - any backend failure means we cannot tell
        raise CantTell(f"--vpc-host {s.vpc_host}: could not run the probe there ({type(exc).__name__})") from None
    if out.rc != 0 or not out.stdout.strip():
        raise CantTell(f"--vpc-host {s.vpc_host}: probe did not run (exit {out.rc}; is python3 there?)")
    return wire.ProbeResult.from_json(out.stdout.strip().splitlines()[-1])


def api_token(ctx: Context) -> Secret | None:
    """The token the /list probe sends: CABAL_API_TOKEN, or one minted with the probe user's password."""
    s = ctx.settings
    if s.api_token is not None:
        return s.api_token
    if s.probe_username and s.probe_password is not None:
        return ctx.get("aws", minted_token)
    return None


def minted_token(ctx: Context) -> Secret:
    cid = cognito.client_id(ctx.aws, ctx.name("cognito_pool"), ctx.name("cognito_client"))
    if cid is None:
        raise CantTell(f"cannot mint a token: Cognito client {ctx.name('cognito_client')} in pool "
                       f"{ctx.name('cognito_pool')} not found")
    s = ctx.settings
    try:
        token = cognito.mint_id_token(ctx.aws, cid, s.probe_username, s.probe_password.reveal())
    except CantTell as exc:
        raise CantTell(f"cannot mint a token for CABAL_PROBE_USERNAME: {exc}") from None
    return Secret(token, "a token minted for CABAL_PROBE_USERNAME")


# --- AWS ------------------------------------------------------------------------------------------


def ecs_services(ctx: Context) -> dict[str, dict | None]:
    """Every ECS service of the topology, one describe_services call."""
    names = tuple(ctx.name(k) for k in ctx.settings.topology.services())
    return ecs.services(ctx.aws, ctx.name("cluster"), names)


def stopped_tasks(ctx: Context, service_key: str) -> list[dict]:
    return ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "STOPPED")


def container_instances(ctx: Context) -> list[dict]:
    try:
        return ecs.container_instances(ctx.aws, ctx.name("cluster"))
    except NotFound:
        return []


def load_balancer(ctx: Context, lb_key: str) -> dict | None:
    """The load balancer, its listeners and where each forwards: ``{"lb", "listeners", "forwards"}``."""
    lb = elb.load_balancer(ctx.aws, ctx.name(lb_key))
    if lb is None:
        return None
    listeners = elb.listeners(ctx.aws, lb["LoadBalancerArn"])
    forwards = {li["ListenerArn"]: elb.listener_target_groups(ctx.aws, li) for li in listeners}
    return {"lb": lb, "listeners": listeners, "forwards": forwards}


def target_group(ctx: Context, tg_key: str) -> dict | None:
    """``{"tg": ..., "health": [...]}``, None when the target group does not exist."""
    tg = elb.target_group(ctx.aws, ctx.name(tg_key))
    if tg is None:
        return None
    return {"tg": tg, "health": elb.target_health(ctx.aws, tg["TargetGroupArn"])}


def security_group(ctx: Context, sg_key: str) -> dict | None:
    return ec2.security_group(ctx.aws, ctx.name(sg_key))


def network(ctx: Context) -> dict:
    """VPC, its NACLs, NAT instances and private route tables."""
    vpc = ec2.vpc(ctx.aws, ctx.name("vpc"))
    return {
        "vpc": vpc,
        "nacls": ec2.network_acls(ctx.aws, vpc["VpcId"]) if vpc else [],
        "nat": ec2.instances_named(ctx.aws, ctx.name("nat_instance_prefix")),
        "route_tables": ec2.route_tables_named(ctx.aws, ctx.name("private_route_table_prefix")),
    }


def dns_view(ctx: Context) -> dict:
    """The control domain's zones with their records, and the DNS names of the fronts."""
    domain = ctx.settings.control_domain
    zones = dns.zones(ctx.aws, domain)
    view = {"zones": {kind: {"zone": z, "records": dns.records(ctx.aws, z["Id"])} for kind, z in zones.items()},
            "fronts": {}}
    for key in ("nlb", "alb"):
        lb = elb.load_balancer(ctx.aws, ctx.name(key))
        view["fronts"][key] = lb["DNSName"].rstrip(".").lower() if lb else None
    view["fronts"]["cloudfront"] = cloudfront_domain(ctx)
    return view


def cloudfront_domain(ctx: Context) -> str | None:
    dist = cloudfront_distribution(ctx)
    return dist["DomainName"].rstrip(".").lower() if dist else None


def cloudfront_distribution(ctx: Context) -> dict | None:
    """The admin distribution, found by the id the deployment stores in SSM."""
    try:
        param = ctx.aws.call("ssm", "get_parameter", Name=ctx.name("cf_distribution_param"))
    except NotFound:
        return None
    try:
        return ctx.aws.call("cloudfront", "get_distribution", Id=param["Parameter"]["Value"])["Distribution"]
    except NotFound:
        return None


def fail2ban_lines(ctx: Context) -> list[dict] | None:
    """fail2ban lines of the last 24 h in the imap log group (the runbook's ``aws logs tail`` command)."""
    now = ctx.settings.now
    return logs.events_with(ctx.aws, ctx.name("imap_log_group"), ("fail2ban",), now - timedelta(days=1), now)
