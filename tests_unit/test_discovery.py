"""Discovery's decision (pure): which topology an account has, the monitoring module, the sites; and the one-line
mismatch of an explicit topology. The fault matrix runs the same against the sandbox, end to end."""

from __future__ import annotations

import pytest

from cabal_checks import discovery
from cabal_checks.config import load_settings

CD = "cd.example.test"
MAY = {"nlb": [25, 465, 587, 993], "tg:tg_imap": "attached", "tg:tg_submission": "attached", "tg:tg_starttls": "attached",
       "alb": True, "monitoring_services": ["cabal-ntfy", "cabal-uptime-kuma"], "aliases": [f"admin.{CD}", f"www.{CD}"],
       "problems": []}
AUG = {**MAY, "nlb": [25], "tg:tg_imap": "absent", "tg:tg_submission": "absent", "tg:tg_starttls": "absent"}
TODAY = {**AUG, "alb": False, "monitoring_services": []}  # cabal-infra HEAD with the monitoring module off


def settings(**cli):
    return load_settings({"control_domain": CD, **cli}, env={})


def probes(topo) -> set[str]:
    return {e.probe for e in topo.endpoints}


@pytest.mark.parametrize("found, name", [(MAY, "2026-05"), (AUG, "2026-08"), (TODAY, "2026-08")])
def test_auto_picks_the_shape_the_account_has(found, name):
    topo, shape = discovery.decide(settings(topology="auto"), found)
    assert topo.name == name and shape.topology == name and not shape.mismatch
    assert shape.how.startswith("auto: NLB cabal-nlb listens on ")


def test_auto_between_two_shapes_composes_them():
    found = {**AUG, "nlb": [25, 465, 587], "tg:tg_submission": "attached", "tg:tg_starttls": "attached"}  # 2026-07-25
    topo, _ = discovery.decide(settings(topology="auto"), found)
    assert topo.name == "2026-08+submission-2026-05"
    imap = next(e for e in topo.endpoints if e.probe == "imap")
    assert imap.spec == "imap+starttls://imap.cabal.internal:143" and not topo.fail2ban
    assert {e.spec for e in topo.endpoints if e.probe == "submission"} == {f"smtp+starttls://smtp-out.{CD}:587",
                                                                           f"smtps://smtp-out.{CD}:465"}
    assert topo.task_health == ("service_imap", "service_smtp_out")  # UNKNOWN (no health check yet) is not red


def test_an_explicit_topology_the_account_contradicts_is_one_line_with_the_option_that_fits():
    _, shape = discovery.decide(settings(topology="2026-05"), TODAY)
    assert shape.contradicted == ("imap", "submission")
    assert shape.mismatch == ("topology 2026-05 does not fit this account (NLB cabal-nlb listens on 25; "
                              "cabal-ecs-imap-tg absent, cabal-ecs-submission-tg absent, cabal-ecs-starttls-tg "
                              "absent): it has the 2026-08 shape for imap, submission; pass --topology 2026-08 "
                              "(or --topology auto)")
    _, shape = discovery.decide(settings(topology="2026-08"), MAY)
    assert shape.contradicted == ("imap", "submission") and "pass --topology 2026-05" in shape.mismatch


def test_a_target_group_left_behind_without_a_load_balancer_is_not_the_may_shape():
    topo, shape = discovery.decide(settings(topology="auto"), {**TODAY, "tg:tg_imap": "detached"})
    assert topo.name == "2026-08" and "cabal-ecs-imap-tg left behind (no load balancer, no target)" in shape.how
    assert not discovery.decide(settings(topology="2026-08"), {**TODAY, "tg:tg_imap": "detached"})[1].mismatch


def test_the_default_topology_is_checked_against_the_account_too():
    _, shape = discovery.decide(settings(), TODAY)
    assert shape.mismatch and shape.how.startswith("the default; the account: ")


@pytest.mark.parametrize("found", [
    {**MAY, "nlb": [25, 465, 587], "tg:tg_imap": "registered"},  # the 993 listener deleted, its target group still
    # registering the imap task: a fault (a red runbook step), not a shape
    {**MAY, "nlb": None, "problems": ["AccessDenied: ..."]},  # can't read the NLB: can't tell, no mismatch
    {**MAY, "nlb": "absent"},  # no NLB at all: red in either shape (relay), not a mismatch
])
def test_a_broken_account_is_not_a_mismatch(found):
    topo, shape = discovery.decide(settings(topology="2026-05"), found)
    assert topo.name == "2026-05" and not shape.mismatch and not shape.contradicted


