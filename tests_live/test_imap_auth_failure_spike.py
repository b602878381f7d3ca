"""imap-auth-failure-spike: IMAPAuthFailureSpike re-evaluated from the raw /ecs/cabal-imap lines ("auth failed" AND
"imap-login", substitute for the metric filter), with the source of the failures (a Lambda ENI: cause 1; anything
else: cause 2), the user spread and the successful logins; plaintext refusals, red even while the alert is quiet.
Not on the IMAP probe's path: no ``imap`` marker."""

import pytest

from cabal_checks.judge import mail_logs

pytestmark = [pytest.mark.imap_auth_failure_spike, pytest.mark.mail_logs, pytest.mark.aws]


@pytest.mark.condition
def test_imap_auth_failures_condition(imap_log_tier, imap_auth_spike, expect):
    expect(mail_logs.spike_condition(imap_auth_spike))


def test_imap_plaintext_not_refused(imap_log_tier, imap_plaintext, expect):
    expect(mail_logs.plaintext_not_refused(imap_plaintext))
