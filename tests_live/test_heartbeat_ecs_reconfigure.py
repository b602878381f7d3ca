"""heartbeat-ecs-reconfigure runbook (Healthchecks check ecs-reconfigure: timeout 30 min, grace 30 min).

The job is reconfigure.sh under supervisord in each mail tier, long-polling its own queue cabal-reconfig-<tier> (three,
not the runbook's one) with a 15-minute fallback, printing "[reconfigure] Done." to /ecs/cabal-<tier> after every
regeneration. Per tier, stricter than the one shared check (which stays green while one tier's loop is dead).
The heartbeat (condition, step 1's substitute for pgrep via ECS Exec, which is not a read): the newest Done. line
within 30 + 30 min unless the task started less recently. Step 2: the tier's queue is not backing up.
Step 3 (the ping parameter) is monitoring-module only and a capability: not read.
"""

import pytest

from cabal_checks.facts.heartbeat import TIERS
from cabal_checks.judge import heartbeat as hb

pytestmark = [pytest.mark.heartbeat_ecs_reconfigure, pytest.mark.heartbeat, pytest.mark.aws]


@pytest.mark.condition
def test_reconfigure_heartbeat(reconfigure_service_key, reconfigure_trace, settings, expect):
    expect(hb.reconfigure_heartbeat(reconfigure_trace, settings.names[reconfigure_service_key], settings.history_now,
                                    settings.names))


def test_reconfigure_queue_not_backing_up(reconfigure_queue_key, reconfigure_queue_depth, settings, expect):
    names = settings.names
    expect(hb.reconfigure_queue(reconfigure_queue_depth, names["reconfig_queue_prefix"] + TIERS[reconfigure_queue_key],
                                names[reconfigure_queue_key], names))
