"""The two runbooks' steps as data, and the generated table: step -> tests -> faults that turn them red (the faults
say which tests they turn red: ``sandbox.faults.faults_by_test``).

``python -m cabal_checks.runbooks > docs/runbook-coverage.md`` regenerates the table; a unit test
checks the committed file is current and that the mapping holds both ways: every checking step has
a test, every live test a fault that turns it red, every fault a red test.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from . import runbook_catalog as catalog


@dataclass(frozen=True)
class Step:
    key: str
    runbook: str
    title: str
    tests: tuple[str, ...]  # live test functions that check this step ("" = remediation, printed only)
    covers: tuple[str, ...] = ()  # the runbook's items at HEAD it answers (runbook_catalog.Step.item: "1", "e2");
    # another runbook's as "<runbook>:<item>" (that runbook's section shows the row, not copied)


STEPS = (
    Step("shape", "deployment", "Before the runbooks: the account has the shape of the topology checked "
         "(a contradiction is one can't-tell line, never red)", ("test_deployment_matches_topology",)),
    Step("pf-1", "probe-failure", "1. Which probe; external vs in-VPC (nc, curl, execute-command); DNS",
         ("test_endpoint_answers", "test_endpoint_answers_from_inside_vpc", "test_dns_points_at_front"),
         covers=("1", "sendmail-deferred-spike:e4")),
    Step("pf-2", "probe-failure", "2. ECS service health: runningCount < desiredCount, events, stopped tasks; "
         "task health where the tier has container health checks (2026-08)",
         ("test_ecs_service_running", "test_ecs_service_not_restarting", "test_ecs_tasks_healthy"),
         covers=("2", "container-restart-loop:2")),
    Step("pf-3", "probe-failure", "3. Load-balancer target health; healthy targets + red probe = SG, listener, DNS",
         ("test_listener_present", "test_targets_healthy", "test_security_group_admits"), covers=("3",)),
    Step("pf-e1", "probe-failure", "Escalation: /list seeded JWT expired", ("test_seeded_token_not_expired",), covers=("e1",)),
    Step("pf-e2", "probe-failure", "Escalation: fail2ban banned the probe source (2026-05)",
         ("test_no_fail2ban_ban_of_probe_source",), covers=("e2",)),
    Step("pf-e3", "probe-failure", "Escalation: NACL deny on a mail port or the probe source", ("test_no_nacl_denies",),
         covers=("e2",)),
    Step("pf-e4", "probe-failure", "Escalation: container instances wedged; NAT instance down",
         ("test_container_instances_connected", "test_nat_instances_running"), covers=("e4", "sendmail-deferred-spike:3")),
    Step("pf-r1", "probe-failure", "Escalation: force a redeploy (desired 0, then 1): printed in step-2 messages, "
         "never run", (), covers=("e3",)),
    Step("ce-0", "cert-expiring", "Which endpoint: days left of the served leaf (<21 warning, <7 critical), earliest "
         "NotAfter in the chain, chain and name verify",
         ("test_cert_days_left_warning", "test_cert_days_left_critical", "test_chain_earliest_expiry_warning",
          "test_chain_earliest_expiry_critical", "test_chain_verifies_for_public_name")),
    Step("ce-a1", "cert-expiring", "ACM 1. describe-certificate: Status, RenewalEligibility, RenewalSummary "
         "(RenewalStatusReason; CAA)",
         ("test_acm_certificate_issued", "test_acm_renewal_eligible", "test_acm_renewal_not_stuck",
          "test_caa_allows_acm"), covers=("1",)),
    Step("ce-a2", "cert-expiring", "ACM 2. validation CNAMEs present in the public zone",
         ("test_acm_validation_records_present",), covers=("2",)),
    Step("ce-a3", "cert-expiring", "ACM 3. every consumer (NLB 993, ALB 443, every CloudFront distribution with an "
         "alias under <cd>, found) on the current ARN; none on an old one (InUseBy); the wire serves it",
         ("test_acm_consumer_uses_certificate", "test_acm_no_consumer_on_an_old_certificate",
          "test_acm_certificate_served"), covers=("3", "e2")),
    Step("ce-l1", "cert-expiring", "Let's Encrypt 1. certbot Lambda: exists, schedule enabled, ran, succeeded",
         ("test_certbot_function_exists", "test_certbot_schedule_enabled", "test_certbot_ran_within_period",
          "test_certbot_last_run_succeeded"), covers=("4", "heartbeat-certbot-renewal:1", "heartbeat-certbot-renewal:2")),
    Step("ce-l2", "cert-expiring", "Let's Encrypt 2. SSM updated but task not redeployed; SSM cert days left",
         ("test_ssm_certificate_parses", "test_ssm_certificate_days_left_warning",
          "test_ssm_certificate_days_left_critical", "test_ssm_certificate_served"), covers=("5",)),
    Step("ce-l3", "cert-expiring", "Let's Encrypt 3. rate limits (429, rateLimited); CAA allows letsencrypt.org",
         ("test_certbot_not_rate_limited", "test_caa_allows_letsencrypt"), covers=("6",)),
    Step("ce-e1", "cert-expiring", "Escalation: ACM stuck <14 d (re-request, disruptive); LE stuck <7 d (manual)",
         ("test_acm_escalation_not_needed", "test_letsencrypt_escalation_not_needed"), covers=("e1", "e3")),
    # mail_logs (r4): counted from the raw /ecs/cabal-<tier> logs (the metric filters are in the monitoring module)
    Step("sd-1", "sendmail-deferred-spike", "1-2. Which tier (substitute for mailq: \"stat=Deferred\" per tier, "
         "> 10 in 10 min for 15 min) and the dsn=4.x.y codes (step 3, the NAT instance: pf-e4's "
         "test_nat_instances_running)", ("test_sendmail_deferred_condition",), covers=("1", "2")),
    Step("sb-1", "sendmail-bounced-spike", "1-2. Which tier, which dsn=5.x.y codes (\"dsn=5\" per tier, > 15 in 30 min "
         "for 15 min); smtp-out's recipient domains", ("test_sendmail_bounced_condition",), covers=("1", "2")),
    Step("sb-3", "sendmail-bounced-spike", "3. smtp-in: the address map fresh (substitute: the newest "
         "\"[reconfigure] Done.\" within 60 min)", ("test_smtp_in_address_map_fresh",), covers=("3",)),
    Step("ia-1", "imap-auth-failure-spike", "1-3. \"auth failed\" AND \"imap-login\" > 25 in 5 min for 5 min; the "
         "source (rip=: a Lambda ENI is cause 1, anything else cause 2), the user spread, successful logins",
         ("test_imap_auth_failures_condition",), covers=("1", "2", "3")),
    Step("ia-3", "imap-auth-failure-spike", "3. Plaintext logins refused before TLS (red even while the alert is "
         "quiet)", ("test_imap_plaintext_not_refused",), covers=("3",)),
    # dynamodb-throttling, dynamodb-system-errors, efs-burst-credits-low (r2 dynamodb/efs)
    Step("dt-c", "dynamodb-throttling", "The alert's condition: DynamoDBThrottling, increase(ThrottledRequests[5m]) > 0 "
         "for 1m per table, every (TableName, Operation) series ListMetrics lists", ("test_dynamodb_throttling_condition",)),
    Step("dt-1", "dynamodb-throttling", "1. Burst or hot partition: key-range throttle events, consumed capacity",
         ("test_dynamodb_no_hot_partition",), covers=("1",)),
    Step("dt-2", "dynamodb-throttling", "2. Access pattern: the reconfigure loop not regenerating in a tight loop "
         "(per tier, /ecs/cabal-<tier>)", ("test_reconfigure_not_in_tight_loop",), covers=("2",)),
    Step("dt-3", "dynamodb-throttling", "3. Switched from on-demand to provisioned: BillingMode PAY_PER_REQUEST",
         ("test_dynamodb_table_on_demand",), covers=("3",)),
    Step("dt-r1", "dynamodb-throttling", "Escalation: back off the reconfigure consumer; provisioned + autoscaling: "
         "printed, never run", (), covers=("e1", "e2")),
    Step("ds-c", "dynamodb-system-errors", "The alert's condition: DynamoDBSystemErrors, increase(SystemErrors[5m]) > 0 "
         "for 1m per table, read per (TableName, Operation)", ("test_dynamodb_system_errors_condition",)),
    Step("ds-2", "dynamodb-system-errors", "2. One table, one operation, or all: SystemErrors per operation, last hour",
         ("test_dynamodb_system_errors_by_operation",), covers=("2",)),
    Step("ds-3", "dynamodb-system-errors", "3. The application retrying: ProvisionedThroughputExceededException or "
         "InternalServerError in /cabal/lambda/list", ("test_dynamodb_errors_not_retried",), covers=("3",)),
    Step("ds-r1", "dynamodb-system-errors", "1. and escalation: the AWS status page, a support ticket: printed, "
         "never run", (), covers=("1", "e2", "e3")),
    Step("ee-c", "efs-burst-credits-low", "The alert's condition: EFSBurstCreditsLow, BurstCreditBalance < 20e9 "
         "for 1h (cabal-efs in bursting mode; else a skip)", ("test_efs_burst_credits_condition",)),
    Step("ee-1", "efs-burst-credits-low", "1. Burning fast or a slow drain: the 24-hour slope",
         ("test_efs_burst_credits_not_draining",), covers=("1",)),
    Step("ee-3", "efs-burst-credits-low", "3. File system very small: baseline (50 KiB/s per GiB) vs metered I/O",
         ("test_efs_size_supports_baseline",), covers=("3",)),
    Step("ee-r1", "efs-burst-credits-low", "Escalation: elastic or provisioned throughput: printed, never run", (),
         covers=("e1", "e2", "e3")),
    # heartbeat family (heartbeat-certbot-renewal is ce-l1, mapped; quarterly-review: nothing in AWS: the catalog says so)
    Step("hb-dmarc-1", "heartbeat-dmarc-ingest", "1. Invoked at all: schedule cabal-process-dmarc ENABLED, targets "
         "process_dmarc", ("test_dmarc_schedule_enabled",), covers=("1",)),
    Step("hb-dmarc-h", "heartbeat-dmarc-ingest", "The heartbeat (dmarc-ingest, 6 h + 2 h): the newest \"[process_dmarc] "
         "run summary\" in /cabal/lambda/process_dmarc (substitute for the ping)", ("test_dmarc_ingest_heartbeat",)),
    Step("hb-dmarc-3", "heartbeat-dmarc-ingest", "2-3. Reports queued; crashed: the run summary's queued and errors "
         "counters", ("test_dmarc_last_run_without_errors",), covers=("2", "3")),
    Step("hb-reconf-1", "heartbeat-ecs-reconfigure", "1. The loop alive, per tier: the newest \"[reconfigure] Done.\" in "
         "/ecs/cabal-<tier> within 30 + 30 min, unless the task is younger (the heartbeat; substitute for pgrep)",
         ("test_reconfigure_heartbeat",), covers=("1", "e1")),
    Step("hb-reconf-2", "heartbeat-ecs-reconfigure", "2. The SQS queue cabal-reconfig-<tier> backing up",
         ("test_reconfigure_queue_not_backing_up",), covers=("2",)),
    Step("hb-cognito-2", "heartbeat-cognito-user-sync", "1-2. Sign-ups, and the Lambda ran for each: every user has "
         "custom:osid (the heartbeat, better than the ping)", ("test_cognito_users_have_osid",), covers=("1", "2")),
    Step("hb-cognito-3", "heartbeat-cognito-user-sync", "3. Still wired: PostConfirmation is assign_osid",
         ("test_post_confirmation_wired",), covers=("3",)),
    Step("hb-backup-2", "heartbeat-aws-backup", "1-2. var.backup on (else a skip); a COMPLETED job per resource "
         "(cabal-addresses, EFS) within 1 d + 6 h (the heartbeat)", ("test_backup_heartbeat",), covers=("1", "2")),
    Step("hb-backup-2c", "heartbeat-aws-backup", "2. The DR copies to cabal-backup-dr did not fail",
         ("test_backup_copies_succeeded",), covers=("2",)),
    Step("hb-backup-e1", "heartbeat-aws-backup", "Escalation: plan disabled or vault missing: the vault cabal-backup "
         "exists, locked", ("test_backup_vault_locked",), covers=("e1",)),
    Step("hb-backup-e2", "heartbeat-aws-backup", "Escalation: job failures more than 1 in 7 (per resource, 7 days)",
         ("test_backup_failures_rare",), covers=("e2",)),
    # lambda family (issue #16): lambda-errors, lambda-throttles, lambda-5xx-spike (this order: the diagnosis walks it)
    Step("le-c", "lambda-errors", "Condition: LambdaErrors, increase(Errors[15m]) > 0 for 5 min, per function",
         ("test_lambda_errors_condition",)),
    Step("le-1", "lambda-errors", "1. What is the error: ERROR/Exception/Traceback in the function's log group "
         "(/cabal/lambda/<name>, /aws/lambda/<user-pool trigger>)", ("test_lambda_errors_error_text",), covers=("1",)),
    Step("le-2", "lambda-errors", "2. Deploy or runtime: LastModified against the first error",
         ("test_lambda_errors_not_after_deploy",), covers=("2",)),
    Step("lt-c", "lambda-throttles", "Condition: LambdaThrottles, rate(Throttles[5m]) > 0 for 1 min, per function",
         ("test_lambda_throttles_condition",)),
    Step("lt-1", "lambda-throttles", "1. Load spike or configuration change: Invocations, last hour (10x the baseline)",
         ("test_lambda_throttles_no_load_spike",), covers=("1",)),
    Step("lt-2", "lambda-throttles", "2. The function's reserved concurrency (cabal-infra sets none)",
         ("test_lambda_no_reserved_concurrency",), covers=("2",)),
    Step("lt-3", "lambda-throttles", "3. Account near its concurrency limit (a skip where GetAccountSettings is not "
         "answered)", ("test_lambda_account_below_limit",), covers=("3",)),
    Step("lt-e1", "lambda-throttles", "Escalation: request a quota increase, a WAF rule: printed, never run", (), covers=("e1",)),
    Step("lt-e2", "lambda-throttles", "Escalation: a runaway client: one source IP over half the last hour's requests "
         "in the API access log, API-Gateway-Execution-Logs_<rest-api-id>/prod (the WAF rule: printed, never run)",
         ("test_lambda_throttles_no_runaway_client",), covers=("e2",)),
    Step("l5-c", "lambda-5xx-spike", "Condition: Lambda5xxSpike, 5XXError / clamp_min(Count, 1/s) > 5 % over 10 min "
         "for 5 min, cabal_gateway/prod", ("test_lambda_5xx_spike_condition",), covers=("lambda-errors:3",)),
    Step("l5-1", "lambda-5xx-spike", "1. Which Lambda is failing: Errors per function, last 15 min",
         ("test_lambda_5xx_failing_functions",), covers=("1",)),
    Step("l5-2", "lambda-5xx-spike", "2. What is the error: the function's log group", ("test_lambda_errors_error_text",),
         covers=("2",)),
    Step("l5-3", "lambda-5xx-spike", "3. One function or all (environment-wide)", ("test_lambda_5xx_failing_functions",),
         covers=("3",)),
    Step("l5-e1", "lambda-5xx-spike", "Escalation: a recent deploy: roll back", ("test_lambda_errors_not_after_deploy",),
         covers=("e1",)),
    Step("l5-e4", "lambda-5xx-spike", "Escalation: capture a request id, open a GitHub issue: printed, never run", (),
         covers=("e4",)),
    # capacity family (r3): container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low
    Step("crl-c", "container-restart-loop", "Alert ContainerRestartLoop: Container Insights RunningTaskCount below "
         "DesiredTaskCount on a 1-h average for 30 min, per service; red says crash loop or capacity (step 1), and for a "
         "crash loop step 2's commands (the stopped task's reason, the log); red for several services at once, the "
         "diagnosis suspects the cluster (escalation 4)", ("test_container_restart_loop_condition",), covers=("2", "e4")),
    Step("crl-1", "container-restart-loop", "1./3. No capacity: \"unable to place a task\" in the last hour, with "
         "each container instance's remaining CPU/memory against the task's needs (a crash loop: step 2 is "
         "probe-failure step 2's stopped tasks and the log)", ("test_container_restart_loop_placement",), covers=("1", "3")),
    Step("crl-e2", "container-restart-loop", "Escalation: EFS access point \"failed to chown\" in /ecs/<service>",
         ("test_no_efs_chown_failure",), covers=("e2",)),
    Step("crl-r1", "container-restart-loop", "Escalation: roll back with deploy-ecs-service.sh; scale the ASG: "
         "printed in red messages, never run", (), covers=("e1", "e3")),
    Step("cpu-c", "node-high-cpu", "Alert NodeHighCPU, substitute: AWS/EC2 CPUUtilization of the cabal-ecs-instance "
         "hosts > 85 at three consecutive 5-min points (node_exporter is in the monitoring module); step 1's "
         "docker stats as Container Insights CpuUtilized per service in the red", ("test_node_high_cpu_condition",),
         covers=("1",)),
    Step("cpu-2", "node-high-cpu", "2. Sustained workload or runaway: the host's CPU above 85 % at every 5-min point of "
         "the last 2 h (substitute: EC2 CPUUtilization)", ("test_node_high_cpu_sustained",), covers=("2",)),
    Step("cpu-3", "node-high-cpu", "3. Cluster-wide or one host: every cabal-ecs-instance host above 80 % CPU on "
         "average over 15 min (substitute: EC2 CPUUtilization, the runbook's \"every host >80%\"); one host hot is "
         "escalation 1's drain", ("test_node_high_cpu_cluster_wide",), covers=("3",)),
    Step("mem-c", "node-high-memory", "Alert NodeHighMemory: a skip with its reason (no agent: AWS holds no host "
         "memory)", ("test_node_high_memory_condition",)),
    Step("mem-1", "node-high-memory", "1. The heaviest task, substitute: Container Insights MemoryUtilized per service "
         "(15 min) against the container instances' registered MEMORY; above 85 % is red, naming the heaviest",
         ("test_node_memory_heaviest_task",), covers=("1",)),
    Step("mem-2", "node-high-memory", "2. OOM-killed yet: substitute for journalctl -k, stopped tasks' container "
         "reason OutOfMemoryError / exit 137 (not ECS's own stop) in the last 24 h", ("test_no_task_oom_killed",), covers=("2",)),
    Step("mem-3", "node-high-memory", "3. Every task has a memory cap (describe-task-definition)",
         ("test_task_memory_capped",), covers=("3",)),
    Step("disk-c", "node-disk-space-low", "Alert NodeDiskSpaceLow: a skip with its reason (no agent, no read-only "
         "API reports a fill level)", ("test_node_disk_space_low_condition",)),
    Step("disk-e1", "node-disk-space-low", "Escalation: the launch template's root volume /dev/xvda is at least "
         "30 GiB", ("test_launch_template_root_volume",), covers=("e1",)),
)


NONE = {"test_node_high_memory_condition": "(always a skip: no agent)",  # capacity (r3): never red by design
        "test_node_disk_space_low_condition": "(always a skip: no agent)"}


def runbook_order(runbook: str) -> tuple[int, str]:
    """A runbook's place: as ``STEPS`` lists them (deployment, probe-failure, cert-expiring), anything else last."""
    names = list(dict.fromkeys(s.runbook for s in STEPS))
    return (names.index(runbook) if runbook in names else len(names), runbook)


