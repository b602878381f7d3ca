"""The heartbeat runbooks' judges: pure functions from the jobs' traces to verdicts.

Each heartbeat's condition is Healthchecks' own (``condition.heartbeat``: down once the last success is older than
the check's timeout + grace), applied to the job's own trace in AWS, a substitute for the ping the monitoring module
would send (it is off in every environment). The real names, not the runbooks' text: ``process_dmarc`` and
``/cabal/lambda/process_dmarc``, three queues ``cabal-reconfig-<tier>``, ``assign_osid``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from ..runbook_catalog import BY_FILE, Check
from ..shapes import BackupState, JobTrace, UserSync
from ..verdict import NotApplicable, Verdict, green, red
from .condition import heartbeat, heartbeat_verdict

DMARC, RECONF, COGNITO, BACKUP = (BY_FILE[f"heartbeat-{n}.md"] for n in (
    "dmarc-ingest", "ecs-reconfigure", "cognito-user-sync", "aws-backup"))
SUBSTITUTE = "substitute for the Healthchecks ping (monitoring module off)"
ERRORS = re.compile(r"""['"]errors['"]\s*:\s*(\d+)""")
QUEUED = re.compile(r"""['"]queued['"]\s*:\s*(\d+)""")
BACKLOG = 10  # reconfigure: more visible messages than this in a queue is a loop not consuming (one per change)
BACKUP_TYPES = ("DynamoDB", "EFS")  # the selection cabal-backup: the cabal-addresses table and the EFS mail store


def _step(runbook, key: str, what: str) -> str:
    return f"{runbook.file[:-3]}, {'escalation' if key.startswith('e') else f'step {key}'} ({what})"


def _check_of(runbook) -> Check:
    """The runbook's Healthchecks check (every heartbeat runbook has one: the catalog is checked against cabal-infra)."""
    if runbook.check is None:
        raise ValueError(f"{runbook.file}: no Healthchecks check in the catalog")
    return runbook.check


def _condition_step(runbook) -> str:
    return f"{runbook.file[:-3]}, the heartbeat ({_check_of(runbook).name}: {SUBSTITUTE})"


def _tail(group: str, since: str) -> str:
    return f"aws logs tail {group} --since {since}"


# --- heartbeat-dmarc-ingest ------------------------------------------------------------------------------------


def dmarc_schedule(trace: JobTrace, names: dict) -> Verdict:
    """Step 1: the Scheduler schedule cabal-process-dmarc exists, ENABLED, targets process_dmarc."""
    name, fn = names["dmarc_schedule"], names["dmarc_function"]
    step = _step(DMARC, "1", "invoked at all: the schedule")
    look = f"aws scheduler get-schedule --name {name} --query '{{state:State,expr:ScheduleExpression,target:Target.Arn}}'"
    sched = trace.schedule
    if sched is None:
        return red(f"schedule {name} not found: {fn} is never invoked (the runbook's SES/S3 trigger does not exist)",
                   step=step, next=[f"aws scheduler list-schedules --name-prefix {name}",
                                    "re-apply the infra stack (terraform apply) to restore it"])
    state, target = sched.get("State"), (sched.get("Target") or {}).get("Arn", "")
    seen = f"{sched.get('ScheduleExpression', '?')}, state {state}, target {target or 'none'}"
    if state != "ENABLED":
        return red(f"schedule {name} is {state}: {fn} never runs by itself", seen, step=step,
                   next=[look, "re-apply the infra stack (terraform apply), which creates it ENABLED"])
    if target and not re.search(rf":function:{re.escape(fn)}(:|$)", target):
        return red(f"schedule {name} targets {target}, not the function {fn}", seen, step=step,
                   next=[look, "re-apply the infra stack (terraform apply)"])
    return green(f"schedule {name} is ENABLED", seen, step=step)