def test_an_unreadable_shape_is_said_as_undecided_not_green():
    _, shape = discovery.decide(settings(), {**MAY, "nlb": None, "tg:tg_imap": None, "tg:tg_submission": None,
                                             "tg:tg_starttls": None, "problems": ["AccessDenied: elbv2"]})
    assert shape.undecided == ("the account's shape for imap, submission could not be told (NLB cabal-nlb unreadable; "
                               "cabal-ecs-imap-tg unreadable, cabal-ecs-submission-tg unreadable, cabal-ecs-starttls-tg "
                               "unreadable; AccessDenied: elbv2)")
    _, shape = discovery.decide(settings(), {**AUG, "alb": None, "monitoring_services": None})
    assert shape.undecided.startswith("the account's shape for monitoring could not be told")
    assert not discovery.decide(settings(), MAY)[1].undecided


def test_monitoring_auto_drops_the_ntfy_checks_when_the_module_is_absent():
    topo, shape = discovery.decide(settings(topology="auto"), TODAY)
    assert "ntfy" not in probes(topo) and topo.services() == ["service_imap", "service_smtp_in", "service_smtp_out"]
    assert topo.target_groups() == ["tg_relay"]
    assert shape.monitoring.startswith("absent: the ntfy checks are not collected (auto: no ALB cabal-uptime-alb")


@pytest.mark.parametrize("found, text", [
    ({**AUG, "monitoring_services": []}, "present, checked (auto: found ALB cabal-uptime-alb)"),
    ({**AUG, "alb": False}, "present, checked (auto: found cabal-ntfy, cabal-uptime-kuma)"),
    ({**AUG, "alb": None, "monitoring_services": None}, "can't tell, checked as if present"),
])
def test_monitoring_auto_keeps_the_checks_when_any_part_is_there_or_it_cannot_tell(found, text):
    topo, shape = discovery.decide(settings(topology="auto"), found)
    assert "ntfy" in probes(topo) and shape.monitoring.startswith(text)


@pytest.mark.parametrize("value, present", [("true", True), ("false", False)])
def test_monitoring_given_wins_over_the_account(value, present):
    topo, shape = discovery.decide(settings(topology="auto", monitoring=value), TODAY if present else MAY)
    assert ("ntfy" in probes(topo)) == present and f"(monitoring = {value})" in shape.monitoring


def test_sites_are_the_accounts_aliases_under_the_control_domain_that_no_probe_covers():
    found = {**MAY, "aliases": [CD, f"admin.{CD}", f"www.{CD}"]}  # a hand-made apex distribution too
    topo, shape = discovery.decide(settings(), found)
    assert [e.spec for e in topo.sites] == [f"https://{CD}/", f"https://www.{CD}/"]
    assert shape.sites == (CD, f"www.{CD}")


def test_sites_stay_as_listed_when_cloudfront_cannot_be_read():
    topo, shape = discovery.decide(settings(), {**MAY, "aliases": None})
    assert [e.host for e in topo.sites] == [f"www.{CD}"]
    # the header never reports as found what discovery could not read
    assert not any("found by alias" in line for line in shape.lines()), shape.lines()
    assert (f"ACM consumers by alias (CloudFront): not found, the distributions could not be listed; checking the "
            f"topology's own: www.{CD}") in shape.lines()


def test_aws_answering_nothing_is_the_headers_first_line():
    nothing = {k: None for k in MAY} | {"problems": ["no AWS region: pass --region"]}
    lines = discovery.decide(settings(), nothing)[1].lines()
    assert lines[0] == ("AWS answered nothing: no part of the account could be read (no AWS region: pass --region); "
                        "every check that reads AWS will say can't tell"), lines
    assert not discovery.decide(settings(), {**MAY, "aliases": None, "problems": ["x"]})[1].silent


def test_under_the_control_domain_is_by_label_not_by_suffix():
    assert discovery.under(f"WWW.{CD}.", CD) and discovery.under(CD, CD)
    assert not discovery.under(f"www.not{CD}", CD) and not discovery.under("example.test", CD)