def step_order(step: str) -> tuple:
    """A verdict's step text (``"cert-expiring, ACM step 2 (validation records ...)"``) in the runbooks' order: its
    runbook; which probe / endpoint first, then the numbered steps (ACM before Let's Encrypt), escalation last."""
    runbook, _, rest = step.partition(", ")
    number = re.search(r"\bstep (\d+)", rest)
    place = 2 if rest.startswith("escalation") else 1 if number else 0
    return (*runbook_order(runbook), place, rest.startswith("Let's Encrypt"), int(number.group(1)) if number else 0,
            step)


def _rows(runbook) -> tuple[list[Step], list[Step]]:
    """The ``STEPS`` rows a runbook's section shows: its own (or, for a runbook mapped onto another's steps, those),
    and the rows of other runbooks that answer one of its items (``covers`` "<runbook>:<item>"), not copied."""
    name = runbook.file.removesuffix(".md")
    own = [s for s in STEPS if s.runbook == name]
    mapped = [] if own else [s for s in STEPS if s.key in re.findall(r"[a-z]+-[a-z]*\d+", runbook.existing)]
    lent = [s for s in STEPS if s.runbook != name and s not in mapped
            and any(c.startswith(f"{name}:") for c in s.covers)]
    return own or mapped, lent


def _items(step: Step, name: str) -> set[str]:
    """The items of runbook ``name`` a row answers."""
    return {c.split(":", 1)[1] if ":" in c else c for c in step.covers
            if (":" in c and c.startswith(f"{name}:")) or (":" not in c and step.runbook == name)}


