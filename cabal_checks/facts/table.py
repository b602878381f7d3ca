"""The fact table: every fact declared once, as a row: the fixture that hands it to the tests, its kind, the function
that gathers it, the AWS clients it uses and how its arguments come from a test's parameters.

The fixtures (fixtures/facts.py), the prefetch that starts every fact at once, and the clients made up front all read
these rows. A new runbook family adds its facts module and its rows here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..aws.reader import SERVICES
from .account import public_zone
from .acm import acm_certificate, acm_consumer
from .capacity import capacity_metrics, chown_failures, launch_template, task_definition
from .cert_wire import served_certificates
from .dynamodb import dynamodb_metrics, dynamodb_table, list_retries, reconfigure_regenerations
from .ecs import ecs_services, running_tasks, stopped_tasks
from .efs import efs_facts
from .endpoints import dns_view, minted_token, probe, probe_in_vpc, wants_token
from .escalation import container_instances, fail2ban_lines, network
from .heartbeat import backup_state, dmarc_trace, reconfigure_queue, reconfigure_trace, user_sync
from .lambdas import (
    lambda_account_limit,
    lambda_api_sources,
    lambda_concurrency,
    lambda_error_lines,
    lambda_fleet,
)
from .letsencrypt import certbot_activity, certbot_function, certbot_schedule, ssm_certificate
from .load_balancers import (
    front_zones,
    load_balancer,
    security_group,
    subnets,
    target_group,
    target_group_description,
)
from .mail_logs import last_line, mail_log_spike, plaintext_refusals


def _none(params: dict) -> tuple:
    return ()


def _lambda_only(params: dict) -> tuple:
    """The functions a page narrows the fleet to (``lambda_functions``); () for the whole fleet, the same fact as a
    test without that parameter (the 5xx condition) asks for."""
    only = params.get("lambda_functions", ())
    return (only,) if only else ()


def endpoint_of(params: dict):
    """The endpoint a test is parametrized with (``endpoint``, ``lb_endpoint``, ``cert_endpoint``, ...)."""
    return next(v for k, v in params.items() if k.endswith("endpoint"))


def _endpoint(params: dict) -> tuple:
    return (endpoint_of(params),)


@dataclass(frozen=True)
class Fact:
    """One fact: ``name`` is the fixture that hands it to the tests ("" for one no test asks for by name); ``kind``
    says where it waits (``wire``, ``vpc``, ``aws``: its deadline, see Context.budget); ``clients`` are the AWS clients
    it uses, the one of its first request first (made up front in the main thread: see AwsReader.prepare); ``args``
    gives its arguments from a test's parameters (KeyError or StopIteration: that test does not ask for it)."""

    name: str
    kind: str
    fn: Callable
    clients: tuple[str, ...] = ()
    args: Callable[[dict], tuple] = _none


