"""The heartbeat runbooks' jobs: SQS queue depth, Cognito users' osid and trigger, AWS Backup plans and jobs.

Plain lookups. Cognito users are listed with ``AttributesToGet=["custom:osid"]`` only: no e-mail, no phone number in
the answer. Nothing here reads a Healthchecks ping parameter (a capability URL) or a password.
"""

from __future__ import annotations

from datetime import datetime

from .reader import AwsReader, NotFound

OSID = "custom:osid"


def queue_depth(aws: AwsReader, name: str) -> dict | None:
    """``ApproximateNumberOfMessages`` and ``...NotVisible`` of the queue (ints), None when it does not exist."""
    try:
        url = aws.call("sqs", "get_queue_url", QueueName=name)["QueueUrl"]
        attrs = aws.call("sqs", "get_queue_attributes", QueueUrl=url,
                         AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    except NotFound:
        return None
    got = attrs.get("Attributes") or {}
    return {"url": url, **{k: int(got.get(k, 0)) for k in ("ApproximateNumberOfMessages",
                                                            "ApproximateNumberOfMessagesNotVisible")}}


def pool_ids(aws: AwsReader, name: str) -> list[str]:
    """The ids of every pool named ``name`` (names need not be unique)."""
    return [p["Id"] for p in aws.pages("cognito-idp", "list_user_pools", "UserPools", MaxResults=60)
            if p["Name"] == name]


def user_pool(aws: AwsReader, pool_id: str) -> dict:
    """``describe_user_pool`` (its ``LambdaConfig``)."""
    return aws.call("cognito-idp", "describe_user_pool", UserPoolId=pool_id)["UserPool"]


def users_osid(aws: AwsReader, pool_id: str) -> list[dict]:
    """Every user of the pool: ``Username``, ``UserCreateDate``, ``UserStatus`` and the ``custom:osid`` attribute only."""
    return aws.pages("cognito-idp", "list_users", "Users", UserPoolId=pool_id, AttributesToGet=[OSID])


def backup_plan(aws: AwsReader, name: str) -> dict | None:
    """The plan named ``name`` as ListBackupPlans lists it, None when there is none."""
    return next((p for p in aws.pages("backup", "list_backup_plans", "BackupPlansList")
                 if p.get("BackupPlanName") == name), None)


def backup_vault(aws: AwsReader, name: str) -> dict | None:
    """DescribeBackupVault (``Locked``, ``MinRetentionDays``...), None when the vault does not exist."""
    try:
        return aws.call("backup", "describe_backup_vault", BackupVaultName=name)
    except NotFound:
        return None


def backup_jobs(aws: AwsReader, vault: str, since: datetime) -> list[dict]:
    """Backup jobs of the vault created since ``since`` (ListBackupJobs keeps 30 days)."""
    return aws.pages("backup", "list_backup_jobs", "BackupJobs", ByBackupVaultName=vault, ByCreatedAfter=since)


def copy_jobs(aws: AwsReader, since: datetime) -> list[dict]:
    """Copy jobs created since ``since`` (the DR copies of the plan's copy_action)."""
    return aws.pages("backup", "list_copy_jobs", "CopyJobs", ByCreatedAfter=since)
