"""The fronts: what the public probe reaches before a backend (an NLB listener, TLS or TCP; CloudFront; an ALB)."""

from __future__ import annotations

import select
import socket
import ssl
from http.server import BaseHTTPRequestHandler

from .common import HANDSHAKE_TIMEOUT, Conn, read_head
from .http import request_path
from .listener import Listener

FRONT_KINDS = ("nlb-tls", "nlb-tcp", "cloudfront", "alb")
_LB_ERRORS = {
    "cloudfront": (502, "Bad Gateway", "CloudFront", {"X-Cache": "Error from cloudfront"},
                   "<h1>502 ERROR</h1><h2>The request could not be satisfied.</h2>"),
    "alb": (503, "Service Temporarily Unavailable", "awselb/2.0", {},
            "<center><h1>503 Service Temporarily Unavailable</h1></center>"),
}


class Front(Listener):
    """What the public probe reaches: an NLB listener (TLS or TCP), CloudFront or an ALB.

    TLS kinds terminate TLS with ``ssl_context`` (the ACM cert) and talk plaintext to the backend; ``nlb-tcp``
    passes bytes through. HTTP kinds pick the backend by path prefix. When the backend refuses, TLS kinds finish
    the handshake and then close (CloudFront and the ALB first answer ``no_target_status``: 502 / 503), and
    ``nlb-tcp`` accepts and closes.
    """

    def __init__(self, name: str, kind: str, ssl_context: ssl.SSLContext | None = None):
        if kind not in FRONT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FRONT_KINDS)}")
        super().__init__(name)
        self.kind, self.ssl_context = kind, ssl_context
        self.implicit_tls = kind != "nlb-tcp"
        self.client_speaks_first = kind in _LB_ERRORS
        self.routes: list[tuple[str, Listener]] = []
        self.reset()

    def reset(self) -> None:
        """The knob ``no_target_status``: what CloudFront (502) or the ALB (503) answers when the backend refuses."""
        self.no_target_status: int | None = _LB_ERRORS[self.kind][0] if self.kind in _LB_ERRORS else None

    def add_route(self, prefix: str, backend: Listener) -> None:
        """Send requests whose path starts with ``prefix`` to ``backend`` ("" = the default)."""
        self.routes.append((prefix, backend))
        self.routes.sort(key=lambda r: len(r[0]), reverse=True)

    def backend_for(self, path: str) -> Listener:
        return next(b for prefix, b in self.routes if path.startswith(prefix))

    def greeting(self) -> bytes:
        return self.backend_for("").greeting()

    def serve(self, conn: Conn) -> None:
        if self.implicit_tls:
            conn.wrap(self.ssl_context)
        head, backend = b"", self.backend_for("")
        if self.client_speaks_first:
            request = read_head(conn.sock)
            if request is None:
                return
            head, backend = request, self.backend_for(request_path(request))
        try:
            upstream = socket.create_connection(("127.0.0.1", backend.port), timeout=HANDSHAKE_TIMEOUT)
        except OSError:
            if self.client_speaks_first and self.no_target_status:
                conn.sock.sendall(self._lb_error(self.no_target_status))
            return
        with upstream:
            upstream.sendall(head)
            _relay(conn.sock, upstream)

    def _lb_error(self, status: int) -> bytes:
        _, _, server, headers, html = _LB_ERRORS[self.kind]
        reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
        body = f"<html><head><title>{status} {reason}</title></head><body>{html}</body></html>".encode()
        lines = [f"HTTP/1.1 {status} {reason}", f"Server: {server}", "Content-Type: text/html",
                 f"Content-Length: {len(body)}", "Connection: close"] + [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    client.settimeout(None)
    upstream.settimeout(None)
    poller = select.poll()
    poller.register(client, select.POLLIN)
    poller.register(upstream, select.POLLIN)
    peers = {client.fileno(): (client, upstream), upstream.fileno(): (upstream, client)}
    while True:
        for fd, _ in poller.poll():
            src, dst = peers[fd]
            data = src.recv(65536)
            while data and isinstance(src, ssl.SSLSocket) and src.pending():
                data += src.recv(src.pending())
            if not data:
                return
            dst.sendall(data)
