"""Every Cabalmail runbook as data: its alerts or heartbeat, the condition to re-evaluate, each step and the AWS read
that answers it (or why none can), the real names from Terraform, and the markers its tests will carry.

Read from cabal-infra at HEAD 56bdbf2e9eea076220e58e7dbb845bac12d62a5b (1.3.5): ``docs/operations/runbooks/*.md``,
``docker/prometheus/rules/alerts.yml``, ``lambda/api/alert_sink/function.py`` (``_RUNBOOK_MAP``),
``lambda/api/healthchecks_iac/config.py`` (``CHECKS``). Facts behind each read: ``shared/reference/every-runbook-
facts.md``; the plan per runbook and every runbook-vs-Terraform disagreement: ``docs/runbooks-next.md``.

Plain data for the tests of issue #16 to come (``runbooks.py`` stays the one list of steps that have tests): nothing
here reads AWS. ``Alert.evaluate`` names the ``judge/condition.py`` function that re-evaluates the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

HEAD = "56bdbf2e9eea076220e58e7dbb845bac12d62a5b"
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
LOOKBACK = 5 * MIN  # Prometheus' lookback for a bare selector (judge/condition.LOOKBACK)

# Why a step has no read (Step.why_not starts with one of these)
NO_AGENT = "no agent"  # node_exporter is in the monitoring module; no CloudWatch agent anywhere
MANUAL = "manual review"  # a person looks (a dashboard, a status page, an inbox, a third-party site)
SECRET = "secret"  # answering would read a capability or a password, which the suite never reads
REMEDIATION = "remediation"  # a change: printed in a red's next command, never run
MONITORING_ONLY = "monitoring module only"  # exists only with var.monitoring = true (off in every environment)
NOT_READ_ONLY = "not a read"  # ECS Exec / SSM sessions into a host or container are not read-only APIs
CROSS_LINK = "cross-link"  # another runbook answers it
REASONS = (NO_AGENT, MANUAL, SECRET, REMEDIATION, MONITORING_ONLY, NOT_READ_ONLY, CROSS_LINK)

FAMILIES = ("lambda", "dynamodb", "mail_logs", "capacity", "heartbeat")


@dataclass(frozen=True)
class Alert:
    """One rule of alerts.yml. ``window`` is the range of its increase/rate/avg_over_time (None: a bare gauge)."""

    name: str
    expr: str  # as in alerts.yml, whitespace collapsed
    for_: timedelta
    op: str
    threshold: float
    window: timedelta | None
    severity: str
    summed_by: tuple[str, ...]  # the labels of its ``sum by``/``avg by`` (or the series' own labels when not summed)
    evaluate: str  # the judge/condition.py function that re-evaluates it from AWS; "" = none can
    signal_off: str  # what AWS holds with the monitoring module off (the same signal, a substitute, or nothing)

    @property
    def range(self) -> timedelta:
        """The window of its increase/rate/avg_over_time (a bare gauge has none: asking is a bug)."""
        if self.window is None:
            raise ValueError(f"{self.name}: a bare gauge, no range in its rule")
        return self.window

    @property
    def span(self) -> timedelta:
        """How far before the evaluation instant a read must reach: the ``for`` plus the window (a bare gauge: plus
        Prometheus' 5-minute lookback)."""
        return self.for_ + (self.window or LOOKBACK)


@dataclass(frozen=True)
class Check:
    """A Healthchecks check (config.py): down when the last ping is older than ``timeout + grace``."""

    name: str
    timeout: timedelta
    grace: timedelta
    success_read: str  # how "the job last succeeded" is read from AWS without the ping; "" = it cannot be


@dataclass(frozen=True)
class Step:
    """A numbered "first three things to check" step (``key`` "1".."3") or an escalation item ("e1", ...)."""

    key: str
    title: str
    read: str = ""  # the AWS read that answers it, real names filled in
    why_not: str = ""  # when there is no read: one of REASONS, then why
    at: str = ""  # the runbook's own item at HEAD it answers ("1".."3" numbered, "e1".. escalation bullets): its key

    @property
    def item(self) -> str:
        """The item of the runbook at HEAD this step answers: the n-th numbered item of "First three things to check"
        (counted through the section) or the n-th bullet of "Escalation" (``e<n>``)."""
        return self.at or self.key

    @property
    def section(self) -> str:
        return "escalation" if self.key.startswith("e") else "first three"


@dataclass(frozen=True)
class Runbook:
    file: str  # docs/operations/runbooks/<file>
    marker: str  # one per runbook; "" = no tests (nothing in AWS to check)
    families: tuple[str, ...]
    alerts: tuple[Alert, ...] = ()
    check: Check | None = None
    kuma: tuple[str, ...] = ()  # Kuma monitors whose page links here (alert_sink _RUNBOOK_MAP)
    steps: tuple[Step, ...] = ()
    names: tuple[tuple[str, str], ...] = ()  # (what the runbook calls it, the real name from Terraform)
    existing: str = ""  # where the suite already covers it (cabal_checks/runbooks.py keys)

    @property
    def path(self) -> str:
        return f"docs/operations/runbooks/{self.file}"


def _fn_errors_step(n: str, group_hint: str) -> Step:
    return Step(n, "What is the error: the function's log for ERROR/Exception/Traceback",
                f"logs:FilterLogEvents on {group_hint}, one request for ?\"ERROR\" ?\"Exception\" ?\"Traceback\", "
                "re-matched in Python; the group from lambda:GetFunctionConfiguration LoggingConfig.LogGroup")


LAMBDA_GROUPS = "/cabal/lambda/<name> (app module), /aws/lambda/{assign_osid,check_invite,require_admin_mfa}"
TIERS_GROUPS = "/ecs/cabal-imap, /ecs/cabal-smtp-in, /ecs/cabal-smtp-out"

RUNBOOKS: tuple[Runbook, ...] = (
    Runbook(
        "probe-failure.md", "probe_failure", (),
        alerts=(Alert("BlackboxProbeFailure", "probe_success == 0", 2 * MIN, "==", 0, None, "critical", ("instance",),
                      "", "the suite's own probes (network)"),),
        kuma=("IMAP reachable (internal)", "SMTP relay (STARTTLS)", "Submission (STARTTLS)", "Submission (implicit TLS)",
              "Admin app", "API reachable (/list)", "ntfy server health"),
        existing="runbooks.py pf-1..pf-e4 (tests_live, -m probe_failure)"),
    Runbook(
        "cert-expiring.md", "cert_expiring", (),
        alerts=(Alert("BlackboxTLSCertExpiringSoonWarning", "probe_ssl_earliest_cert_expiry - time() < 21 * 24 * 3600",
                      10 * MIN, "<", 21 * 86400, None, "warning", ("instance",), "", "the suite's TLS handshakes"),
                Alert("BlackboxTLSCertExpiringSoonCritical", "probe_ssl_earliest_cert_expiry - time() < 7 * 24 * 3600",
                      10 * MIN, "<", 7 * 86400, None, "critical", ("instance",), "", "the suite's TLS handshakes")),
        kuma=("Control-domain cert",),
        existing="runbooks.py ce-0..ce-l3 (tests_live, -m cert_expiring)"),
    Runbook(
        "lambda-5xx-spike.md", "lambda_5xx_spike", ("lambda",),
        alerts=(Alert("Lambda5xxSpike",
                      'sum by (api_name, stage) ( rate(aws_apigateway_5_xxerror_sum{api_name="cabal_gateway"}[10m]) ) / '
                      'clamp_min( sum by (api_name, stage) ( rate(aws_apigateway_count_sum{api_name="cabal_gateway"}'
                      '[10m]) ), 1 ) > 0.05', 5 * MIN, ">", 0.05, 10 * MIN, "critical", ("api_name", "stage"), "ratio",
                      "AWS/ApiGateway 5XXError and Count Sum, ApiName=cabal_gateway Stage=prod (AWS-native)"),),
        steps=(
            Step("1", "Which Lambda is failing: Errors per function, last 15 min",
                 "lambda:ListFunctions, then cloudwatch:GetMetricData AWS/Lambda Errors Sum per FunctionName (bare "
                 "names: list, fetch_message, ...), one request"),
            _fn_errors_step("2", LAMBDA_GROUPS),
            Step("3", "Environment-wide or one route",
                 "cloudwatch:GetMetricData: how many functions have Errors > 0 (one = that function's change; all = "
                 "authorizer, shared helper.py, DynamoDB); per-route AWS/ApiGateway 5XXError by Method,Resource"),
            Step("e1", "Recent deploy: roll back",
                 "lambda:GetFunctionConfiguration LastModified against the first error (the runbook's SSM "
                 "/cabal/deployed_image_tag/<tier> is the mail tiers' image, not Lambda code)"),
            Step("e2", "DynamoDB throttling correlated", why_not=f"{CROSS_LINK}: dynamodb-throttling.md"),
            Step("e3", "IMAP backend down", why_not=f"{CROSS_LINK}: probe-failure.md (-m imap)"),
            Step("e4", "Capture a request id, open a GitHub issue", why_not=f"{REMEDIATION}: a person files it"),
        ),
        names=(("API cabal-api, label apiname", "cabal_gateway, label api_name"),
               ("Lambdas cabal-*", "bare names (list, fetch_message, ...); only cabal-certbot-renewal and "
                "cabal-healthchecks-iac are prefixed"),
               ("/aws/lambda/<function-name>", "/cabal/lambda/<name>"))),
    Runbook(
        "lambda-throttles.md", "lambda_throttles", ("lambda",),
        alerts=(Alert("LambdaThrottles", 'sum by (function_name) (rate(aws_lambda_throttles_sum{function_name!~"aws-.+"}'
                      '[5m])) > 0', 1 * MIN, ">", 0, 5 * MIN, "warning", ("function_name",), "rate",
                      "AWS/Lambda Throttles Sum per FunctionName (AWS-native)"),),
        steps=(
            Step("1", "Load spike or configuration change: Invocations, last hour",
                 "cloudwatch:GetMetricData AWS/Lambda Invocations Sum per FunctionName, 60 min, period 60 (10x the "
                 "baseline = load)"),
            Step("2", "The function's reserved concurrency",
                 "lambda:GetFunctionConcurrency: no Cabal function sets one in Terraform, so any value is red"),
            Step("3", "Account near its concurrency limit",
                 "cloudwatch:GetMetricData AWS/Lambda ConcurrentExecutions Maximum (no dimensions) against "
                 "lambda:GetAccountSettings or service-quotas:GetServiceQuota lambda L-B99A9384 (neither in moto)"),
            Step("e1", "Request a quota increase", why_not=f"{REMEDIATION}: an AWS Support request"),
            Step("e2", "Runaway client: source IP from the API access log, WAF",
                 "logs:FilterLogEvents on API-Gateway-Execution-Logs_<rest-api-id>/prod (id from apigateway GET "
                 "/restapis); the WAF rule itself is remediation"),
            Step("e3", "Sustained for 30 min: Lambda5xxSpike escalates", why_not=f"{CROSS_LINK}: lambda-5xx-spike.md"),
        ),
        names=(("cabal-* functions; cognito-counter", "bare names; assign_osid"),)),
    Runbook(
        "lambda-errors.md", "lambda_errors", ("lambda",),
        alerts=(Alert("LambdaErrors", 'sum by (function_name) (increase(aws_lambda_errors_sum{function_name!~"aws-.+"}'
                      '[15m])) > 0', 5 * MIN, ">", 0, 15 * MIN, "warning", ("function_name",), "increase",
                      "AWS/Lambda Errors Sum per FunctionName (AWS-native); alarms cabal-list_messages-errors, "
                      "cabal-list_envelopes-errors"),),
        steps=(
            _fn_errors_step("1", LAMBDA_GROUPS + ", /cabal/lambda/certbot-renewal"),
            Step("2", "Deploy or runtime: first error after a deploy",
                 "lambda:GetFunctionConfiguration LastModified against the first error's timestamp (app.yml's job "
                 "history is GitHub, not AWS)"),
            Step("3", "User-visible",
                 "an API function: re-evaluate Lambda5xxSpike; a scheduled one: its heartbeat (certbot, dmarc, "
                 "cognito, backup)"),
            Step("e1", "Persisting past 30 min on a user-visible Lambda", why_not=f"{CROSS_LINK}: lambda-5xx-spike.md"),
            Step("e2", "alert_sink failing: check the Pushover/ntfy secrets",
                 why_not=f"{MONITORING_ONLY}: alert_sink exists only with the module, and its secrets are not read"),
        ),
        names=(("cabal-list, cabal-fetch-message", "list, fetch_message"), ("cabal-cognito-counter", "assign_osid"),
               ("cabal-process-dmarc", "process_dmarc"), ("cabal-backup-heartbeat", "backup_heartbeat"),
               ("cabal-alert-sink", "alert_sink"), ("/aws/lambda/<fn>", LAMBDA_GROUPS))),
    Runbook(
        "dynamodb-throttling.md", "dynamodb_throttling", ("dynamodb",),
        alerts=(Alert("DynamoDBThrottling", "sum by (table_name) (increase(aws_dynamodb_throttled_requests_sum[5m])) > 0",
                      1 * MIN, ">", 0, 5 * MIN, "warning", ("table_name",), "increase",
                      "AWS/DynamoDB ThrottledRequests Sum by TableName, Operation (cloudwatch:ListMetrics to "
                      "enumerate)"),),
        steps=(
            Step("1", "Burst or hot partition",
                 "cloudwatch:GetMetricData ConsumedReadCapacityUnits Sum/Maximum per TableName, 1 h; "
                 "ReadKeyRangeThroughputThrottleEvents = hot partition"),
            Step("2", "Access pattern now; the reconfigure loop not in a tight loop",
                 "logs:FilterLogEvents /cabal/lambda/list; count of \"[reconfigure] Regenerating\" per tier in "
                 + TIERS_GROUPS),
            Step("3", "Switched from on-demand to provisioned",
                 "dynamodb:DescribeTable BillingModeSummary.BillingMode == PAY_PER_REQUEST for the eight tables"),
            Step("e1", "Back off the reconfigure consumer", why_not=f"{REMEDIATION}: a code change"),
            Step("e2", "Provisioned + autoscaling for a sustained load", why_not=f"{REMEDIATION}: a Terraform change"),
            Step("e3", "Promotes to Lambda5xxSpike", why_not=f"{CROSS_LINK}: lambda-5xx-spike.md"),
        ),
        names=(("only cabal-addresses (\"doesn't currently create others\")",
                "eight: cabal-addresses, cabal-user-preferences, cabal-rate-limits, cabal-push-tokens, "
                "cabal-user-domain-access, cabal-dmarc-reports, cabal-caa-reports, cabal-counter"),
               ("/aws/lambda/cabal-list", "/cabal/lambda/list"), ("cabal-new, cabal-revoke", "new, revoke"))),
    Runbook(
        "dynamodb-system-errors.md", "dynamodb_system_errors", ("dynamodb",),
        alerts=(Alert("DynamoDBSystemErrors", "sum by (table_name) (increase(aws_dynamodb_system_errors_sum[5m])) > 0",
                      1 * MIN, ">", 0, 5 * MIN, "critical", ("table_name",), "increase",
                      "AWS/DynamoDB SystemErrors Sum by TableName, Operation (the exporter asks TableName only)"),),
        steps=(
            Step("1", "AWS having a DynamoDB incident",
                 why_not=f"{MANUAL}: health.aws.amazon.com; health:DescribeEvents needs a Business/Enterprise plan"),
            Step("2", "One table, one operation, or all",
                 "cloudwatch:ListMetrics AWS/DynamoDB SystemErrors, then GetMetricData Sum per TableName, Operation"),
            Step("3", "The application retrying",
                 "logs:FilterLogEvents /cabal/lambda/list, words ProvisionedThroughputExceededException, "
                 "InternalServerError OR-ed (the runbook's unquoted pair is an AND)"),
            Step("e1", "Page first; leave the alert firing during an AWS incident", why_not=f"{MANUAL}: judgement"),
            Step("e2", "Support ticket with RequestIds", why_not=f"{REMEDIATION}: a person files it", at="e3"),
            Step("e3", "AWS confirms an incident: leave the alert firing, no silence", why_not=f"{MANUAL}: judgement",
                 at="e2"),
        ),
        names=(("/aws/lambda/cabal-list", "/cabal/lambda/list"),)),
    Runbook(
        "efs-burst-credits-low.md", "efs_burst_credits_low", ("capacity",),
        alerts=(Alert("EFSBurstCreditsLow", "aws_efs_burst_credit_balance_average < 20e9", 1 * HOUR, "<", 20e9, None,
                      "warning", ("file_system_id",), "gauge",
                      "AWS/EFS BurstCreditBalance Average by FileSystemId, bursting mode only (AWS-native)"),),
        steps=(
            Step("1", "Burning fast or a slow drain",
                 "cloudwatch:GetMetricData BurstCreditBalance Average, 24 h, period 300: the slope"),
            Step("2", "Who drives I/O (MeteredIOBytes per access point)",
                 why_not=f"{MANUAL}: no AWS/EFS metric has an access-point dimension; only file-system totals "
                         "(DataReadIOBytes, DataWriteIOBytes, MetadataIOBytes)"),
            Step("3", "File system very small (baseline 50 KiB/s per GiB)",
                 "elasticfilesystem:DescribeFileSystems SizeInBytes.Value and ThroughputMode of Name=cabal-efs"),
            Step("e1", "Quick fix: elastic throughput", why_not=f"{REMEDIATION}: efs update-file-system"),
            Step("e2", "Provisioned throughput at a fixed MiB/s", why_not=f"{REMEDIATION}: efs update-file-system"),
            Step("e3", "Slow the heaviest writer (Kuma's interval)", why_not=f"{REMEDIATION}: a configuration change"),
            Step("e4", "Severity: at zero credits, mail delivery and the monitoring stack slow",
                 why_not=f"{MANUAL}: judgement (a severity note)"),
        ),
        names=(("below 20% of baseline", "an absolute 20e9 bytes of credit"),
               ("/uptime-kuma, /prometheus, ... access points", "monitoring module only; off: /smtp-queue, "
                "/smtp-in-queue"))),
    Runbook(
        "container-restart-loop.md", "container_restart_loop", ("capacity",),
        alerts=(Alert("ContainerRestartLoop",
                      "( avg_over_time(ecs_containerinsights_running_task_count_average[1h]) < "
                      "avg_over_time(ecs_containerinsights_desired_task_count_average[1h]) ) and ( "
                      "avg_over_time(ecs_containerinsights_desired_task_count_average[1h]) > 0 )",
                      30 * MIN, ">", 0, 1 * HOUR, "critical", ("cluster_name", "service_name"), "below_desired",
                      "ECS/ContainerInsights RunningTaskCount, DesiredTaskCount by ClusterName, ServiceName "
                      "(cluster cabal-mail has containerInsights enabled)"),),
        steps=(
            Step("1", "Each new task crashing, or no capacity",
                 "ecs:DescribeServices events[0:8]: \"unable to place a task\" = capacity, \"Essential container "
                 "... exited\" = crash loop"),
            Step("2", "Crash loop: the last task's stop reason and logs",
                 "ecs:ListTasks desiredStatus=STOPPED, ecs:DescribeTasks stoppedReason, containers[].reason/exitCode; "
                 "logs:FilterLogEvents /ecs/<service> ERROR, Exception, error, fatal"),
            Step("3", "Capacity: CPU/memory left on each instance",
                 "ecs:ListContainerInstances, ecs:DescribeContainerInstances remainingResources CPU, MEMORY"),
            Step("e1", "Roll back with deploy-ecs-service.sh", why_not=f"{REMEDIATION}: registers a task definition"),
            Step("e2", "EFS access point: failed to chown", "logs:FilterLogEvents \"failed to chown\" in /ecs/<service>"),
            Step("e3", "Scale the ASG up by one", why_not=f"{REMEDIATION}: an ASG change"),
            Step("e4", "Several services at once: suspect the cluster",
                 "the condition over every service of cabal-mail: more than one below desired (the diagnosis says so)"),
        ),
        names=(("nine monitoring services (cabal-uptime-kuma, ...)", "monitoring module only; off: cabal-imap, "
                "cabal-smtp-in, cabal-smtp-out (+ cabal-sinkhole when var.sinkhole)"),)),
    Runbook(
        "node-high-cpu.md", "node_high_cpu", ("capacity",),
        alerts=(Alert("NodeHighCPU", '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 85',
                      15 * MIN, ">", 85, 5 * MIN, "warning", ("instance",), "gauge",
                      "substitute: AWS/EC2 CPUUtilization per InstanceId of Name=cabal-ecs-instance (5-min basic "
                      "monitoring); node_exporter is in the monitoring module"),),
        steps=(
            Step("1", "Which container uses the CPU (docker stats over SSM)",
                 "substitute: cloudwatch:GetMetricData ECS/ContainerInsights CpuUtilized by ClusterName, ServiceName "
                 "(the runbook's SSM session and docker stats are not reads)"),
            Step("2", "Sustained workload or runaway",
                 "cloudwatch:GetMetricData AWS/EC2 CPUUtilization of the hosts, the last 2 h (in the condition's request)"),
            Step("3", "Cluster over- or under-provisioned: every host > 80 % or one host hot",
                 "substitute: cloudwatch:GetMetricData AWS/EC2 CPUUtilization of every cabal-ecs-instance host (in the "
                 "condition's request): every host > 80 % = cluster-wide; AWS/ECS CPUReservation is what tasks ask"),
            Step("e1", "Drain and replace the host", why_not=f"{REMEDIATION}: update-container-instances-state"),
            Step("e2", "Cluster-wide: scale up; cross-check IMAP auth failures",
                 why_not=f"{CROSS_LINK}: imap-auth-failure-spike.md; scaling is remediation"),
            Step("e3", "Severity: sustained saturation becomes restart loops or probe failures",
                 why_not=f"{CROSS_LINK}: container-restart-loop.md, probe-failure.md"),
        ),
        names=(("host label instance (node_exporter)", "EC2 InstanceId of the cabal-ecs-instance ASG"),)),
    Runbook(
        "node-high-memory.md", "node_high_memory", ("capacity",),
        alerts=(Alert("NodeHighMemory", "100 * ( 1 - (node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes) ) > 85",
                      15 * MIN, ">", 85, None, "warning", ("instance",), "",
                      "none: AWS emits no host memory without the CloudWatch agent (none deployed); proxy only "
                      "(ECS/ContainerInsights MemoryUtilized against registered MEMORY)"),),
        steps=(
            Step("1", "Which task is the heavyweight",
                 "substitute: cloudwatch:GetMetricData ECS/ContainerInsights MemoryUtilized by ServiceName"),
            Step("2", "Anything OOM-killed yet (journalctl -k)",
                 "substitute: ecs:ListTasks desiredStatus=STOPPED, ecs:DescribeTasks containers[].reason "
                 "OutOfMemoryError / exitCode 137 (the host's kernel log is not readable: no agent)"),
            Step("3", "Every task has a memory cap",
                 "ecs:DescribeTaskDefinition cabal-imap, cabal-smtp-in, cabal-smtp-out containerDefinitions[].memory"),
            Step("e1", "Bounce the heaviest task", why_not=f"{REMEDIATION}: a restart"),
            Step("e2", "Prometheus retention / VictoriaMetrics", why_not=f"{MONITORING_ONLY}: Prometheus"),
            Step("e3", "Cluster-wide pressure: a larger instance class", why_not=f"{REMEDIATION}: a Terraform change"),
            Step("e4", "Severity: OOM kills escalate to container restart loops",
                 why_not=f"{CROSS_LINK}: container-restart-loop.md"),
        ),
        names=(("t3.small", "m6g.medium (modules/ecs/variables.tf)"),)),
    Runbook(
        "node-disk-space-low.md", "node_disk_space_low", ("capacity",),
        alerts=(Alert("NodeDiskSpaceLow", '100 * ( 1 - (node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / '
                      'node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}) ) > 85', 15 * MIN, ">", 85, None, "warning",
                      ("instance", "mountpoint"), "",
                      "none: no AWS API reports a filesystem's fill level without an agent"),),
        steps=(
            Step("1", "What uses the space (df, du over SSM)",
                 why_not=f"{NO_AGENT}: a host shell; ssm:SendCommand is not a read"),
            Step("2", "Dangling Docker images", why_not=f"{REMEDIATION}: docker image prune"),
            Step("3", "journald rotating", why_not=f"{REMEDIATION}: journalctl --vacuum-time"),
            Step("e1", "Root volume undersized (8 GB -> 30)",
                 "ec2:DescribeLaunchTemplateVersions (name prefix cabal-ecs-) BlockDeviceMappings /dev/xvda VolumeSize"),
            Step("e2", "Something logging excessively", why_not=f"{NO_AGENT}: the host's log files"),
            Step("e3", "Severity: a full disk is critical at once", why_not=f"{MANUAL}: judgement (a severity note)"),
        ),
        names=(("8 GB root volume", "30 GB gp3 already (modules/ecs/main.tf)"),)),
    Runbook(
        "sendmail-deferred-spike.md", "sendmail_deferred_spike", ("mail_logs",),
        alerts=(Alert("SendmailDeferredSpike", "sum(increase(aws_cabalmail_logs_sendmail_deferred_sum[10m])) > 10",
                      15 * MIN, ">", 10, 10 * MIN, "warning", (), "increase",
                      "substitute: \"stat=Deferred\" counted in " + TIERS_GROUPS + " (the metric filters are in the "
                      "monitoring module)"),),
        steps=(
            Step("1", "Which tier (mailq via ECS Exec)",
                 "substitute: the count per group (execute-command is not a read)"),
            Step("2", "Why: the dsn=4.x.y codes", "the same events' dsn=4.4 / 4.7 / 4.5 histogram"),
            Step("3", "Self-inflicted: the NAT instance",
                 "ec2:DescribeInstances tag:Name cabal-nat-<n> running (existing test_nat_instances_running)"),
            Step("e1", "Graylist storm: blocklists", why_not=f"{MANUAL}: mxtoolbox"),
            Step("e2", "Replace the NAT instance", why_not=f"{REMEDIATION}: an ASG cycle"),
            Step("e3", "Local delivery on imap; user list in sync",
                 why_not=f"{CROSS_LINK}: heartbeat-ecs-reconfigure.md"),
            Step("e4", "Inbound relay: imap.cabal.internal resolves from smtp-in",
                 "existing in-VPC IMAP probe (-m imap, --vpc-host)"),
            Step("e5", "Deferrals tipping into bounces", why_not=f"{CROSS_LINK}: sendmail-bounced-spike.md"),
        ),
        names=(("tag:Name=cabal-nat", "cabal-nat-<n> (modules/vpc/nat.tf)"),)),
    Runbook(
        "sendmail-bounced-spike.md", "sendmail_bounced_spike", ("mail_logs",),
        alerts=(Alert("SendmailBouncedSpike", "sum(increase(aws_cabalmail_logs_sendmail_bounced_sum[30m])) > 15",
                      15 * MIN, ">", 15, 30 * MIN, "critical", (), "increase",
                      "substitute: \"dsn=5\" counted in " + TIERS_GROUPS),),
        steps=(
            Step("1", "Which tier, which 5.x.y codes", "the count per group; the dsn=5.x.y histogram of the events"),
            Step("2", "smtp-out: one provider or many", "the to=<...@domain> histogram of /ecs/cabal-smtp-out's events"),
            Step("3", "smtp-in: the address map fresh (virtusertable age via ECS Exec)",
                 "substitute: the latest \"[reconfigure] Done.\" in /ecs/cabal-smtp-in (execute-command is not a read)"),
            Step("e1", "Deliverability: mail-tester, blocklists, DKIM/DMARC", why_not=f"{MANUAL}: third-party sites"),
            Step("e2", "Force a reconfigure on smtp-in", why_not=f"{REMEDIATION}: update-service --force-new-deployment"),
            Step("e3", "The bounced addresses should still exist",
                 "dynamodb:BatchGetItem on cabal-addresses for the bounced recipients (optional: personal data)",
                 at="e2"),
            Step("e4", "imap: the OS user and Maildir exist", why_not=f"{NOT_READ_ONLY}: inside the container", at="e3"),
            Step("e5", "Severity: resolve the same day", why_not=f"{MANUAL}: judgement (a severity note)", at="e4"),
        )),
    Runbook(
        "imap-auth-failure-spike.md", "imap_auth_failure_spike", ("mail_logs",),
        alerts=(Alert("IMAPAuthFailureSpike", "sum(increase(aws_cabalmail_logs_imap_auth_failures_sum[5m])) > 25",
                      5 * MIN, ">", 25, 5 * MIN, "warning", (), "increase",
                      "substitute: \"auth failed\" AND \"imap-login\" counted in /ecs/cabal-imap"),),
        steps=(
            Step("1", "Where from, and is that address a Lambda ENI",
                 "rip= of the events; ec2:DescribeNetworkInterfaces addresses.private-ip-address=<rip>: InterfaceType "
                 "lambda = cause 1, anything else = cause 2"),
            Step("2", "Every user or one; the user sync ran at task start",
                 "user=<...> histogram; \"[sync-users]\" events after ecs:DescribeTasks startedAt"),
            Step("3", "Logins succeeding; plaintext refused before auth",
                 "\"imap-login: Login\" and \"Plaintext authentication\" counts (plaintext refusals are red even while "
                 "the alert is quiet)"),
            Step("e1", "The master password on both sides",
                 why_not=f"{SECRET}: /cabal/master_password is never read"),
            Step("e2", "Narrow cabal-ecs-imap-sg's 143 ingress",
                 why_not=f"{REMEDIATION}: revoke/authorize-security-group-ingress (test_security_group_admits judges "
                         "the sources)"),
            Step("e3", "Do not widen login_trusted_networks", why_not=f"{MANUAL}: a rule for the operator"),
            Step("e4", "A compromised account: rotate in Cognito", why_not=f"{REMEDIATION}: a password reset"),
            Step("e5", "Severity: no longer background noise", why_not=f"{MANUAL}: judgement (a severity note)"),
        )),
    Runbook(
        "heartbeat-certbot-renewal.md", "letsencrypt", ("heartbeat",),
        check=Check("certbot-renewal", 60 * DAY, 24 * HOUR,
                    "existing -m letsencrypt: schedule enabled, ran within period, last run succeeded"),
        steps=(
            Step("1", "Invoked at all", "existing: logs:DescribeLogStreams /cabal/lambda/certbot-renewal, "
                 "scheduler:GetSchedule cabal-certbot-renewal"),
            Step("2", "Invoked and crashed", "existing: AWS/Lambda Errors and the log's errors"),
            Step("3", "Succeeded but did not ping (the ping parameter)",
                 why_not=f"{SECRET}: /cabal/healthcheck_ping_certbot_renewal is a capability URL, never decrypted; "
                         "with the module on only ssm:DescribeParameters (existence) would be read; off, it is absent"),
            Step("e1", "Force a renewal now", why_not=f"{REMEDIATION}: lambda invoke"),
            Step("e2", "Schedule disabled in Terraform", why_not=f"{REMEDIATION}: re-enable in the module"),
            Step("e3", "ACME account key lost", why_not=f"{SECRET}: the account key is not read"),
            Step("e4", "Severity: 30+ days between a missed heartbeat and expiry",
                 why_not=f"{CROSS_LINK}: cert-expiring.md (the days left, -m cert_expiring)"),
        ),
        names=(("/aws/lambda/cabal-certbot-renewal", "/cabal/lambda/certbot-renewal"),
               ("pushing the renewed cert to S3", "SSM /cabal/control_domain_{ssl_cert,chain_cert}")),
        existing="runbooks.py ce-l1, ce-l2 (-m letsencrypt): mapped, not copied"),
    Runbook(
        "heartbeat-aws-backup.md", "heartbeat_aws_backup", ("heartbeat",),
        check=Check("aws-backup", 1 * DAY, 6 * HOUR,
                    "backup:ListBackupJobs ByBackupVaultName=cabal-backup: a COMPLETED job for each selected resource "
                    "(cabal-addresses, the EFS file system) within 30 h"),
        steps=(
            Step("1", "var.backup is true", "backup:ListBackupPlans: cabal-backup-plan absent = backup off (a skip)"),
            Step("2", "The latest job succeeded",
                 "backup:ListBackupJobs per resource (StatusMessage of FAILED/ABORTED), backup:ListCopyJobs to "
                 "cabal-backup-dr (not in moto: a fake endpoint through AWS_ENDPOINT_URL_BACKUP)"),
            Step("3", "The heartbeat Lambda failed",
                 why_not=f"{MONITORING_ONLY}: backup_heartbeat and rule cabal-backup-completed"),
            Step("e1", "Plan disabled or vault missing: re-apply Terraform", why_not=f"{REMEDIATION}: terraform apply"),
            Step("e2", "Job failures more than 1 in 7", "backup:ListBackupJobs over 30 days: failures per week"),
            Step("e3", "backup_heartbeat broken: re-seed the ping URL", why_not=f"{MONITORING_ONLY}; {SECRET}"),
            Step("e4", "Severity: a large buffer to impact", why_not=f"{MANUAL}: judgement (a severity note)"),
        ),
        names=(("cabal-backup-heartbeat, /aws/lambda/cabal-backup-heartbeat",
                "backup_heartbeat, /cabal/lambda/backup_heartbeat (monitoring module only)"),
               ("<vault>", "cabal-backup (copies to cabal-backup-dr in var.dr_region)"))),
    Runbook(
        "heartbeat-dmarc-ingest.md", "heartbeat_dmarc_ingest", ("heartbeat",),
        check=Check("dmarc-ingest", 6 * HOUR, 2 * HOUR,
                    "the latest \"[process_dmarc] run summary\" in /cabal/lambda/process_dmarc, or AWS/Lambda "
                    "Invocations > 0 and Errors = 0, within 8 h; scheduler:GetSchedule cabal-process-dmarc ENABLED"),
        steps=(
            Step("1", "Invoked at all",
                 "logs:DescribeLogStreams /cabal/lambda/process_dmarc; scheduler:GetSchedule cabal-process-dmarc"),
            Step("2", "The inbound queue (reports arriving)",
                 "the run summary's queued counter (s3:ListBucket cache.<control-domain> prefix dmarc/ optional); the "
                 "runbook's SES/S3 trigger does not exist: the Lambda is scheduled"),
            Step("3", "Crashed", "logs:FilterLogEvents ERROR, Exception, Traceback; AWS/Lambda Errors; the summary's "
                 "errors counter"),
            Step("e1", "No reports arriving is benign", why_not=f"{MANUAL}: the dmarc inbox"),
            Step("e2", "Malformed report: fix and redeploy", why_not=f"{REMEDIATION}: a code change"),
            Step("e3", "Re-seed the ping URL", why_not=f"{MONITORING_ONLY}; {SECRET}"),
        ),
        names=(("cabal-process-dmarc, /aws/lambda/cabal-process-dmarc", "process_dmarc, /cabal/lambda/process_dmarc"),
               ("s3://<bucket>/dmarc-reports/", "s3://cache.<control-domain>/dmarc/"))),
    Runbook(
        "heartbeat-ecs-reconfigure.md", "heartbeat_ecs_reconfigure", ("heartbeat",),
        check=Check("ecs-reconfigure", 30 * MIN, 30 * MIN,
                    "the latest \"[reconfigure] Done.\" per tier in " + TIERS_GROUPS + " within 60 min (per tier: "
                    "stricter than the one shared check), unless the task started less than 30 min ago"),
        steps=(
            Step("1", "The loop alive in each tier (pgrep via ECS Exec)",
                 "substitute: logs:FilterLogEvents \"[reconfigure] Done.\" per tier; repeated \"Starting config watch "
                 "loop\" = crash and restart (execute-command is not a read)"),
            Step("2", "The SQS queue backing up",
                 "sqs:GetQueueUrl + sqs:GetQueueAttributes ApproximateNumberOfMessages, ...NotVisible of "
                 "cabal-reconfig-imap, cabal-reconfig-smtp-in, cabal-reconfig-smtp-out"),
            Step("3", "The ping parameter consistent across tiers",
                 why_not=f"{MONITORING_ONLY}; {SECRET}: /cabal/healthcheck_ping_ecs_reconfigure"),
            Step("e1", "FATAL Too many start retries", "logs:FilterLogEvents \"reconfigure\" in /ecs/cabal-<tier> "
                 "(supervisord's own log stays in the container)"),
            Step("e2", "DynamoDB stalls", why_not=f"{CROSS_LINK}: dynamodb-throttling.md, dynamodb-system-errors.md"),
            Step("e3", "Cognito ListUsers throttling",
                 why_not=f"{MONITORING_ONLY}: aws_cognito_*_throttles is not scraped even with the module"),
            Step("e4", "Severity: critical, but mail keeps flowing on the last map",
                 why_not=f"{MANUAL}: judgement (a severity note)"),
        ),
        names=(("<reconfigure-queue-url> (one queue)", "three: cabal-reconfig-{imap,smtp-in,smtp-out}"),)),
    Runbook(
        "heartbeat-cognito-user-sync.md", "heartbeat_cognito_user_sync", ("heartbeat",),
        check=Check("cognito-user-sync", 30 * DAY, 7 * DAY,
                    "cognito-idp:ListUsers AttributesToGet=[custom:osid]: every user has one (a user without it is the "
                    "post-confirmation that did not run)"),
        steps=(
            Step("1", "Anyone signed up in the last 30 days", "cognito-idp:ListUsers UserCreateDate (pool cabal)"),
            Step("2", "The Lambda ran for each sign-up",
                 "users lacking custom:osid; AWS/Lambda Invocations/Errors of assign_osid; logs /aws/lambda/assign_osid"),
            Step("3", "Still wired as the trigger",
                 "cognito-idp:DescribeUserPool LambdaConfig.PostConfirmation == the assign_osid ARN "
                 "(lambda:GetFunctionConfiguration)"),
            Step("e1", "Treat as info; pause the check", why_not=f"{MANUAL}: judgement"),
            Step("e2", "Invoke it by hand (\"idempotent\")",
                 why_not=f"{REMEDIATION}: and not idempotent: it burns an OSID from cabal-counter before failing"),
        ),
        names=(("cabal-cognito-counter, /aws/lambda/cabal-cognito-counter", "assign_osid, /aws/lambda/assign_osid"),)),
    Runbook(
        "heartbeat-quarterly-review.md", "", (),
        check=Check("quarterly-review", 90 * DAY, 14 * DAY, ""),
        steps=(
            Step("1", "Dashboards still load", why_not=f"{MANUAL}: Grafana ({MONITORING_ONLY})"),
            Step("2", "Silences reviewed", why_not=f"{MANUAL}: Alertmanager ({MONITORING_ONLY})"),
            Step("3", "The on-call number still correct", why_not=f"{SECRET}: /cabal/pushover_user_key; a phone"),
            Step("e1", "Ping the check after the review", why_not=f"{SECRET}: the ping URL is a capability"),
        )),
)

BY_FILE = {r.file: r for r in RUNBOOKS}
BY_ALERT = {a.name: r for r in RUNBOOKS for a in r.alerts}
BY_CHECK = {r.check.name: r for r in RUNBOOKS if r.check}
BY_KUMA = {k: r for r in RUNBOOKS for k in r.kuma}


def markers() -> dict[str, str]:
    """Marker -> one line, for the runbooks whose tests are still to come (probe_failure, cert_expiring and
    letsencrypt exist already in fixtures/options.py)."""
    out = {}
    for r in RUNBOOKS:
        if r.marker and not r.existing:
            what = ", ".join(a.name for a in r.alerts) or (f"heartbeat {r.check.name}" if r.check else "")
            out[r.marker] = f"a check of the {r.file[:-3]} runbook ({what})"
    for family in FAMILIES:
        members = [r.marker for r in RUNBOOKS if family in r.families]
        out[family] = f"the {family} runbooks: {', '.join(members)}"
    out["condition"] = "re-evaluates a runbook's alert condition or heartbeat from AWS (the stand-in for Prometheus + " \
                       "Healthchecks)"
    return out
