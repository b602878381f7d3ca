"""The runbook catalog covers exactly what cabal-infra holds at HEAD, both ways: every runbook file, every alert of
alerts.yml (name, for, threshold, severity, labels summed by, the runbook its runbook_url names), every Healthchecks
check of config.py (timeout, grace) and every source of alert_sink's _RUNBOOK_MAP.

The lists below were read by hand at cabal-infra HEAD 56bdbf2e9eea076220e58e7dbb845bac12d62a5b (1.3.5, 2026-08-22):
``docs/operations/runbooks/``, ``docker/prometheus/rules/alerts.yml``, ``lambda/api/healthchecks_iac/config.py``,
``lambda/api/alert_sink/function.py``. A new HEAD with a new runbook or alert changes them and fails here first."""

from __future__ import annotations

import inspect
import re
from datetime import timedelta

import pytest

from cabal_checks import alerts
from cabal_checks import runbook_catalog as cat
from cabal_checks.judge import condition
from fixtures.options import MARKERS

HEAD = "56bdbf2e9eea076220e58e7dbb845bac12d62a5b"
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

RUNBOOK_FILES = {  # docs/operations/runbooks/ at HEAD, README.md aside
    "cert-expiring.md", "container-restart-loop.md", "dynamodb-system-errors.md", "dynamodb-throttling.md",
    "efs-burst-credits-low.md", "heartbeat-aws-backup.md", "heartbeat-certbot-renewal.md",
    "heartbeat-cognito-user-sync.md", "heartbeat-dmarc-ingest.md", "heartbeat-ecs-reconfigure.md",
    "heartbeat-quarterly-review.md", "imap-auth-failure-spike.md", "lambda-5xx-spike.md", "lambda-errors.md",
    "lambda-throttles.md", "node-disk-space-low.md", "node-high-cpu.md", "node-high-memory.md", "probe-failure.md",
    "sendmail-bounced-spike.md", "sendmail-deferred-spike.md",
}
# alerts.yml: alert -> (runbook_url's file, for, operator, threshold, severity, labels summed by)
ALERTS = {
    "Lambda5xxSpike": ("lambda-5xx-spike.md", 5 * M, ">", 0.05, "critical", ("api_name", "stage")),
    "LambdaThrottles": ("lambda-throttles.md", 1 * M, ">", 0, "warning", ("function_name",)),
    "LambdaErrors": ("lambda-errors.md", 5 * M, ">", 0, "warning", ("function_name",)),
    "DynamoDBThrottling": ("dynamodb-throttling.md", 1 * M, ">", 0, "warning", ("table_name",)),
    "DynamoDBSystemErrors": ("dynamodb-system-errors.md", 1 * M, ">", 0, "critical", ("table_name",)),
    "EFSBurstCreditsLow": ("efs-burst-credits-low.md", 1 * H, "<", 20e9, "warning", ("file_system_id",)),
    "ContainerRestartLoop": ("container-restart-loop.md", 30 * M, ">", 0, "critical", ("cluster_name", "service_name")),
    "BlackboxProbeFailure": ("probe-failure.md", 2 * M, "==", 0, "critical", ("instance",)),
    "BlackboxTLSCertExpiringSoonWarning": ("cert-expiring.md", 10 * M, "<", 21 * 86400, "warning", ("instance",)),
    "BlackboxTLSCertExpiringSoonCritical": ("cert-expiring.md", 10 * M, "<", 7 * 86400, "critical", ("instance",)),
    "NodeHighCPU": ("node-high-cpu.md", 15 * M, ">", 85, "warning", ("instance",)),
    "NodeHighMemory": ("node-high-memory.md", 15 * M, ">", 85, "warning", ("instance",)),
    "NodeDiskSpaceLow": ("node-disk-space-low.md", 15 * M, ">", 85, "warning", ("instance", "mountpoint")),
    "SendmailDeferredSpike": ("sendmail-deferred-spike.md", 15 * M, ">", 10, "warning", ()),
    "SendmailBouncedSpike": ("sendmail-bounced-spike.md", 15 * M, ">", 15, "critical", ()),
    "IMAPAuthFailureSpike": ("imap-auth-failure-spike.md", 5 * M, ">", 25, "warning", ()),
}
# config.py CHECKS: check -> (timeout, grace); _RUNBOOK_MAP: healthchecks/<check> -> heartbeat-<check>.md
CHECKS = {"certbot-renewal": (60 * D, 24 * H), "aws-backup": (1 * D, 6 * H), "dmarc-ingest": (6 * H, 2 * H),
          "ecs-reconfigure": (30 * M, 30 * M), "cognito-user-sync": (30 * D, 7 * D),
          "quarterly-review": (90 * D, 14 * D)}
