"""Facts of the probe-failure runbook, step 1: each endpoint probed (from here and from inside the VPC), the
token the /list probe carries, and where the public names point (DNS)."""

from __future__ import annotations

import json
from pathlib import Path

from .. import tomltypes, wire
from ..aws import cognito, dns
from ..aws.reader import NotFound
from ..config import Secret
from ..context import Context
from ..gather import concurrently
from ..shapes import DnsView, Zone
from ..topology import Endpoint
from ..verdict import CantTell, NotApplicable
from .account import FRONT_LBS, cabal_vpc, front_load_balancers

WIRE_SOURCE = Path(wire.__file__)


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



FRONTS = (*FRONT_LBS, "cloudfront")


def dns_view(ctx: Context, front: str | None = None) -> DnsView:
    """The control domain's zones with their records, and the DNS name of ``front`` (``nlb``, ``alb``, ``cloudfront``;
    None: of every front). One front's name only: a DNS check needs its own front's, and a read denied for another
    front (SSM, CloudFront for the admin app's) does not blind it. The zones' requests are shared by every front's."""
    def zones():
        found = dns.zones(ctx.aws, ctx.settings.control_domain,
                          lambda: (vpc := cabal_vpc(ctx)) and vpc["VpcId"])
        records = concurrently(*(lambda z=z: dns.records(ctx.aws, z["Id"]) for z in found.values()))
        return {kind: Zone(z, tuple(r)) for (kind, z), r in zip(found.items(), records, strict=True)}

    wanted = FRONTS if front is None else (front,)
    view_zones, *names = concurrently(zones, *(lambda key=key: front_dns_name(ctx, key) for key in wanted))
    return DnsView(view_zones, dict(zip(wanted, names, strict=True)))


def front_dns_name(ctx: Context, front: str) -> str | None:
    """The DNS name a public name of ``front`` points at: the load balancer's, the admin distribution's; None when
    that front does not exist (or is none of these)."""
    if front == "cloudfront":
        return cloudfront_domain(ctx)
    if front not in FRONT_LBS:
        return None
    lb = front_load_balancers(ctx)[ctx.name(front)]
    return lb["DNSName"].rstrip(".").lower() if lb else None


def cloudfront_domain(ctx: Context) -> str | None:
    """The admin distribution's domain name, found by the id the deployment stores in SSM; None when either the
    parameter or the distribution is missing (the DNS check then says the name points nowhere known)."""
    try:
        dist_id = ctx.aws.call("ssm", "get_parameter", Name=ctx.name("cf_distribution_param"))["Parameter"]["Value"]
        dist = ctx.aws.call("cloudfront", "get_distribution", Id=dist_id)["Distribution"]
    except NotFound:
        return None
    return dist["DomainName"].rstrip(".").lower()

