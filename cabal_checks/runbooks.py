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


@dataclass(frozen=True)
class Step:
    key: str
    runbook: str
    title: str
    tests: tuple[str, ...]  # live test functions that check this step ("" = remediation, printed only)


STEPS = (
    Step("shape", "deployment", "Before the runbooks: the account has the shape of the topology checked "
         "(a contradiction is one can't-tell line, never red)", ("test_deployment_matches_topology",)),
    Step("pf-1", "probe-failure", "1. Which probe; external vs in-VPC (nc, curl, execute-command); DNS",
         ("test_endpoint_answers", "test_endpoint_answers_from_inside_vpc", "test_dns_points_at_front")),
    Step("pf-2", "probe-failure", "2. ECS service health: runningCount < desiredCount, events, stopped tasks; "
         "task health where the tier has container health checks (2026-08)",
         ("test_ecs_service_running", "test_ecs_service_not_restarting", "test_ecs_tasks_healthy")),
    Step("pf-3", "probe-failure", "3. Load-balancer target health; healthy targets + red probe = SG, listener, DNS",
         ("test_listener_present", "test_targets_healthy", "test_security_group_admits")),
    Step("pf-e1", "probe-failure", "Escalation: /list seeded JWT expired", ("test_seeded_token_not_expired",)),
    Step("pf-e2", "probe-failure", "Escalation: fail2ban banned the probe source (2026-05)",
         ("test_no_fail2ban_ban_of_probe_source",)),
    Step("pf-e3", "probe-failure", "Escalation: NACL deny on a mail port or the probe source", ("test_no_nacl_denies",)),
    Step("pf-e4", "probe-failure", "Escalation: container instances wedged; NAT instance down",
         ("test_container_instances_connected", "test_nat_instances_running")),
    Step("pf-r1", "probe-failure", "Escalation: force a redeploy (desired 0, then 1): printed in step-2 messages, "
         "never run", ()),
    Step("ce-0", "cert-expiring", "Which endpoint: days left of the served leaf (<21 warning, <7 critical), earliest "
         "NotAfter in the chain, chain and name verify",
         ("test_cert_days_left_warning", "test_cert_days_left_critical", "test_chain_earliest_expiry_warning",
          "test_chain_earliest_expiry_critical", "test_chain_verifies_for_public_name")),
    Step("ce-a1", "cert-expiring", "ACM 1. describe-certificate: Status, RenewalEligibility, RenewalSummary "
         "(RenewalStatusReason; CAA)",
         ("test_acm_certificate_issued", "test_acm_renewal_eligible", "test_acm_renewal_not_stuck",
          "test_caa_allows_acm")),
    Step("ce-a2", "cert-expiring", "ACM 2. validation CNAMEs present in the public zone",
         ("test_acm_validation_records_present",)),
    Step("ce-a3", "cert-expiring", "ACM 3. every consumer (NLB 993, ALB 443, every CloudFront distribution with an "
         "alias under <cd>, found) on the current ARN; none on an old one (InUseBy); the wire serves it",
         ("test_acm_consumer_uses_certificate", "test_acm_no_consumer_on_an_old_certificate",
          "test_acm_certificate_served")),
    Step("ce-l1", "cert-expiring", "Let's Encrypt 1. certbot Lambda: exists, schedule enabled, ran, succeeded",
         ("test_certbot_function_exists", "test_certbot_schedule_enabled", "test_certbot_ran_within_period",
          "test_certbot_last_run_succeeded")),
    Step("ce-l2", "cert-expiring", "Let's Encrypt 2. SSM updated but task not redeployed; SSM cert days left",
         ("test_ssm_certificate_parses", "test_ssm_certificate_days_left_warning",
          "test_ssm_certificate_days_left_critical", "test_ssm_certificate_served")),
    Step("ce-l3", "cert-expiring", "Let's Encrypt 3. rate limits (429, rateLimited); CAA allows letsencrypt.org",
         ("test_certbot_not_rate_limited", "test_caa_allows_letsencrypt")),
    Step("ce-e1", "cert-expiring", "Escalation: ACM stuck <14 d (re-request, disruptive); LE stuck <7 d (manual)",
         ("test_acm_escalation_not_needed", "test_letsencrypt_escalation_not_needed")),
    # heartbeat family (heartbeat-certbot-renewal is ce-l1, mapped: see MAPPED; quarterly-review: NOTHING_IN_AWS)
    Step("hb-dmarc-1", "heartbeat-dmarc-ingest", "1. Invoked at all: schedule cabal-process-dmarc ENABLED, targets "
         "process_dmarc", ("test_dmarc_schedule_enabled",)),
    Step("hb-dmarc-h", "heartbeat-dmarc-ingest", "The heartbeat (dmarc-ingest, 6 h + 2 h): the newest \"[process_dmarc] "
         "run summary\" in /cabal/lambda/process_dmarc (substitute for the ping)", ("test_dmarc_ingest_heartbeat",)),
    Step("hb-dmarc-3", "heartbeat-dmarc-ingest", "2-3. Reports queued; crashed: the run summary's queued and errors "
         "counters", ("test_dmarc_last_run_without_errors",)),
    Step("hb-reconf-1", "heartbeat-ecs-reconfigure", "1. The loop alive, per tier: the newest \"[reconfigure] Done.\" in "
         "/ecs/cabal-<tier> within 30 + 30 min, unless the task is younger (the heartbeat; substitute for pgrep)",
         ("test_reconfigure_heartbeat",)),
    Step("hb-reconf-2", "heartbeat-ecs-reconfigure", "2. The SQS queue cabal-reconfig-<tier> backing up",
         ("test_reconfigure_queue_not_backing_up",)),
    Step("hb-cognito-2", "heartbeat-cognito-user-sync", "1-2. Sign-ups, and the Lambda ran for each: every user has "
         "custom:osid (the heartbeat, better than the ping)", ("test_cognito_users_have_osid",)),
    Step("hb-cognito-3", "heartbeat-cognito-user-sync", "3. Still wired: PostConfirmation is assign_osid",
         ("test_post_confirmation_wired",)),
    Step("hb-backup-2", "heartbeat-aws-backup", "1-2. var.backup on (else a skip); a COMPLETED job per resource "
         "(cabal-addresses, EFS) within 1 d + 6 h (the heartbeat)", ("test_backup_heartbeat",)),
    Step("hb-backup-2c", "heartbeat-aws-backup", "2. The DR copies to cabal-backup-dr did not fail",
         ("test_backup_copies_succeeded",)),
    Step("hb-backup-e1", "heartbeat-aws-backup", "Escalation: plan disabled or vault missing: the vault cabal-backup "
         "exists, locked", ("test_backup_vault_locked",)),
    Step("hb-backup-e2", "heartbeat-aws-backup", "Escalation: job failures more than 1 in 7 (per resource, 7 days)",
         ("test_backup_failures_rare",)),
)
# Runbooks whose steps are another runbook's tests (mapped, not copied), and those with nothing in AWS to check.
MAPPED = {"heartbeat-certbot-renewal": "ce-l1"}
NOTHING_IN_AWS = {"heartbeat-quarterly-review": "a person reviews dashboards, silences and the on-call number, then "
                  "pings the check by hand: nothing in AWS records it (and all of it is the monitoring module)"}


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


