"""The sandbox wire: real listeners on 127.0.0.1 for every endpoint of a topology, with faults on demand.

Each endpoint is a FRONT (what the public probe reaches: NLB listener, CloudFront, ALB) before a BACKEND (the ECS
task's own listener). Every listener has a ``mode``, settable at runtime from any thread, that decides what a NEW
connection gets:

=============  =====================================================================================
``normal``     the protocol
``refuse``     nothing listens on the port (connect gets ECONNREFUSED); back to another mode re-listens
               on the same port
``silent``     accept, never send; hold until the client goes or stop()
``close``      accept, then close at once
``drip``       the normal greeting, one byte a second (inside TLS where TLS starts at connect)
``garbage``    random non-protocol bytes and a newline (before any TLS), then hold
``huge_banner`` 10 MiB with no line end (inside TLS where TLS starts at connect), then hold
``rst``        read the first bytes (the TLS ClientHello), then reset (SO_LINGER 0)
``tls_stall``  read the ClientHello, never answer; hold
=============  =====================================================================================

Listeners take port 0, every thread is a daemon, stop() joins them. ``WirePlant`` builds the lot for a topology.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import select
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import ClassVar, Self
from urllib.parse import urlsplit

from aiosmtpd.smtp import SMTP, syntax

from ..topology import SCHEMES, Endpoint, Topology
from .pki import IssuedCert, SandboxPKI

MODES = ("normal", "refuse", "silent", "close", "drip", "garbage", "huge_banner", "rst", "tls_stall")
HUGE_BANNER = 10 * 1024 * 1024
MAX_CONNS = 128  # per listener; more are closed at once (memory stays bounded)
HANDSHAKE_TIMEOUT = 5.0
FIRST_BYTES_TIMEOUT = 2.0  # rst / tls_stall wait this long for a ClientHello
IDLE_TIMEOUT = 60.0
HEAD_LIMIT = 64 * 1024
MODE_SWITCH_TIMEOUT = 5.0


class _Conn:
    """One accepted connection. Its worker owns the socket; stop() may kick it from another thread."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self._fd = sock.fileno()
        self._lock = threading.Lock()
        self._closed = False

    def wrap(self, ctx: ssl.SSLContext | None) -> ssl.SSLSocket:
        """Server-side TLS on this connection (the fd stays open until close(), whatever happens)."""
        if ctx is None:
            raise RuntimeError("this listener serves TLS but has no ssl_context")
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


