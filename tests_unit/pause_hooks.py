"""A plugin for a child suite run that pauses for an interrupt (the Ctrl-C proofs of ``cabal-sandbox``).

With ``PAUSE_FIFO`` set (a FIFO's path), the run, once one test is done, writes ``ready`` to the FIFO and waits
before the next test until it is interrupted (KeyboardInterrupt), so the parent interrupts it at a known point.
"""

import os
import threading

_done = []


def pytest_runtest_teardown(item):
    _done.append(item.nodeid)


def pytest_runtest_setup(item):
    path = os.environ.get("PAUSE_FIFO")
    if _done and path:
        with open(path, "w") as fifo:  # the parent reads it: now is the moment to interrupt
            fifo.write("ready\n")
        threading.Event().wait()  # until Ctrl-C
