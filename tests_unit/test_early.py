"""The pace's place in a run: what a run of every live test starts before discovery (cabal_checks/facts/early.py),
which runs do, and the tests that wait on CloudWatch Logs' paced reads running last. Every live run of the unit tests
proves end to end (tests_unit/live_run.py: each topology and fault of the matrix, a topology the account contradicts,
AWS silent or denying) that each fact started early is one a test of that run then asks for."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cabal_checks import discovery
from cabal_checks.config import load_settings
from cabal_checks.facts.early import before_discovery, tiers, topologies
from cabal_checks.facts.endpoints import minted_token
from fixtures.options import LIVE_DIR, runs_every_live_test

from .test_discovery import AUG, CD, MAY, TODAY

TIERS = ["service_imap", "service_smtp_in", "service_smtp_out"]
COMPOSED = {**AUG, "nlb": [25, 465, 587], "tg:tg_submission": "attached", "tg:tg_starttls": "attached"}


def settings(**cli):
    return load_settings({"control_domain": CD, **cli}, env={})


def config(*args, alert=None, **option):
    """What ``runs_every_live_test`` reads of a pytest config, for a run invoked in the repository with ``args``."""
    chosen = {"markexpr": "", "keyword": "", "collectonly": False, "deselect": None, "ignore": None, "ignore_glob": None,
              "lf": False, "stepwise": False, **option}
    return SimpleNamespace(args=list(args), option=SimpleNamespace(**chosen),
                           invocation_params=SimpleNamespace(dir=LIVE_DIR.parent),
                           cabal_settings=SimpleNamespace(alert=alert))


@pytest.mark.parametrize("args", [("tests_live",), ("tests_live/",), (str(LIVE_DIR),)])
def test_a_run_of_the_live_folder_whole_runs_every_live_test(args):
    assert runs_every_live_test(config(*args))


@pytest.mark.parametrize("cfg", [
    config("tests_live", markexpr="imap"), config("tests_live", keyword="ecs"),
    config("tests_live", alert="kuma/IMAP"), config("tests_live", collectonly=True),
    config("tests_live", deselect=["tests_live/test_x.py::test_y"]), config("tests_live", ignore=["tests_live/x.py"]),
    config("tests_live", ignore_glob=["*dns*"]), config("tests_live", lf=True), config("tests_live", stepwise=True),
    config("tests_live/test_dns.py"), config("tests_live/test_dns.py::test_a"), config("tests_live", "tests_unit"),
    config("."), config()], ids=lambda c: " ".join(c.args) + " " + " ".join(
        f"{k}={v}" for k, v in vars(c.option).items() if v) + (f" alert={c.cabal_settings.alert}" if c.cabal_settings.alert
                                                               else ""))
def test_a_run_that_selects_or_may_deselect_starts_nothing_early(cfg):
    assert not runs_every_live_test(cfg)


@pytest.mark.parametrize("found", [MAY, AUG, TODAY, COMPOSED], ids=["2026-05", "2026-08", "module-off", "composed"])
def test_under_auto_the_early_tiers_are_services_of_whatever_topology_discovery_decides(found):
    s = settings(topology="auto")
    topo, _ = discovery.decide(s, found)
    assert tiers(topologies(s)) == TIERS and set(TIERS) <= set(topo.services())


def test_a_given_topology_gives_its_own_tiers_but_the_monitoring_modules_services():
    s = settings(topology="2026-08")
    assert "service_ntfy" in s.topology.services() and tiers(topologies(s)) == TIERS


def test_the_early_facts_are_the_log_reads_no_discovery_answer_changes_and_the_minted_token_when_one_is_minted():
    for s in (settings(), settings(topology="auto")):  # not certbot's: a contradicted topology skips its checks
        assert {(fn.__name__, args) for _, fn, args in before_discovery(s)} == {
            ("dmarc_trace", ()), ("list_retries", ("/cabal/lambda/list",)), *{("chown_failures", (t,)) for t in TIERS}}
    probe_user = {"CABAL_PROBE_USERNAME": "probe", "CABAL_PROBE_PASSWORD": "pw"}
    minting = load_settings({"control_domain": CD}, env=probe_user)
    assert ("aws", minted_token, ()) in before_discovery(minting)
    given = load_settings({"control_domain": CD}, env={**probe_user, "CABAL_API_TOKEN": "t"})
    assert all(fn is not minted_token for _, fn, _ in before_discovery(given))


@pytest.mark.parametrize("topology", ["2026-05", "2026-08"])
def test_the_tests_that_wait_on_the_logs_pace_run_last_and_the_shape_check_first(topology):
    """Tests run one after another, each waiting for its facts: one waiting on a paced CloudWatch Logs read (the last
    answers of a full run) would hold every test after it. So they run last, in file order among themselves."""
    from fixtures.facts import PACED

    from .test_alerts import collected

    order = collected(topology)
    paced = [any(f in PACED for f in facts) for _, _, _, facts in order]
    assert order[0][0].startswith("test_deployment_matches_topology[")
    assert paced[1:] == sorted(paced[1:]) and 0 < sum(paced) < len(paced) - 1, paced
    names = {name.split("[")[0]: p for (name, *_), p in zip(order, paced, strict=True)}
    assert names["test_no_efs_chown_failure"] and names["test_certbot_last_run_succeeded"]
    assert not names["test_ecs_service_running"] and not names["test_cert_days_left_critical"]
