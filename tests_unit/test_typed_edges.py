"""Edges the type checker found (``mypy`` in .ci/run): where a value could be None, the code now says why in one
line instead of failing on ``None`` somewhere further on."""

import socket
import ssl

import pytest

from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.facts import minted_token
from cabal_checks.sandbox.wire.common import Conn
from cabal_checks.sandbox.wire.smtp import LoopThread
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