def table(by_test: dict[str, list[str]]) -> str:
    """The coverage table of ``STEPS``, given which faults turn each live test red (``sandbox.faults.faults_by_test``:
    the faults declare what they cover, so this list of steps imports no sandbox)."""
    lines = ["# Runbook coverage", "",
             "Generated by `python -m cabal_checks.runbooks`; checked by tests_unit/test_runbook_coverage.py.",
             "Each row: a runbook step, the live tests that check it, and the sandbox faults that turn each red "
             "(proven by the fault matrix).", ""]
    runbooks = list(dict.fromkeys(s.runbook for s in STEPS if s.runbook != "deployment"))
    for runbook in runbooks:
        lines += [f"## {runbook}", "", "| step | test | faults that turn it red |", "|---|---|---|"]
        for step in (s for s in STEPS if s.runbook == runbook):
            if not step.tests:
                lines.append(f"| {step.title} | (remediation, printed in red messages, never run) | |")
            for test in step.tests:
                faults = sorted(set(by_test.get(test, [])))
                lines.append(f"| {step.title} | `{test}` | {', '.join(faults) or '**none**'} |")
        lines.append("")
    for runbook, key in MAPPED.items():
        step = next(s for s in STEPS if s.key == key)
        lines += [f"## {runbook}", "", f"Mapped to {step.runbook}'s step \"{step.title}\" (its tests carry the "
                  "`heartbeat` marker; `test_certbot_ran_within_period` is the heartbeat, `condition`).", ""]
    for runbook, why in NOTHING_IN_AWS.items():
        lines += [f"## {runbook}", "", f"Not applicable: {why}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    from .sandbox.faults import faults_by_test  # the command joins the two; importing this module does not

    sys.stdout.write(table(faults_by_test()))