def dmarc_heartbeat(trace: JobTrace, now: datetime, names: dict) -> Verdict:
    """The condition: the newest "[process_dmarc] run summary:" within 6 h + 2 h (Healthchecks' dmarc-ingest)."""
    check = _check_of(DMARC)
    what = f"\"[process_dmarc] run summary\" in {trace.group}"
    nxt = [_tail(trace.group, "8h"), f"aws scheduler get-schedule --name {names['dmarc_schedule']}",
           f"aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Errors --dimensions "
           f"Name=FunctionName,Value={names['dmarc_function']} --start-time {(now - timedelta(hours=8)):%Y-%m-%dT%H:%MZ} "
           f"--end-time {now:%Y-%m-%dT%H:%MZ} --period 3600 --statistics Sum"]
    if not trace.group_exists:
        return red(f"healthchecks/{check.name} would be down: log group {trace.group} does not exist "
                   f"({names['dmarc_function']} never logged)", step=_condition_step(DMARC), next=nxt)
    v = heartbeat_verdict(heartbeat(trace.last_success, now, check.timeout, check.grace), check.name, what,
                          _condition_step(DMARC), nxt)
    return _with_line(v, trace.last_line)


def dmarc_no_errors(trace: JobTrace, names: dict) -> Verdict:
    """Step 3: the newest run summary counts errors 0 (and says how many reports were queued: step 2's answer)."""
    step = _step(DMARC, "3", "crashed or failed reports: the run summary's errors")
    if not trace.last_line:
        raise NotApplicable(f"no run summary in {trace.group} since {trace.since:%Y-%m-%d %H:%M} UTC to read errors "
                            "from (the heartbeat test says why)")
    errors, queued = ERRORS.search(trace.last_line), QUEUED.search(trace.last_line)
    seen = (f"{trace.last_success:%Y-%m-%d %H:%M} UTC: {trace.last_line[:300]}",)
    if errors is None:
        raise NotApplicable(f"the run summary in {trace.group} has no errors counter: {trace.last_line[:200]}")
    count = int(errors.group(1))
    facts = (("errors", str(count)), ("queued", queued.group(1) if queued else "?"))
    if count:
        return red(f"{names['dmarc_function']}'s last run counted {count} errors", *seen, step=step, facts=facts,
                   next=[f"aws logs filter-log-events --log-group-name {trace.group} --filter-pattern '\"ERROR\"' "
                         f"--start-time {int(trace.since.timestamp() * 1000)}",
                         "a malformed report: fix the parser and redeploy (escalation 2)"])
    return green(f"{names['dmarc_function']}'s last run counted 0 errors", *seen, step=step, facts=facts)


# --- heartbeat-ecs-reconfigure ---------------------------------------------------------------------------------


def reconfigure_heartbeat(trace: JobTrace, service: str, now: datetime, names: dict) -> Verdict:
    """The condition, per tier (stricter than the one shared check): the newest "[reconfigure] Done." within
    30 min + 30 min, unless the task started less recently (the loop regenerates at start, then every 15 min)."""
    check = _check_of(RECONF)
    what = f"\"[reconfigure] Done.\" in {trace.group}"
    step = _condition_step(RECONF)
    nxt = [_tail(trace.group, "1h") + " --filter-pattern '\"[reconfigure]\"'",
           f"aws ecs list-tasks --cluster {names['cluster']} --service-name {service} --desired-status RUNNING",
           f"aws ecs update-service --cluster {names['cluster']} --service {service} --force-new-deployment "
           "# restarts the loop (remediation: printed, never run)"]
    hb = heartbeat(trace.last_success, now, check.timeout, check.grace)
    started = trace.task_started
    if hb.down and started is not None and now - started.astimezone(UTC) <= check.timeout + check.grace:
        return green(f"healthchecks/{check.name} would be up: {service}'s task started "
                     f"{_mins(now - started.astimezone(UTC))} ago, inside timeout + grace",
                     f"task started {started.astimezone(UTC):%Y-%m-%d %H:%M} UTC; no Done. line yet", step=step)
    v = heartbeat_verdict(hb, check.name, what, step, nxt)
    if not trace.group_exists:
        return red(f"healthchecks/{check.name} would be down: log group {trace.group} does not exist", step=step,
                   next=nxt)
    if trace.restarts and not v.ok:
        v = red(v.summary, *v.evidence, f"\"{'Starting config watch loop'}\" {trace.restarts} times in the last hour: "
                "the loop crashes and supervisord restarts it", step=step, next=v.next)
    return _with_line(v, trace.last_line)


