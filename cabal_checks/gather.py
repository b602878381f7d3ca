"""Gather facts concurrently, each once, each within a deadline.

``Gatherer.start(fn, *args)`` runs ``fn(*args)`` in a daemon thread the first time it is asked and
remembers the result; ``get`` waits for it until the fact's deadline. Tests that ask for the same
fact share one call. Because everything a run needs is started up front (see fixtures/facts.py), a
run in which every endpoint hangs costs about one deadline, not one per check. A thread stuck past
its deadline is abandoned (daemon): the run does not wait for it at exit.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

from .verdict import CantTell


class Gatherer:
    def __init__(self):
        self._facts: dict = {}
        self._lock = threading.Lock()

    def start(self, budget: float, fn, *args) -> Future:
        key = (fn, args)
        with self._lock:
            entry = self._facts.get(key)
            if entry is None:
                fut: Future = Future()
                entry = self._facts[key] = (fut, time.monotonic() + budget)
                threading.Thread(target=_run, args=(fut, fn, args), daemon=True, name=thread_name(fn)).start()
        return entry[0]

    def get(self, budget: float, fn, *args):
        fut = self.start(budget, fn, *args)
        deadline = self._facts[(fn, args)][1]
        try:
            return fut.result(timeout=max(deadline - time.monotonic(), 0))
        except TimeoutError:
            raise CantTell(f"{_label(fn, args)}: no answer within {budget:g}s") from None

    def __len__(self) -> int:
        return len(self._facts)


def thread_name(fn) -> str:
    """The name of the threads that gather ``fn`` (JUnit attributes AWS retries by it)."""
    return f"gather-{getattr(fn, '__name__', fn)}"


def _run(fut: Future, fn, args) -> None:
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
        fut.set_exception(exc)


def _label(fn, args) -> str:
    shown = ", ".join(str(a) for a in args if isinstance(a, (str, int)))
    return f"{getattr(fn, '__name__', fn)}({shown})"
