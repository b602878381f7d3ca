"""The shared sandbox fixture (tests_unit/conftest.py): each sandbox started once and reused for the same options; one
asked for again after another is put back (reset) before it is handed out, since moto's account is one per process."""

from __future__ import annotations

from cabal_checks.sandbox import sandbox as sandbox_module

from ..conftest import Sandboxes


class FakeSandbox:
    def __init__(self, topology: str, **options):
        self.topology, self.options, self.running, self.resets = topology, options, False, 0

    def start(self) -> FakeSandbox:
        self.running = True
        return self

    def reset(self) -> None:
        self.resets += 1

    def stop(self) -> None:
        self.running = False


def test_the_same_options_reuse_the_running_sandbox_and_a_switch_back_puts_it_back(monkeypatch):
    monkeypatch.setattr(sandbox_module, "Sandbox", FakeSandbox)
    found = Sandboxes()
    first = found.get(probe_timeout=2.0)
    assert first.running and (first.topology, first.options) == ("2026-05", {"probe_timeout": 2.0})
    assert found.get("2026-05", probe_timeout=2.0) is first and first.resets == 0, "the same: no reset of its own"
    other = found.get("2026-08", monitoring=False)
    assert other is not first and other.running and first.running, "started once each, kept running"
    assert found.get(probe_timeout=2.0) is first and first.resets == 1, "moto held the other's account: put back"
    found.stop()
    found.stop()
    assert not other.running and not first.running
    assert found.get("2026-08", monitoring=False) is not other, "stopped: a new one starts"