def reconfigure_queue(depth: dict | None, queue: str, service: str, names: dict) -> Verdict:
    """Step 2: the tier's queue is not backing up (visible messages nobody receives)."""
    step = _step(RECONF, "2", "the SQS queue backing up")
    if depth is None:
        return red(f"queue {queue} does not exist: {service}'s loop has nothing to long-poll (it falls back to 15 min)",
                   step=step, next=[f"aws sqs get-queue-url --queue-name {queue}",
                                    "re-apply the infra stack (terraform apply) to restore it"])
    visible, flight = depth["ApproximateNumberOfMessages"], depth["ApproximateNumberOfMessagesNotVisible"]
    seen = f"{queue}: {visible} visible, {flight} in flight"
    facts = (("visible", str(visible)), ("in_flight", str(flight)))
    if visible > BACKLOG:
        return red(f"{queue} is backing up: {visible} messages waiting (> {BACKLOG}): {service}'s loop is not "
                   "receiving", seen, step=step, facts=facts,
                   next=[f"aws sqs get-queue-attributes --queue-url {depth['url']} --attribute-names All",
                         _tail(f"/ecs/{service}", "1h") + " --filter-pattern '\"[reconfigure]\"'"])
    return green(f"{queue} is not backing up ({visible} waiting)", seen, step=step, facts=facts)


# --- heartbeat-cognito-user-sync -------------------------------------------------------------------------------


def users_have_osid(sync: UserSync, now: datetime, names: dict) -> Verdict:
    """The condition, better than the heartbeat: every user of the pool has custom:osid (a user without one is the
    post-confirmation that did not run)."""
    step = f"{COGNITO.file[:-3]}, the heartbeat (cognito-user-sync: every user has custom:osid, {SUBSTITUTE}) and step 2"
    fn = names["osid_function"]
    if not sync.pool_id:
        raise NotApplicable(f"no Cognito pool named {sync.pool}: nothing signs up")
    seen = [f"pool {sync.pool} ({sync.pool_id}): {sync.users} users, {len(sync.without_osid)} without custom:osid"]
    if sync.without_osid:
        seen += [f"{user}: no custom:osid, created {created:%Y-%m-%d %H:%M} UTC" if created else
                 f"{user}: no custom:osid" for user, created in sync.without_osid[:5]]
        first = sync.without_osid[0][0]
        return red(f"{len(sync.without_osid)} of {sync.users} users of {sync.pool} have no custom:osid: {fn} (the "
                   "PostConfirmation trigger) did not run for them", *seen, step=step,
                   next=[f"aws cognito-idp admin-get-user --user-pool-id {sync.pool_id} --username {first} "
                         "--query 'UserAttributes[?Name==`custom:osid`]'",
                         f"aws logs tail /aws/lambda/{fn} --since 30d",
                         f"aws cloudwatch get-metric-statistics --namespace AWS/Lambda --metric-name Errors "
                         f"--dimensions Name=FunctionName,Value={fn} --start-time "
                         f"{(now - timedelta(days=37)):%Y-%m-%dT%H:%MZ} --end-time {now:%Y-%m-%dT%H:%MZ} "
                         "--period 86400 --statistics Sum",
                         "a manual invoke is not idempotent: it takes an OSID from cabal-counter first"],
                   facts=(("without_osid", str(len(sync.without_osid))),))
    return green(f"every user of {sync.pool} has custom:osid", *seen, step=step, facts=(("without_osid", "0"),))


