"""The deployment's shape as data: which endpoints exist and what stands behind each.

A topology is a TOML file (built-ins in ``topologies/``; a user may pass their own path). Each
``[[endpoint]]`` names a probe (the marker), a URL-like spec, what fronts it (``nlb``, ``alb``,
``cloudfront`` or nothing), the ECS service, target group and security group behind it (as keys of
the ``[names]`` table), the certificate pipeline that covers it, and the DNS zones that must carry it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from . import tomltypes
from .names import DEFAULT_NAMES

BUILTIN_DIR = Path(__file__).parent / "topologies"
PROBES = ("imap", "smtp_relay", "submission", "admin_app", "api_list", "ntfy")
SCHEMES = {"imaps": 993, "imap+starttls": 143, "smtp": 25, "smtp+starttls": 587, "smtps": 465, "https": 443}
FRONTS = ("nlb", "alb", "cloudfront", "none")
CERTS = ("acm", "letsencrypt", "none")
ZONES = ("public", "private")
# Where the probes (and, for the mail tiers, the API Lambdas) reach a tier from: the security group must admit
# the port from there. ``internet``: 0.0.0.0/0 (the client's own address reaches the task: ALB, or an NLB target
# group with client IP preservation); ``public_subnets``: the NLB's nodes (no client IP preservation);
# ``private_subnets``: the VPC's private subnets (Kuma, blackbox and the API Lambdas stand there).
SOURCES = ("internet", "public_subnets", "private_subnets")
ENDPOINT_KEYS = {
    "probe", "url", "backend", "tls_name", "internal", "front", "listener_protocol", "target_group", "service",
    "security_group", "sg_ports", "sg_sources", "cert", "dns",
}
TOP_KEYS = {"name", "description", "fail2ban", "extra_services", "extra_target_groups", "task_health", "sites",
            "endpoint"}
# key -> (the TOML types it takes, an array's items): checked before a value is used (tomltypes.check)
_S, _L = (str,), (list,)
TOP_TYPES = {"name": (_S,), "description": (_S,), "fail2ban": ((bool,),), "extra_services": (_L, _S),
             "extra_target_groups": (_L, _S), "task_health": (_L, _S), "sites": (_L, _S), "endpoint": (_L, (dict,))}
ENDPOINT_TYPES = {**{key: (_S,) for key in ENDPOINT_KEYS}, "internal": ((bool,),), "sg_ports": (_L, (int,)),
                  "sg_sources": (_L, _S), "dns": (_L, _S)}
# What exists only with cabal-infra's optional monitoring module (``count = var.monitoring ? 1 : 0``).
MONITORING_PROBES = ("ntfy",)
MONITORING_SERVICES = ("service_uptime_kuma", "service_ntfy")
MONITORING_TARGET_GROUPS = ("tg_uptime_kuma", "tg_ntfy")


class TopologyError(ValueError):
    """A topology file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Endpoint:
    probe: str
    scheme: str
    host: str
    port: int
    path: str = ""
    tls_name: str = ""
    internal: bool = False
    front: str = "none"
    listener_protocol: str = ""
    target_group: str = ""  # key of the names table
    service: str = ""  # key of the names table
    security_group: str = ""  # key of the names table
    sg_ports: tuple[int, ...] = ()
    sg_sources: tuple[str, ...] = ()
    cert: str = "none"
    dns: tuple[str, ...] = ()
    backend: str = ""  # the in-VPC probe target that bypasses the front (default: the same url)

    @property
    def spec(self) -> str:
        """The probe spec, as it appears in test ids: ``imaps://imap.example.net:993``."""
        if self.scheme == "https":
            port = "" if self.port == 443 else f":{self.port}"
            return f"https://{self.host}{port}{self.path or '/'}"
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def verify_name(self) -> str:
        """The name the certificate must carry (the public name, also when dialling a private one)."""
        return self.tls_name or self.host

    @property
    def uses_tls(self) -> bool:
        return self.scheme != "smtp"

    def __str__(self) -> str:
        return self.spec