class Listener:
    """A TCP listener on 127.0.0.1 whose ``mode`` decides what each new connection gets.

    Subclasses give ``serve(conn)`` (the normal protocol, in a worker thread) and ``greeting()``; ``ssl_context`` is
    the context the listener serves (swappable: new connections get the new one).
    """

    implicit_tls = False  # TLS starts at connect
    client_speaks_first = False  # HTTP: the client sends its request before the server says anything

    def __init__(self, name: str):
        self.name = name
        self.port = 0
        self.ssl_context: ssl.SSLContext | None = None
        self._mode = "normal"
        self._cond = threading.Condition()
        self._wanted = self._applied = 0
        self._error: OSError | None = None
        self._lsock: socket.socket | None = None
        self._wake_r: socket.socket  # the accept loop's wake-up pair: made by start(), there while _thread is
        self._wake_w: socket.socket
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: set[_Conn] = set()
        self._workers: set[threading.Thread] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} 127.0.0.1:{self.port} mode={self._mode}>"

    def reset(self) -> None:
        """Knobs back to their defaults (subclasses)."""

    def greeting(self) -> bytes:
        return b""

    def serve(self, conn: _Conn) -> None:
        raise NotImplementedError

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        with self._cond:
            self._mode = mode
            if self._thread is None:
                return
            self._wanted += 1
            wanted = self._wanted
            self._wake_w.send(b"m")
            if not self._cond.wait_for(lambda: self._applied >= wanted, timeout=MODE_SWITCH_TIMEOUT):
                raise TimeoutError(f"{self.name}: mode {mode} not applied")
            error, self._error = self._error, None
        if error is not None:
            raise error

    def start(self) -> None:
        if self._thread is not None:
            return
        self._wake_r, self._wake_w = socket.socketpair()
        self._lsock = self._bind()
        self.port = self._lsock.getsockname()[1]
        if self._mode == "refuse":
            self._lsock.close()
            self._lsock = None
        self._thread = threading.Thread(target=self._accept_loop, name=f"sandbox {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, end every connection, join every thread. Idempotent."""
        if self._thread is None:
            return
        self._stopping.set()
        self._wake_w.send(b"s")
        self._thread.join(MODE_SWITCH_TIMEOUT)
        with self._lock:
            conns, workers = list(self._conns), list(self._workers)
        for conn in conns:
            conn.kick()
        self._stop_more()
        for worker in workers:
            worker.join(MODE_SWITCH_TIMEOUT)
        self._wake_r.close()
        self._wake_w.close()
        self._thread = None

    def _stop_more(self) -> None:
        """Subclass hook: end connections that no worker thread owns."""

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen(64)
        except OSError:
            sock.close()
            raise
        return sock

    def _accept_loop(self) -> None:
        try:
            while not self._stopping.is_set():
                poller = select.poll()
                poller.register(self._wake_r, select.POLLIN)
                lsock = self._lsock
                if lsock is not None:
                    poller.register(lsock, select.POLLIN)
                ready = {fd for fd, _ in poller.poll()}
                if self._wake_r.fileno() in ready:
                    self._wake_r.recv(4096)
                    self._apply_mode()
                elif lsock is not None and lsock.fileno() in ready:
                    self._accept(lsock)
        finally:
            with self._cond:
                if self._lsock is not None:
                    self._lsock.close()
                    self._lsock = None
                self._applied = self._wanted
                self._cond.notify_all()

    def _apply_mode(self) -> None:
        """Open or close the listening socket to match the mode (accept thread only)."""
        with self._cond:
            listen = self._mode != "refuse" and not self._stopping.is_set()
            try:
                if listen and self._lsock is None:
                    self._lsock = self._bind()
                elif not listen and self._lsock is not None:
                    self._lsock.close()
                    self._lsock = None
            except OSError as exc:
                self._error = exc
            self._applied = self._wanted
            self._cond.notify_all()

    def _accept(self, lsock: socket.socket) -> None:
        try:
            sock, _ = lsock.accept()
        except OSError:
            return
        mode = self._mode
        with self._lock:
            full = len(self._conns) >= MAX_CONNS
        if full:
            sock.close()
            return
        if mode == "normal" and self._adopt(sock):
            return
        conn = _Conn(sock)
        worker = threading.Thread(target=self._work, args=(conn, mode), name=f"sandbox {self.name} conn", daemon=True)
        with self._lock:
            self._conns.add(conn)
            self._workers.add(worker)
        worker.start()

    def _adopt(self, sock: socket.socket) -> bool:
        """Subclass hook: take a normal connection elsewhere (aiosmtpd); False = serve it in a worker thread."""
        return False

    def _work(self, conn: _Conn, mode: str) -> None:
        try:
            if mode == "normal":
                self.serve(conn)
            else:
                self._fault(conn, mode)
        except OSError:  # the client went, a TLS error, a timeout: all end the connection
            pass
        finally:
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self._workers.discard(threading.current_thread())

    def _fault(self, conn: _Conn, mode: str) -> None:
        sock = conn.sock
        if mode == "close":
            return
        if mode in ("rst", "tls_stall"):
            sock.settimeout(FIRST_BYTES_TIMEOUT)
            try:
                sock.recv(4096)
            except TimeoutError:
                pass
            if mode == "rst":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            return self._hold(conn)
        if mode == "silent":
            return self._hold(conn)
        if mode == "garbage":
            sock.sendall(b"%" + secrets.token_urlsafe(24).encode() + b"\r\n")
            return self._hold(conn)
        if self.implicit_tls:
            conn.wrap(self.ssl_context)
        if self.client_speaks_first and _read_head(conn.sock) is None:
            return
        if mode == "drip":
            self._drip(conn)
        else:
            self._huge_banner(conn)
        self._hold(conn)

    def _hold(self, conn: _Conn) -> None:
        """Read and drop whatever comes until the client goes (or stop() kicks the connection)."""
        conn.sock.settimeout(None)
        while conn.sock.recv(65536):
            pass

    def _drip(self, conn: _Conn) -> None:
        conn.sock.settimeout(IDLE_TIMEOUT)
        greeting = self.greeting()
        for i in range(len(greeting)):
            conn.sock.sendall(greeting[i:i + 1])
            if self._stopping.wait(1.0):
                return

    def _huge_banner(self, conn: _Conn) -> None:
        conn.sock.settimeout(IDLE_TIMEOUT)
        start = self.greeting().split(b"\r\n")[0][:64]
        chunk = b"x" * 65536
        conn.sock.sendall(start)
        sent = len(start)
        while sent < HUGE_BANNER and not self._stopping.is_set():
            conn.sock.sendall(chunk)
            sent += len(chunk)


class _Lines:
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


# ---------------------------------------------------------------------------------------------------------- IMAP


class ImapBackend(Listener):
    """Dovecot on 143: plaintext IMAP that offers STARTTLS (the Let's Encrypt cert).

    Knob: ``starttls_error`` (e.g. ``"NO [UNAVAILABLE] TLS not available"``) answers STARTTLS with that instead.
    """

    GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Cabal sandbox ready\r\n"
    CAPS: ClassVar[dict[bool, str]] = {False: "IMAP4rev1 STARTTLS LOGINDISABLED", True: "IMAP4rev1 AUTH=PLAIN"}

    def __init__(self, name: str, ssl_context: ssl.SSLContext):
        super().__init__(name)
        self.ssl_context = ssl_context
        self.reset()

    def reset(self) -> None:
        self.starttls_error: str | None = None

    def greeting(self) -> bytes:
        return self.GREETING

    def serve(self, conn: _Conn) -> None:
        conn.sock.settimeout(IDLE_TIMEOUT)
        conn.sock.sendall(self.GREETING)
        lines, tls = _Lines(conn.sock), False
        while (line := lines.next()) is not None:
            tag, _, rest = line.partition(" ")
            command = rest.split(" ")[0].upper()
            if command == "STARTTLS" and not tls and not self.starttls_error:
                conn.sock.sendall(f"{tag} OK Begin TLS negotiation now.\r\n".encode())
                conn.wrap(self.ssl_context)
                conn.sock.settimeout(IDLE_TIMEOUT)
                lines, tls = _Lines(conn.sock), True
                continue
            conn.sock.sendall(self._answer(tag, command, tls).encode())
            if command == "LOGOUT":
                return

    def _answer(self, tag: str, command: str, tls: bool) -> str:
        if not tag or not command:
            return "* BAD Error in IMAP command received by server.\r\n"
        if command == "CAPABILITY":
            return f"* CAPABILITY {self.CAPS[tls]}\r\n{tag} OK Capability completed.\r\n"
        if command == "NOOP":
            return f"{tag} OK NOOP completed.\r\n"
        if command == "LOGOUT":
            return f"* BYE Logging out\r\n{tag} OK Logout completed.\r\n"
        if command == "STARTTLS" and not tls:
            return f"{tag} {self.starttls_error}\r\n"
        return f"{tag} BAD Error in IMAP command received by server.\r\n"


# ---------------------------------------------------------------------------------------------------------- SMTP


class _LoopThread:
    """An asyncio event loop in a daemon thread, for the aiosmtpd protocol objects."""

    def __init__(self):
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self.loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self.loop.run_forever, name="sandbox asyncio", daemon=True)
            self._thread.start()

    def _running(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("the sandbox's asyncio loop is not started")
        return self.loop

    def run(self, coro) -> None:
        """Run ``coro`` on the loop and wait for it."""
        asyncio.run_coroutine_threadsafe(coro, self._running()).result(MODE_SWITCH_TIMEOUT)

    def submit(self, coro) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._running())

    def stop(self) -> None:
        if self._thread is None:
            return
        self.run(_cancel_tasks())
        loop = self._running()
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(MODE_SWITCH_TIMEOUT)
        loop.close()
        self._thread = None


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

    def __init__(self, name: str, loop: _LoopThread, hostname: str, ssl_context: ssl.SSLContext,
                 implicit_tls: bool = False, require_starttls: bool = False):
        super().__init__(name)
        self.aio, self.hostname, self.ssl_context = loop, hostname, ssl_context
        self.implicit_tls, self.require_starttls = implicit_tls, require_starttls
        self._protocols: set[_SandboxSMTP] = set()
        self.reset()

    def reset(self) -> None:
        self.banner_code = 220
        self.banner_text = "ESMTP Cabal sandbox"
        self.advertise_starttls = True
        self.starttls_error: str | None = None

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


