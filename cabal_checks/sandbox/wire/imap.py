"""IMAP: Dovecot's listener on 143 (plaintext that offers STARTTLS), as the sandbox serves it."""

from __future__ import annotations

import ssl
from typing import Any, ClassVar

from .common import IDLE_TIMEOUT, Conn, Lines
from .listener import Listener


class ImapBackend(Listener):
    """Dovecot on 143: plaintext IMAP that offers STARTTLS (the Let's Encrypt cert).

    Knob: ``starttls_error`` (e.g. ``"NO [UNAVAILABLE] TLS not available"``) answers STARTTLS with that instead.
    """

    GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Cabal sandbox ready\r\n"
    CAPS: ClassVar[dict[bool, str]] = {False: "IMAP4rev1 STARTTLS LOGINDISABLED", True: "IMAP4rev1 AUTH=PLAIN"}
    KNOBS: ClassVar[dict[str, Any]] = {"starttls_error": None}
    starttls_error: str | None

    def __init__(self, name: str, ssl_context: ssl.SSLContext):
        super().__init__(name)
        self.ssl_context = ssl_context
        self.reset()

    def greeting(self) -> bytes:
        return self.GREETING

    def serve(self, conn: Conn) -> None:
        conn.sock.settimeout(IDLE_TIMEOUT)
        conn.sock.sendall(self.GREETING)
        lines, tls = Lines(conn.sock), False
        while (line := lines.next()) is not None:
            tag, _, rest = line.partition(" ")
            command = rest.split(" ")[0].upper()
            if command == "STARTTLS" and not tls and not self.starttls_error:
                conn.sock.sendall(f"{tag} OK Begin TLS negotiation now.\r\n".encode())
                conn.wrap(self.ssl_context)
                conn.sock.settimeout(IDLE_TIMEOUT)
                lines, tls = Lines(conn.sock), True
                continue
            conn.sock.sendall(self._answer(tag, command, tls).encode())
            if command == "LOGOUT":
                return

    def _answer(self, tag: str, command: str, tls: bool) -> str:
        if not tag or not command:
            return "* BAD Error in IMAP command received by server.\r\n"
        answer = _ANSWERS.get(command, _bad)
        return answer(self, tag, tls)


def _capability(backend: ImapBackend, tag: str, tls: bool) -> str:
    return f"* CAPABILITY {backend.CAPS[tls]}\r\n{tag} OK Capability completed.\r\n"


def _noop(backend: ImapBackend, tag: str, tls: bool) -> str:
    return f"{tag} OK NOOP completed.\r\n"


def _logout(backend: ImapBackend, tag: str, tls: bool) -> str:
    return f"* BYE Logging out\r\n{tag} OK Logout completed.\r\n"


def _starttls_refused(backend: ImapBackend, tag: str, tls: bool) -> str:
    """STARTTLS that serve() did not take: the ``starttls_error`` knob, or BAD once TLS is on."""
    return _bad(backend, tag, tls) if tls else f"{tag} {backend.starttls_error}\r\n"


def _bad(backend: ImapBackend, tag: str, tls: bool) -> str:
    return f"{tag} BAD Error in IMAP command received by server.\r\n"


# command -> the answer (STARTTLS itself is served by serve(), which turns the connection to TLS)
_ANSWERS = {"CAPABILITY": _capability, "NOOP": _noop, "LOGOUT": _logout, "STARTTLS": _starttls_refused}
