"""The shared sandbox fixture (tests_unit/conftest.py): one running sandbox at a time, reused for the same options."""

from __future__ import annotations

from cabal_checks.sandbox import sandbox as sandbox_module

from ..conftest import Sandboxes


class FakeSandbox:
    def __init__(self, topology: str, **options):
        self.topology, self.options, self.running = topology, options, False

    def start(self) -> FakeSandbox:
        self.running = True
        return self

    def stop(self) -> None:
        self.running = False


def test_the_same_options_reuse_the_running_sandbox_and_others_replace_it(monkeypatch):
    monkeypatch.setattr(sandbox_module, "Sandbox", FakeSandbox)
    found = Sandboxes()
    first = found.get(probe_timeout=2.0)
    assert first.running and (first.topology, first.options) == ("2026-05", {"probe_timeout": 2.0})
    assert found.get("2026-05", probe_timeout=2.0) is first
    other = found.get("2026-08", monitoring=False)
    assert other is not first and other.running and not first.running, "one sandbox at a time (moto is per process)"
    found.stop()
    found.stop()
    assert not other.running
    assert found.get("2026-08", monitoring=False) is not other, "stopped: a new one starts"