# ---------------------------------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class HttpBackend(Listener):
    """Plain HTTP/1.1, one request per connection: the admin app's S3 origin, the API, or ntfy.

    Knobs: ``status`` and/or ``body`` override every answer (status alone gets that app's error body; body alone
    comes with 200); ``redirect_loop`` answers 301 to the very URL asked for.
    """

    client_speaks_first = True
    SERVER: ClassVar[dict[str, str]] = {"admin": "AmazonS3", "api": "Server", "ntfy": "ntfy"}

    def __init__(self, name: str, app: str, control_domain: str):
        if app not in APPS:
            raise ValueError(f"app must be one of {', '.join(APPS)}")
        super().__init__(name)
        self.app, self.control_domain = app, control_domain
        self.reset()

    def reset(self) -> None:
        self.status: int | None = None
        self.body: bytes | None = None
        self.redirect_loop = False

    def greeting(self) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

    def serve(self, conn: _Conn) -> None:
        _HttpHandler(conn.sock, self)

    def reply(self, path: str, headers) -> Reply:
        if self.redirect_loop:
            location = f"https://{headers.get('Host', self.control_domain)}{path}"
            return Reply(301, "text/html", b"<html>Moved Permanently</html>", {"Location": location})
        if self.status is not None or self.body is not None:
            status = self.status or 200
            if self.body is not None:
                return Reply(status, _CONTENT_TYPES[self.app], self.body)
            return _error_reply(self.app, status)
        return APPS[self.app](path, headers, self.control_domain)


