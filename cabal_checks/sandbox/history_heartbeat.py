"""The heartbeat family's healthy history in the sandbox: what the scheduled jobs leave in a live account.

- dmarc-ingest: the Lambda ``process_dmarc``, its Scheduler schedule ``cabal-process-dmarc`` (rate(6 hours)), and a
  ``[process_dmarc] run summary`` line every 6 h in ``/cabal/lambda/process_dmarc`` (the newest 2 h 10 min ago).
- ecs-reconfigure: the three queues ``cabal-reconfig-<tier>`` (empty), and in each mail tier's log the loop's start
  (with the task) and a ``[reconfigure] Done.`` every 15 minutes.
- cognito-user-sync: the pool's ``custom:osid`` attribute, the Lambda ``assign_osid`` wired as PostConfirmation, an
  osid on every user.
- aws-backup: nothing (``var.backup`` defaults to false: the sandbox's healthy account has backup off, a skip).
  ``BACKUP_JOBS``/``COPY_JOBS`` (moto_patches) serve the jobs when a fault turns backup on.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

from .aws_seed import MAIL_SERVICES, SERVICE_SPECS, Seeded, _zip, backend, put_log_lines

HANDLER = "def handler(event, context):\n    return event\n"
TIER = {"service_imap": "imap", "service_smtp_in": "smtp-in", "service_smtp_out": "smtp-out"}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def summary(queued: int = 2, errors: int = 0) -> str:
    counters = {"fetched": queued, "queued": queued, "parsed": queued - errors, "stored": queued - errors,
                "xml_parse_errors": errors, "errors": errors}
    return f"[process_dmarc] run summary: {json.dumps(counters)}"


def dmarc_runs(s: Seeded, at: datetime, *, errors: int = 0) -> None:
    """One process_dmarc run at ``at``: START, the summary, END."""
    rid = str(uuid.uuid4())
    put_log_lines(s, s.names["dmarc_log_group"], f"{at:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}", [
        (at, f"START RequestId: {rid} Version: $LATEST"),
        (at + timedelta(seconds=3), summary(errors=errors)),
        (at + timedelta(seconds=4), f"END RequestId: {rid}")])


def reconfigure_stream(s: Seeded, key: str) -> str:
    return f"{SERVICE_SPECS[key]['container']}/{TIER[key]}/{s.task_arns[key].rsplit('/', 1)[1]}"


def reconfigure_lines(start: datetime, end: datetime, every: timedelta = timedelta(minutes=15)) -> list:
    lines, t = [], start
    while t < end:
        lines += [(t, "[reconfigure] Regenerating config from DynamoDB"), (t + timedelta(seconds=2), "[reconfigure] Done.")]
        t += every
    return lines


def seed(s: Seeded) -> None:
    iam, lam, logs = s.client("iam"), s.client("lambda"), s.client("logs")
    arns = {}
    for fn in (s.names["dmarc_function"], s.names["osid_function"]):
        role = iam.create_role(RoleName=f"cabal-{fn}", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        arns[fn] = lam.create_function(FunctionName=fn, Runtime="python3.13", Role=role, Handler="function.handler",
                                       Code={"ZipFile": _zip({"function.py": HANDLER})}, Timeout=300, MemorySize=256,
                                       Architectures=["arm64"])["FunctionArn"]
    # dmarc-ingest
    logs.create_log_group(logGroupName=s.names["dmarc_log_group"])
    s.client("scheduler").create_schedule(
        Name=s.names["dmarc_schedule"], GroupName="default", ScheduleExpression="rate(6 hours)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 30},
        Target={"Arn": arns[s.names["dmarc_function"]],
                "RoleArn": f"arn:aws:iam::{s.account_id}:role/cabal-process-dmarc-scheduler"}, State="ENABLED")
    for k in range(4):
        dmarc_runs(s, s.now - timedelta(hours=2, minutes=10) - k * timedelta(hours=6))
    # ecs-reconfigure
    sqs = s.client("sqs")
    for key in (k for k in MAIL_SERVICES if k in s.task_arns):
        sqs.create_queue(QueueName=s.names["reconfig_queue_prefix"] + TIER[key],
                         Attributes={"ReceiveMessageWaitTimeSeconds": "20", "MessageRetentionPeriod": "3600"})
        lines = reconfigure_lines(s.now - timedelta(hours=2, minutes=4), s.now - timedelta(minutes=1))
        put_log_lines(s, f"/ecs/{s.names[key]}", reconfigure_stream(s, key), lines)
    # cognito-user-sync
    idp, osid = s.client("cognito-idp"), s.names["osid_function"]
    logs.create_log_group(logGroupName=f"/aws/lambda/{osid}")
    idp.add_custom_attributes(UserPoolId=s.user_pool_id, CustomAttributes=[
        {"Name": "osid", "AttributeDataType": "String", "Mutable": True}])
    backend("cognito-idp", s).user_pools[s.user_pool_id].extended_config["LambdaConfig"] = {
        "PostConfirmation": arns[osid]}
    for user in idp.list_users(UserPoolId=s.user_pool_id)["Users"]:
        idp.admin_update_user_attributes(UserPoolId=s.user_pool_id, Username=user["Username"],
                                         UserAttributes=[{"Name": "custom:osid", "Value": "1001"}])


def noise(s: Seeded) -> None:
    """What a lived-in account adds (``--noisy``), all healthy or resolved: a dmarc run that counted errors 14 hours
    ago (outside 6 h + 2 h, followed by clean runs), a reconfigure crash loop in cabal-smtp-in 3 hours ago that
    recovered, a staging neighbour's ``cabal-reconfig-imap-staging`` queue with a backlog and its
    ``/cabal/lambda/process_dmarc-staging`` group whose last summary is two days old."""
    dmarc_runs(s, s.now - timedelta(hours=14, minutes=10), errors=4)
    if "service_smtp_in" in s.task_arns:
        put_log_lines(s, f"/ecs/{s.names['service_smtp_in']}", reconfigure_stream(s, "service_smtp_in"),
                      [(s.now - timedelta(hours=3, minutes=m), "[reconfigure] Starting config watch loop")
                       for m in (40, 30, 20)])
    sqs = s.client("sqs")
    url = sqs.create_queue(QueueName=s.names["reconfig_queue_prefix"] + "imap-staging")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(10)])
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "{}"} for i in range(10, 20)])
    staging = s.names["dmarc_log_group"] + "-staging"
    s.client("logs").create_log_group(logGroupName=staging)
    put_log_lines(s, staging, "2026/staging/[$LATEST]0", [(s.now - timedelta(days=2), summary(errors=1))])
