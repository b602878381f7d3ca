"""The account's shape, read once before collection: which topology fits, is the monitoring module there,
which CloudFront aliases under the control domain serve certificates.

``read(ctx)`` gathers what an account built from cabal-infra shows of its shape (through the one AWS reader,
concurrently, bounded): the NLB's listener ports, which of the shape-deciding target groups exist, the ALB and
the monitoring services, and every CloudFront alias under the control domain. ``decide(settings, found)`` is
pure: it picks the topology (``auto``), or says in one line where an explicit one contradicts the account, and
drops the monitoring module's checks when it is absent. Nothing here is red: a shape is not a runbook step.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from . import facts
from .aws import cloudfront, ecs, elb
from .aws.reader import NotFound
from .config import AUTO, Settings
from .gather import concurrently
from .topology import Topology, compose, load_topology, site, without_monitoring
from .verdict import CantTell

MAY, AUG = "2026-05", "2026-08"
# What the May shape has and the August one lost (cabal-infra 6c90190c, 1ecca519, 53ac616e, 191cbc30).
SHAPE_SIGNS: dict[str, dict[str, tuple]] = {  # probe -> the NLB ports and target-group keys of its May shape
    "imap": {"ports": (993,), "target_groups": ("tg_imap",)},
    "submission": {"ports": (465, 587), "target_groups": ("tg_submission", "tg_starttls")},
}
SERVICES_NEEDED = ("elbv2", "ecs", "cloudfront")


@dataclass(frozen=True)
class Shape:
    """What discovery found and what it decided; the run header and the report print ``lines()``."""

    topology: str  # the name of the topology checked
    how: str  # one line: how it was decided
    monitoring: str  # one line: present or absent, and how that was decided
    mismatch: str = ""  # an explicit topology the account contradicts: the one line, else ""
    undecided: str = ""  # what could not be told about the shape (the parts that decide it were unreadable), else ""
    contradicted: tuple[str, ...] = ()  # probes whose checks do not apply to this account (mismatch)
    sites: tuple[str, ...] = ()  # CloudFront aliases under the control domain that no probe covers
    listeners: tuple[str, ...] = ()  # TLS/HTTPS listeners of the Cabalmail load balancers (``cabal-nlb:993``)
    problems: tuple[str, ...] = field(default=())  # what could not be read (can't tell), one line each
    sites_found: bool = True  # False: the CloudFront listing failed; ``sites`` are the topology's own, not found
    silent: bool = False  # AWS answered none of discovery's reads

    def lines(self) -> list[str]:
        out = [f"AWS answered nothing: no part of the account could be read ({self.problems[0]}); every check that "
               "reads AWS will say can't tell"] if self.silent and self.problems else []
        out += [f"topology: {self.topology} ({self.how})", f"monitoring module: {self.monitoring}"]
        if self.sites and self.sites_found:
            out.append(f"ACM consumers found by alias (CloudFront): {', '.join(self.sites)}")
        elif self.sites:
            out.append(f"ACM consumers by alias (CloudFront): not found, the distributions could not be listed; "
                       f"checking the topology's own: {', '.join(self.sites)}")
        if self.listeners:
            out.append(f"TLS listeners found (ACM consumers): {', '.join(self.listeners)}")
        out += [f"can't tell: {p}" for p in self.problems]
        if self.mismatch:
            out.append(f"MISMATCH: {self.mismatch}")
        return out


# --- gathering ------------------------------------------------------------------------------------------------


def read(ctx, make_clients: bool = False, early=()) -> dict:
    """Everything the decision needs, gathered at once; each part None when it could not be read. The requests
    are the checks' own (both load balancers in one, their listeners): the run sends them once. With
    ``make_clients``, the main thread makes the checks' AWS clients while it waits for the answers; the ``early``
    facts ((kind, fn, args) each: what the run will ask whatever the answers) start meanwhile, once their clients are
    made."""
    ctx.aws.prepare(SERVICES_NEEDED)  # in the main thread (see AwsReader.prepare)
    parts: dict[str, tuple] = {"load_balancers": (_load_balancers,), "monitoring_services": (_monitoring_services,),
                               "aliases": (_aliases,), "target_groups": (_tg_states,)}
    started = [ctx.start("aws", fn, *args) for fn, *args in parts.values()]
    facts.start_as_made(ctx, early, facts.clients_needed(ctx.settings, early))
    if make_clients:
        ctx.aws.make_while(lambda: not all(f.done() for f in started), facts.CLIENT_ORDER)
    got: dict = {}
    problems: list[str] = []
    for name, (fn, *args) in parts.items():
        try:
            got[name] = ctx.get("aws", fn, *args)
        except CantTell as exc:
            got[name] = None
            problems.append(str(exc))
    lbs, tgs = got.pop("load_balancers") or {}, got.pop("target_groups") or {}
    found = {**got, "nlb": lbs.get("nlb"), "alb": lbs.get("alb"), "tls:nlb": lbs.get("tls:nlb"),
             "tls:alb": lbs.get("tls:alb"), **{f"tg:{k}": v for k, v in tgs.items()}}
    found["problems"] = list(dict.fromkeys(problems))
    return found


def _load_balancers(ctx) -> dict:
    """``nlb``: the NLB's listener ports (or ``"absent"``); ``alb``: does the ALB exist; ``tls:<key>``: the ports of
    each one's TLS and HTTPS listeners (each an ACM consumer)."""
    lbs = facts.front_load_balancers(ctx)  # the request the checks make
    found = {key: lbs[ctx.name(key)] for key in facts.FRONT_LBS}
    listeners = dict(zip(found, concurrently(*(lambda lb=lb: elb.listeners(ctx.aws, lb["LoadBalancerArn"]) if lb else []
                                               for lb in found.values())), strict=True))
    out = {"nlb": sorted(li["Port"] for li in listeners["nlb"]) if found["nlb"] else "absent",
           "alb": found["alb"] is not None}
    out.update({f"tls:{key}": sorted(li["Port"] for li in ls if li.get("Protocol") in ("TLS", "HTTPS"))
                for key, ls in listeners.items()})
    return out


