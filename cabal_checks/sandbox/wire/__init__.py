"""The sandbox wire: real listeners on 127.0.0.1 for every endpoint of a topology, with faults on demand.

Each endpoint is a FRONT (what the public probe reaches: NLB listener, CloudFront, ALB) before a BACKEND (the ECS
task's own listener). Every listener has a ``mode``, settable at runtime from any thread, that decides what a NEW
connection gets (the table is ``modes.MODES_TABLE``: ``normal``, ``refuse``, ``silent``, ``close``, ``drip``,
``garbage``, ``huge_banner``, ``rst``, ``tls_stall``), and its protocol's fault knobs (``KNOBS``: an IMAP or SMTP
STARTTLS error, an SMTP banner, an HTTP status...). Listeners take port 0, every thread is a daemon, stop() joins
them. ``WirePlant`` builds the lot for a topology.

One module per part, each in the same small shape:

* ``common``: the bounds, one accepted connection, CRLF lines, an HTTP request head
* ``modes``: the fault modes as data (mode name -> whether the port listens, what a connection gets)
* ``listener``: the listener every protocol shares (port, mode switching, workers, stop)
* ``imap``, ``smtp``, ``http``: one protocol each (its greeting, its normal service, its knobs)
* ``front``: NLB (TLS, TCP), CloudFront and ALB in front of the backends
* ``plant``: ``WirePlant``, every listener of a topology
"""

from .common import FIRST_BYTES_TIMEOUT, HANDSHAKE_TIMEOUT, HEAD_LIMIT, HUGE_BANNER, IDLE_TIMEOUT, MAX_CONNS
from .front import FRONT_KINDS, Front
from .http import APPS, HttpBackend, Reply, jwt_exp
from .imap import ImapBackend
from .listener import Listener
from .modes import MODES, MODES_TABLE, Mode
from .plant import WirePlant
from .smtp import SmtpBackend

__all__ = ["APPS", "FIRST_BYTES_TIMEOUT", "FRONT_KINDS", "HANDSHAKE_TIMEOUT", "HEAD_LIMIT", "HUGE_BANNER", "IDLE_TIMEOUT",
           "MAX_CONNS", "MODES", "MODES_TABLE", "Front", "HttpBackend", "ImapBackend", "Listener", "Mode", "Reply",
           "SmtpBackend", "WirePlant", "jwt_exp"]
