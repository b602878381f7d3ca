"""Facts of the heartbeat runbooks (heartbeat-dmarc-ingest, -ecs-reconfigure, -cognito-user-sync, -aws-backup): what
each job left in AWS, read without its Healthchecks ping (the monitoring module is off in every environment).

heartbeat-certbot-renewal is the cert-expiring runbook's Let's Encrypt facts (``letsencrypt.py``); quarterly-review
has nothing in AWS.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..aws import certbot, ecs, heartbeat, logs
from ..aws.reader import NotFound
from ..config import history_now
from ..context import Context
from ..gather import concurrently
from ..shapes import BackupState, JobTrace, UserSync
from . import service_logs
from .service_logs import RECONFIGURE_DONE, RECONFIGURE_START

DMARC_SUMMARY = "[process_dmarc] run summary:"
DMARC_READ = timedelta(hours=8)  # timeout 6 h + grace 2 h
RECONFIGURE_READ = timedelta(hours=1)  # timeout 30 min + grace 30 min
BACKUP_READ = timedelta(days=7)  # the escalation's "more than 1 in 7"; the heartbeat needs 30 h of it
TIERS = {"service_imap": "imap", "service_smtp_in": "smtp-in", "service_smtp_out": "smtp-out"}


def _newest(events: list[dict] | None, word: str) -> dict | None:
    found = [e for e in events or [] if word in e.get("message", "")]
    return found[-1] if found else None


def dmarc_trace(ctx: Context) -> JobTrace:
    """The dmarc job: schedule ``cabal-process-dmarc`` and the newest run summary in ``/cabal/lambda/process_dmarc``
    over the last timeout + grace."""
    now, group = history_now(ctx.settings), ctx.name("dmarc_log_group")
    since = now - DMARC_READ
    sched, events = concurrently(lambda: certbot.schedule(ctx.aws, ctx.name("dmarc_schedule"), "default"),
                                 lambda: logs.events_with(ctx.aws, group, (DMARC_SUMMARY,), since, now))
    last = _newest(events, DMARC_SUMMARY)
    return JobTrace(group, events is not None, since, sched, _when(last), last["message"].strip() if last else "")


def reconfigure_trace(ctx: Context, service_key: str) -> JobTrace:
    """One tier's reconfigure loop: the newest ``[reconfigure] Done.`` in ``/ecs/cabal-<tier>`` over the last hour,
    the loop's restarts there, and the running task's start (the loop starts with the task)."""
    now, group = history_now(ctx.settings), f"/ecs/{ctx.name(service_key)}"
    since = now - RECONFIGURE_READ

    def started():
        try:
            tasks = ecs.tasks(ctx.aws, ctx.name("cluster"), ctx.name(service_key), "RUNNING")
        except NotFound:
            return None
        times = [t["startedAt"] for t in tasks if t.get("startedAt")]
        return max(times) if times else None

    events, task_started = concurrently(
        lambda: logs.events_with(ctx.aws, group, (RECONFIGURE_DONE, RECONFIGURE_START), since, now,
                                 service_logs.scan(ctx)), started)
    last = _newest(events, RECONFIGURE_DONE)
    restarts = sum(1 for e in events or [] if RECONFIGURE_START in e.get("message", ""))
    return JobTrace(group, events is not None, since, None, _when(last), last["message"].strip() if last else "",
                    restarts, task_started)


def reconfigure_queue(ctx: Context, service_key: str) -> dict | None:
    """The tier's SQS queue ``cabal-reconfig-<tier>``: depth, None when it does not exist."""
    return heartbeat.queue_depth(ctx.aws, ctx.name("reconfig_queue_prefix") + TIERS[service_key])


def user_sync(ctx: Context) -> UserSync:
    """The pool ``cabal``: its PostConfirmation trigger, assign_osid's ARN, the users lacking ``custom:osid``
    (listed with that attribute only)."""
    pool_name = ctx.name("cognito_pool")
    ids, fn = concurrently(lambda: heartbeat.pool_ids(ctx.aws, pool_name),
                           lambda: certbot.function(ctx.aws, ctx.name("osid_function")))
    arn = (fn or {}).get("FunctionArn", "")
    if not ids:
        return UserSync(pool_name, "", "", arn, 0)
    if len(ids) == 1:  # as Terraform makes it: its users are read beside its description (one request deep, not two)
        pool, users = concurrently(lambda: heartbeat.user_pool(ctx.aws, ids[0]),
                                   lambda: heartbeat.users_osid(ctx.aws, ids[0]))
    else:  # several pools of that name: the one wired to a PostConfirmation trigger is Cabal's
        pools = concurrently(*(lambda i=i: heartbeat.user_pool(ctx.aws, i) for i in ids))
        pool = next((p for p in pools if p.get("LambdaConfig", {}).get("PostConfirmation")), pools[0])
        users = heartbeat.users_osid(ctx.aws, pool["Id"])
    lacking = tuple((u["Username"], u.get("UserCreateDate")) for u in users
                    if not any(a.get("Name") == heartbeat.OSID and a.get("Value") for a in u.get("Attributes") or []))
    return UserSync(pool_name, pool["Id"], pool.get("LambdaConfig", {}).get("PostConfirmation", ""), arn, len(users),
                    lacking)


def backup_state(ctx: Context) -> BackupState:
    """The plan ``cabal-backup-plan`` (None: var.backup is off, nothing else read), the jobs of vault
    ``cabal-backup`` and the copy jobs of the last 7 days, the vault itself (its lock)."""
    now, vault = history_now(ctx.settings), ctx.name("backup_vault")
    since = now - BACKUP_READ
    plan = heartbeat.backup_plan(ctx.aws, ctx.name("backup_plan"))
    if plan is None:
        return BackupState(None, vault, since)
    jobs, copies, info = concurrently(lambda: heartbeat.backup_jobs(ctx.aws, vault, since),
                                      lambda: heartbeat.copy_jobs(ctx.aws, since),
                                      lambda: heartbeat.backup_vault(ctx.aws, vault))
    return BackupState(plan, vault, since, tuple(jobs), tuple(copies), info)


def _when(event: dict | None) -> datetime | None:
    return datetime.fromtimestamp(event["timestamp"] / 1000, UTC) if event else None
