"""Edges the type checker found (``mypy`` in .ci/run): where a value could be None, the code now says why in one
line instead of failing on ``None`` somewhere further on."""

import shutil
import socket
import ssl
from datetime import datetime, timezone

import pytest

from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.facts import minted_token
from cabal_checks.judge import escalation as esc
from cabal_checks.sandbox.aws_seed import Seeded
from cabal_checks.sandbox.sandbox import Sandbox
from cabal_checks.sandbox.wire.common import Conn
from cabal_checks.sandbox.wire.smtp import LoopThread
from cabal_checks.shapes import Network
from cabal_checks.topology import load_topology
from cabal_checks.verdict import CantTell


def test_minting_without_the_probe_user_is_cant_tell_naming_the_variables():
    ctx = Context(load_settings({"control_domain": "x.net", "region": "us-east-1"}, env={}))
    with pytest.raises(CantTell, match="CABAL_PROBE_USERNAME and CABAL_PROBE_PASSWORD"):
        minted_token(ctx)


def test_a_tls_listener_without_a_context_says_so():
    """An SSLError: the listener's worker ends the connection as on any TLS error, with a line that says why."""
    a, b = socket.socketpair()
    with a, b, pytest.raises(ssl.SSLError, match="has no ssl_context"):
        Conn(a).wrap(None)


def test_the_sandbox_loop_used_before_start_says_so():
    with pytest.raises(RuntimeError, match="asyncio loop is not started"):
        LoopThread().submit(None)


def test_a_sandbox_not_started_says_so():
    """Its config and environment need the listeners and the seeded account: before start() a line says so."""
    sb = Sandbox()
    try:
        with pytest.raises(RuntimeError, match="sandbox is not started: no listeners"):
            sb.config()
        with pytest.raises(RuntimeError, match="sandbox is not started: no account seeded"):
            sb.suite_env()
    finally:
        shutil.rmtree(sb.dir, ignore_errors=True)  # not stop(): another module's sandbox may share the patches


def test_the_seeded_certbot_run_read_before_seeding_says_so():
    seeded = Seeded(topology=load_topology("2026-05", "x.net"), control_domain="x.net", names={}, region="us-east-1",
                    account_id="", now=datetime.now(timezone.utc))
    with pytest.raises(RuntimeError, match="certbot_run_at read before seed"):
        seeded.last_certbot_run()


def test_nat_judged_without_the_parts_it_needs_says_so():
    """A network gathered without its NAT instances or route tables is a wiring mistake, not a red (nor a TypeError)."""
    for net in (Network({"VpcId": "vpc-1"}, nat=()), Network({"VpcId": "vpc-1"}, route_tables=())):
        with pytest.raises(ValueError, match="nat and route_tables"):
            esc.nat_ok(net, "cabal-nat-", "cabal-private-rt-")
