"""The diagnosis judge on hand-built verdict lists: the runbooks' order, their conclusions in their words, the
probable cause with its evidence and next command, consequences, independent causes, and can't-tell blockers."""

from __future__ import annotations

from cabal_checks.judge import diagnosis as d
from cabal_checks.judge.diagnosis import Outcome, diagnose

IMAP, RELAY = "imaps://imap.x.net:993", "smtp://smtp-in.x.net:25"
SUB = "smtps://smtp-out.x.net:465"
ALL = ("admin_app", "api_list", "imap", "ntfy", "smtp_relay", "submission")


def o(test_id, status="green", step="", probes=(), pipeline="", **kw) -> Outcome:
    from fixtures.diagnosis import STEP_OF

    return Outcome(test_id, status, step or STEP_OF[test_id.split("[")[0]], tuple(probes), pipeline,
                   summary=kw.pop("summary", f"{test_id} is {status}"), **kw)


def imap_path(**status) -> list[Outcome]:
    """The IMAP probe's path (2026-05) plus the relay's probe, each green unless given."""
    s = lambda name: status.get(name, "green")  # noqa: E731
    return [o(f"test_endpoint_answers[{IMAP}]", s("answers"), probes=["imap"]),
            o(f"test_endpoint_answers_from_inside_vpc[{IMAP}]", s("inside"), probes=["imap"]),
            o(f"test_endpoint_answers[{RELAY}]", s("relay"), probes=["smtp_relay"]),
            o("test_dns_points_at_front[public:imap.x.net]", s("dns"), probes=["imap"]),
            o("test_ecs_service_running[cabal-imap]", s("ecs"), probes=["imap"], evidence="running 0, desired 1",
              next="aws ecs describe-services --cluster cabal-mail --services cabal-imap"),
            o("test_ecs_service_running[cabal-smtp-in]", s("ecs_relay"), probes=["smtp_relay"]),
            o("test_ecs_service_not_restarting[cabal-imap]", s("restart"), probes=["imap"]),
            o("test_targets_healthy[cabal-ecs-imap-tg]", s("targets"), probes=["imap"]),
            o("test_security_group_admits[cabal-ecs-imap-sg:143,993]", s("sg"), probes=["imap"]),
            o("test_container_instances_connected[cabal-mail]", s("instances"), probes=["imap", "ntfy", "smtp_relay"]),
            o("test_nat_instances_running[cabal-nat-*]", s("nat"), probes=ALL)]


def test_nothing_red_is_one_line_naming_the_paths_checked():
    lines = diagnose(imap_path() + [o("test_certbot_schedule_enabled[x]", pipeline="letsencrypt")]).lines()
    assert lines == ["nothing red: probe-failure (imap, smtp_relay), cert-expiring (letsencrypt) checked and green"]


def test_service_down_both_fail_the_service_itself_and_the_rest_follows():
    found = diagnose(imap_path(answers="red", inside="red", ecs="red", targets="red"))
    (f,) = found.findings
    assert f.cause.test_id == "test_ecs_service_running[cabal-imap]"
    assert d.BOTH_FAIL in f.conclusion and "ECS service" in f.conclusion
    assert {c.test_id for c in f.consequences} == {f"test_endpoint_answers[{IMAP}]", "test_targets_healthy[cabal-ecs-imap-tg]",
                                                   f"test_endpoint_answers_from_inside_vpc[{IMAP}]"}
    text = "\n".join(found.lines())
    assert "seen: running 0, desired 1" in text and "next: aws ecs describe-services --cluster cabal-mail" in text
    assert f"probe imap ({IMAP})" in text


def test_in_vpc_passes_and_targets_healthy_a_security_group_rule():
    (f,) = diagnose(imap_path(answers="red", sg="red")).findings
    assert f.cause.test_id == "test_security_group_admits[cabal-ecs-imap-sg:143,993]"
    assert d.INSIDE_PASSES in f.conclusion and d.HEALTHY_TARGETS in f.conclusion
    assert [c.test_id for c in f.consequences] == [f"test_endpoint_answers[{IMAP}]"]


