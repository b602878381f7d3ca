"""Probe an endpoint the way a mail client, a browser or the blackbox exporter would, and return facts.

Standard library only, on purpose: the in-VPC comparison ships this very file to a host inside the
VPC and runs it there with ``python3 -c SOURCE ARGS_JSON``, every endpoint at once in one process (see
``__main__`` at the bottom).

Every probe has ONE total deadline: connect, TLS handshake and every read share it, so a server that
drips a byte a second still ends at the deadline. A name that stands for several addresses (an NLB has a node
per zone) is probed at each, all at once, under that same deadline. Reads are bounded in size too (a 10 MB banner with
no line end costs ``MAX_LINE`` bytes of memory, not 10 MB).
"""

from __future__ import annotations

import base64
import errno
import functools
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace

MAX_LINE = 8192  # longest protocol line accepted
MAX_BODY = 256 * 1024  # longest HTTP body kept
MAX_LINES = 100  # most lines in one multi-line reply
MAX_REDIRECTS = 5
MAX_ADDRESS_BODY = 4096  # of each address's HTTP body, kept beside the chosen one's (judged: ntfy's health)
EHLO_NAME = "cabal-checks.invalid"
SECRET_HEADERS = {"authorization", "cookie"}


@dataclass(frozen=True)
class ProbeSpec:
    """What to probe. ``headers`` may carry a token: it is sent, never recorded."""

    scheme: str  # imaps | imap+starttls | smtp | smtp+starttls | smtps | https
    host: str
    port: int
    path: str = "/"
    verify_name: str = ""  # certificate name to verify (default: host)
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeResult:
    """Facts seen on the wire. ``ok`` means every step of the dialogue succeeded."""

    spec: str
    ok: bool
    step: str  # the step that failed ("" when ok): resolve, connect, tls, greeting, ehlo, starttls, http...
    error: str  # one line: what went wrong at that step
    address: str = ""  # where we really connected (after --connect-to)
    transcript: tuple = ()  # protocol lines seen and sent, secrets left out
    tls_version: str = ""
    verified: bool | None = None  # None: no TLS reached
    verify_error: str = ""
    chain: tuple = ()  # presented chain, DER, base64 (leaf first)
    status: int | None = None  # final HTTP status
    body: str = ""  # HTTP body (first MAX_BODY bytes, decoded leniently)
    redirects: tuple = ()
    elapsed: float = 0.0
    # When the name stands for several addresses (an NLB has one node per zone), each was probed: one
    # {"address", "ok", "step", "error", "status", "body"} per address, in the order found; () for a single one.
    addresses: tuple = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ProbeResult:
        data = json.loads(text)
        for key in ("transcript", "chain", "redirects", "addresses"):
            data[key] = tuple(data.get(key, ()))
        return cls(**data)


class HeadersUnavailable(Exception):
    """The late headers (a token still being minted) could not be had: not the endpoint's fault.
    ``probe`` re-raises the cause to its caller instead of reporting a red probe."""


class ProbeFailed(Exception):
    """A step of the dialogue failed; ``step`` names it."""

    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step


