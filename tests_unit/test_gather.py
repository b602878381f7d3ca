"""gather.concurrently: a fact's independent calls at once, with what calling them one after another would give."""

from __future__ import annotations

import threading

import pytest

from cabal_checks.gather import Gatherer, concurrently, gathering


def test_results_come_in_the_order_asked_and_the_calls_overlap():
    started, release = threading.Barrier(3, timeout=10), []

    def call(i):
        started.wait()  # all three are running at once, or this times out
        release.append(i)
        return i * 10

    assert concurrently(*(lambda i=i: call(i) for i in range(3))) == [0, 10, 20]
    assert sorted(release) == [0, 1, 2]


def test_the_first_failure_in_order_is_raised_after_all_ended():
    ended = []

    def fail(msg):
        ended.append(msg)
        raise KeyError(msg)

    with pytest.raises(KeyError, match="first"):
        concurrently(lambda: ended.append("ok"), lambda: fail("first"), lambda: fail("second"))
    assert sorted(ended) == ["first", "ok", "second"]


def test_helpers_carry_the_gathering_thread_name_and_identity():
    def fact():
        here = (threading.current_thread().name, gathering())
        return here, concurrently(lambda: (threading.current_thread().name, gathering()),
                                  lambda: (threading.current_thread().name, gathering()))

    here, helpers = Gatherer().get(10, fact)
    assert here[0] == "gather-fact" and here[1].startswith("gather-fact#")
    assert helpers == [here, here]


def test_settle_waits_for_facts_nobody_waited_for_but_not_past_their_deadline():
    go, done = threading.Event(), []
    g = Gatherer()
    g.start(10, lambda: (go.wait(5), done.append(1)))
    never = threading.Event()
    g.start(0.2, never.wait)  # hung: abandoned at its deadline
    threading.Timer(0.1, go.set).start()
    g.settle()
    assert done == [1] and not never.is_set()
