"""heartbeat-aws-backup runbook (Healthchecks check aws-backup: timeout 1 d, grace 6 h).

Only with var.backup: no plan cabal-backup-plan is a skip ("backup is off"), not red. The plan backs up the selection
cabal-backup (the cabal-addresses table and the EFS mail store) daily at 00:00 UTC into vault cabal-backup and copies
to cabal-backup-dr. Its pinger backup_heartbeat is monitoring-module only: with the module off nothing says whether a
backup succeeded, so the jobs themselves are read (ListBackupJobs, ListCopyJobs).
The heartbeat (condition): a COMPLETED job per resource within 1 d + 6 h. Step 2: the DR copies did not fail.
Escalation 1: the vault exists and is locked. Escalation 2: no resource's jobs failed more than once in 7 days.
"""

import pytest

from cabal_checks.judge import heartbeat as hb

pytestmark = [pytest.mark.heartbeat_aws_backup, pytest.mark.heartbeat, pytest.mark.aws]


@pytest.mark.condition
def test_backup_heartbeat(backup_vault_name, backup_facts, settings, expect):
    expect(hb.backup_heartbeat(backup_facts, settings.history_now, settings.names))


def test_backup_copies_succeeded(backup_dr_vault_name, backup_facts, settings, expect):
    expect(hb.backup_copies(backup_facts, settings.history_now, settings.names))


def test_backup_failures_rare(backup_vault_name, backup_facts, settings, expect):
    expect(hb.backup_failures_rare(backup_facts, settings.history_now, settings.names))


def test_backup_vault_locked(backup_vault_name, backup_facts, settings, expect):
    expect(hb.backup_vault_locked(backup_facts, settings.names))