class Conn:
    """A socket whose every operation shares one deadline."""

    def __init__(self, sock: socket.socket, deadline: float, transcript: list):
        self.sock = sock
        self.deadline = deadline
        self.buf = b""
        self.transcript = transcript
        sock.setblocking(False)

    def remaining(self, step: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._late(step)
        return left

    def _wait(self, step: str, readable: bool = True) -> None:
        left = self.remaining(step)
        r, w, _ = select.select([self.sock] if readable else [], [] if readable else [self.sock], [], left)
        if not (r or w):
            raise self._late(step)

    def _late(self, step: str) -> ProbeFailed:
        if self.buf:  # bytes came, but not a whole answer: a server dripping, or stopped mid-line
            return ProbeFailed(step, f"answer still incomplete at the probe deadline ({len(self.buf)} bytes so far, "
                                     "no line end: the server sends very slowly or stopped mid-line)")
        return ProbeFailed(step, "no answer within the probe deadline (nothing received)")

    def _recv(self, step: str) -> bytes:
        while True:
            if not (isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()):
                self._wait(step)
            try:
                data = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue
            except ssl.SSLWantWriteError:
                self._wait(step, readable=False)
                continue
            except ssl.SSLError as exc:  # an alert after the handshake (TLS 1.3: client certificate required)
                why = _tls_why(exc)
                raise ProbeFailed("tls", f"TLS error after the handshake, waiting for the {step}: {why}") from None
            except OSError as exc:
                raise ProbeFailed(step, f"connection error: {exc.strerror or exc}") from None
            return data

    def readline(self, step: str) -> str:
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise ProbeFailed(step, f"more than {MAX_LINE} bytes without a line end: not the expected protocol")
            data = self._recv(step)
            if not data:
                got = f", after {self.buf[:60]!r}" if self.buf else ""
                raise ProbeFailed(step, f"server closed the connection{got}")
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        self.transcript.append("S: " + text[:200])
        return text

    def read_until_close(self, step: str, limit: int) -> bytes:
        out, self.buf = self.buf, b""
        while len(out) < limit:
            data = self._recv(step)
            if not data:
                break
            out += data
        return out[:limit]

    def read_exact(self, step: str, n: int) -> bytes:
        while len(self.buf) < n:
            data = self._recv(step)
            if not data:
                raise ProbeFailed(step, "server closed the connection mid-body")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, step: str, data: bytes, shown: str | None = None) -> None:
        self.transcript.append("C: " + (shown if shown is not None else data.decode().rstrip()))
        view = memoryview(data)
        while view:
            self._wait(step, readable=False)
            try:
                sent = self.sock.send(view)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                continue
            except ssl.SSLError as exc:  # TLS 1.3 servers reject after the client's handshake: the alert may wait
                why = _tls_why(self._pending_alert() or exc)
                raise ProbeFailed("tls", f"TLS error after the handshake, sending the {step}: {why}") from None
            except OSError as exc:
                raise ProbeFailed(step, f"connection error while sending: {exc.strerror or exc}") from None
            view = view[sent:]

    def _pending_alert(self) -> ssl.SSLError | None:
        """The TLS alert the server sent before it closed, if it is still waiting unread."""
        try:
            self.sock.recv(1)
        except ssl.SSLError as exc:
            return exc if "_ALERT_" in (exc.reason or "") else None
        except OSError:
            pass
        return None

    def start_tls(self, ctx: ssl.SSLContext, server_hostname: str) -> ssl.SSLSocket:
        """The handshake, within the deadline; returns the TLS socket (now also ``self.sock``)."""
        if self.buf:
            raise ProbeFailed("tls", "server sent data before the TLS handshake (possible injection)")
        tls = ctx.wrap_socket(self.sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        self.sock = tls
        while True:
            self.remaining("tls")
            try:
                tls.do_handshake()
                return tls
            except ssl.SSLWantReadError:
                self._wait("tls")
            except ssl.SSLWantWriteError:
                self._wait("tls", readable=False)
            except ssl.SSLCertVerificationError:
                raise
            except OSError as exc:  # ssl.SSLError included
                raise ProbeFailed("tls", f"TLS handshake failed: {_tls_why(exc)}") from None

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


_ALERT_HINTS = {
    "handshake_failure": "no TLS version or cipher in common, or it requires a client certificate",
    "certificate_required": "it requires a client certificate",
    "protocol_version": "no TLS version in common",
    "unrecognized_name": "it serves no certificate for the name we asked for (SNI)",
}


def _tls_why(exc: OSError) -> str:
    """A TLS failure in words: the server closed or reset the connection, spoke no TLS, or sent an alert."""
    reason = getattr(exc, "reason", None) or ""
    if isinstance(exc, ssl.SSLEOFError) or reason == "UNEXPECTED_EOF_WHILE_READING":
        return "the server closed the connection"
    if isinstance(exc, ConnectionResetError):
        return "the server closed the connection with a reset (RST)"
    if reason == "WRONG_VERSION_NUMBER":
        return "the server's answer is not TLS (WRONG_VERSION_NUMBER: plaintext on a TLS port?)"
    if "_ALERT_" in reason:  # OpenSSL names a received alert SSLV3_ALERT_X / TLSV1_ALERT_X / TLSV13_ALERT_X
        alert = reason.split("_ALERT_", 1)[1].lower()
        hint = _ALERT_HINTS.get(alert)
        return f"the server sent TLS alert {alert}" + (f" ({hint})" if hint else "")
    return reason or getattr(exc, "strerror", None) or str(exc)


def tls_context(cafile: str | None, verify: bool) -> ssl.SSLContext:
    """The client context, shared by every probe of the process (loading the system trust store costs ~50 ms of
    CPU each time); a changed ``cafile`` makes a new one."""
    try:
        stamp = os.stat(cafile).st_mtime_ns if cafile else 0
    except OSError:
        stamp = -1  # load_verify_locations below reports the missing file
    with _TLS_CONTEXT_LOCK:  # probes start together: one builds it, the others wait for it
        return _tls_context(cafile, verify, stamp)


_TLS_CONTEXT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _tls_context(cafile: str | None, verify: bool, stamp: int) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if cafile:
        ctx.load_verify_locations(cafile=cafile)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _chain_of(sock: ssl.SSLSocket) -> tuple:
    """The chain as presented (leaf first), DER base64. Python 3.10+ has it privately; else the leaf."""
    try:
        ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in sock._sslobj.get_unverified_chain()]  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        leaf = sock.getpeercert(binary_form=True)
        ders = [leaf] if leaf else []
    return tuple(base64.b64encode(d).decode() for d in ders)