def _tg_states(ctx) -> dict[str, str]:
    """For each shape-deciding target group: ``attached`` (to a load balancer), ``registered`` (no listener, but the
    service still registers its tasks: a deleted listener, a runbook step), ``detached`` (a leftover no deployment
    uses) or ``absent``."""
    keys = [k for sign in SHAPE_SIGNS.values() for k in sign["target_groups"]]
    tgs = elb.target_groups(ctx.aws, [ctx.name(k) for k in keys])

    def state(tg):
        if tg is None:
            return "absent"
        if tg.get("LoadBalancerArns"):
            return "attached"
        return "registered" if elb.target_health(ctx.aws, tg["TargetGroupArn"]) else "detached"

    found = [tgs[ctx.name(k)] for k in keys]
    return dict(zip(keys, concurrently(*(lambda tg=tg: state(tg) for tg in found)), strict=True))


def _monitoring_services(ctx) -> list[str]:
    """The monitoring module's ECS services that exist in the cluster."""
    names = tuple(ctx.name(k) for k in ("service_uptime_kuma", "service_ntfy"))
    try:
        return sorted(n for n, svc in ecs.services(ctx.aws, ctx.name("cluster"), names).items() if svc)
    except NotFound:
        return []


def _aliases(ctx) -> list[str]:
    """Every CloudFront alias equal to or under the control domain, sorted."""
    return sorted({alias for dist in cloudfront.distributions(ctx.aws) for alias in cloudfront.aliases(dist)
                   if under(alias, ctx.settings.control_domain)})


def under(name: str, domain: str) -> bool:
    name = name.lower().rstrip(".")
    return name == domain or name.endswith("." + domain)


# --- deciding (pure) ------------------------------------------------------------------------------------------


def _account_may(found: dict, probe: str) -> bool | None:
    """Does the account show the May shape for ``probe`` (True), the August one (False), or can't we tell (None)?"""
    sign = SHAPE_SIGNS[probe]
    ports, tgs = found.get("nlb"), [found.get(f"tg:{k}") for k in sign["target_groups"]]
    if (isinstance(ports, list) and any(p in ports for p in sign["ports"])) or {"attached", "registered"} & set(tgs):
        return True
    if isinstance(ports, list) and all(t in ("absent", "detached") for t in tgs):
        return False
    return None


def _evidence(found: dict, names: dict, probes) -> str:
    """``NLB cabal-nlb listens on 25; cabal-ecs-imap-tg absent, ...``: what decided the shape of ``probes``."""
    ports, lb = found.get("nlb"), names["nlb"]
    seen = (f"NLB {lb} listens on {', '.join(map(str, ports)) or 'no port'}" if isinstance(ports, list)
            else f"NLB {lb} {'not found' if ports == 'absent' else 'unreadable'}")
    keys = [k for p in probes for k in SHAPE_SIGNS[p]["target_groups"]]
    state = {"attached": "exists", "registered": "exists (targets, no listener)",
             "detached": "left behind (no load balancer, no target)", "absent": "absent", None: "unreadable"}
    return f"{seen}; " + ", ".join(f"{names[k]} {state[found.get(f'tg:{k}')]}" for k in keys)