RUNBOOK_MAP_KUMA = {  # _RUNBOOK_MAP's kuma/<monitor> entries
    "IMAP reachable (internal)": "probe-failure.md", "SMTP relay (STARTTLS)": "probe-failure.md",
    "Submission (STARTTLS)": "probe-failure.md", "Submission (implicit TLS)": "probe-failure.md",
    "Admin app": "probe-failure.md", "API reachable (/list)": "probe-failure.md", "ntfy server health": "probe-failure.md",
    "Control-domain cert": "cert-expiring.md",
}
PROPOSED_MARKERS = {  # every-runbook-facts.md (c): one per runbook; certbot maps to letsencrypt; quarterly-review none
    "lambda_5xx_spike", "lambda_throttles", "lambda_errors", "dynamodb_throttling", "dynamodb_system_errors",
    "efs_burst_credits_low", "container_restart_loop", "node_high_cpu", "node_high_memory", "node_disk_space_low",
    "sendmail_deferred_spike", "sendmail_bounced_spike", "imap_auth_failure_spike", "heartbeat_aws_backup",
    "heartbeat_dmarc_ingest", "heartbeat_ecs_reconfigure", "heartbeat_cognito_user_sync",
}


def test_catalog_names_the_head_it_was_read_at():
    assert cat.HEAD == HEAD


def test_every_runbook_file_once_both_ways():
    files = [r.file for r in cat.RUNBOOKS]
    assert len(files) == len(set(files)) == 21
    assert set(files) == RUNBOOK_FILES


def test_every_alert_of_alerts_yml_once_with_its_rule():
    got = {a.name: (r.file, a.for_, a.op, a.threshold, a.severity, a.summed_by) for r in cat.RUNBOOKS for a in r.alerts}
    assert sum(len(r.alerts) for r in cat.RUNBOOKS) == len(got) == 16
    assert got == ALERTS


def test_every_healthchecks_check_once_with_timeout_and_grace():
    got = {r.check.name: (r.check.timeout, r.check.grace) for r in cat.RUNBOOKS if r.check}
    assert got == CHECKS
    for name in CHECKS:
        assert cat.BY_CHECK[name].file == f"heartbeat-{name}.md"  # _RUNBOOK_MAP's healthchecks/<name>


def test_every_kuma_monitor_of_the_runbook_map():
    assert {k: r.file for k, r in cat.BY_KUMA.items()} == RUNBOOK_MAP_KUMA
    assert set(RUNBOOK_MAP_KUMA) == set(alerts.KUMA_ERAS["HEAD"])  # the same names cabal_checks.alerts knows


@pytest.mark.parametrize("alert", [a for r in cat.RUNBOOKS for a in r.alerts], ids=lambda a: a.name)
def test_expr_states_the_threshold_window_and_labels(alert):
    if alert.name == "ContainerRestartLoop":  # a comparison of two averages: the shortfall > 0
        assert "avg_over_time(ecs_containerinsights_running_task_count_average[1h]) <" in alert.expr
    else:
        literal = {20e9: "20e9", 21 * 86400: "21 * 24 * 3600", 7 * 86400: "7 * 24 * 3600"}.get(alert.threshold,
                                                                                              f"{alert.threshold:g}")
        assert alert.expr.endswith(f"{alert.op} {literal}"), alert.expr
    if alert.window:
        minutes = int(alert.window / M)
        assert f"[{minutes}m]" in alert.expr or f"[{minutes // 60}h]" in alert.expr
    by = re.search(r"(?:sum|avg) by \(([^)]*)\)", alert.expr)
    if by:
        assert tuple(x.strip() for x in by.group(1).split(",")) == alert.summed_by
    assert "\n" not in alert.expr and "  " not in alert.expr


def test_each_condition_names_an_evaluator_that_exists():
    functions = {n for n, f in inspect.getmembers(condition, inspect.isfunction) if not n.startswith("_")}
    for r in cat.RUNBOOKS:
        for a in r.alerts:
            assert a.evaluate == "" or a.evaluate in functions, a.name
            assert a.evaluate == "" or a.op in condition.OPS, a.name
            assert a.signal_off, a.name
    no_condition = {a.name for r in cat.RUNBOOKS for a in r.alerts if not a.evaluate}
    # probes answer the blackbox alerts; nothing in AWS answers host memory or disk fill
    assert no_condition == {"BlackboxProbeFailure", "BlackboxTLSCertExpiringSoonWarning",
                            "BlackboxTLSCertExpiringSoonCritical", "NodeHighMemory", "NodeDiskSpaceLow"}