TABLE = (
    # probe-failure 1: the endpoints, from here and from inside the VPC; DNS
    Fact("probe_result", "wire", probe, args=_endpoint),
    Fact("vpc_probe_result", "vpc", probe_in_vpc, args=_endpoint),
    Fact("dns_view", "aws", dns_view, ("route53", "elbv2", "ssm", "cloudfront", "ec2"),
         lambda p: (p["dns_case"][0].front,)),
    Fact("", "aws", minted_token, ("cognito-idp",)),  # the /list probe's token, asked for by the probe
    # probe-failure 2: ECS
    Fact("ecs_services", "aws", ecs_services, ("ecs",)),
    Fact("stopped_tasks", "aws", stopped_tasks, ("ecs",), lambda p: (p["service_key"],)),
    Fact("running_task_facts", "aws", running_tasks, ("ecs",),
         lambda p: (p.get("health_service_key") or endpoint_of(p).service,)),
    # probe-failure 3: load balancers, target groups, security groups
    Fact("front", "aws", load_balancer, ("elbv2",), lambda p: (endpoint_of(p).front,)),
    Fact("front_zone_facts", "aws", front_zones, ("elbv2", "ec2"), lambda p: (endpoint_of(p).front,)),  # a red probe's
    Fact("target_group_facts", "aws", target_group, ("elbv2",), lambda p: (p.get("tg_key") or endpoint_of(p).target_group,)),
    Fact("target_group_description", "aws", target_group_description, ("elbv2",),
         lambda p: (endpoint_of(p).target_group,)),
    Fact("security_group_facts", "aws", security_group, ("ec2",), lambda p: (endpoint_of(p).security_group,)),
    Fact("subnet_facts", "aws", subnets, ("ec2",)),
    # probe-failure escalation
    Fact("nacl_facts", "aws", network, ("ec2",), lambda p: (("nacls", "nat"),)),  # NAT addresses: probe sources
    Fact("nat_facts", "aws", network, ("ec2",), lambda p: (("nat",),)),
    Fact("nat_route_facts", "aws", network, ("ec2",), lambda p: (("nat", "route_tables"),)),
    Fact("container_instance_facts", "aws", container_instances, ("ecs",)),
    Fact("fail2ban_facts", "aws", fail2ban_lines, ("logs",)),
    # cert-expiring: the wire, ACM, Let's Encrypt
    Fact("served_certs", "wire", served_certificates, args=_endpoint),
    Fact("acm_facts", "aws", acm_certificate, ("acm",), lambda p: (False,)),  # without the leaf: see acm_certificate
    Fact("acm_leaf_facts", "aws", acm_certificate, ("acm",), lambda p: (True,)),
    Fact("acm_consumer_facts", "aws", acm_consumer, ("elbv2", "cloudfront", "acm"), lambda p: (p["acm_consumer"],)),
    Fact("public_zone_facts", "aws", public_zone, ("route53",)),
    Fact("certbot_function_facts", "aws", certbot_function, ("lambda",)),
    Fact("certbot_schedule_facts", "aws", certbot_schedule, ("scheduler",)),
    Fact("certbot_activity", "aws", certbot_activity, ("logs", "cloudwatch")),
    Fact("certbot_runs", "aws", certbot_activity, ("logs", "cloudwatch"), lambda p: (("streams", "invocations"),)),
    Fact("certbot_rate_limits", "aws", certbot_activity, ("logs",), lambda p: (("rate_limits",),)),
    Fact("ssm_cert_facts", "aws", ssm_certificate, ("ssm",),
         lambda p: (p.get("ssm_param_key") or p.get("ssm_cert_key", "ssm_cert"),)),
    # mail_logs (r4): sendmail-deferred-spike, sendmail-bounced-spike, imap-auth-failure-spike
    Fact("deferred_spike", "aws", mail_log_spike, ("logs", "ec2"), lambda p: ("deferred", p["mail_tier"])),
    Fact("bounced_spike", "aws", mail_log_spike, ("logs", "ec2"), lambda p: ("bounced", p["mail_tier"])),
    Fact("imap_auth_spike", "aws", mail_log_spike, ("logs", "ec2"), lambda p: ("imap_auth", p["imap_log_tier"])),
    Fact("smtp_in_reconfigure", "aws", last_line, ("logs", "ecs"), lambda p: (p["smtp_in_log_tier"],)),
    Fact("imap_plaintext", "aws", plaintext_refusals, ("logs",), lambda p: (p["imap_log_tier"],)),
    # dynamodb-throttling, dynamodb-system-errors, efs-burst-credits-low (r2 dynamodb/efs)
    Fact("dynamodb_metrics", "aws", dynamodb_metrics, ("cloudwatch",)),
    Fact("dynamodb_table_facts", "aws", dynamodb_table, ("dynamodb",), lambda p: (p["ddb_table"],)),
    Fact("efs_facts", "aws", efs_facts, ("efs", "cloudwatch"), lambda p: tuple(p["efs_name"])),
    Fact("list_retry_lines", "aws", list_retries, ("logs",), lambda p: (p["list_log_group"],)),
    Fact("regeneration_lines", "aws", reconfigure_regenerations, ("logs",), lambda p: (p["reconfigure_service_key"],)),
    # heartbeat family: dmarc-ingest, ecs-reconfigure, cognito-user-sync, aws-backup (certbot-renewal is letsencrypt's)
    Fact("dmarc_trace", "aws", dmarc_trace, ("scheduler", "logs")),
    Fact("reconfigure_trace", "aws", reconfigure_trace, ("logs", "ecs"), lambda p: (p["reconfigure_service_key"],)),
    Fact("reconfigure_queue_depth", "aws", reconfigure_queue, ("sqs",), lambda p: (p["reconfigure_queue_key"],)),
    Fact("user_sync_facts", "aws", user_sync, ("cognito-idp", "lambda")),
    Fact("backup_facts", "aws", backup_state, ("backup",)),
    # lambda family (lambda-5xx-spike, lambda-throttles, lambda-errors): one GetMetricData for every function
    Fact("lambda_fleet", "aws", lambda_fleet, ("lambda", "cloudwatch"), _lambda_only),
    Fact("lambda_concurrency", "aws", lambda_concurrency, ("lambda",), _lambda_only),
    Fact("lambda_account_limit", "aws", lambda_account_limit, ("lambda",)),
    Fact("lambda_error_lines", "aws", lambda_error_lines, ("lambda", "cloudwatch", "logs"), _lambda_only),
    Fact("lambda_api_sources", "aws", lambda_api_sources, ("apigateway", "logs"), lambda p: p["api_stage"]),
    # capacity family (r3): container-restart-loop, node-high-cpu, node-high-memory, node-disk-space-low
    Fact("capacity_metrics", "aws", capacity_metrics, ("ec2", "cloudwatch")),
    Fact("capacity_stopped_tasks", "aws", stopped_tasks, ("ecs",), lambda p: (p["capacity_service_key"],)),
    Fact("task_definition_facts", "aws", task_definition, ("ecs",), lambda p: (p["capacity_service_key"],)),
    Fact("launch_template_facts", "aws", launch_template, ("ec2",)),
    Fact("chown_facts", "aws", chown_failures, ("logs",), lambda p: (p["capacity_service_key"],)),
)