class _HttpHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def __init__(self, sock: socket.socket, backend: HttpBackend):
        """socketserver's handler life (setup, handle, finish) on one connection, answered by ``backend`` (no server)."""
        self.request, self.client_address, self.backend = sock, ("127.0.0.1", 0), backend
        self.setup()
        try:
            self.handle()
        finally:
            self.finish()

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, send_body: bool) -> None:
        reply = self.backend.reply(self.path, self.headers)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def version_string(self) -> str:
        return HttpBackend.SERVER[self.backend.app]

    def log_message(self, format, *args) -> None:
        pass


def _json(status: int, data, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, "application/json", json.dumps(data, separators=(",", ":")).encode(), headers or {})


def _admin(path: str, headers, control_domain: str) -> Reply:
    """The admin app's S3 origin: index at ``/``; anything else is AccessDenied (OAI, no ListBucket)."""
    if path.split("?")[0] in ("/", "/index.html"):
        body = b"<!doctype html><html><head><title>Cabalmail</title></head><body><div id=\"root\"></div></body></html>"
        return Reply(200, "text/html", body, {"ETag": '"sandbox"'})
    return _error_reply("admin", 403)


def _api(path: str, headers, control_domain: str) -> Reply:
    """API Gateway stage ``prod`` with a Cognito authorizer (the JWT's signature is not checked) and ``/list``."""
    request_id = {"x-amzn-RequestId": str(uuid.uuid4())}
    if path.split("?")[0] != "/prod/list":
        return _json(403, {"message": "Missing Authentication Token"}, request_id)
    auth = (headers.get("Authorization") or "").strip()
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth
    exp = jwt_exp(token)
    unauthorized = {**request_id, "x-amzn-ErrorType": "UnauthorizedException"}
    if exp is None:
        return _json(401, {"message": "Unauthorized"}, unauthorized)
    if exp <= time.time():
        return _json(401, {"message": "The incoming token has expired"}, unauthorized)
    items = [{"address": f"sandbox@mail.{control_domain}", "user": "sandbox", "comment": "sandbox address"}]
    return _json(200, {"Items": items}, request_id)


