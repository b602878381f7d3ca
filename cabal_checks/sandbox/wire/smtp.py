"""SMTP: the relay (25, STARTTLS), submission (587, STARTTLS required) and implicit-TLS submission (465), served by
aiosmtpd on an asyncio loop in a daemon thread."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from typing import Any, ClassVar

from aiosmtpd.smtp import SMTP, syntax

from .common import HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, MAX_CONNS, MODE_SWITCH_TIMEOUT
from .listener import Listener


class LoopThread:
    """An asyncio event loop in a daemon thread, for the aiosmtpd protocol objects."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # made by start()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the sandbox's asyncio loop is not started (LoopThread.start() first)")
        return self._loop

    def start(self) -> None:
        if self._thread is None:
            self._loop = loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="sandbox asyncio", daemon=True)
            self._thread.start()

    def run(self, coro) -> None:
        """Run ``coro`` on the loop and wait for it."""
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(MODE_SWITCH_TIMEOUT)

    def submit(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self) -> None:
        if self._thread is None:
            return
        self.run(_cancel_tasks())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(MODE_SWITCH_TIMEOUT)
        self.loop.close()
        self._thread = self._loop = None


async def _cancel_tasks() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _ in range(3):  # let transports' close callbacks run
        await asyncio.sleep(0)


class _SmtpHandler:
    """aiosmtpd hooks: accept every message; drop STARTTLS from EHLO when the backend says so."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not server.backend.advertise_starttls:
            responses = [r for r in responses if r[4:].upper() != "STARTTLS"]
        return responses

    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok: queued as SANDBOX"


class _SandboxSMTP(SMTP):
    """aiosmtpd's SMTP with the backend's banner and STARTTLS knobs."""

    def __init__(self, backend: SmtpBackend, **kwargs):
        super().__init__(_SmtpHandler(), **kwargs)
        self.backend = backend
        self.banner = (backend.banner_code, backend.banner_text)

    async def _handle_client(self) -> None:
        code, text = self.banner
        if code == 220:
            self.__ident__ = text  # aiosmtpd greets with "220 {hostname} {__ident__}"
            return await super()._handle_client()
        # RFC 5321 3.1: after a 554 greeting the server waits for QUIT and refuses everything else.
        await self.push(f"{code} {self.hostname} {text}")
        while self.transport is not None:
            line = await self._reader.readline()
            if not line or line.strip().upper() == b"QUIT":
                await self.push("221 2.0.0 Bye")
                break
            await self.push("503 5.5.1 Bad sequence of commands")
        if self.transport is not None:
            self.transport.close()

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.backend.starttls_error and not arg:
            await self.push(self.backend.starttls_error)
            return
        await super().smtp_STARTTLS(arg)

    def connection_lost(self, error) -> None:
        self.backend._protocols.discard(self)
        super().connection_lost(error)
        closed = getattr(self, "_closed", None)  # a client that went mid-write leaves an error here
        if closed is not None and closed.done() and not closed.cancelled():
            closed.exception()  # retrieved, so asyncio does not log "Future exception was never retrieved"


class SmtpBackend(Listener):
    """An SMTP server (aiosmtpd) serving the Let's Encrypt cert: relay 25, submission 587 or implicit-TLS 465.

    Knobs: ``banner_code`` / ``banner_text`` (greeting ``{code} {hostname} {text}``; a non-220 code then answers
    503 until QUIT), ``advertise_starttls``, ``starttls_error`` (e.g. ``"454 4.7.0 TLS not available"``).
    """

    KNOBS: ClassVar[dict[str, Any]] = {"banner_code": 220, "banner_text": "ESMTP Cabal sandbox",
                                       "advertise_starttls": True, "starttls_error": None}
    banner_code: int
    banner_text: str
    advertise_starttls: bool
    starttls_error: str | None

    def __init__(self, name: str, loop: LoopThread, hostname: str, ssl_context: ssl.SSLContext,
                 implicit_tls: bool = False, require_starttls: bool = False):
        super().__init__(name)
        self.aio, self.hostname, self.ssl_context = loop, hostname, ssl_context
        self.implicit_tls, self.require_starttls = implicit_tls, require_starttls
        self._protocols: set[_SandboxSMTP] = set()
        self.reset()

    def greeting(self) -> bytes:
        return f"{self.banner_code} {self.hostname} {self.banner_text}\r\n".encode()

    def _adopt(self, sock: socket.socket) -> bool:
        if len(self._protocols) >= MAX_CONNS:
            sock.close()
            return True
        sock.setblocking(False)
        self.aio.submit(self._connect(sock))
        return True

    async def _connect(self, sock: socket.socket) -> None:
        ctx = self.ssl_context if self.implicit_tls else None
        try:
            await asyncio.get_running_loop().connect_accepted_socket(
                self._protocol, sock, ssl=ctx, ssl_handshake_timeout=HANDSHAKE_TIMEOUT if ctx else None
            )
        except (TimeoutError, OSError):
            sock.close()

    def _protocol(self) -> _SandboxSMTP:
        proto = _SandboxSMTP(
            self,
            hostname=self.hostname,
            tls_context=None if self.implicit_tls else self.ssl_context,
            require_starttls=self.require_starttls,
            timeout=IDLE_TIMEOUT,
            loop=self.aio.loop,
        )
        self._protocols.add(proto)
        return proto

    def _stop_more(self) -> None:
        self.aio.run(self._close_all())

    async def _close_all(self) -> None:
        for proto in list(self._protocols):
            if proto.transport is not None:
                proto.transport.close()