def post_confirmation_wired(sync: UserSync, names: dict) -> Verdict:
    """Step 3: the pool's PostConfirmation trigger is assign_osid's ARN."""
    step = _step(COGNITO, "3", "still wired as the trigger")
    fn = names["osid_function"]
    if not sync.pool_id:
        raise NotApplicable(f"no Cognito pool named {sync.pool}")
    seen = f"LambdaConfig.PostConfirmation: {sync.post_confirmation or 'none'}; {fn}: {sync.function_arn or 'absent'}"
    look = f"aws cognito-idp describe-user-pool --user-pool-id {sync.pool_id} --query UserPool.LambdaConfig"
    if not sync.function_arn:
        return red(f"the function {fn} does not exist: sign-ups get no OSID", seen, step=step,
                   next=[f"aws lambda get-function-configuration --function-name {fn}",
                         "re-apply the infra stack (terraform apply)"])
    wired = sync.post_confirmation.split(":")[:7] == sync.function_arn.split(":")[:7]
    if not wired:
        return red(f"pool {sync.pool}'s PostConfirmation trigger is not {fn}: new users get no OSID", seen, step=step,
                   next=[look, "re-apply the infra stack (terraform apply), which sets the trigger"])
    return green(f"pool {sync.pool}'s PostConfirmation trigger is {fn}", seen, step=step)


# --- heartbeat-aws-backup --------------------------------------------------------------------------------------


def _ended(job: dict) -> datetime | None:
    when = job.get("CompletionDate") or job.get("CreationDate")
    return when.astimezone(UTC) if when else None


def backup_heartbeat(state: BackupState, now: datetime, names: dict) -> Verdict:
    """The condition: for each selected resource (the addresses table, the EFS mail store) a COMPLETED backup job
    within 24 h + 6 h (Healthchecks' aws-backup; its pinger backup_heartbeat is monitoring-module only)."""
    check = _check_of(BACKUP)
    if state.plan is None:
        raise NotApplicable(f"backup is off (var.backup): no plan {names['backup_plan']}")
    step = _condition_step(BACKUP)
    list_jobs = (f"aws backup list-backup-jobs --by-backup-vault-name {state.vault} --by-created-after "
                 f"{(now - timedelta(hours=30)):%Y-%m-%dT%H:%MZ} --query 'BackupJobs[].{{type:ResourceType,"
                 "state:State,msg:StatusMessage,arn:ResourceArn}'")
    reds, seen = [], []
    for kind in BACKUP_TYPES:
        jobs = sorted((j for j in state.jobs if j.get("ResourceType") == kind), key=lambda j: _ended(j) or now)
        done = [j for j in jobs if j.get("State") == "COMPLETED"]
        hb = heartbeat(_ended(done[-1]) if done else None, now, check.timeout, check.grace)
        last = jobs[-1] if jobs else None
        line = (f"{kind}: latest job {last.get('State')} {(_ended(last) or now):%Y-%m-%d %H:%M} UTC "
                f"{last.get('ResourceArn', '')}" + (f": {last['StatusMessage']}" if last.get("StatusMessage") else "")
                if last else f"{kind}: no job since {state.since:%Y-%m-%d %H:%M} UTC")
        if done:
            line += f"; last COMPLETED {hb.last_success:%Y-%m-%d %H:%M} UTC"
        seen.append(line)
        if hb.down:
            reds.append(kind)
    if reds:
        return red(f"healthchecks/{check.name} would be down: no COMPLETED backup of {' and '.join(reds)} within "
                   f"timeout 1 d + grace 6 h", *seen, step=step,
                   next=[list_jobs, f"aws backup get-backup-plan --backup-plan-id {state.plan.get('BackupPlanId', '?')}"])
    return green(f"healthchecks/{check.name} would be up: every selected resource backed up within 1 d + 6 h", *seen,
                 step=step)


