"""Cert-expiring runbook, on the wire: what each endpoint really serves, judged at --now.

The alerts measure probe_ssl_earliest_cert_expiry on a live handshake: so the leaf is judged at both
tiers (21 days: BlackboxTLSCertExpiringSoonWarning, 7 days: ...Critical), and so is any certificate of
the presented chain that expires before it. The chain must verify for the public name, also where the
probe dials a private one (imap.cabal.internal:143 serves *.<cd>).
"""

import pytest

from cabal_checks.judge import cert_wire

pytestmark = [pytest.mark.cert_expiring, pytest.mark.network]


@pytest.mark.warning
def test_cert_days_left_warning(cert_endpoint, served_certs, settings, expect):
    expect(cert_wire.days_left(cert_endpoint, served_certs, settings.now, cert_wire.WARNING_DAYS,
                               settings.names, settings.control_domain))


def test_cert_days_left_critical(cert_endpoint, served_certs, settings, expect):
    expect(cert_wire.days_left(cert_endpoint, served_certs, settings.now, cert_wire.CRITICAL_DAYS,
                               settings.names, settings.control_domain))


@pytest.mark.warning
def test_chain_earliest_expiry_warning(cert_endpoint, served_certs, settings, expect):
    expect(cert_wire.chain_earliest(cert_endpoint, served_certs, settings.now, cert_wire.WARNING_DAYS,
                                    settings.names, settings.control_domain))


def test_chain_earliest_expiry_critical(cert_endpoint, served_certs, settings, expect):
    expect(cert_wire.chain_earliest(cert_endpoint, served_certs, settings.now, cert_wire.CRITICAL_DAYS,
                                    settings.names, settings.control_domain))


def test_chain_verifies_for_public_name(cert_endpoint, served_certs, expect):
    expect(cert_wire.chain_verifies(cert_endpoint, served_certs))
