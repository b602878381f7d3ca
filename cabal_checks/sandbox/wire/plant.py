"""The plant: every endpoint of a topology as real listeners on loopback (fronts before backends), and the two
certificate pipelines they serve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Self
from urllib.parse import urlsplit

from ...topology import SCHEMES, Endpoint, Topology
from ..pki import IssuedCert, SandboxPKI
from .front import Front
from .http import HttpBackend
from .imap import ImapBackend
from .listener import Listener
from .smtp import LoopThread, SmtpBackend


class WirePlant:
    """Every endpoint of a topology as real listeners on loopback: fronts, backends, two certificate pipelines.

    ``acm`` pipeline: NLB TLS listeners, CloudFront, ALB. ``le`` pipeline: the IMAP backend's STARTTLS and the SMTP
    backends (25 STARTTLS, 587, 465).
    """

    def __init__(self, topology: Topology, control_domain: str, pki: SandboxPKI):
        self.topology, self.control_domain, self.pki = topology, control_domain, pki
        self.acm_cert = pki.issue(f"*.{control_domain}", control_domain, issuer="acm")
        self.le_cert = pki.issue(f"*.{control_domain}", issuer="le")
        self._initial = {"acm": self.acm_cert, "le": self.le_cert}
        self._pipelines: dict[str, list[Listener]] = {"acm": [], "le": []}
        self._contexts = {name: pki.server_context(cert) for name, cert in self._initial.items()}
        self._loop = LoopThread()
        self._backends: dict[Endpoint, Listener] = {}
        self._fronts: dict[Endpoint, Front | None] = {}
        shared: dict[tuple, Front] = {}
        for ep in topology.endpoints + topology.sites:
            self._backends[ep] = self._make_backend(ep)
            self._fronts[ep] = self._make_front(ep, shared)
        self._started = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------------------------------------- building

    def _make_backend(self, ep: Endpoint) -> Listener:
        pipeline, build = BACKENDS[ep.probe]
        backend = build(self, ep, f"{ep.probe} backend ({ep.spec})")
        return self._in_pipeline(pipeline, backend) if pipeline else backend

    def _make_front(self, ep: Endpoint, shared: dict[tuple, Front]) -> Front | None:
        if ep.front == "none":
            return None
        kind = ep.front
        if kind == "nlb":
            kind = "nlb-tls" if ep.listener_protocol.upper() == "TLS" else "nlb-tcp"
        front = shared.get((kind, ep.host, ep.port))
        if front is None:
            tls = kind != "nlb-tcp"
            front = Front(f"{kind} {ep.host}:{ep.port}", kind, self._contexts["acm"] if tls else None)
            if tls:
                self._in_pipeline("acm", front)
            shared[(kind, ep.host, ep.port)] = front
        front.add_route(_route_prefix(ep), self._backends[ep])
        return front

    def _in_pipeline(self, pipeline: str, listener: Listener) -> Listener:
        self._pipelines[pipeline].append(listener)
        return listener

    # ------------------------------------------------------------------------------------------------ running

    def start(self) -> None:
        """Open every listener (backends first). Call once."""
        if self._started:
            return
        self._started = True
        self._loop.start()
        for listener in self.listeners():
            listener.start()

    def stop(self) -> None:
        """Close fronts, then backends, then the asyncio loop; join every thread. Idempotent."""
        for listener in reversed(self.listeners()):
            listener.stop()
        self._loop.stop()

    def reset(self) -> None:
        """Every listener back to ``normal`` with default knobs, and the original certificates served."""
        for listener in self.listeners():
            if listener.mode != "normal":
                listener.mode = "normal"
            listener.reset()
        for pipeline, cert in self._initial.items():  # also undoes per-listener swaps (a pinned old cert)
            self.serve_cert(pipeline, cert)

    def serve_cert(self, pipeline: str, cert: IssuedCert, send_chain: bool = True) -> None:
        """Serve ``cert`` on every listener of ``pipeline`` (``acm`` or ``le``), for new connections."""
        if pipeline not in self._pipelines:
            raise ValueError("pipeline must be 'acm' or 'le'")
        ctx = self.pki.server_context(cert, send_chain)
        for listener in self._pipelines[pipeline]:
            listener.ssl_context = ctx
        setattr(self, f"{pipeline}_cert", cert)

    # ---------------------------------------------------------------------------------------------- looking up

    def listeners(self) -> list[Listener]:
        """Every listener once: backends first, then fronts."""
        found = list(self._backends.values()) + [f for f in self._fronts.values() if f is not None]
        return list(dict.fromkeys(found))

    def endpoint(self, key: Endpoint | str) -> Endpoint:
        """An endpoint by itself, its spec (``imaps://imap.<cd>:993``) or its probe name when that is unique."""
        if isinstance(key, Endpoint):
            return key
        matches = [ep for ep in self.topology.endpoints + self.topology.sites if key in (ep.spec, ep.probe)]
        if len(matches) != 1:
            specs = ", ".join(ep.spec for ep in self.topology.endpoints)
            raise KeyError(f"{key!r} names {len(matches)} endpoints of {self.topology.name} ({specs})")
        return matches[0]

    def front(self, endpoint: Endpoint | str) -> Front | None:
        return self._fronts[self.endpoint(endpoint)]

    def backend(self, endpoint: Endpoint | str) -> Listener:
        return self._backends[self.endpoint(endpoint)]

    def listener(self, endpoint: Endpoint | str) -> Listener:
        """What the public probe reaches: the front, or the backend when there is none."""
        return self.front(endpoint) or self.backend(endpoint)

    @property
    def connect_to(self) -> list[str]:
        """``host:port:127.0.0.1:port`` for every endpoint's public address (curl ``--connect-to``)."""
        return _dedupe((ep.host, ep.port, self.listener(ep).port) for ep in self.topology.endpoints + self.topology.sites)

    @property
    def vpc_connect_to(self) -> list[str]:
        """The in-VPC view, as from a shell in a task (the runbook's ``aws ecs execute-command``): each
        ``backend`` url and each mail name straight to its backend listener (bypassing the NLB); HTTPS names
        through their fronts (the HTTP backends speak no TLS, as behind CloudFront and the ALB)."""
        rows = []
        for ep in self.topology.endpoints + self.topology.sites:
            if ep.backend:
                url = urlsplit(ep.backend)
                rows.append((url.hostname, url.port or SCHEMES[url.scheme], self.backend(ep).port))
            direct = ep.scheme != "https" and not (ep.front == "nlb" and ep.listener_protocol.upper() == "TLS")
            rows.append((ep.host, ep.port, (self.backend(ep) if direct else self.listener(ep)).port))
        return _dedupe(rows)


def _imap(plant: WirePlant, ep: Endpoint, name: str) -> Listener:
    return ImapBackend(name, plant._contexts["le"])


def _smtp(plant: WirePlant, ep: Endpoint, name: str) -> Listener:
    return SmtpBackend(name, plant._loop, ep.verify_name, plant._contexts["le"],
                       implicit_tls=ep.scheme == "smtps", require_starttls=ep.scheme == "smtp+starttls")


def _http(app: str) -> Callable[[WirePlant, Endpoint, str], Listener]:
    def build(plant: WirePlant, ep: Endpoint, name: str) -> Listener:
        return HttpBackend(name, app, plant.control_domain)

    return build


# probe -> (the certificate pipeline its own TLS is in, or None; how to build it). "": a static site (a CloudFront
# alias with no probe of its own), served like the admin app's bucket.
BACKENDS: dict[str, tuple[str | None, Callable[[WirePlant, Endpoint, str], Listener]]] = {
    "imap": ("le", _imap),
    "smtp_relay": ("le", _smtp),
    "submission": ("le", _smtp),
    "admin_app": (None, _http("admin")),
    "api_list": (None, _http("api")),
    "ntfy": (None, _http("ntfy")),
    "": (None, _http("admin")),
}


def _route_prefix(ep: Endpoint) -> str:
    """CloudFront's behaviour for the API is ``/prod/*``; everything else is the default route."""
    if ep.probe != "api_list":
        return ""
    first = ep.path.strip("/").split("/")[0]
    return f"/{first}/" if first else ""


def _dedupe(rows) -> list[str]:
    seen: dict[tuple, str] = {}
    for host, port, local in rows:
        seen.setdefault((host, port), f"{host}:{port}:127.0.0.1:{local}")
    return list(seen.values())
