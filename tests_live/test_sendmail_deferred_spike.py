"""sendmail-deferred-spike: SendmailDeferredSpike re-evaluated per tier from the raw /ecs/cabal-<tier> lines
(substitute for the metric filter, which is in the monitoring module), with the dsn=4.x.y codes of step 2.
Step 3 (the NAT instance) is probe-failure's test_nat_instances_running."""

import pytest

from cabal_checks.judge import mail_logs

pytestmark = [pytest.mark.sendmail_deferred_spike, pytest.mark.mail_logs, pytest.mark.aws]


@pytest.mark.condition
def test_sendmail_deferred_condition(mail_tier, deferred_spike, expect):
    expect(mail_logs.spike_condition(deferred_spike))
