"""Probe-failure runbook, step 1: which probe failed, and is it the load balancer/DNS or the service.

Each endpoint is probed as its monitor does, but stricter (full chain and name verification, the
protocol's own greeting); with --vpc-host the same probe runs inside the VPC; each public name must
exist in its zones and point at its front.
"""

import pytest

from cabal_checks import facts as f
from cabal_checks.judge import endpoints

pytestmark = pytest.mark.probe_failure


@pytest.mark.network
def test_endpoint_answers(endpoint, probe_result, cabal, expect):
    s = cabal.settings
    inside = targets = zones = None
    statuses = {probe_result.status, *(a.get("status") for a in probe_result.addresses)}  # each address's
    if not probe_result.ok or not statuses <= {None, 200}:
        if s.vpc_host:
            inside = cabal.maybe("vpc", f.probe_in_vpc, endpoint)
        if endpoint.target_group:
            tg = cabal.maybe("aws", f.target_group, endpoint.target_group)
            targets = bool(tg and any(h["TargetHealth"]["State"] == "healthy" for h in tg.health))
        if probe_result.addresses and endpoint.front in f.FRONT_LBS:  # which zone the bad node is in
            zones = cabal.maybe("aws", f.front_zones, endpoint.front)
    expect(endpoints.probe_answers(
        endpoint, probe_result, with_token=f.wants_token(s), cluster=s.names["cluster"],
        service=s.names.get(endpoint.service, ""), inside=inside, targets_healthy=targets, zones=zones))


@pytest.mark.network
@pytest.mark.vpc
def test_endpoint_answers_from_inside_vpc(endpoint, vpc_probe_result, cabal, expect):
    outside = cabal.maybe("wire", f.probe, endpoint)
    s = cabal.settings
    expect(endpoints.in_vpc(endpoint, vpc_probe_result, outside, s.names["cluster"], s.names.get(endpoint.service, "")))


@pytest.mark.aws
def test_dns_points_at_front(dns_case, dns_view, expect):
    endpoint, zone = dns_case
    expect(endpoints.dns_points_at_front(endpoint, zone, dns_view))
