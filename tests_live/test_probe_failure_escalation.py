"""Probe-failure runbook, escalation: seeded token, NACLs, fail2ban, container instances, NAT."""

import pytest

from cabal_checks.judge import escalation as esc
from cabal_checks.judge import nacl
from cabal_checks.judge.load_balancers import required_sources

pytestmark = pytest.mark.probe_failure


def _nat_addresses(network_facts) -> list[str]:
    return [i["PublicIpAddress"] for i in network_facts.nat if i.get("PublicIpAddress")]


def test_seeded_token_not_expired(token_endpoint, settings, expect):
    if settings.api_token is None:
        pytest.skip("no seeded token (CABAL_API_TOKEN unset): nothing to expire")
    expect(esc.token_expiry(settings.api_token.reveal(), settings.api_token.source, settings.now,
                            settings.control_domain))


def _probe_sources(endpoint, network_facts, subnet_facts) -> list[str]:
    """Where the probes of this endpoint come from: in-VPC ones from the private subnets, public ones (Kuma,
    hairpinning) from the NAT addresses."""
    if endpoint.internal:
        vpc_id = (network_facts.vpc or {}).get("VpcId", "")
        return required_sources(("private_subnets",), subnet_facts, vpc_id)["private_subnets"]
    return _nat_addresses(network_facts)


@pytest.mark.aws
def test_no_nacl_denies(nacl_endpoint, nacl_facts, subnet_facts, expect):
    ports = tuple(sorted({nacl_endpoint.port, *nacl_endpoint.sg_ports}))
    vpc_id = (nacl_facts.vpc or {}).get("VpcId", "")
    sources = _probe_sources(nacl_endpoint, nacl_facts, subnet_facts)
    expect(esc.nacl_denies(nacl_facts.nacls, ports, sources,
                           nacl.path_subnets(nacl_endpoint.internal, subnet_facts, vpc_id),
                           targets=sources if nacl_endpoint.internal else ()))  # in-VPC: probes and tasks, one kind


@pytest.mark.aws
def test_no_fail2ban_ban_of_probe_source(fail2ban_endpoint, fail2ban_facts, nat_facts, settings, expect):
    expect(esc.fail2ban_bans(fail2ban_facts, settings.names["imap_log_group"], _nat_addresses(nat_facts),
                             ran=False))


@pytest.mark.aws
def test_container_instances_connected(cluster, container_instance_facts, expect):
    expect(esc.container_instances_ok(cluster, container_instance_facts))


@pytest.mark.aws
def test_nat_instances_running(nat_prefix, nat_route_facts, settings, expect):
    expect(esc.nat_ok(nat_route_facts, nat_prefix, settings.names["private_route_table_prefix"]))
