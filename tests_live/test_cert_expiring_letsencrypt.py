"""Cert-expiring runbook, the Let's Encrypt pipeline (cabal-certbot-renewal Lambda -> SSM -> task start).

The real places, not the runbook's text: log group /cabal/lambda/certbot-renewal, an EventBridge
Scheduler schedule at rate(60 days), SSM /cabal/control_domain_ssl_cert and _chain_cert (the key
parameter is never read).
Step 1: the Lambda exists, its schedule is ENABLED, it ran within one period plus 24 h, its last run
did not fail; CAA lets letsencrypt.org issue.
Step 2: the certificate in SSM parses and has days left; it is the one the tasks serve.
Step 3: no rate limiting in the last 7 days.
Escalation: below 7 days, the manual renewal path with the real SSM names.
Step 1's tests are also the heartbeat-certbot-renewal runbook (family marker ``heartbeat``), mapped, not copied; the
run within one period plus 24 h is its Healthchecks condition (``condition``).
"""

from datetime import UTC, datetime

import pytest

from cabal_checks import facts as f
from cabal_checks.judge import cert_wire
from cabal_checks.judge import letsencrypt as le

pytestmark = [pytest.mark.cert_expiring, pytest.mark.letsencrypt]


@pytest.mark.aws
@pytest.mark.heartbeat
def test_certbot_function_exists(certbot_function_name, certbot_function_facts, settings, expect):
    expect(le.function_exists(certbot_function_facts, settings.names))


@pytest.mark.aws
@pytest.mark.heartbeat
def test_certbot_schedule_enabled(certbot_schedule_name, certbot_schedule_facts, settings, expect):
    expect(le.schedule_enabled(certbot_schedule_facts, settings.names))


@pytest.mark.aws
@pytest.mark.heartbeat
@pytest.mark.condition  # heartbeat-certbot-renewal: period + 24 h is Healthchecks' 60 d + 24 h
def test_certbot_ran_within_period(certbot_function_name, certbot_schedule_facts, certbot_runs, settings, expect):
    read_at = datetime.now(UTC) if settings.now_given else None  # --now ahead: runs before it are not seen yet
    expect(le.ran_within_period(certbot_schedule_facts, certbot_runs, settings.now, settings.names, read_at))


@pytest.mark.aws
@pytest.mark.heartbeat
def test_certbot_last_run_succeeded(certbot_function_name, certbot_activity, settings, expect):
    expect(le.last_run_succeeded(certbot_activity, settings.names))


@pytest.mark.aws
def test_certbot_not_rate_limited(certbot_log_group_name, certbot_rate_limits, settings, expect):
    expect(le.not_rate_limited(certbot_rate_limits, settings.now, settings.names))


@pytest.mark.aws
def test_caa_allows_letsencrypt(le_cert_name, public_zone_facts, expect):
    expect(le.caa_allows_letsencrypt(public_zone_facts, le_cert_name))


@pytest.mark.aws
def test_ssm_certificate_parses(ssm_param_key, ssm_cert_facts, settings, expect):
    names = settings.names
    cover = [e.verify_name for e in settings.topology.endpoints if e.cert == "letsencrypt"]
    expect(le.ssm_parses(ssm_cert_facts, names[ssm_param_key], cover if ssm_param_key == "ssm_cert" else [], names))


@pytest.mark.aws
@pytest.mark.warning
def test_ssm_certificate_days_left_warning(ssm_cert_key, ssm_cert_facts, settings, expect):
    expect(le.ssm_days_left(ssm_cert_facts, settings.names[ssm_cert_key], settings.now, cert_wire.WARNING_DAYS,
                            settings.names, datetime.now(UTC) if settings.now_given else None))


@pytest.mark.aws
def test_ssm_certificate_days_left_critical(ssm_cert_key, ssm_cert_facts, settings, expect):
    expect(le.ssm_days_left(ssm_cert_facts, settings.names[ssm_cert_key], settings.now, cert_wire.CRITICAL_DAYS,
                            settings.names, datetime.now(UTC) if settings.now_given else None))


@pytest.mark.aws
@pytest.mark.network
def test_ssm_certificate_served(le_endpoint, ssm_cert_facts, running_task_facts, cabal, settings, expect):
    served = cabal.maybe("wire", f.served_certificates, le_endpoint)  # None: judged from task start times
    names = settings.names
    expect(le.ssm_is_served(le_endpoint, ssm_cert_facts, running_task_facts, served, names["cluster"],
                            names[le_endpoint.service], names["ssm_cert"]))


@pytest.mark.aws
def test_letsencrypt_escalation_not_needed(le_cert_name, ssm_cert_facts, settings, expect):
    names = settings.names
    services = [names[k] for k in ("service_imap", "service_smtp_in", "service_smtp_out")]
    expect(le.escalation(ssm_cert_facts, settings.now, names, le_cert_name, services))
