"""The heartbeat family's faults: each job stops leaving its trace, or leaves a failing one (AWS state only, so the
fault matrix reuses its running sandbox). Registered into ``faults.FAULTS`` by importing this module."""

from __future__ import annotations

from datetime import timedelta

from .aws_seed import backend, put_log_lines
from .faults import fault
from .history_heartbeat import dmarc_runs, reconfigure_stream
from .moto_patches import BACKUP_JOBS


def _runbook(name: str, step: str) -> str:
    return f"heartbeat-{name} {step}"


@fault("dmarc-schedule-disabled", "the EventBridge schedule cabal-process-dmarc is DISABLED (the summaries of the last "
       "runs are still there)", ("test_dmarc_schedule_enabled[cabal-process-dmarc]",),
       runbook=_runbook("dmarc-ingest", "step 1"))
def _dmarc_disabled(sb):
    sch = sb.seeded.client("scheduler")
    got = sch.get_schedule(Name=sb.names["dmarc_schedule"], GroupName="default")
    sch.update_schedule(Name=got["Name"], GroupName="default", ScheduleExpression=got["ScheduleExpression"],
                        FlexibleTimeWindow=got["FlexibleTimeWindow"], Target=got["Target"], State="DISABLED")


@fault("dmarc-not-run", "process_dmarc has not completed a run for 9 hours (its log group holds only older summaries)",
       ("test_dmarc_ingest_heartbeat[process_dmarc]",), runbook=_runbook("dmarc-ingest", "heartbeat"))
def _dmarc_not_run(sb):
    group = backend("logs", sb.seeded).groups[sb.names["dmarc_log_group"]]
    cutoff = (sb.seeded.now - timedelta(hours=9)).timestamp() * 1000
    for stream in group.streams.values():
        stream.events = [e for e in stream.events if e.timestamp < cutoff]
        stream._update()


@fault("dmarc-run-errors", "process_dmarc's last run counted 2 errors (malformed reports)",
       ("test_dmarc_last_run_without_errors[process_dmarc]",), runbook=_runbook("dmarc-ingest", "step 3"))
def _dmarc_errors(sb):
    dmarc_runs(sb.seeded, sb.seeded.now - timedelta(minutes=20), errors=2)


@fault("reconfigure-loop-dead-smtp-in", "the reconfigure loop in cabal-smtp-in crashed 2 hours ago and keeps "
       "restarting: no \"[reconfigure] Done.\" since",
       ("test_reconfigure_heartbeat[cabal-smtp-in]", "test_smtp_in_address_map_fresh[cabal-smtp-in]"),
       runbook=_runbook("ecs-reconfigure", "step 1"),  # the same signal answers sendmail-bounced-spike's step 3:
       cause=("test_reconfigure_heartbeat[cabal-smtp-in]", "test_smtp_in_address_map_fresh[cabal-smtp-in]"))  # two runbooks
def _loop_dead(sb):
    s = sb.seeded
    stream = backend("logs", s).groups[f"/ecs/{s.names['service_smtp_in']}"].streams[
        reconfigure_stream(s, "service_smtp_in")]
    cutoff = (s.now - timedelta(hours=2)).timestamp() * 1000
    stream.events = [e for e in stream.events if e.timestamp < cutoff]
    stream._update()
    put_log_lines(s, f"/ecs/{s.names['service_smtp_in']}", reconfigure_stream(s, "service_smtp_in"),
                  [(s.now - timedelta(minutes=m), "[reconfigure] Starting config watch loop") for m in (50, 35, 20, 5)])


@fault("reconfigure-queue-backlog-imap", "cabal-reconfig-imap holds 25 address changes nobody receives",
       ("test_reconfigure_queue_not_backing_up[cabal-reconfig-imap]",), runbook=_runbook("ecs-reconfigure", "step 2"))
def _backlog(sb):
    sqs = sb.seeded.client("sqs")
    url = sqs.get_queue_url(QueueName=sb.names["reconfig_queue_prefix"] + "imap")["QueueUrl"]
    for k in range(0, 25, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": '{"address": "changed"}'}
                                                       for i in range(k, min(k + 10, 25))])


@fault("user-without-osid", "a user signed up but assign_osid did not run: no custom:osid",
       ("test_cognito_users_have_osid[cabal]",), runbook=_runbook("cognito-user-sync", "step 2"))
def _no_osid(sb):
    sb.seeded.client("cognito-idp").admin_create_user(UserPoolId=sb.seeded.user_pool_id, Username="new-signup",
                                                      MessageAction="SUPPRESS")


