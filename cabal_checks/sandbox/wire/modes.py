"""What a listener's ``mode`` does to a new connection, as a table: mode name -> ``Mode`` (does the port listen; what
the connection gets). The modes act below the protocol (TCP, TLS), so every protocol shares them; a protocol adds
only its greeting (``drip``, ``huge_banner``) and whether TLS starts at connect or the client speaks first.

=============== =====================================================================================
``normal``      the protocol
``refuse``      nothing listens on the port (connect gets ECONNREFUSED); back to another mode re-listens
                on the same port
``silent``      accept, never send; hold until the client goes or stop()
``close``       accept, then close at once
``drip``        the normal greeting, one byte a second (inside TLS where TLS starts at connect)
``garbage``     random non-protocol bytes and a newline (before any TLS), then hold
``huge_banner`` 10 MiB with no line end (inside TLS where TLS starts at connect), then hold
``rst``         read the first bytes (the TLS ClientHello), then reset (SO_LINGER 0)
``tls_stall``   read the ClientHello, never answer; hold
=============== =====================================================================================
"""

from __future__ import annotations

import secrets
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .common import FIRST_BYTES_TIMEOUT, HUGE_BANNER, IDLE_TIMEOUT, Conn, read_head

if TYPE_CHECKING:
    from .listener import Listener

Behaviour = Callable[["Listener", Conn], None]


@dataclass(frozen=True)
class Mode:
    """One mode: whether the port listens, and what an accepted connection gets (in its worker thread)."""

    name: str
    listens: bool
    run: Behaviour


def _normal(listener: Listener, conn: Conn) -> None:
    listener.serve(conn)


def _close(listener: Listener, conn: Conn) -> None:
    """Nothing: the worker closes the connection (also one accepted just as the port stops listening)."""


def _silent(listener: Listener, conn: Conn) -> None:
    hold(conn)


def _garbage(listener: Listener, conn: Conn) -> None:
    conn.sock.sendall(b"%" + secrets.token_urlsafe(24).encode() + b"\r\n")
    hold(conn)


def _rst(listener: Listener, conn: Conn) -> None:
    _first_bytes(conn)
    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _tls_stall(listener: Listener, conn: Conn) -> None:
    _first_bytes(conn)
    hold(conn)


def _drip(listener: Listener, conn: Conn) -> None:
    if _opened(listener, conn):
        conn.sock.settimeout(IDLE_TIMEOUT)
        greeting = listener.greeting()
        for i in range(len(greeting)):
            conn.sock.sendall(greeting[i:i + 1])
            if listener.stopping.wait(1.0):
                break
        hold(conn)


def _huge_banner(listener: Listener, conn: Conn) -> None:
    if _opened(listener, conn):
        conn.sock.settimeout(IDLE_TIMEOUT)
        start = listener.greeting().split(b"\r\n")[0][:64]
        chunk = b"x" * 65536
        conn.sock.sendall(start)
        sent = len(start)
        while sent < HUGE_BANNER and not listener.stopping.is_set():
            conn.sock.sendall(chunk)
            sent += len(chunk)
        hold(conn)


MODES_TABLE: dict[str, Mode] = {m.name: m for m in (
    Mode("normal", True, _normal),
    Mode("refuse", False, _close),
    Mode("silent", True, _silent),
    Mode("close", True, _close),
    Mode("drip", True, _drip),
    Mode("garbage", True, _garbage),
    Mode("huge_banner", True, _huge_banner),
    Mode("rst", True, _rst),
    Mode("tls_stall", True, _tls_stall),
)}
MODES = tuple(MODES_TABLE)


def hold(conn: Conn) -> None:
    """Read and drop whatever comes until the client goes (or stop() kicks the connection)."""
    conn.sock.settimeout(None)
    while conn.sock.recv(65536):
        pass


def _first_bytes(conn: Conn) -> None:
    """Wait a while for the client's first bytes (the TLS ClientHello) and drop them."""
    conn.sock.settimeout(FIRST_BYTES_TIMEOUT)
    try:
        conn.sock.recv(4096)
    except TimeoutError:
        pass


def _opened(listener: Listener, conn: Conn) -> bool:
    """Get to where the greeting would come: TLS first where it starts at connect, and the request head where the
    client speaks first. False: the client went (or sent too much) before that."""
    if listener.implicit_tls:
        conn.wrap(listener.ssl_context)
    return not (listener.client_speaks_first and read_head(conn.sock) is None)