def decide(settings: Settings, found: dict) -> tuple[Topology, Shape]:
    """The topology to check and what to say about it."""
    cd, names = settings.control_domain, settings.names
    shapes = {p: _account_may(found, p) for p in SHAPE_SIGNS}
    evidence = _evidence(found, names, SHAPE_SIGNS)
    mismatch = ""
    contradicted: tuple[str, ...] = ()
    if settings.topology_mode == AUTO:
        topo, how = _auto(shapes, cd), f"auto: {evidence}"
        if None in shapes.values():
            how += f" (undecided parts kept as {topo.name})"
    else:
        topo = settings.topology
        how = f"{'given' if settings.topology_mode == 'given' else 'the default'}; the account: {evidence}"
        expected = {p: any(e.probe == p and e.front == "nlb" for e in topo.endpoints) for p in SHAPE_SIGNS}
        contradicted = tuple(p for p in SHAPE_SIGNS if shapes[p] is not None and shapes[p] != expected[p]
                             and any(e.probe == p for e in topo.endpoints))
        if contradicted:
            fits = _auto(shapes, cd).name
            option = f"--topology {fits}" if fits in (MAY, AUG) else "--topology auto"
            mismatch = (f"topology {topo.name} does not fit this account ({_evidence(found, names, contradicted)}): "
                        f"it has the {fits} shape for {', '.join(contradicted)}; pass {option} (or --topology auto)")
    monitoring, mon_text = _monitoring(settings, found, names)
    if not monitoring:
        topo = without_monitoring(topo)
    aliases = found.get("aliases")
    if aliases is not None:  # found rather than listed: the account's own CloudFront aliases under <cd>
        probed = {e.host for e in topo.endpoints}
        topo = replace(topo, sites=tuple(site(a) for a in aliases if a not in probed))
    listeners = tuple((key, port) for key in ("nlb", "alb") if monitoring or key != "alb"  # the ALB is the module's
                      for port in found.get(f"tls:{key}") or ())
    topo = replace(topo, tls_listeners=listeners)
    unread = [p for p, may in shapes.items() if may is None] + (["monitoring"] if mon_text.startswith("can't") else [])
    undecided = (f"the account's shape for {', '.join(unread)} could not be told ({evidence}"
                 + "".join(f"; {p}" for p in found.get("problems") or ()) + ")") if unread else ""
    shape = Shape(topo.name, how, mon_text, mismatch, undecided, contradicted, tuple(e.host for e in topo.sites),
                  tuple(f"{names[k]}:{p}" for k, p in listeners), tuple(found.get("problems") or ()),
                  sites_found=aliases is not None, silent=_silent(found))
    return topo, shape


def _silent(found: dict) -> bool:
    """Nothing discovery asked came back: every part unreadable (None), not merely absent."""
    parts = ("nlb", "alb", "monitoring_services", "aliases", *(f"tg:{k}" for s in SHAPE_SIGNS.values()
                                                               for k in s["target_groups"]))
    return bool(found.get("problems")) and all(found.get(p) is None for p in parts)


def _auto(shapes: dict, cd: str) -> Topology:
    may = {p: shapes[p] is not False for p in shapes}  # undecided parts keep the default (May) shape
    if all(may.values()):
        return load_topology(MAY, cd)
    aug = load_topology(AUG, cd)
    if not any(may.values()):
        return aug
    parts = [p for p, m in may.items() if m]
    return compose(f"{AUG}+{'+'.join(parts)}-{MAY}", f"2026-08 with the May shape for {', '.join(parts)}", aug,
                   {p: load_topology(MAY, cd) for p in parts})


def _monitoring(settings: Settings, found: dict, names: dict) -> tuple[bool, str]:
    if settings.monitoring != AUTO:
        on = settings.monitoring == "true"
        return on, f"{'checked' if on else 'not checked'} (monitoring = {settings.monitoring})"
    alb, services = found.get("alb"), found.get("monitoring_services")
    if alb or services:
        what = ([f"ALB {names['alb']}"] if alb else []) + list(services or [])
        return True, f"present, checked (auto: found {', '.join(what)})"
    if alb is False and services is not None:
        kuma, ntfy = names["service_uptime_kuma"], names["service_ntfy"]
        return False, (f"absent: the ntfy checks are not collected (auto: no ALB {names['alb']}, no service {kuma} or "
                       f"{ntfy}; cabal-infra's monitoring module is off, TF_VAR_MONITORING)")
    return True, "can't tell, checked as if present (auto: the ALB and the monitoring services could not be read)"


def apply(settings: Settings, found: dict) -> Settings:
    """The settings with the decided topology and what discovery found."""
    topo, shape = decide(settings, found)
    return replace(settings, topology=topo, shape=shape)