@fault("post-confirmation-unwired", "the pool cabal lost its PostConfirmation trigger (assign_osid)",
       ("test_post_confirmation_wired[cabal]",), runbook=_runbook("cognito-user-sync", "step 3"))
def _unwired(sb):
    backend("cognito-idp", sb.seeded).user_pools[sb.seeded.user_pool_id].extended_config["LambdaConfig"] = {}


def _backup_on(sb, *, table_ok: bool = True, copy_ok: bool = True, locked: bool = True) -> None:
    """var.backup = true: the plan, the vault, and the last days' jobs (served by moto_patches' BACKUP_JOBS)."""
    s = sb.seeded
    backup = s.client("backup")
    backup.create_backup_vault(BackupVaultName=s.names["backup_vault"])
    if locked:  # the module's governance lock
        backup.put_backup_vault_lock_configuration(BackupVaultName=s.names["backup_vault"], MinRetentionDays=30,
                                                   MaxRetentionDays=365)
    backup.create_backup_plan(BackupPlan={"BackupPlanName": s.names["backup_plan"], "Rules": [
        {"RuleName": "cabal-backup-plan-rule", "TargetBackupVaultName": s.names["backup_vault"],
         "ScheduleExpression": "cron(0 0 * * ? *)"}]})
    vault_arn = f"arn:aws:backup:{s.region}:{s.account_id}:backup-vault:{s.names['backup_vault']}"
    dr_arn = f"arn:aws:backup:us-west-2:{s.account_id}:backup-vault:{s.names['backup_dr_vault']}"
    table = f"arn:aws:dynamodb:{s.region}:{s.account_id}:table/cabal-addresses"
    efs = f"arn:aws:elasticfilesystem:{s.region}:{s.account_id}:file-system/fs-0cabal0mail0store"
    midnight = s.now.replace(hour=0, minute=0, second=0, microsecond=0)
    jobs, copies = [], []
    for days in range(3):
        start = midnight - timedelta(days=days)
        for kind, arn in (("DynamoDB", table), ("EFS", efs)):
            ok = table_ok or kind != "DynamoDB" or days == 2
            jobs.append({"BackupJobId": f"job-{kind}-{days}", "BackupVaultName": s.names["backup_vault"],
                         "BackupVaultArn": vault_arn, "ResourceArn": arn, "ResourceType": kind,
                         "CreationDate": start, "State": "COMPLETED" if ok else "FAILED",
                         "CompletionDate": start + timedelta(minutes=12),
                         **({} if ok else {"StatusMessage": "Insufficient privileges to perform this action."})})
            copy_fine = copy_ok or kind != "DynamoDB"
            copies.append({"CopyJobId": f"copy-{kind}-{days}", "SourceBackupVaultArn": vault_arn,
                           "DestinationBackupVaultArn": dr_arn, "ResourceArn": arn, "ResourceType": kind,
                           "CreationDate": start + timedelta(minutes=15), "State": "COMPLETED" if copy_fine else "FAILED",
                           "CompletionDate": start + timedelta(minutes=30),
                           **({} if copy_fine else {"StatusMessage": "Cross-Region copy of DynamoDB backups needs "
                                                    "advanced features for Amazon DynamoDB backups"})})
    BACKUP_JOBS["backup"], BACKUP_JOBS["copy"] = jobs, copies


@fault("backup-job-failed", "backup on (var.backup): the cabal-addresses table's nightly jobs FAILED for two days "
       "(Insufficient privileges); the EFS mail store's completed",
       ("test_backup_heartbeat[cabal-backup]", "test_backup_failures_rare[cabal-backup]"),
       runbook=_runbook("aws-backup", "step 2"), cause="test_backup_heartbeat[cabal-backup]")
def _backup_failed(sb):
    _backup_on(sb, table_ok=False, copy_ok=True)


@fault("backup-copy-failed", "backup on (var.backup): the backups complete, but the DynamoDB copies to cabal-backup-dr "
       "fail (advanced features not enabled)", ("test_backup_copies_succeeded[cabal-backup-dr]",),
       runbook=_runbook("aws-backup", "step 2"))
def _copy_failed(sb):
    _backup_on(sb, table_ok=True, copy_ok=False)


@fault("backup-vault-unlocked", "backup on (var.backup), jobs and copies complete, but the vault cabal-backup lost its "
       "lock", ("test_backup_vault_locked[cabal-backup]",), runbook=_runbook("aws-backup", "escalation 1"))
def _unlocked(sb):
    _backup_on(sb, locked=False)
