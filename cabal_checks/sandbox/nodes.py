"""More nodes behind one public name: a load balancer has one per zone, each at its own address.

The plant gives each front one listener on 127.0.0.1; ``add_node`` adds another on another loopback address
(127.0.0.2, 127.0.0.3...: Linux routes all of 127/8 to lo) that forwards to the same backends, and the
``--connect-to`` row that makes the public name stand for it too (the same ``H:P`` repeated: the suite probes each).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from .wire import Front


class ZoneNode(Front):
    """A front's twin at ``address``: same kind, certificate and routes."""

    def __init__(self, twin: Front, address: str, zone: str):
        super().__init__(f"{twin.name} node {zone}", twin.kind, twin.ssl_context)
        self.address, self.zone = address, zone
        self.routes = list(twin.routes)

    def __repr__(self) -> str:
        return f"<ZoneNode {self.name} {self.address}:{self.port} mode={self.mode}>"

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, self.port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        return sock


@dataclass(frozen=True)
class Node:
    listener: ZoneNode
    connect_to: str  # the --connect-to row: host:port:address:port


def add_node(twin: Front, host: str, port: int, address: str, zone: str) -> Node:
    """A started node at ``address`` beside ``twin`` for ``host:port``; the caller stops it."""
    node = ZoneNode(twin, address, zone)
    node.start()
    return Node(node, f"{host}:{port}:{address}:{node.port}")
