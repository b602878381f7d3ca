"""The judges the HEAD runbooks added, green and red on hand-built facts: ECS task health, a security group judged
for the probe source, NACLs judged for the probe source, an ACM consumer on another certificate. The fault matrix
proves each against the sandbox too."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cabal_checks.judge import acm, ecs
from cabal_checks.judge import escalation as esc
from cabal_checks.judge import load_balancers as lb
from cabal_checks.judge import nacl as nacls
from cabal_checks.shapes import AcmConsumer, AcmView

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ARN = "arn:aws:ecs:us-east-1:123456789012:task/cabal-mail/"


def task(tid: str, health: str) -> dict:
    return {"taskArn": ARN + tid, "startedAt": NOW - timedelta(hours=2), "healthStatus": health,
            "containers": [{"name": "imap", "healthStatus": health}]}


def test_tasks_healthy_green_and_unknown_is_not_red():
    v = ecs.tasks_healthy("cabal-mail", "cabal-imap", [task("a1", "HEALTHY"), task("b2", "UNKNOWN")])
    assert v.ok and "health HEALTHY, UNKNOWN" in v.summary


def test_a_running_but_unhealthy_task_is_red_with_its_task_and_the_commands():
    v = ecs.tasks_healthy("cabal-mail", "cabal-imap", [task("a1", "UNHEALTHY")])
    assert not v.ok and "1 of 1 running task(s) UNHEALTHY" in v.summary
    assert "task a1 started" in v.evidence[0] and "containers: imap UNHEALTHY" in v.evidence[0]
    assert v.next[0].startswith(f"aws ecs describe-tasks --cluster cabal-mail --tasks {ARN}a1")
    assert "runbook: probe-failure, step 2" in v.render()


def test_health_check_stops_are_named_in_the_restart_loop():
    stopped = [{"taskArn": ARN + f"t{i}", "stoppedAt": NOW - timedelta(minutes=2 * i), "stopCode": "ServiceSchedulerInitiated",
                "stoppedReason": "Task failed container health checks"} for i in range(4)]
    v = ecs.not_restarting("cabal-mail", "cabal-smtp-out", stopped, NOW)
    assert not v.ok and any("failing container health checks" in e for e in v.evidence)


SUBNETS = {"private": [{"CidrBlock": "10.0.1.0/24", "VpcId": "vpc-1"}, {"CidrBlock": "10.0.2.0/24", "VpcId": "vpc-1"},
                       {"CidrBlock": "10.9.1.0/24", "VpcId": "vpc-neighbour"}],
           "public": [{"CidrBlock": "10.0.101.0/24", "VpcId": "vpc-1"}]}


def sg(*cidrs: str, groups=()) -> dict:
    return {"GroupId": "sg-imap", "VpcId": "vpc-1", "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 143, "ToPort": 143, "IpRanges": [{"CidrIp": c} for c in cidrs],
         "UserIdGroupPairs": [{"GroupId": g} for g in groups]}]}


def test_sg_admits_the_port_from_where_the_probes_stand():
    v = lb.sg_admits("cabal-ecs-imap-sg", sg("10.0.0.0/16"), (143,), ("private_subnets",), SUBNETS)
    assert v.ok and "sources needed: private_subnets" in v.summary


def test_sg_admitting_the_port_from_elsewhere_only_is_red():
    v = lb.sg_admits("cabal-ecs-imap-sg", sg("10.0.250.0/24", "10.0.1.0/24"), (143,), ("private_subnets",), SUBNETS)
    assert not v.ok
    assert v.summary == ("cabal-ecs-imap-sg (sg-imap) admits TCP 143 but not from where the probes stand "
                         "(private subnets: 10.0.2.0/24)")
    assert "needed: private_subnets 10.0.1.0/24, 10.0.2.0/24" in v.render()  # the neighbour VPC's subnet is not ours


def test_sg_from_the_internet_and_a_group_reference_are_not_judged_wrongly():
    assert not lb.sg_admits("cabal-ecs-smtp-in-sg", sg("10.0.0.0/16"), (143,), ("internet",), SUBNETS).ok
    v = lb.sg_admits("cabal-ecs-imap-sg", sg(groups=("sg-kuma",)), (143,), ("private_subnets",), SUBNETS)
    assert v.ok and "admits sg-kuma too: whether the probes stand there is not judged" in v.evidence


def default_entries(egress: bool) -> list[dict]:
    """What every NACL AWS makes carries in each direction: allow all at 100 (the default NACL's), ``*`` deny last."""
    return [{"RuleNumber": 100, "RuleAction": "allow", "Protocol": "-1", "CidrBlock": "0.0.0.0/0", "Egress": egress},
            {"RuleNumber": 32767, "RuleAction": "deny", "Protocol": "-1", "CidrBlock": "0.0.0.0/0", "Egress": egress}]


def nacl(cidr: str, port: int = 25) -> list[dict]:
    return [{"NetworkAclId": "acl-1", "Entries": [
        {"RuleNumber": 90, "RuleAction": "deny", "Protocol": "6", "PortRange": {"From": port, "To": port},
         "CidrBlock": cidr, "Egress": False}, *default_entries(False), *default_entries(True)]}]


def test_a_nacl_deny_of_someone_else_is_listed_green():
    v = esc.nacl_denies(nacl("198.51.100.0/24"), (25,), ["203.0.113.7", "203.0.113.8"])
    assert v.ok and "(not a probe source)" in v.evidence[0]


def test_a_nacl_deny_covering_a_probe_source_is_red():
    v = esc.nacl_denies(nacl("203.0.113.0/24"), (25,), ["203.0.113.7"])
    assert not v.ok and "covers probe source 203.0.113.7" in v.evidence[0]
    v = esc.nacl_denies(nacl("10.0.0.0/16", 143), (143,), ["10.0.1.0/24", "10.0.2.0/24"])  # in-VPC probe subnets
    assert not v.ok and "covers probe source 10.0.1.0/24" in v.evidence[0]


def test_a_consumer_on_another_certificate_names_its_alias_arn_and_days_left():
    current = "arn:aws:acm:us-east-1:123456789012:certificate/current"
    other = "arn:aws:acm:us-east-1:123456789012:certificate/old"
    consumer = AcmConsumer("cloudfront", "CloudFront distribution E2WWW (www.cd.test)", other, alias="www.cd.test",
                           distribution_id="E2WWW", resource_arn="arn:aws:cloudfront::1:distribution/E2WWW",
                           arn_cert={"DomainName": "*.cd.test", "Status": "ISSUED", "NotAfter": NOW + timedelta(days=5)})
    view = AcmView({"CertificateArn": current, "Status": "ISSUED", "InUseBy": []})
    v = acm.consumer_uses_certificate(consumer, view, "*.cd.test", "cabal-nlb", {}, NOW)
    assert not v.ok and "(www.cd.test) is pinned to an old ARN" in v.summary and other in v.summary
    assert f"{other}: *.cd.test ISSUED, 5.0 days left" in v.evidence
    assert "ACM InUseBy of " + current + " does not list arn:aws:cloudfront::1:distribution/E2WWW" in v.evidence
    assert "aws cloudfront get-distribution-config --id E2WWW" in v.next[0]
    green = acm.consumer_uses_certificate(replace(consumer, arn=current), view, "*.cd.test", "cabal-nlb", {}, NOW)
    assert green.ok


def test_acm_inuseby_cross_check_green_with_unused_leftovers_red_when_an_old_one_is_used():
    current = {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/current", "Status": "ISSUED", "InUseBy": ["x"]}
    leftover = {"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/2025", "Status": "EXPIRED", "InUseBy": [],
                "NotAfter": NOW - timedelta(days=200)}
    view = AcmView(current, others=(leftover,))
    assert acm.no_consumer_on_old(view, "*.cd.test", "cabal-nlb", NOW).ok
    used = {**leftover, "Status": "ISSUED", "NotAfter": NOW + timedelta(days=5),
            "InUseBy": ["arn:aws:apigateway:us-east-1::/domainnames/api.cd.test"]}
    v = acm.no_consumer_on_old(replace(view, others=(used,)), "*.cd.test", "cabal-nlb", NOW)
    assert not v.ok and "still use an old certificate *.cd.test" in v.summary
    assert v.evidence == ("arn:aws:apigateway:us-east-1::/domainnames/api.cd.test uses "
                          "arn:aws:acm:us-east-1:1:certificate/2025 (ISSUED, 5.0 days left)",)


def test_a_site_with_a_certificate_of_its_own_is_not_pinned():
    own = "arn:aws:acm:us-east-1:1:certificate/staging"
    consumer = AcmConsumer("cloudfront", "CloudFront distribution E2STG", own, alias="www.staging.cd.test",
                           distribution_id="E2STG", arn_cert={"DomainName": "*.staging.cd.test", "Status": "ISSUED",
                                                              "NotAfter": NOW + timedelta(days=80)})
    view = AcmView({"CertificateArn": "arn:aws:acm:us-east-1:1:certificate/current", "InUseBy": []})
    v = acm.consumer_uses_certificate(consumer, view, "*.cd.test", "cabal-nlb", {}, NOW)
    assert v.ok and "uses its own certificate" in v.summary and "80.0 days left" in v.summary
    old_copy = replace(consumer, arn_cert={**consumer.arn_cert, "DomainName": "*.cd.test",
                                           "SubjectAlternativeNames": ["*.cd.test"]}, alias="www.cd.test")
    assert not acm.consumer_uses_certificate(old_copy, view, "*.cd.test", "cabal-nlb", {}, NOW).ok


# --- NACLs are stateless: the replies go out on the probe's ephemeral port (issue #17, item 12) -------------------


def acl(*entries: tuple, subnet: str = "subnet-pub") -> dict:
    """A NACL of ``entries`` (number, egress, action, (from, to) or None for all, cidr) and the ``*`` rules."""
    rows = [{"RuleNumber": n, "Egress": egress, "RuleAction": action, "CidrBlock": cidr,
             **({"Protocol": "6", "PortRange": {"From": ports[0], "To": ports[1]}} if ports else {"Protocol": "-1"})}
            for n, egress, action, ports, cidr in entries]
    rows += [{"RuleNumber": 32767, "Egress": e, "RuleAction": "deny", "Protocol": "-1", "CidrBlock": "0.0.0.0/0"}
             for e in (False, True)]
    return {"NetworkAclId": "acl-lock", "Entries": rows,
            "Associations": [{"NetworkAclId": "acl-lock", "SubnetId": subnet}]}


IN_25 = (100, False, "allow", (25, 25), "0.0.0.0/0")
NAT = ["203.0.113.7"]


def test_a_nacl_that_admits_25_but_lets_no_reply_out_is_red():
    locked = acl(IN_25, (100, True, "allow", (443, 443), "0.0.0.0/0"), (110, True, "allow", (25, 25), "0.0.0.0/0"))
    v = esc.nacl_denies([locked], (25,), NAT)
    # the old judge looked only for inbound denies on the port: green while every reply was dropped
    assert not v.ok
    assert v.summary == ("NACL acl-lock lets TCP 25 in but drops the replies: egress to the probes' ephemeral ports "
                         "TCP 1024-65535 is not allowed (NACLs are stateless)")
    assert ("acl-lock egress to 203.0.113.7 on TCP 1024-65535 (the replies): no rule allows it, the * rule denies"
            in v.evidence)
    assert v.step == esc.ESC and v.next[0] == "aws ec2 describe-network-acls --network-acl-ids acl-lock"
    assert v.next[1].startswith("aws ec2 create-network-acl-entry --network-acl-id acl-lock --egress --rule-number 101 "
                                "--protocol tcp --port-range From=1024,To=65535 --cidr-block 203.0.113.7/32")
    # green twin: the ephemeral range let out, in one rule or in two that together cover it
    assert esc.nacl_denies([acl(IN_25, (100, True, "allow", (1024, 65535), "0.0.0.0/0"))], (25,), NAT).ok
    split = acl(IN_25, (100, True, "allow", (1024, 32767), "0.0.0.0/0"), (110, True, "allow", (32768, 65535), "0.0.0.0/0"))
    assert esc.nacl_denies([split], (25,), NAT).ok


def test_part_of_the_ephemeral_range_or_an_egress_deny_of_the_source_is_red():
    linux_only = acl(IN_25, (100, True, "allow", (32768, 65535), "0.0.0.0/0"))
    v = esc.nacl_denies([linux_only], (25,), NAT)
    assert not v.ok and "ephemeral ports TCP 1024-32767 is not allowed" in v.summary
    denied = acl(IN_25, (50, True, "deny", None, "203.0.113.0/24"), (100, True, "allow", None, "0.0.0.0/0"))
    v = esc.nacl_denies([denied], (25,), NAT)
    assert not v.ok and ("acl-lock egress to 203.0.113.7 on TCP 1024-65535 (the replies): rule 50 egress deny proto -1 "
                         "ports all-all 203.0.113.0/24 (covers probe source 203.0.113.7)") in v.evidence
    assert v.next[1].startswith("aws ec2 delete-network-acl-entry --network-acl-id acl-lock --rule-number 50 --egress")
    # an allow of only part of the source's addresses decides nothing: the in-VPC subnets go on to the * rule
    part = acl((100, False, "allow", None, "10.0.0.0/16"), (100, True, "allow", None, "10.0.1.0/25"))
    v = esc.nacl_denies([part], (143,), ["10.0.1.0/24"])
    assert not v.ok and "egress to 10.0.1.0/24 on TCP 1024-65535 (the replies): no rule allows it" in v.render()


def test_a_nacl_with_no_ingress_allow_for_the_port_is_red_and_only_the_path_s_subnets_count():
    v = esc.nacl_denies([acl((100, False, "allow", (443, 443), "0.0.0.0/0"), (100, True, "allow", None, "0.0.0.0/0"))],
                        (25,), NAT)
    assert not v.ok and v.summary == "NACL acl-lock lets nothing in on TCP 25 from the probes: no rule allows it"
    assert v.next[1].startswith("aws ec2 create-network-acl-entry --network-acl-id acl-lock --ingress --rule-number 101")
    # the same NACL on a subnet the probe does not cross filters nothing on its path
    elsewhere = acl((100, False, "allow", (443, 443), "0.0.0.0/0"), subnet="subnet-bastion")
    assert esc.nacl_denies([elsewhere], (25,), NAT, {"subnet-pub", "subnet-priv"}).ok
    assert not esc.nacl_denies([elsewhere], (25,), NAT, {"subnet-bastion"}).ok


def test_the_path_of_a_public_endpoint_crosses_public_and_private_subnets_an_internal_one_private_only():
    subnets = {"public": [{"SubnetId": "subnet-pub", "VpcId": "vpc-1"}],
               "private": [{"SubnetId": "subnet-priv", "VpcId": "vpc-1"}, {"SubnetId": "subnet-n", "VpcId": "vpc-2"}]}
    assert nacls.path_subnets(False, subnets, "vpc-1") == {"subnet-pub", "subnet-priv"}
    assert nacls.path_subnets(True, subnets, "vpc-1") == {"subnet-priv"}


def test_in_vpc_probes_are_judged_on_their_own_side_too():
    """The in-VPC probes stand in the private subnets, as the tasks do: their NACL must let the probe out on the port
    and the replies back in, not only the tasks' side."""
    private = ["10.0.1.0/24", "10.0.2.0/24"]
    # the tasks' side is fine (in on 143 from the VPC, out to the ephemeral ports); the probes' SYN to 143 never leaves
    only_replies_out = acl((100, False, "allow", None, "10.0.0.0/16"), (100, True, "allow", (1024, 65535), "10.0.0.0/16"),
                           subnet="subnet-priv")
    assert esc.nacl_denies([only_replies_out], (143,), private, {"subnet-priv"}).ok  # the old view: one side only
    v = esc.nacl_denies([only_replies_out], (143,), private, {"subnet-priv"}, targets=private)
    assert not v.ok and v.summary == ("NACL acl-lock on the probes' own subnets drops them on the way out to TCP 143 "
                                      "(NACLs are stateless)")
    assert "acl-lock egress to 10.0.1.0/24 on TCP 143: no rule allows it, the * rule denies" in v.evidence
    both_ways = acl((100, False, "allow", None, "10.0.0.0/16"), (100, True, "allow", None, "10.0.0.0/16"),
                    subnet="subnet-priv")
    assert esc.nacl_denies([both_ways], (143,), private, {"subnet-priv"}, targets=private).ok
