"""A TCP listener on 127.0.0.1 whose ``mode`` (see ``modes``) decides what each new connection gets."""

from __future__ import annotations

import select
import socket
import ssl
import threading
from typing import Any, ClassVar

from .common import MAX_CONNS, MODE_SWITCH_TIMEOUT, Conn
from .modes import MODES, MODES_TABLE


class Listener:
    """A TCP listener on 127.0.0.1 whose ``mode`` decides what each new connection gets.

    Subclasses give ``serve(conn)`` (the normal protocol, in a worker thread), ``greeting()`` and their fault knobs
    as data (``KNOBS``: attribute -> default, set again by ``reset()``); ``ssl_context`` is the context the listener
    serves (swappable: new connections get the new one).
    """

    implicit_tls = False  # TLS starts at connect
    client_speaks_first = False  # HTTP: the client sends its request before the server says anything
    KNOBS: ClassVar[dict[str, Any]] = {}
    _wake_r: socket.socket  # made by start(): the accept thread's wake-up pair
    _wake_w: socket.socket

    def __init__(self, name: str):
        self.name = name
        self.port = 0
        self.ssl_context: ssl.SSLContext | None = None
        self._mode = "normal"
        self._cond = threading.Condition()
        self._wanted = self._applied = 0
        self._error: OSError | None = None
        self._lsock: socket.socket | None = None
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._conns: set[Conn] = set()
        self._workers: set[threading.Thread] = set()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} 127.0.0.1:{self.port} mode={self._mode}>"

    def reset(self) -> None:
        """Knobs back to their defaults."""
        for knob, default in self.KNOBS.items():
            setattr(self, knob, default)

    def greeting(self) -> bytes:
        return b""

    def serve(self, conn: Conn) -> None:
        raise NotImplementedError

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if mode not in MODES_TABLE:
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
        lsock = self._bind()
        self.port = lsock.getsockname()[1]
        if MODES_TABLE[self._mode].listens:
            self._lsock = lsock
        else:
            lsock.close()
        self._thread = threading.Thread(target=self._accept_loop, name=f"sandbox {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, end every connection, join every thread. Idempotent."""
        if self._thread is None:
            return
        self.stopping.set()
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
            while not self.stopping.is_set():
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
            listen = MODES_TABLE[self._mode].listens and not self.stopping.is_set()
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
        conn = Conn(sock)
        worker = threading.Thread(target=self._work, args=(conn, mode), name=f"sandbox {self.name} conn", daemon=True)
        with self._lock:
            self._conns.add(conn)
            self._workers.add(worker)
        worker.start()

    def _adopt(self, sock: socket.socket) -> bool:
        """Subclass hook: take a normal connection elsewhere (aiosmtpd); False = serve it in a worker thread."""
        return False

    def _work(self, conn: Conn, mode: str) -> None:
        try:
            MODES_TABLE[mode].run(self, conn)
        except OSError:  # the client went, a TLS error, a timeout: all end the connection
            pass
        finally:
            conn.close()
            with self._lock:
                self._conns.discard(conn)
                self._workers.discard(threading.current_thread())