def test_a_probe_red_with_every_later_step_green_is_its_own_cause():
    (f,) = diagnose(imap_path(answers="red", inside="red")).findings
    assert f.cause.test_id == f"test_endpoint_answers[{IMAP}]" and d.BOTH_FAIL in f.conclusion
    assert [c.test_id for c in f.consequences] == [f"test_endpoint_answers_from_inside_vpc[{IMAP}]"]


def test_nat_down_and_one_service_down_are_two_independent_causes():
    found = diagnose(imap_path(answers="red", inside="red", ecs="red", targets="red", nat="red"))
    assert found.causes() == ["test_ecs_service_running[cabal-imap]", "test_nat_instances_running[cabal-nat-*]"]
    assert not found.findings[1].consequences
    assert "independent causes (2)" in found.lines()[-1]


def test_several_services_unhealthy_at_once_the_cluster_instances_or_nat():
    found = diagnose(imap_path(answers="red", relay="red", ecs="red", ecs_relay="red", instances="red"))
    (f,) = found.findings
    assert f.cause.test_id == "test_container_instances_connected[cabal-mail]" and f.conclusion == d.SEVERAL
    assert {c.test_id for c in f.consequences} == {
        "test_ecs_service_running[cabal-imap]", "test_ecs_service_running[cabal-smtp-in]",
        f"test_endpoint_answers[{IMAP}]", f"test_endpoint_answers[{RELAY}]"}


def test_cant_tell_on_the_deciding_step_blocks_the_conclusion():
    (f,) = diagnose(imap_path(answers="red", inside="red", ecs="cant_tell", targets="cant_tell")).findings
    assert f.cause.test_id == f"test_endpoint_answers[{IMAP}]"
    assert [b.test_id for b in f.blocked_by] == ["test_ecs_service_running[cabal-imap]",
                                                 "test_targets_healthy[cabal-ecs-imap-tg]"]
    assert "can't tell (blocks the conclusion): test_ecs_service_running[cabal-imap]" in "\n".join(diagnose(
        imap_path(answers="red", inside="red", ecs="cant_tell")).lines())


def test_a_later_cant_tell_does_not_block_an_earlier_cause():
    (f,) = diagnose(imap_path(answers="red", inside="red", ecs="red", nat="cant_tell")).findings
    assert f.cause.test_id == "test_ecs_service_running[cabal-imap]" and not f.blocked_by


def le_pipeline(**status) -> list[Outcome]:
    s = lambda name: status.get(name, "green")  # noqa: E731
    le = dict(pipeline="letsencrypt", probes=["submission"])
    return [o(f"test_endpoint_answers[{SUB}]", s("answers"), probes=["submission"], cert_failure=s("answers") == "red"),
            o(f"test_endpoint_answers_from_inside_vpc[{IMAP}]", s("imap_inside"), probes=["imap"],
              cert_failure=s("imap_inside") == "red"),
            o(f"test_cert_days_left_warning[{SUB}]", s("wire_w"), **le),
            o(f"test_cert_days_left_critical[{SUB}]", s("wire_c"), **le),
            o(f"test_chain_verifies_for_public_name[{SUB}]", s("chain"), **le),
            o("test_certbot_ran_within_period[cabal-certbot-renewal]", s("ran"), **le),
            o("test_ssm_certificate_days_left_warning[/cabal/control_domain_ssl_cert]", s("ssm_w"), **le,
              evidence="NotAfter 2026-12-06", next="aws lambda invoke --function-name cabal-certbot-renewal out.json"),
            o("test_ssm_certificate_days_left_critical[/cabal/control_domain_ssl_cert]", s("ssm_c"), **le,
              evidence="NotAfter 2026-12-06", next="aws lambda invoke --function-name cabal-certbot-renewal out.json"),
            o("test_letsencrypt_escalation_not_needed[*.x.net]", s("esc"), **le, next="certbot certonly --manual"),
            o("test_acm_renewal_not_stuck[*.x.net]", s("acm"), pipeline="acm", probes=["imap"])]


