"""sendmail-bounced-spike: SendmailBouncedSpike re-evaluated per tier from the raw /ecs/cabal-<tier> lines
(substitute for the metric filter), with the dsn=5.x.y codes and smtp-out's recipient domains; smtp-in's address map
freshness from its newest "[reconfigure] Done." (substitute for the virtusertable's age via ECS Exec)."""

import pytest

from cabal_checks.judge import mail_logs

pytestmark = [pytest.mark.sendmail_bounced_spike, pytest.mark.mail_logs, pytest.mark.aws]


@pytest.mark.condition
def test_sendmail_bounced_condition(mail_tier, bounced_spike, expect):
    expect(mail_logs.spike_condition(bounced_spike))


def test_smtp_in_address_map_fresh(smtp_in_log_tier, smtp_in_reconfigure, expect):
    expect(mail_logs.address_map_fresh(smtp_in_reconfigure))
