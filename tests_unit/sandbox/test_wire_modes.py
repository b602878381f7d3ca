"""The sandbox wire's fault modes and knobs are data: the table, its documentation and each protocol's knobs agree."""

from __future__ import annotations

import pytest

from cabal_checks.sandbox import wire
from cabal_checks.sandbox.wire import modes
from cabal_checks.sandbox.wire.http import HttpBackend
from cabal_checks.sandbox.wire.imap import ImapBackend
from cabal_checks.sandbox.wire.listener import Listener
from cabal_checks.sandbox.wire.smtp import SmtpBackend


def test_every_mode_is_one_row_of_the_table_and_documented():
    assert wire.MODES == ("normal", "refuse", "silent", "close", "drip", "garbage", "huge_banner", "rst", "tls_stall")
    assert tuple(modes.MODES_TABLE) == wire.MODES
    assert [m.name for m in modes.MODES_TABLE.values() if not m.listens] == ["refuse"]
    documented = [line.split("``")[1] for line in modes.__doc__.splitlines() if line.startswith("``")]
    assert documented == list(wire.MODES)


def test_an_unknown_mode_is_refused_with_the_list():
    listener = Listener("test")
    with pytest.raises(ValueError, match="mode must be one of normal, refuse, .*tls_stall, not 'wedged'"):
        listener.mode = "wedged"
    assert listener.mode == "normal"


@pytest.mark.parametrize("cls, args", [(ImapBackend, (None,)), (HttpBackend, ("api", "cabal.example.test")),
                                       (SmtpBackend, (None, "smtp.cabal.example.test", None))])
def test_reset_puts_every_knob_back_to_its_default(cls, args):
    backend = cls("test", *args)
    assert backend.KNOBS
    for knob, default in backend.KNOBS.items():
        assert getattr(backend, knob) == default
        setattr(backend, knob, "changed")
    backend.reset()
    assert {knob: getattr(backend, knob) for knob in backend.KNOBS} == backend.KNOBS