def test_certificates_which_pipeline_and_its_first_failing_step():
    reds = dict(answers="red", imap_inside="red", wire_w="red", wire_c="red", chain="red", ssm_w="red", ssm_c="red", esc="red")
    found = diagnose(le_pipeline(**reds))
    (f,) = found.findings
    # the critical check, not its 21-day warning twin, is the cause of a certificate inside the critical window
    assert f.cause.test_id == "test_ssm_certificate_days_left_critical[/cabal/control_domain_ssl_cert]"
    assert f.subject == "the Let's Encrypt pipeline" and "Let's Encrypt 2." in f.conclusion
    assert len(f.consequences) == 7  # the wire, the later steps, and the probes failing on the certificate
    text = "\n".join(found.lines())
    assert "next: aws lambda invoke --function-name cabal-certbot-renewal" in text
    # the manual renewal is said beside the cause, not only listed among the consequences
    assert ("  escalation (the manual path): test_letsencrypt_escalation_not_needed[*.x.net]: test_letsencrypt_escalation_"
            "not_needed[*.x.net] is red\n    next: certbot certonly --manual") in text


def test_the_wire_alone_is_the_first_failing_step_of_its_pipeline():
    (f,) = diagnose(le_pipeline(answers="red", chain="red")).findings
    assert f.cause.test_id == f"test_chain_verifies_for_public_name[{SUB}]" and "the wire itself" in f.conclusion
    assert [c.test_id for c in f.consequences] == [f"test_endpoint_answers[{SUB}]"]


def test_two_pipelines_red_are_two_causes():
    found = diagnose(le_pipeline(ran="red", acm="red"))
    assert found.causes() == ["test_acm_renewal_not_stuck[*.x.net]", "test_certbot_ran_within_period[cabal-certbot-renewal]"]


def test_junit_properties_carry_each_cause_and_its_consequences():
    props = dict(diagnose(imap_path(answers="red", inside="red", ecs="red", targets="red", nat="red")).properties())
    assert props["diagnosis_causes"].splitlines() == ["test_ecs_service_running[cabal-imap]",
                                                      "test_nat_instances_running[cabal-nat-*]"]
    assert "test_targets_healthy[cabal-ecs-imap-tg]" in props["diagnosis_1_consequences"].splitlines()
    assert props["diagnosis_2_consequences"] == "" and props["diagnosis"].startswith("probe-failure, probe imap")


def test_a_probe_of_a_name_whose_dns_record_is_red_follows_from_it():
    found = diagnose([o("test_endpoint_answers[https://admin.x.net/]", "red", probes=["admin_app"]),
                      o("test_endpoint_answers[https://admin.x.net/prod/list]", "red", probes=["api_list"]),
                      o("test_dns_points_at_front[public:admin.x.net]", "red", probes=["admin_app"])])
    assert found.causes() == ["test_dns_points_at_front[public:admin.x.net]"]
    assert len(found.findings[0].consequences) == 2


def test_nothing_red_names_the_probes_that_were_probed_not_every_probe_nat_serves():
    (line,) = diagnose([o for o in imap_path() if "relay" not in o.test_id and "smtp-in" not in o.test_id]).lines()
    assert line == "nothing red: probe-failure (imap) checked and green"


# --- Issue #17: can't-tell blocks a conclusion; shared causes; wording that does not contradict itself ----------

NO_REGION = "can't tell: no AWS region: pass --region"


