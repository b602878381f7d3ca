"""Facts of the cert-expiring runbook, on the wire: the chain each endpoint really serves, parsed."""

from __future__ import annotations

from ..certs import Served, chain_facts
from ..context import Context
from ..topology import Endpoint
from ..verdict import NotApplicable
from ..wire import ProbeResult
from .endpoints import probe


def served_certificates(ctx: Context, endpoint: Endpoint) -> Served:
    """The chain the endpoint really serves, parsed, from the same probe the other checks use."""
    return served(ctx.get("wire", probe, endpoint), endpoint)



def served(result: ProbeResult, ep: Endpoint) -> Served:
    """Parse a probe's chain. No chain seen: nothing to judge here (a skip that says why).

    An endpoint that completes no TLS handshake is the probe-failure runbook's red step
    (test_endpoint_answers), not a certificate's; these checks skip rather than repeat it.
    """
    if not result.chain:
        if ep.internal and result.step == "resolve":
            raise NotApplicable(f"{ep.host} is a VPC-internal name and does not resolve from this runner: run inside "
                                "the VPC or pass --connect-to")
        if not ep.probe:  # a site found by its alias: no monitor probes it, no probe-failure step covers it
            raise NotApplicable(f"{ep.spec} (a site found by its CloudFront alias): no TLS handshake, no certificate "
                                f"to judge ({result.step}: {result.error}); its distribution's ARN is still checked "
                                "(test_acm_consumer_uses_certificate)")
        raise NotApplicable(f"{ep.spec}: no TLS handshake, no certificate to judge ({result.step}: {result.error}); "
                            "the probe-failure runbook applies (test_endpoint_answers)")
    return Served(ep.spec, result.address, tuple(chain_facts(result.chain)), bool(result.verified),
                  result.verify_error)
