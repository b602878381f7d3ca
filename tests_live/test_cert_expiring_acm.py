"""Cert-expiring runbook, the ACM pipeline (wildcard *.<cd>, AWS managed renewal by DNS validation).

Step 1: describe-certificate (ISSUED, eligible, renewal not FAILED or stuck; CAA lets Amazon issue).
Step 2: every validation CNAME is in the public zone with the same value.
Step 3: every consumer (NLB 993 in 2026-05, ALB 443, every CloudFront distribution with an alias under <cd>,
found in the account: the admin app, the front door www.<cd>, any other) presents the current certificate,
and what each ACM endpoint and site serves IS that certificate.
Escalation: below 14 days with renewal stuck, the disruptive re-request.
"""

import pytest

from cabal_checks.judge import acm

pytestmark = [pytest.mark.cert_expiring, pytest.mark.acm]


@pytest.mark.aws
def test_acm_certificate_issued(acm_cert_name, acm_facts, settings, expect):
    expect(acm.issued(acm_facts, acm_cert_name, settings.names["acm_tag_name"], settings.now))


@pytest.mark.aws
def test_acm_renewal_eligible(acm_cert_name, acm_facts, settings, expect):
    expect(acm.renewal_eligible(acm_facts, acm_cert_name, settings.names["acm_tag_name"], settings.now))


@pytest.mark.aws
def test_acm_renewal_not_stuck(acm_cert_name, acm_facts, settings, expect):
    expect(acm.renewal_not_stuck(acm_facts, acm_cert_name, settings.names["acm_tag_name"], settings.now))


@pytest.mark.aws
def test_caa_allows_acm(acm_cert_name, public_zone_facts, expect):
    expect(acm.caa_allows_amazon(public_zone_facts, acm_cert_name))


@pytest.mark.aws
def test_acm_validation_records_present(acm_cert_name, acm_facts, public_zone_facts, settings, expect):
    expect(acm.validation_records_present(acm_facts, public_zone_facts, acm_cert_name,
                                          settings.names["acm_tag_name"]))


@pytest.mark.aws
def test_acm_consumer_uses_certificate(acm_consumer, acm_consumer_facts, acm_facts, settings, expect):
    expect(acm.consumer_uses_certificate(acm_consumer_facts, acm_facts, f"*.{settings.control_domain}",
                                         settings.names["acm_tag_name"], settings.names, settings.now))


@pytest.mark.aws
def test_acm_no_consumer_on_an_old_certificate(acm_cert_name, acm_facts, settings, expect):
    expect(acm.no_consumer_on_old(acm_facts, acm_cert_name, settings.names["acm_tag_name"], settings.now))


@pytest.mark.aws
@pytest.mark.network
def test_acm_certificate_served(acm_endpoint, served_certs, acm_leaf_facts, settings, expect):
    expect(acm.served_is_acm(acm_endpoint, served_certs, acm_leaf_facts, f"*.{settings.control_domain}",
                             settings.names["acm_tag_name"], settings.names))


@pytest.mark.aws
def test_acm_escalation_not_needed(acm_cert_name, acm_facts, settings, expect):
    expect(acm.escalation(acm_facts, acm_cert_name, settings.names["acm_tag_name"], settings.now))