def no_network_run() -> list[Outcome]:
    """No network, no credentials: every probe fails to resolve, every step read from AWS is can't tell."""
    dead = dict(summary=NO_REGION)
    return [o(f"test_endpoint_answers[{IMAP}]", "red", probes=["imap"],
              summary=f"{IMAP} failed at resolve: name imap.x.net does not resolve"),
            o(f"test_endpoint_answers[{RELAY}]", "red", probes=["smtp_relay"],
              summary=f"{RELAY} failed at resolve: name smtp-in.x.net does not resolve"),
            o("test_deployment_matches_topology[2026-05]", "cant_tell", summary="can't tell: the account's shape"),
            o("test_dns_points_at_front[public:imap.x.net]", "cant_tell", probes=["imap"], **dead),
            o("test_ecs_service_running[cabal-imap]", "cant_tell", probes=["imap"], **dead),
            o("test_ecs_service_running[cabal-smtp-in]", "cant_tell", probes=["smtp_relay"], **dead),
            o("test_targets_healthy[cabal-ecs-imap-tg]", "cant_tell", probes=["imap"], **dead),
            o("test_nat_instances_running[cabal-nat-*]", "cant_tell", probes=ALL, **dead),
            o("test_certbot_ran_within_period[cabal-certbot-renewal]", "cant_tell", pipeline="letsencrypt", **dead)]


def test_no_network_no_aws_says_so_first_and_blocks_every_conclusion():
    found = diagnose(no_network_run())
    lines = found.lines()
    assert lines[0] == ("AWS answered nothing: all 7 steps read from AWS are can't tell (no AWS region: pass "
                        "--region); every conclusion that needs them is blocked, not drawn")
    assert lines[1].startswith("every endpoint fails from this vantage (2 of 2, all at resolve): first look at what "
                               "they share: this vantage's DNS resolver or its network")
    assert all(f.blocked for f in found.findings)
    (imap, relay) = found.findings
    assert imap.conclusion.endswith("blocked: the first step that could decide, test_dns_points_at_front["
                                    "public:imap.x.net], can't tell (no AWS region: pass --region) (and 3 more)")
    text = "\n".join(lines)
    assert "the endpoint itself" not in text and "every later step of its path is green" not in text
    assert "  red, not traced: test_endpoint_answers[" in text and "probable cause" not in text
    assert text.count("can't tell (blocks the conclusion)") == 2, text  # one per finding: the first that decides
    assert "  can't tell, later on its path: 3 more (test_ecs_service_running[cabal-imap], " in text, text


def test_a_probe_red_with_later_steps_green_is_still_the_endpoint_itself_and_not_blocked():
    (f,) = diagnose(imap_path(answers="red", inside="red")).findings
    assert not f.blocked and f.conclusion.endswith("every later step of its path is green: the endpoint itself")


def test_every_endpoint_failing_inside_and_out_names_the_shared_layers_first():
    outcomes = imap_path(answers="red", inside="red", relay="red") + [
        o(f"test_endpoint_answers_from_inside_vpc[{RELAY}]", "red", probes=["smtp_relay"])]
    first = diagnose(outcomes).lines()[0]
    assert first.startswith("every endpoint fails from this vantage (2 of 2): first look at what they share: the "
                            "in-VPC probes fail too"), first
    assert first.endswith("(container_instances_connected green, nat_instances_running green)"), first
    for f in diagnose(outcomes).findings:  # not "the service itself" seven times after "what they share"
        assert d.BOTH_FAIL not in f.conclusion and f.conclusion.endswith(
            "the endpoint itself, unless what every endpoint shares (said first)"), f.conclusion
    assert not any(line.startswith("every endpoint") for line in diagnose(imap_path(answers="red")).lines())


def test_a_network_layer_cause_is_not_called_the_service_itself():
    nacl = o(f"test_no_nacl_denies[{IMAP}]", "red", probes=["imap"])
    (f,) = diagnose(imap_path(answers="red", inside="red") + [nacl]).findings
    assert f.cause.test_id == nacl.test_id
    assert d.BOTH_FAIL not in f.conclusion and d.BOTH_FAIL_EARLIER in f.conclusion, f.conclusion
    (f,) = diagnose(imap_path(answers="red", inside="red", ecs="red")).findings
    assert d.BOTH_FAIL in f.conclusion