def _ntfy(path: str, headers, control_domain: str) -> Reply:
    if path.split("?")[0] == "/v1/health":
        return Reply(200, "application/json", b'{"healthy":true}\n')
    return _error_reply("ntfy", 404)


APPS = {"admin": _admin, "api": _api, "ntfy": _ntfy}
_CONTENT_TYPES = {"admin": "text/html", "api": "application/json", "ntfy": "application/json"}


def _error_reply(app: str, status: int) -> Reply:
    """What each origin says when it fails with ``status``."""
    reason = BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
    if app == "admin":
        code = {403: "AccessDenied", 404: "NoSuchKey"}.get(status, "InternalError")
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{reason}</Message></Error>'
        return Reply(status, "application/xml", body.encode())
    if app == "api":
        return _json(status, {"Error": f"sandbox: {reason}"} if status >= 500 else {"message": reason})
    return _json(status, {"code": status * 100 + 1, "http": status, "error": reason.lower()})


def jwt_exp(token: str) -> float | None:
    """The ``exp`` claim of an unverified JWT, or None when the token is missing or garbled."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return float(exp)


def _read_head(sock: socket.socket) -> bytes | None:
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


def _request_path(head: bytes) -> str:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    return parts[1].decode("latin-1") if len(parts) >= 2 else "/"


# --------------------------------------------------------------------------------------------------------- fronts

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
        self.no_target_status: int | None = _LB_ERRORS[self.kind][0] if self.kind in _LB_ERRORS else None

    def add_route(self, prefix: str, backend: Listener) -> None:
        """Send requests whose path starts with ``prefix`` to ``backend`` ("" = the default)."""
        self.routes.append((prefix, backend))
        self.routes.sort(key=lambda r: len(r[0]), reverse=True)

    def backend_for(self, path: str) -> Listener:
        return next(b for prefix, b in self.routes if path.startswith(prefix))

    def greeting(self) -> bytes:
        return self.backend_for("").greeting()

    def serve(self, conn: _Conn) -> None:
        if self.implicit_tls:
            conn.wrap(self.ssl_context)
        head, backend = b"", self.backend_for("")
        if self.client_speaks_first:
            read = _read_head(conn.sock)
            if read is None:
                return
            head, backend = read, self.backend_for(_request_path(read))
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


# ---------------------------------------------------------------------------------------------------------- plant


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
        self._loop = _LoopThread()
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
        name = f"{ep.probe} backend ({ep.spec})"
        if ep.probe == "imap":
            return self._in_pipeline("le", ImapBackend(name, self._contexts["le"]))
        if ep.probe in ("smtp_relay", "submission"):
            backend = SmtpBackend(name, self._loop, ep.verify_name, self._contexts["le"],
                                  implicit_tls=ep.scheme == "smtps", require_starttls=ep.scheme == "smtp+starttls")
            return self._in_pipeline("le", backend)
        app = {"admin_app": "admin", "api_list": "api", "ntfy": "ntfy", "": "admin"}[ep.probe]  # "": a static site
        return HttpBackend(name, app, self.control_domain)

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