NO_ROUTE = "no IPv6 route from this runner: that address not judged"
NO_ROUTE_ERRNOS = {getattr(errno, n) for n in ("ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EHOSTUNREACH")
                   if hasattr(errno, n)}


def _targets(host: str, port: int, connect_to: dict) -> list[tuple[str, int]]:
    """Where ``host:port`` is dialled: its ``--connect-to`` targets (several when the entry was repeated), or itself."""
    found = connect_to.get(f"{host}:{port}")
    if not found:
        return [(host, port)]
    return [(t.rsplit(":", 1)[0].strip("[]"), int(t.rsplit(":", 1)[1])) for t in found.split(",")]


def addresses_of(host: str, port: int, connect_to: dict, deadline: float) -> list[tuple]:
    """Every address ``host:port`` stands for, as (family, sockaddr), duplicates dropped, in the resolver's order:
    each ``--connect-to`` target resolved, or the name itself. Raises ProbeFailed("resolve") when none resolves."""
    out: dict = {}
    failure = None
    for dial_host, dial_port in _targets(host, port, connect_to):
        try:
            for family, _, _, _, addr in _resolve(dial_host, dial_port, deadline):
                out.setdefault((addr[0], addr[1]), (family, addr))
        except ProbeFailed as exc:
            failure = exc
    if not out:
        raise failure or ProbeFailed("resolve", f"name {host}: no address")
    return list(out.values())