def test_a_service_no_probe_covers_is_named_and_its_later_steps_follow():
    found = diagnose(imap_path() + [o("test_ecs_service_running[cabal-uptime-kuma]", "red"),
                                    o("test_targets_healthy[cabal-uptime-kuma]", "red")])
    (f,) = found.findings
    assert f.subject == "cabal-uptime-kuma (no probe covers it)"
    assert f.conclusion == "no probe of this run covers it; the ECS service itself (step 2) is red on its own"
    assert [c.test_id for c in f.consequences] == ["test_targets_healthy[cabal-uptime-kuma]"]
    assert "probe-failure, probe-failure" not in "\n".join(found.lines())


def test_a_wedged_host_every_target_group_unhealthy_while_ecs_reads_running_is_one_cause():
    outcomes = imap_path(targets="red") + [
        o("test_targets_healthy[cabal-ecs-relay-tg]", "red", probes=["smtp_relay"]),
        o("test_targets_healthy[cabal-ntfy]", "red", probes=["ntfy"]),
        o("test_ecs_service_running[cabal-ntfy]", probes=["ntfy"]),
        o("test_targets_healthy[cabal-uptime-kuma]", "red"), o("test_ecs_service_running[cabal-uptime-kuma]")]
    found = diagnose(outcomes)
    (f,) = found.findings
    assert f.cause.test_id == "test_targets_healthy[cabal-ecs-imap-tg]" and f.conclusion == d.WEDGED
    assert {c.test_id for c in f.consequences} == {"test_targets_healthy[cabal-ecs-relay-tg]",
                                                   "test_targets_healthy[cabal-ntfy]",
                                                   "test_targets_healthy[cabal-uptime-kuma]"}
    assert "    next: aws ecs list-container-instances --cluster cabal-mail" in "\n".join(found.lines())


def test_targets_unhealthy_while_ecs_cannot_be_read_is_not_concluded_a_wedged_host():
    found = diagnose(imap_path(targets="red", ecs="cant_tell", ecs_relay="cant_tell") + [
        o("test_targets_healthy[cabal-ecs-relay-tg]", "red", probes=["smtp_relay"])])
    assert d.WEDGED not in {f.conclusion for f in found.findings}
    assert all("unless test_ecs_service_running[" in f.conclusion for f in found.findings), found.lines()


def test_one_service_down_with_its_targets_is_not_a_wedged_host():
    found = diagnose(imap_path(ecs="red", targets="red") + [
        o("test_targets_healthy[cabal-ecs-relay-tg]", "red", probes=["smtp_relay"])])
    assert d.WEDGED not in {f.conclusion for f in found.findings}
    assert found.causes() == ["test_ecs_service_running[cabal-imap]", "test_targets_healthy[cabal-ecs-relay-tg]"]


def test_a_red_step_after_a_cant_tell_one_is_probable_unless_the_earlier_one_fails():
    (f,) = diagnose(imap_path(answers="red", inside="red", ecs="cant_tell", targets="red")).findings
    assert f.cause.test_id == "test_targets_healthy[cabal-ecs-imap-tg]" and not f.blocked
    assert f.conclusion.endswith("; unless test_ecs_service_running[cabal-imap], an earlier step, fails: it can't "
                                 "tell (test_ecs_service_running[cabal-imap] is cant_tell)"), f.conclusion


def test_the_wire_red_with_its_pipeline_cant_tell_is_blocked_not_the_wire_itself():
    (f,) = diagnose(le_pipeline(answers="red", chain="red", ran="cant_tell")).findings
    assert f.blocked and f.conclusion.startswith("blocked: the first step that could decide, "
                                                 "test_certbot_ran_within_period[cabal-certbot-renewal], can't tell")
    assert "the wire itself" not in f.conclusion


def test_nothing_judged_is_not_called_checked_and_green_and_the_cant_tells_are_not_a_wall():
    dead = [o(f"test_ecs_service_running[s{i}]", "cant_tell", probes=["imap"]) for i in range(8)]
    (line,) = diagnose(dead).lines()[1:]  # after "AWS answered nothing"
    assert line == ("nothing red, and nothing judged: 8 can't tell: test_ecs_service_running[s0], test_ecs_service_"
                    "running[s1], test_ecs_service_running[s2], test_ecs_service_running[s3], test_ecs_service_"
                    "running[s4], ... (3 more)"), line
