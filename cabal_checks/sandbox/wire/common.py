"""What every protocol of the sandbox wire shares: the bounds, one accepted connection, CRLF lines, an HTTP head."""

from __future__ import annotations

import socket
import ssl
import threading

HUGE_BANNER = 10 * 1024 * 1024
MAX_CONNS = 128  # per listener; more are closed at once (memory stays bounded)
HANDSHAKE_TIMEOUT = 5.0
FIRST_BYTES_TIMEOUT = 2.0  # rst / tls_stall wait this long for a ClientHello
IDLE_TIMEOUT = 60.0
HEAD_LIMIT = 64 * 1024
MODE_SWITCH_TIMEOUT = 5.0


class Conn:
    """One accepted connection. Its worker owns the socket; stop() may kick it from another thread."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._closed = False

    def wrap(self, ctx: ssl.SSLContext | None) -> ssl.SSLSocket:
        """Server-side TLS on this connection (the fd stays open until close(), whatever happens)."""
        if ctx is None:
            raise ssl.SSLError(f"this listener serves TLS but has no ssl_context (fd {self._fd})")
        self.sock.settimeout(HANDSHAKE_TIMEOUT)
        tls = ctx.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        with self._lock:
            self.sock = tls
        tls.do_handshake()
        return tls

    def kick(self) -> None:
        """Shut the connection down so a blocked worker returns."""
        with self._lock:
            if self._closed:
                return
            raw = socket.socket(fileno=self._fd)
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                raw.detach()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.sock.close()


class Lines:
    """CRLF lines from a socket, at most ``limit`` bytes each."""

    def __init__(self, sock: socket.socket, limit: int = 8192):
        self.sock, self.limit, self.buf = sock, limit, b""

    def next(self) -> str | None:
        while b"\n" not in self.buf:
            if len(self.buf) > self.limit:
                return None
            data = self.sock.recv(4096)
            if not data:
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r").decode("utf-8", "replace")


def read_head(sock: socket.socket) -> bytes | None:
    """An HTTP request head (and whatever followed it), or None if the client went or sent too much."""
    sock.settimeout(IDLE_TIMEOUT)
    head = b""
    while b"\r\n\r\n" not in head:
        if len(head) > HEAD_LIMIT:
            return None
        data = sock.recv(16384)
        if not data:
            return None
        head += data
    return head