@dataclass(frozen=True)
class Topology:
    name: str
    description: str
    fail2ban: bool
    endpoints: tuple[Endpoint, ...]
    extra_services: tuple[str, ...] = field(default=())
    extra_target_groups: tuple[str, ...] = field(default=())
    task_health: tuple[str, ...] = field(default=())  # services whose health is ECS task health (container checks)
    sites: tuple[Endpoint, ...] = field(default=())  # ACM consumers that no monitor probes (the front door)
    tls_listeners: tuple[tuple[str, int], ...] = field(default=())  # (nlb|alb, port) found by discovery

    def services(self) -> list[str]:
        """Names-table keys of the ECS services, in runbook order, each once."""
        keys = [e.service for e in self.endpoints if e.service] + list(self.extra_services)
        return list(dict.fromkeys(keys))

    def probes_of_service(self, key: str) -> list[str]:
        return sorted({e.probe for e in self.endpoints if e.service == key})

    def target_groups(self) -> list[str]:
        keys = [e.target_group for e in self.endpoints if e.target_group] + list(self.extra_target_groups)
        return list(dict.fromkeys(keys))

    def probes_of_target_group(self, key: str) -> list[str]:
        return sorted({e.probe for e in self.endpoints if e.target_group == key})

    def cert_endpoints(self) -> tuple[Endpoint, ...]:
        """Every endpoint with a certificate to judge: the probed ones, then the sites."""
        return tuple(e for e in self.endpoints + self.sites if e.cert != "none")


def site(host: str) -> Endpoint:
    """An ACM consumer that no monitor probes, on the wire at its alias: ``https://<host>/`` through CloudFront."""
    return Endpoint(probe="", scheme="https", host=host, port=443, front="cloudfront", cert="acm")


def without_monitoring(topo: Topology) -> Topology:
    """The topology less what cabal-infra's monitoring module makes (ntfy, Kuma, the ALB's target groups)."""
    return replace(topo, endpoints=tuple(e for e in topo.endpoints if e.probe not in MONITORING_PROBES),
                   extra_services=tuple(k for k in topo.extra_services if k not in MONITORING_SERVICES),
                   extra_target_groups=tuple(k for k in topo.extra_target_groups if k not in MONITORING_TARGET_GROUPS))


def compose(name: str, description: str, base: Topology, probes_from: dict[str, Topology]) -> Topology:
    """``base`` with the endpoints of some probes taken from other topologies (an account between two shapes)."""
    endpoints = tuple(e for e in base.endpoints if e.probe not in probes_from)
    for probe, other in probes_from.items():
        endpoints += tuple(e for e in other.endpoints if e.probe == probe)
    order = {p: i for i, p in enumerate(PROBES)}
    endpoints = tuple(sorted(endpoints, key=lambda e: order[e.probe]))
    services = {e.service for e in endpoints}
    return replace(base, name=name, description=description, endpoints=endpoints,
                   fail2ban=probes_from.get("imap", base).fail2ban,  # fail2ban lives in the imap tier
                   task_health=tuple(k for k in base.task_health if k in services))


