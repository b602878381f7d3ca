"""AWS latency for the bench: a proxy that delays every AWS request by L, and what a run's request log shows.

``DelayProxy(upstream, delay).start()`` listens on loopback and forwards each HTTP request to ``upstream`` (the
sandbox's moto server) after ``delay`` seconds: what a distant AWS region adds to each round trip; the bench runs it
in a process of its own (``DelayProxyProcess``). Give the suite ``AWS_ENDPOINT_URL=proxy.url``. It counts the
connections it accepts (against real AWS each is a TCP and TLS handshake), and notes when each FilterLogEvents
request arrives: what AWS would count against its quota (every attempt and page, after the suite's pacing).

The request log is written by the suite itself (``-p bench.record_requests``): one ``[start, end, service,
operation, thread]`` per request. From it, the functions below give:

- the dependency depth: the longest chain of requests of which each started only after the one before it
  ended, within one gathering (``cabal_checks.gather.gathering``: a fact's helper threads count as the fact's);
  the run cannot take less than depth x L of AWS waiting;
- the peak number of requests in flight;
- each service's peak requests per second (most request starts in any one-second window).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class DelayProxy:
    def __init__(self, upstream: str, delay: float):
        self.upstream = urlsplit(upstream)
        self.delay = delay
        self.connections = 0
        self.filter_arrivals: list[float] = []  # monotonic seconds: each FilterLogEvents request's arrival
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> DelayProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a client that reuses its connection is not charged again

            def setup(self):
                super().setup()
                with proxy._lock:
                    proxy.connections += 1
                self.upstream = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=30)

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target", "").endswith(".FilterLogEvents"):
                    with proxy._lock:
                        proxy.filter_arrivals.append(time.monotonic())
                time.sleep(proxy.delay)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                try:
                    self.upstream.request(self.command, self.path, body=body, headers=headers)
                    resp = self.upstream.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException):
                    self.upstream.close()
                    self.send_error(502)
                    return
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

            def finish(self):
                self.upstream.close()
                super().finish()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            # socketserver's default backlog of 5 overflows when a run opens 30 connections at once: the kernel
            # drops the SYNs and the clients retry after 1 s, a delay no AWS endpoint adds (seen as
            # TcpExtListenOverflows in `nstat`, and as runs 1 s slower than their median).
            request_queue_size = 128
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="delay-proxy").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class DelayProxyProcess:
    """A ``DelayProxy`` in a process of its own, as the network is: in the bench's process its threads would share
    one interpreter lock with the sandbox's moto server and wire servers, and lengthen every request's answer
    beyond L by their turns at it. ``connections`` asks it (a line on its stdin) how many it has accepted."""

    def __init__(self, upstream: str, delay: float):
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.latency", upstream, str(delay)], cwd=REPO,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError(f"the delay proxy did not start: {self.url!r}")

    @property
    def connections(self) -> int:
        return int(self._ask("connections"))

    def filter_arrivals(self) -> list[float]:
        """The FilterLogEvents arrivals since the last time this was asked."""
        return json.loads(self._ask("filters"))

    def _ask(self, what: str) -> str:
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline()

    def stop(self) -> None:
        self.proc.stdin.close()  # the proxy ends at the end of its input
        self.proc.wait(10)


def _serve(upstream: str, delay: float) -> None:
    proxy = DelayProxy(upstream, delay).start()
    print(proxy.url, flush=True)
    for line in sys.stdin:
        if line.strip() == "filters":
            with proxy._lock:
                arrivals, proxy.filter_arrivals = proxy.filter_arrivals, []
            print(json.dumps(arrivals), flush=True)
        else:
            print(proxy.connections, flush=True)
    proxy.stop()


def depth(requests: list) -> tuple[int, str]:
    """The longest chain of requests each started after the previous one ended, within one gathering thread;
    and the thread it is in."""
    by_thread = defaultdict(list)
    for start, end, _service, _op, thread in requests:
        by_thread[thread].append((start, end))
    best, where = 0, ""
    for thread, spans in by_thread.items():
        spans.sort(key=lambda s: s[1])
        chain = []  # chain[i]: the longest chain ending with spans[i]
        for i, (start, _end) in enumerate(spans):
            chain.append(1 + max((chain[j] for j in range(i) if spans[j][1] <= start), default=0))
        if max(chain) > best:
            best, where = max(chain), thread
    return best, where


def sent(requests: list) -> list:
    """The requests sent (not the waits for another thread's answer)."""
    return [r for r in requests if not r[3].startswith("wait:")]


def peak_in_flight(requests: list) -> int:
    requests = sent(requests)
    edges = sorted([(r[0], 1) for r in requests] + [(r[1], -1) for r in requests], key=lambda e: (e[0], e[1]))
    peak = now = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


def peak_per_second(requests: list) -> dict[str, int]:
    """Per service: the most requests started within any one second."""
    starts = defaultdict(list)
    for start, _end, service, _op, _thread in sent(requests):
        starts[service].append(start)
    out = {service: most_in_a_second(times) for service, times in starts.items()}
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def most_in_a_second(times: list[float]) -> int:
    """The most of these instants within any one second (both ends counted)."""
    times = sorted(times)
    j = best = 0
    for i, t in enumerate(times):
        while times[j] < t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


if __name__ == "__main__":
    _serve(sys.argv[1], float(sys.argv[2]))