def answered(runbook) -> dict[str, str]:
    """Each item of the runbook at HEAD that its section answers -> how: ``test`` (a row with live tests),
    ``remediation`` (printed in red messages, never run) or ``reason`` (the catalog says why no read answers it).
    An item absent here has no row, or only a planned read (``no test in this checkout yet``)."""
    name = runbook.file.removesuffix(".md")
    shown, lent = _rows(runbook)
    out: dict[str, str] = {}
    for row in [*shown, *lent]:
        for item in _items(row, name):
            out[item] = "test" if row.tests else out.get(item, "remediation")
    for step in runbook.steps:
        if step.why_not:
            out.setdefault(step.item, "reason")
    return out


def table(by_test: dict[str, list[str]]) -> str:
    """The coverage table of ``STEPS``, given which faults turn each live test red (``sandbox.faults.faults_by_test``:
    the faults declare what they cover, so this list of steps imports no sandbox)."""
    lines = ["# Runbook coverage", "",
             "Generated by `python -m cabal_checks.runbooks`; checked by tests_unit/test_runbook_coverage.py.",
             "Each row: a runbook step, the live tests that check it, and the sandbox faults that turn each red "
             "(proven by the fault matrix).",
             f"Every runbook of cabal-infra `docs/operations/runbooks/` at {catalog.HEAD[:8]} has its section "
             "(`cabal_checks/runbook_catalog.py`), and every numbered item of its \"First three things to check\" and "
             "every bullet of its \"Escalation\" its row (`tests_unit/test_runbook_items.py`); a step no AWS read "
             "answers says why (the catalog's reason).", ""]
    for runbook in catalog.RUNBOOKS:
        name = runbook.file.removesuffix(".md")
        lines += [f"## {name}", "", *_heading(runbook),
                  "| step | test | faults that turn it red |", "|---|---|---|"]
        shown, lent = _rows(runbook)
        own = bool(shown) and shown[0].runbook == name
        titles = {s.item: s.title for s in runbook.steps}
        rows = [(s, s.title if own else f"{s.runbook} {s.key} (mapped, not copied): {s.title}") for s in shown]
        rows += [(s, f"{', '.join(sorted(_items(s, name)))}. {titles.get(min(_items(s, name)), '')} "
                     f"({s.runbook} {s.key}, not copied): {s.title}") for s in lent]
        for step, title in rows:
            if not step.tests:
                lines.append(f"| {_cell(title)} | (remediation, printed in red messages, never run) | |")
            for test in step.tests:
                faults = sorted(set(by_test.get(test, [])))
                lines.append(f"| {_cell(title)} | `{test}` | {', '.join(faults) or '**none**'} |")
        done = answered(runbook)
        for planned in runbook.steps:
            title = (f"Escalation {planned.key[1:]}: {planned.title}" if planned.key.startswith("e")
                     else f"{planned.key}. {planned.title}")
            if planned.why_not:
                lines.append(f"| {_cell(title)} | cannot be read: {_cell(planned.why_not)} | |")
            elif done.get(planned.item) != "test":
                lines.append(f"| {_cell(title)} | no test in this checkout yet; the read: {_cell(planned.read)} | |")
        lines.append("")
    return "\n".join(lines)


def _heading(runbook) -> list[str]:
    """What pages for the runbook, its marker, and where it is already covered."""
    pages = [f"alert `{a.name}`" for a in runbook.alerts] + \
        ([f"heartbeat `healthchecks/{runbook.check.name}`"] if runbook.check else []) + \
        [f"`kuma/{k}`" for k in runbook.kuma]
    marker = f"`-m {runbook.marker}`" if runbook.marker else "no marker: nothing in AWS to check"
    out = [f"Pages: {', '.join(pages)}. Tests: {marker}."]
    if runbook.existing:
        out.append(f"Covered by: {runbook.existing}.")
    return [*out, ""]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    from .sandbox.faults import faults_by_test  # the command joins the two; importing this module does not

    sys.stdout.write(table(faults_by_test()))
