"""Probe-failure runbook, step 3: load-balancer listener, target health, and the security group."""

import pytest

from cabal_checks.judge import load_balancers as lb

pytestmark = [pytest.mark.probe_failure, pytest.mark.aws]


def test_listener_present(lb_endpoint, front, target_group_description, settings, expect):
    tg_arn = target_group_description["TargetGroupArn"] if target_group_description else None
    expect(lb.listener_present(lb_endpoint, settings.names[lb_endpoint.front], front, tg_arn,
                               front.forwards if front else {}))


def test_targets_healthy(tg_key, target_group_facts, settings, expect):
    expect(lb.targets_healthy(settings.names[tg_key], target_group_facts))


def test_security_group_admits(sg_endpoint, security_group_facts, subnet_facts, settings, expect):
    expect(lb.sg_admits(settings.names[sg_endpoint.security_group], security_group_facts, sg_endpoint.sg_ports,
                        sg_endpoint.sg_sources, subnet_facts))
