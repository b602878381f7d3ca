"""heartbeat-cognito-user-sync runbook (Healthchecks check cognito-user-sync: timeout 30 d, grace 7 d).

The job is the Lambda assign_osid (the runbook's cabal-cognito-counter), the PostConfirmation trigger of the pool
cabal: it gives each new user custom:osid. Better than a heartbeat: every user has one (ListUsers with
AttributesToGet=["custom:osid"] only: no e-mail or phone in the answer). Step 3: still wired as the trigger.
The escalation's manual invoke is printed, never run, and is not idempotent (it takes an OSID first).
"""

import pytest

from cabal_checks.judge import heartbeat as hb

pytestmark = [pytest.mark.heartbeat_cognito_user_sync, pytest.mark.heartbeat, pytest.mark.aws]


@pytest.mark.condition
def test_cognito_users_have_osid(cognito_pool_name, user_sync_facts, settings, expect):
    expect(hb.users_have_osid(user_sync_facts, settings.history_now, settings.names))


def test_post_confirmation_wired(cognito_pool_name, user_sync_facts, settings, expect):
    expect(hb.post_confirmation_wired(user_sync_facts, settings.names))
