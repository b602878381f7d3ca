"""Gather facts concurrently, each once, each within a deadline.

``Gatherer.start(fn, *args)`` runs ``fn(*args)`` in a daemon thread the first time it is asked and
remembers the result; ``get`` waits for it until the fact's deadline. Tests that ask for the same
fact share one call. Because everything a run needs is started up front (see fixtures/facts.py), a
run in which every endpoint hangs costs about one deadline, not one per check. A thread stuck past
its deadline is abandoned (daemon): the run does not wait for it at exit.
"""

from __future__ import annotations

import itertools
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
                name = thread_name(fn)
                GatheringThread(f"{name}#{next(_serial)}", target=_run, args=(fut, fn, args), name=name).start()
        return entry[0]

    def get(self, budget: float, fn, *args):
        fut = self.start(budget, fn, *args)
        deadline = self._facts[(fn, args)][1]
        try:
            return fut.result(timeout=max(deadline - time.monotonic(), 0))
        except TimeoutError:
            raise CantTell(f"{_label(fn, args)}: no answer within {budget:g}s") from None

    def settle(self) -> None:
        """Wait until every fact started has ended or passed its deadline (for a record of everything the run sent:
        a fact no test waited for to the end may still be retrying when the session ends)."""
        for fut, deadline in list(self._facts.values()):
            try:
                fut.exception(timeout=max(deadline - time.monotonic(), 0))
            except TimeoutError:
                pass

    def __len__(self) -> int:
        return len(self._facts)


_serial = itertools.count(1)


class GatheringThread(threading.Thread):
    """A daemon thread that gathers for one fact: ``gathering`` names it (a fact's thread and its helpers share it)."""

    def __init__(self, gathering: str, **kwargs):
        super().__init__(daemon=True, **kwargs)
        self.gathering = gathering


def concurrently(*calls):
    """Call each of ``calls`` (no arguments) at the same time and return their results in order; if any raised, raise
    the first one's exception in that order (what calling them one after another would have raised). For the
    independent AWS requests of one fact: one round trip instead of one each. The helpers carry the calling
    thread's name (JUnit attributes retries by it) and gathering identity; they are bounded by the calls' own
    deadlines, and the fact by its Gatherer deadline."""
    if len(calls) < 2:
        return [call() for call in calls]
    outcomes: list = [None] * len(calls)
    parent = threading.current_thread()

    def run(i):
        try:
            outcomes[i] = (True, calls[i]())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller below
            outcomes[i] = (False, exc)

    helpers = []
    for i in range(1, len(calls)):
        helper = GatheringThread(gathering(), target=run, args=(i,), name=parent.name)
        helper.start()
        helpers.append(helper)
    run(0)
    for helper in helpers:
        helper.join()
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


def gathering() -> str:
    """Which gathering the current thread works for (a fact's thread and its helpers share it)."""
    thread = threading.current_thread()
    return getattr(thread, "gathering", thread.name)


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