def test_markers_one_per_runbook_and_the_families():
    markers = [r.marker for r in cat.RUNBOOKS if r.marker]
    assert len(markers) == len(set(markers)) == 20  # quarterly-review has none
    new = {r.marker for r in cat.RUNBOOKS if r.marker and not r.existing}
    assert new == PROPOSED_MARKERS
    assert cat.BY_FILE["heartbeat-certbot-renewal.md"].marker == "letsencrypt"  # mapped, not copied
    existing = {r.marker for r in cat.RUNBOOKS if r.existing}
    assert existing == {"probe_failure", "cert_expiring", "letsencrypt"} and existing <= set(MARKERS)
    # registered from the catalog (fixtures/options.py), each with the catalog's own text: none reuses (and so
    # overwrites) an existing marker (-m imap stays)
    assert all(MARKERS[m] == text for m, text in cat.markers().items()), \
        "a new marker must not reuse an existing one (-m imap stays)"
    assert set(cat.markers()) == PROPOSED_MARKERS | set(cat.FAMILIES) | {"condition"}
    family_of = {f: {r.file for r in cat.RUNBOOKS if f in r.families} for f in cat.FAMILIES}
    assert family_of["lambda"] == {"lambda-5xx-spike.md", "lambda-throttles.md", "lambda-errors.md"}
    assert family_of["dynamodb"] == {"dynamodb-throttling.md", "dynamodb-system-errors.md"}
    assert family_of["mail_logs"] == {"sendmail-deferred-spike.md", "sendmail-bounced-spike.md",
                                      "imap-auth-failure-spike.md"}
    assert family_of["capacity"] == {"container-restart-loop.md", "efs-burst-credits-low.md", "node-high-cpu.md",
                                     "node-high-memory.md", "node-disk-space-low.md"}
    assert family_of["heartbeat"] == {f"heartbeat-{c}.md" for c in CHECKS if c != "quarterly-review"}


@pytest.mark.parametrize("runbook", [r for r in cat.RUNBOOKS if not r.existing], ids=lambda r: r.file)
def test_steps_are_the_first_three_then_escalation_each_read_or_reason(runbook):
    keys = [s.key for s in runbook.steps]
    assert keys[:3] == ["1", "2", "3"] and all(re.fullmatch(r"e\d+", k) for k in keys[3:]), keys
    assert keys[3:] == [f"e{i}" for i in range(1, len(keys) - 2)]
    for step in runbook.steps:
        assert bool(step.read) != bool(step.why_not), f"{runbook.file} {step.key}: a read or a reason, not both"
        assert not step.why_not or step.why_not.startswith(cat.REASONS), f"{runbook.file} {step.key}: {step.why_not}"


def test_what_cannot_be_read_is_said_where_the_facts_say_so():
    assert cat.BY_FILE["node-disk-space-low.md"].steps[0].why_not.startswith(cat.NO_AGENT)
    assert all(s.why_not for s in cat.BY_FILE["heartbeat-quarterly-review.md"].steps)
    assert cat.BY_FILE["heartbeat-quarterly-review.md"].check.success_read == ""
    assert cat.BY_FILE["imap-auth-failure-spike.md"].steps[3].why_not.startswith(cat.SECRET)
    for r in cat.RUNBOOKS:  # heartbeats all but quarterly-review are answered from the job's own traces
        if r.check and r.file != "heartbeat-quarterly-review.md":
            assert r.check.success_read


def test_no_step_reads_a_secret():
    """The catalog plans reads; none of them names a capability or password parameter as something to read."""
    for r in cat.RUNBOOKS:
        for s in r.steps:
            assert "healthcheck_ping" not in s.read and "master_password" not in s.read, (r.file, s.key)


def test_span_is_how_far_back_a_condition_read_reaches():
    assert cat.BY_ALERT["SendmailBouncedSpike"].alerts[0].span == 45 * M  # for 15m + window 30m
    efs = next(a for a in cat.BY_FILE["efs-burst-credits-low.md"].alerts)
    assert efs.span == 65 * M and cat.LOOKBACK == condition.LOOKBACK
    loop = cat.BY_ALERT["ContainerRestartLoop"].alerts[0]
    assert loop.span == 90 * M


def test_what_alert_already_takes_maps_to_the_same_runbook_in_the_catalog():
    """--alert's tables today (3 alerts, the Kuma monitors, certbot-renewal) agree with the catalog's runbooks."""
    for name, (kind, _) in alerts.ALERTS.items():
        assert cat.BY_ALERT[name].marker == alerts.RUNBOOK_MARKERS[kind], name
    for monitor in alerts.KUMA_ERAS["HEAD"]:
        assert cat.BY_KUMA[monitor].marker == alerts.RUNBOOK_MARKERS[alerts.KUMA[monitor][0]], monitor
    for check, marker in alerts.HEALTHCHECKS.items():
        assert cat.BY_CHECK[check].marker == marker, check
    # what --alert does not take yet: 13 alerts and 5 checks (issue #16 section 3)
    assert len(set(cat.BY_ALERT) - set(alerts.ALERTS)) == 13 and len(set(cat.BY_CHECK) - set(alerts.HEALTHCHECKS)) == 5