def load_topology(which: str, control_domain: str) -> Topology:
    """Load a built-in topology by name (``2026-05``, ``2026-08``) or a TOML file by path."""
    builtins = ", ".join(sorted(p.stem for p in BUILTIN_DIR.glob("*.toml")))
    path = BUILTIN_DIR / f"{which}.toml"
    try:
        if "/" in which or not path.is_file():  # a name, never a way out of the built-ins' folder
            path = Path(which)
            if not path.is_file():
                raise TopologyError(f"topology {tomltypes.bounded(which)}: not a built-in ({builtins}) and no such file")
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"topology file {path}: {exc}") from None
    except TopologyError:
        raise
    except (OSError, ValueError) as exc:  # unreadable, not text, a NUL in the name
        raise TopologyError(f"topology {tomltypes.bounded(which)}: not a built-in ({builtins}) and not a readable "
                            f"topology file ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    return parse_topology(data, control_domain or "control-domain.invalid", source=str(path))


def parse_topology(data: dict, control_domain: str, source: str = "<topology>") -> Topology:
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise TopologyError(f"{source}: unknown key(s) {tomltypes.key_names(unknown)}")
    for key, value in data.items():
        tomltypes.check_spec(key, value, TOP_TYPES[key], f"{source}:", TopologyError)
    raw = data.get("endpoint") or []
    if not raw:
        raise TopologyError(f"{source}: no [[endpoint]] entries")
    endpoints = tuple(_endpoint(e, i, control_domain, source) for i, e in enumerate(raw, 1))
    for key in list(data.get("extra_services", [])) + list(data.get("extra_target_groups", [])) + list(
            data.get("task_health", [])):
        _name_key(key, f"{source}: extra", key)
    return Topology(
        name=str(data.get("name") or Path(source).stem),
        description=str(data.get("description", "")),
        fail2ban=bool(data.get("fail2ban", False)),
        endpoints=endpoints,
        extra_services=tuple(data.get("extra_services", ())),
        extra_target_groups=tuple(data.get("extra_target_groups", ())),
        task_health=tuple(data.get("task_health", ())),
        sites=tuple(site(_fill(h, control_domain)) for h in data.get("sites", ())),
    )


def _fill(text: str, cd: str) -> str:
    """``{control_domain}`` in a topology value, the only placeholder (other braces are the user's text)."""
    return text.replace("{control_domain}", cd)


def _name_key(key: str, where: str, field_name: str) -> str:
    if key and key not in DEFAULT_NAMES:
        raise TopologyError(f"{where}: {field_name} = {key!r} is not a key of the [names] table")
    return key


def _endpoint(e: dict, index: int, cd: str, source: str) -> Endpoint:
    where = f"{source}: endpoint #{index}"
    unknown = set(e) - ENDPOINT_KEYS
    if unknown:
        raise TopologyError(f"{where}: unknown key(s) {tomltypes.key_names(unknown)}")
    for key, value in e.items():
        tomltypes.check_spec(key, value, ENDPOINT_TYPES[key], f"{where}:", TopologyError)
    if e.get("probe") not in PROBES:
        raise TopologyError(f"{where}: probe must be one of {', '.join(PROBES)}, not {e.get('probe')!r}")
    try:
        url = urlsplit(_fill(e["url"], cd))
        port = url.port or SCHEMES[url.scheme]
        if url.scheme not in SCHEMES:
            raise KeyError(url.scheme)
    except KeyError as exc:
        raise TopologyError(f"{where}: url missing or scheme not one of {', '.join(SCHEMES)} ({exc})") from None
    except ValueError as exc:
        raise TopologyError(f"{where}: bad url {e.get('url')!r} ({exc})") from None
    if not url.hostname:
        raise TopologyError(f"{where}: url {e['url']!r} has no host")
    for key, allowed in (("front", FRONTS), ("cert", CERTS)):
        if e.get(key, "none") not in allowed:
            raise TopologyError(f"{where}: {key} must be one of {', '.join(allowed)}")
    if set(e.get("dns", ())) - set(ZONES):
        raise TopologyError(f"{where}: dns entries must be among {', '.join(ZONES)}")
    if set(e.get("sg_sources", ())) - set(SOURCES):
        raise TopologyError(f"{where}: sg_sources entries must be among {', '.join(SOURCES)}")
    for key in ("target_group", "service", "security_group"):
        _name_key(e.get(key, ""), where, key)
    return Endpoint(
        probe=e["probe"],
        scheme=url.scheme,
        host=url.hostname,
        port=port,
        path=url.path + (f"?{url.query}" if url.query else ""),
        tls_name=_fill(e.get("tls_name", ""), cd),
        internal=bool(e.get("internal", False)),
        front=e.get("front", "none"),
        listener_protocol=e.get("listener_protocol", ""),
        target_group=e.get("target_group", ""),
        service=e.get("service", ""),
        security_group=e.get("security_group", ""),
        sg_ports=tuple(int(p) for p in e.get("sg_ports", ())),
        sg_sources=tuple(e.get("sg_sources", ())),
        cert=e.get("cert", "none"),
        dns=tuple(e.get("dns", ())),
        backend=_fill(e.get("backend", ""), cd),
    )