def _connect(host: str, port: int, connect_to: dict, deadline: float, transcript: list,
             pinned: tuple | None = None) -> tuple[Conn, str]:
    """A connection to ``host:port`` (after --connect-to): to ``pinned`` (family, sockaddr) when given, else to
    the first address the name resolves to."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise ProbeFailed("connect", "no time left to connect")
    family, addr = pinned or addresses_of(host, port, connect_to, deadline)[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        sock.connect(addr)
    except TimeoutError:
        sock.close()
        raise ProbeFailed("connect", f"TCP connect to {addr[0]}:{addr[1]} timed out") from None
    except OSError as exc:
        sock.close()
        unroutable = family == socket.AF_INET6 and exc.errno in NO_ROUTE_ERRNOS
        raise ProbeFailed("connect", f"TCP connect to {addr[0]}:{addr[1]} failed: {exc.strerror or exc}"
                                     + (f" ({NO_ROUTE})" if unroutable else "")) from None
    return Conn(sock, deadline, transcript), f"{addr[0]}:{addr[1]}"


def _resolve(host: str, port: int, deadline: float) -> list:
    """getaddrinfo within the deadline: it blocks and takes no timeout, so it runs in a daemon thread that a
    resolver which never answers may keep; the probe ends at its deadline all the same."""
    found: list = []

    def look() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            found.append(exc)

    worker = threading.Thread(target=look, name=f"cabal-checks resolve {host}", daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    if not found:
        raise ProbeFailed("resolve", f"name {host}: no answer from the resolver within the probe deadline")
    if isinstance(found[0], Exception):
        why = getattr(found[0], "strerror", None) or found[0]
        raise ProbeFailed("resolve", f"name {host} does not resolve ({why})")
    return found[0]


# --- dialogues --------------------------------------------------------------------------------------


def _imap_tagged(conn: Conn, tag: str, step: str) -> list[str]:
    lines = []
    for _ in range(MAX_LINES):
        line = conn.readline(step)
        lines.append(line)
        if line.startswith(tag + " "):
            return lines
    raise ProbeFailed(step, f"no tagged {tag} reply within {MAX_LINES} lines")


def _imap_greeting(conn: Conn) -> str:
    line = conn.readline("greeting")
    if not line.startswith(("* OK", "* PREAUTH")):
        raise ProbeFailed("greeting", f"IMAP greeting is not '* OK': {line[:120]!r}")
    return line


def _imap(conn: Conn, spec: ProbeSpec, ctx: ssl.SSLContext, facts: dict) -> None:
    if spec.scheme == "imaps":
        _note_tls(facts, conn.start_tls(ctx, spec.verify_name or spec.host))
        _imap_greeting(conn)
    else:
        greeting = _imap_greeting(conn)
        caps = greeting
        if "[CAPABILITY" not in greeting.upper():
            conn.send("capability", b"a1 CAPABILITY\r\n")
            caps = " ".join(_imap_tagged(conn, "a1", "capability"))
        if "STARTTLS" not in caps.upper():
            raise ProbeFailed("starttls", "server does not advertise STARTTLS")
        conn.send("starttls", b"a2 STARTTLS\r\n")
        reply = _imap_tagged(conn, "a2", "starttls")[-1]
        if not reply.upper().startswith("A2 OK"):
            raise ProbeFailed("starttls", f"STARTTLS refused: {reply[:120]!r}")
        _note_tls(facts, conn.start_tls(ctx, spec.verify_name or spec.host))
        conn.send("capability", b"a3 CAPABILITY\r\n")
        reply = _imap_tagged(conn, "a3", "capability")[-1]
        if not reply.upper().startswith("A3 OK"):
            raise ProbeFailed("capability", f"CAPABILITY after STARTTLS failed: {reply[:120]!r}")
    try:
        conn.send("logout", b"a9 LOGOUT\r\n")
        _imap_tagged(conn, "a9", "logout")
    except ProbeFailed:
        pass  # the dialogue already proved the backend; a rude or late goodbye is not a failure


def _smtp_reply(conn: Conn, step: str) -> tuple[int, list[str]]:
    lines = []
    for _ in range(MAX_LINES):
        line = conn.readline(step)
        code = line[:3]
        if not code.isdigit():
            raise ProbeFailed(step, f"not an SMTP reply: {line[:120]!r}")
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(code), lines
    raise ProbeFailed(step, f"SMTP reply longer than {MAX_LINES} lines")


def _smtp_expect(conn: Conn, step: str, want: int) -> list[str]:
    code, lines = _smtp_reply(conn, step)
    if code != want:
        raise ProbeFailed(step, f"expected {want}, got {code} {lines[0][:120] if lines else ''}".rstrip())
    return lines


def _smtp(conn: Conn, spec: ProbeSpec, ctx: ssl.SSLContext, facts: dict) -> None:
    if spec.scheme == "smtps":
        _note_tls(facts, conn.start_tls(ctx, spec.verify_name or spec.host))
    _smtp_expect(conn, "banner", 220)
    conn.send("ehlo", f"EHLO {EHLO_NAME}\r\n".encode())
    exts = _smtp_expect(conn, "ehlo", 250)
    if spec.scheme == "smtp+starttls":
        if not any(e.upper().startswith("STARTTLS") for e in exts):
            raise ProbeFailed("starttls", "server does not advertise STARTTLS in its EHLO reply")
        conn.send("starttls", b"STARTTLS\r\n")
        _smtp_expect(conn, "starttls", 220)
        _note_tls(facts, conn.start_tls(ctx, spec.verify_name or spec.host))
        conn.send("ehlo", f"EHLO {EHLO_NAME}\r\n".encode())
        _smtp_expect(conn, "ehlo", 250)
    try:
        conn.send("quit", b"QUIT\r\n")
        _smtp_reply(conn, "quit")
    except ProbeFailed:
        pass  # as for IMAP LOGOUT


def _http_once(conn: Conn, spec: ProbeSpec, path: str, ctx: ssl.SSLContext, facts: dict,
               late=None) -> tuple[int, dict, bytes, float]:
    """One GET. ``late()`` gives headers that may not be ready yet (a token being minted): asked for only
    once TLS is up and verified, and the wait for them is added to the deadline (it is not the endpoint's
    time), so a hung endpoint still ends at its own deadline. Returns status, headers, body, seconds waited."""
    _note_tls(facts, conn.start_tls(ctx, spec.verify_name or spec.host))
    extra, waited = {}, 0.0
    if late is not None:
        asked = time.monotonic()
        try:
            extra = late()
        except Exception as exc:
            raise HeadersUnavailable() from exc
        waited = time.monotonic() - asked
        conn.deadline += waited
    host = spec.host if spec.port == 443 else f"{spec.host}:{spec.port}"
    head = [f"GET {path} HTTP/1.1", f"Host: {host}", "User-Agent: cabal-checks", "Accept: */*", "Connection: close"]
    shown = list(head)
    for name, value in {**spec.headers, **extra}.items():
        head.append(f"{name}: {value}")
        shown.append(f"{name}: <redacted>" if name.lower() in SECRET_HEADERS else f"{name}: {value}")
    conn.send("http", ("\r\n".join(head) + "\r\n\r\n").encode(), shown=" | ".join(shown))
    status_line = conn.readline("http")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProbeFailed("http", f"not an HTTP response: {status_line[:120]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_LINES):
        line = conn.readline("http")
        if not line:
            break
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ProbeFailed("http", f"more than {MAX_LINES} header lines")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while len(body) < MAX_BODY:
            size = int(conn.readline("http").split(";")[0] or "0", 16)
            if size == 0:
                break
            body += conn.read_exact("http", size + 2)[:size]
    elif "content-length" in headers:
        body = conn.read_exact("http", min(int(headers["content-length"]), MAX_BODY))
    else:
        body = conn.read_until_close("http", MAX_BODY)
    return int(parts[1]), headers, body, waited


def probe(spec: ProbeSpec, timeout: float, connect_to: dict | None = None, cafile: str | None = None,
          late_headers=None) -> ProbeResult:
    """Run the dialogue for ``spec`` within ``timeout`` seconds in total, at every address the name stands for (an
    NLB has a node per zone: one bad node must not hide behind a good one), all at once under the one deadline.
    The result is the first failing address's (the first address's when all pass; ``address`` says which), with
    one line per address in ``addresses`` when there are several (an IPv6 address this runner has no route to is
    listed, not judged). Never raises, except what ``late_headers()`` raises (see ``_http_once``):
    that is the caller's problem, not the endpoint's."""
    start = time.monotonic()
    deadline = start + timeout
    connect_to = connect_to or {}
    try:
        found = addresses_of(spec.host, spec.port, connect_to, deadline)
    except ProbeFailed as exc:
        return ProbeResult(spec=_spec_str(spec), ok=False, step=exc.step, error=str(exc),
                           elapsed=time.monotonic() - start)
    if len(found) == 1:
        return _probe_at(spec, start, deadline, connect_to, cafile, late_headers, found[0])
    results: list = [None] * len(found)

    def one(i: int) -> None:
        try:
            results[i] = _probe_at(spec, start, deadline, connect_to, cafile, late_headers, found[i])
        except BaseException as exc:  # noqa: BLE001 - the late headers' failure, re-raised below in the caller
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), name=f"cabal-checks probe {found[i][1][0]}", daemon=True)
               for i in range(len(found))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    raised = next((r for r in results if isinstance(r, BaseException)), None)
    if raised is not None:
        raise raised
    lines = tuple({"address": r.address or _where(a), "ok": r.ok, "step": r.step, "error": r.error,
                   "status": r.status, "body": r.body[:MAX_ADDRESS_BODY]} for r, a in zip(results, found, strict=True))
    judged = [r for r in results if r.ok or NO_ROUTE not in r.error] or results  # an IPv6 address we cannot reach
    bad = [r for r in judged if not r.ok]
    chosen = bad[0] if bad else judged[0]
    at = lines[next(i for i, r in enumerate(results) if r is chosen)]["address"]
    return replace(chosen, address=at, addresses=lines, elapsed=time.monotonic() - start)


def _where(found: tuple) -> str:
    family, addr = found
    return f"[{addr[0]}]:{addr[1]}" if family == socket.AF_INET6 else f"{addr[0]}:{addr[1]}"


def _probe_at(spec: ProbeSpec, start: float, deadline: float, connect_to: dict, cafile, late_headers,
              pinned: tuple) -> ProbeResult:
    """The dialogue at one address (``pinned``: family, sockaddr), within ``deadline``."""
    spec_text = _spec_str(spec)
    transcript: list[str] = []
    facts: dict = {}
    try:
        try:
            return _run(spec, deadline, connect_to, tls_context(cafile, verify=True), transcript, facts, spec_text, start,
                        late_headers, pinned)
        except ssl.SSLCertVerificationError as exc:
            why = f"certificate verification failed: {exc.verify_message} (code {exc.verify_code})"
        # The chain is untrusted or misnamed: look again without verifying, only to report what it is,
        # and without anything secret (no token goes to a peer we could not verify).
        seen: dict = {}
        anonymous = replace(spec, headers={k: v for k, v in spec.headers.items() if k.lower() not in SECRET_HEADERS})
        try:
            _run(anonymous, deadline, connect_to, tls_context(cafile, verify=False), [], seen, spec_text, start,
                 pinned=pinned)
        except (ProbeFailed, ssl.SSLError, OSError):
            pass
        return ProbeResult(spec=spec_text, ok=False, step="tls", error=why, address=seen.get("address", ""),
                           transcript=tuple(transcript), verified=False, verify_error=why,
                           chain=seen.get("chain", ()), tls_version=seen.get("tls_version", ""),
                           elapsed=time.monotonic() - start)
    except HeadersUnavailable as exc:
        cause = exc.__cause__
        if cause is None:  # never: it is raised only ``from`` the failure to mint
            raise
        raise cause from None
    except ProbeFailed as exc:
        return ProbeResult(spec=spec_text, ok=False, step=exc.step, error=str(exc), address=facts.get("address", ""),
                           transcript=tuple(transcript), verified=facts.get("verified"),
                           chain=facts.get("chain", ()), tls_version=facts.get("tls_version", ""),
                           status=facts.get("status"), elapsed=time.monotonic() - start)
    except Exception as exc:  # noqa: BLE001 - a probe reports, it never crashes the run
        return ProbeResult(spec=spec_text, ok=False, step="probe", error=f"{type(exc).__name__}: {exc}"[:300],
                           transcript=tuple(transcript), elapsed=time.monotonic() - start)


def _run(spec, deadline, connect_to, ctx, transcript, facts, spec_text, start, late=None, pinned=None) -> ProbeResult:
    redirects: list[str] = []
    path = spec.path or "/"
    first = (spec.host, spec.port)
    while True:
        at = pinned if (spec.host, spec.port) == first else None  # a redirect elsewhere: that name's first address
        conn, facts["address"] = _connect(spec.host, spec.port, connect_to, deadline, transcript, at)
        try:
            if spec.scheme == "https":
                status, headers, body, waited = _http_once(conn, spec, path, ctx, facts, late)
                deadline += waited
            elif spec.scheme.startswith("imap"):
                _imap(conn, spec, ctx, facts)
                status, body = None, b""
            else:
                _smtp(conn, spec, ctx, facts)
                status, body = None, b""
        finally:
            conn.close()
        if status in (301, 302, 303, 307, 308) and "location" in headers:
            location = headers["location"]
            if len(redirects) >= MAX_REDIRECTS:
                facts["status"] = status
                raise ProbeFailed("http", f"redirect loop: more than {MAX_REDIRECTS} redirects ({' -> '.join(redirects[-3:])})")
            redirects.append(location)
            host = spec.host
            spec, path = _follow(spec, location)
            if spec.host != host:  # secrets stay with the name they are for, as _follow's headers do
                late = None
            continue
        return ProbeResult(spec=spec_text, ok=True, step="", error="", address=facts["address"], transcript=tuple(transcript),
                           tls_version=facts.get("tls_version", ""), verified=facts.get("verified"),
                           chain=facts.get("chain", ()), status=status, body=body.decode("utf-8", "replace"),
                           redirects=tuple(redirects), elapsed=time.monotonic() - start)


def _note_tls(facts: dict, sock: ssl.SSLSocket) -> None:
    """Record what the TLS handshake showed: chain as presented, version, whether it was verified."""
    facts["chain"] = _chain_of(sock)
    facts["tls_version"] = sock.version() or ""
    facts["verified"] = sock.context.verify_mode == ssl.CERT_REQUIRED


def _follow(spec: ProbeSpec, location: str) -> tuple[ProbeSpec, str]:
    from urllib.parse import urlsplit

    url = urlsplit(location)
    if not url.netloc:
        return spec, location
    if url.scheme != "https":
        raise ProbeFailed("http", f"redirected away from HTTPS to {location[:120]}")
    host, port = url.hostname or spec.host, url.port or 443
    same_name = host == spec.host
    new = ProbeSpec("https", host, port, url.path or "/", spec.verify_name if same_name else "",
                    spec.headers if same_name else {})
    return new, (url.path or "/") + (f"?{url.query}" if url.query else "")


def _spec_str(spec: ProbeSpec) -> str:
    if spec.scheme == "https":
        return f"https://{spec.host}{'' if spec.port == 443 else f':{spec.port}'}{spec.path or '/'}"
    return f"{spec.scheme}://{spec.host}:{spec.port}"


def parse_connect_to(entries, option: str = "--connect-to") -> dict:
    """curl's ``--connect-to H:P:H2:P2`` entries → ``{"H:P": "H2:P2"}``. The same ``H:P`` given again adds an address
    (``"H2:P2,H3:P3"``): the name stands for several, as an NLB's does (a node per zone), and each is probed.
    Raises ValueError naming the bad one."""
    out: dict[str, str] = {}
    for entry in entries or ():
        parts = entry.split(":")
        if len(parts) != 4 or not all(parts) or not all(_port(p) for p in parts[1::2]):
            shown = repr(entry) if len(repr(entry)) <= 80 else f"{repr(entry)[:80]}... ({len(entry)} characters)"
            raise ValueError(f"{option} {shown}: expected HOST:PORT:HOST2:PORT2 (ports 1-65535)")
        key, target = f"{parts[0]}:{parts[1]}", f"{parts[2]}:{parts[3]}"
        if target not in out.get(key, "").split(","):
            out[key] = f"{out[key]},{target}" if key in out else target
    return out


def _port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) <= 65535


def probe_all(specs: list[ProbeSpec], timeout: float, connect_to: dict | None = None,
              cafile: str | None = None) -> list[ProbeResult]:
    """Every spec probed at once (a thread each), results in order: the whole batch ends at one deadline."""
    results: list = [None] * len(specs)

    def one(i: int) -> None:
        results[i] = probe(specs[i], timeout, connect_to, cafile)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(specs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _age() -> float:
    """Seconds since this process started, by this host's own clock (Linux /proc; 0 where unknown)."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rsplit(")", 1)[1].split()[19]) / os.sysconf("SC_CLK_TCK")
            return max(float(uptime.read().split()[0]) - started, 0.0)
    except (OSError, ValueError, IndexError):
        return 0.0


if __name__ == "__main__":
    # In-VPC use, one process for every endpoint:
    # python3 -c SOURCE '{"specs": [{...}, ...], "timeout": 5, "connect_to": {...}, "cafile": ...}'
    # prints one JSON line per spec, in order.
    args = json.loads(sys.argv[1])
    # This interpreter's own start-up counts against the deadline, up to half of it: a host that slow to start
    # python still gets a fair look at the endpoints.
    timeout = args["timeout"] - min(_age(), args["timeout"] / 2)
    for result in probe_all([ProbeSpec(**s) for s in args["specs"]], timeout, args.get("connect_to"),
                            args.get("cafile")):
        print(result.to_json())