BY_NAME = {fact.name: fact for fact in TABLE if fact.name}
# The AWS clients each AWS fact function uses (from the rows), and the order to make them in: elbv2 (pools, then listeners,
# then rules) and Cognito (pools, then clients, then the token the /list probe waits for) head chains of three
# requests; ACM (list, then describe, tags and PEM at once), Logs -> CloudWatch (the last run's START line, then its
# minutes' Errors), Route 53, SSM -> CloudFront and ECS of two; EC2 (the costliest client to make) and the rest of one.
CLIENTS: dict = {}  # fact function -> its rows' clients (a function gathering parts, one row each: their union)
for _fact in (fact for fact in TABLE if fact.kind == "aws"):
    CLIENTS[_fact.fn] = tuple(dict.fromkeys((*CLIENTS.get(_fact.fn, ()), *_fact.clients)))
CLIENT_ORDER = ("elbv2", "cognito-idp", "acm", "logs", "cloudwatch", "route53", "ssm", "cloudfront", "ecs", "ec2",
                "lambda", "scheduler",
                "efs", "dynamodb", "sqs", "backup",  # issue 16: DynamoDB/EFS, the heartbeats
                "apigateway")  # issue 16: lambda-throttles escalation 2
assert sorted(CLIENT_ORDER) == sorted(SERVICES)


def start_as_made(ctx, facts, clients) -> None:
    """Make ``clients`` in the calling (main) thread, in this order, and start each AWS fact of ``facts`` ((kind, fn,
    args) each) as soon as the client of its first request (``CLIENTS``) exists; a fact needing another client before
    it is made waits for it (``AwsReader.promise``). A client that cannot be made (no region): its facts start anyway,
    and each says so itself."""
    ctx.aws.promise(clients)
    waiting = [(fn, args) for kind, fn, args in facts if kind == "aws"]

    def start_ready(_service=None):
        for fn, args in [w for w in waiting if ctx.aws.made(CLIENTS.get(w[0], ())[:1])]:
            waiting.remove((fn, args))
            ctx.start("aws", fn, *args)

    start_ready()
    ctx.aws.prepare(clients, each=start_ready)  # here, in the main thread (see AwsReader.prepare)
    for fn, args in waiting:
        ctx.start("aws", fn, *args)


def clients_needed(s, facts) -> tuple[str, ...]:
    """The AWS clients a run gathering ``facts`` ((kind, fn, args) each) will use (``CLIENTS``), Cognito's when the
    /list probe mints its token; in the order to make them: the services at the head of the longest chains first."""
    needed = {service for kind, fn, _ in facts if kind == "aws" for service in CLIENTS[fn]}
    if s.api_token is None and wants_token(s) and any(fn is probe and args[0].probe == "api_list"
                                                      for _, fn, args in facts):
        needed.add("cognito-idp")
    return tuple(service for service in CLIENT_ORDER if service in needed)