def backup_failures_rare(state: BackupState, now: datetime, names: dict) -> Verdict:
    """Escalation 2: job failures more than 1 in 7 (per resource, over the last 7 days) is more than a transient."""
    if state.plan is None:
        raise NotApplicable(f"backup is off (var.backup): no plan {names['backup_plan']}")
    step = _step(BACKUP, "e2", "failures more than 1 in 7")
    seen, often = [], []
    for kind in BACKUP_TYPES:
        jobs = [j for j in state.jobs if j.get("ResourceType") == kind]
        failed = [j for j in jobs if j.get("State") in ("FAILED", "ABORTED", "EXPIRED")]
        seen.append(f"{kind}: {len(failed)} of {len(jobs)} jobs failed since {state.since:%Y-%m-%d} UTC"
                    + (f" (latest: {failed[-1].get('StatusMessage', failed[-1].get('State'))})" if failed else ""))
        if len(failed) > 1:
            often.append(kind)
    if often:
        return red(f"backup jobs of {' and '.join(often)} failed more than once in 7 days: not a transient, open a "
                   "ticket with the StatusMessage", *seen, step=step,
                   next=[f"aws backup list-backup-jobs --by-backup-vault-name {state.vault} --by-state FAILED "
                         f"--by-created-after {state.since:%Y-%m-%dT%H:%MZ}"])
    return green("no resource's backup failed more than once in 7 days", *seen, step=step)


def backup_vault_locked(state: BackupState, names: dict) -> Verdict:
    """Escalation 1 (plan disabled or vault missing): the vault cabal-backup exists and carries its lock (Terraform
    sets a governance lock of 30-365 days: without it a recovery point can be deleted early)."""
    if state.plan is None:
        raise NotApplicable(f"backup is off (var.backup): no plan {names['backup_plan']}")
    step = _step(BACKUP, "e1", "plan disabled or vault missing")
    info = state.vault_info
    look = f"aws backup describe-backup-vault --backup-vault-name {state.vault}"
    if info is None:
        return red(f"vault {state.vault} does not exist: the plan's jobs have nowhere to go", step=step,
                   next=[look, "re-apply the infra stack (terraform apply) with backup = true"])
    seen = (f"{state.vault}: Locked {info.get('Locked')}, MinRetentionDays {info.get('MinRetentionDays')}, "
            f"MaxRetentionDays {info.get('MaxRetentionDays')}, {info.get('NumberOfRecoveryPoints', '?')} recovery points")
    if not info.get("Locked"):
        return red(f"vault {state.vault} has no lock: recovery points can be deleted before their retention", seen,
                   step=step, next=[look, "re-apply the infra stack (terraform apply): the module sets the vault lock"])
    return green(f"vault {state.vault} exists and is locked", seen, step=step)


def backup_copies(state: BackupState, now: datetime, names: dict) -> Verdict:
    """Step 2: the DR copies (copy_action to cabal-backup-dr) of the last 30 h did not fail."""
    if state.plan is None:
        raise NotApplicable(f"backup is off (var.backup): no plan {names['backup_plan']}")
    step = _step(BACKUP, "2", "the latest job succeeded: the DR copies")
    recent = [c for c in state.copies if (_ended(c) or now) >= now - timedelta(hours=30)]
    failed = [c for c in recent if c.get("State") in ("FAILED", "ABORTED")]
    seen = [f"{c.get('ResourceType', '?')} copy {c.get('State')} {(_ended(c) or now):%Y-%m-%d %H:%M} UTC to "
            f"{c.get('DestinationBackupVaultArn', '?')}" + (f": {c['StatusMessage']}" if c.get("StatusMessage") else "")
            for c in recent[-6:]] or [f"no copy job in the last 30 h (since {(now - timedelta(hours=30)):%Y-%m-%d %H:%M} UTC)"]
    if failed:
        return red(f"{len(failed)} DR copy jobs to {names['backup_dr_vault']} failed in the last 30 h", *seen, step=step,
                   next=[f"aws backup list-copy-jobs --by-state FAILED --by-created-after "
                         f"{(now - timedelta(hours=30)):%Y-%m-%dT%H:%MZ}",
                         "aws backup describe-region-settings  # DynamoDB copies need advanced features for DynamoDB "
                         "backups (ResourceTypeManagementPreference)"])
    return green(f"no DR copy job to {names['backup_dr_vault']} failed in the last 30 h", *seen, step=step)


def _with_line(v: Verdict, line: str) -> Verdict:
    if not line:
        return v
    return Verdict(v.ok, v.summary, (*v.evidence, f"newest: {line[:300]}"), v.step, v.next, v.facts)


def _mins(d: timedelta) -> str:
    return f"{int(d.total_seconds() // 60)} min"
