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
    # capacity family (r3): container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low
    Step("crl-c", "container-restart-loop", "Alert ContainerRestartLoop: Container Insights RunningTaskCount below "
         "DesiredTaskCount on a 1-h average for 30 min, per service; red says crash loop or capacity (step 1)",
         ("test_container_restart_loop_condition",)),
    Step("crl-1", "container-restart-loop", "1./3. No capacity: \"unable to place a task\" in the last hour, with "
         "each container instance's remaining CPU/memory against the task's needs (a crash loop: step 2 is "
         "probe-failure step 2's stopped tasks and the log)", ("test_container_restart_loop_placement",)),
    Step("crl-e2", "container-restart-loop", "Escalation: EFS access point \"failed to chown\" in /ecs/<service>",
         ("test_no_efs_chown_failure",)),
    Step("crl-r1", "container-restart-loop", "Escalation: roll back with deploy-ecs-service.sh; scale the ASG: "
         "printed in red messages, never run", ()),
    Step("cpu-c", "node-high-cpu", "Alert NodeHighCPU, substitute: AWS/EC2 CPUUtilization of the cabal-ecs-instance "
         "hosts > 85 at three consecutive 5-min points (node_exporter is in the monitoring module); step 1's "
         "docker stats as Container Insights CpuUtilized per service in the red", ("test_node_high_cpu_condition",)),
    Step("mem-c", "node-high-memory", "Alert NodeHighMemory: a skip with its reason (no agent: AWS holds no host "
         "memory)", ("test_node_high_memory_condition",)),
    Step("mem-2", "node-high-memory", "2. OOM-killed yet: substitute for journalctl -k, stopped tasks' container "
         "reason OutOfMemoryError / exit 137 (not ECS's own stop) in the last 24 h", ("test_no_task_oom_killed",)),
    Step("mem-3", "node-high-memory", "3. Every task has a memory cap (describe-task-definition)",
         ("test_task_memory_capped",)),
    Step("disk-c", "node-disk-space-low", "Alert NodeDiskSpaceLow: a skip with its reason (no agent, no read-only "
         "API reports a fill level)", ("test_node_disk_space_low_condition",)),
    Step("disk-e1", "node-disk-space-low", "Escalation: the launch template's root volume /dev/xvda is at least "
         "30 GiB", ("test_launch_template_root_volume",)),
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


def table(by_test: dict[str, list[str]]) -> str:
    """The coverage table of ``STEPS``, given which faults turn each live test red (``sandbox.faults.faults_by_test``:
    the faults declare what they cover, so this list of steps imports no sandbox)."""
    lines = ["# Runbook coverage", "",
             "Generated by `python -m cabal_checks.runbooks`; checked by tests_unit/test_runbook_coverage.py.",
             "Each row: a runbook step, the live tests that check it, and the sandbox faults that turn each red "
             "(proven by the fault matrix).", ""]
    for runbook in (r for r in dict.fromkeys(s.runbook for s in STEPS) if r != "deployment"):
        lines += [f"## {runbook}", "", "| step | test | faults that turn it red |", "|---|---|---|"]
        for step in (s for s in STEPS if s.runbook == runbook):
            if not step.tests:
                lines.append(f"| {step.title} | (remediation, printed in red messages, never run) | |")
            for test in step.tests:
                faults = sorted(set(by_test.get(test, [])))
                lines.append(f"| {step.title} | `{test}` | {', '.join(faults) or NONE.get(test, '**none**')} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    from .sandbox.faults import faults_by_test  # the command joins the two; importing this module does not

    sys.stdout.write(table(faults_by_test()))
