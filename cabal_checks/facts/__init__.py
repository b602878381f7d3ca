"""Facts the runbooks ask for, each a function of the run's Context (and an endpoint or a key).

Gathering only: no judgement here. AWS facts return plain data (None for "does not exist");
"can't tell" surfaces as ``CantTell``, "does not apply" as ``NotApplicable``.

One module per runbook family, as ``judge/`` and ``tests_live/`` are split; ``account`` holds what several
families share, ``table`` the fact table. Every fact is re-exported here: ``facts.probe``, ``facts.network``.
"""

from .account import FRONT_LBS, cabal_vpc, front_load_balancers, public_zone
from .acm import acm_certificate, acm_consumer, facts_of_pem
from .capacity import capacity_metrics, chown_failures, ecs_hosts, launch_template, task_definition
from .cert_wire import served, served_certificates
from .ecs import ecs_services, running_tasks, stopped_tasks
from .endpoints import (
    FRONTS,
    WIRE_SOURCE,
    api_token,
    backend_said,
    cloudfront_domain,
    dns_view,
    front_dns_name,
    minted_token,
    probe,
    probe_in_vpc,
    probe_spec,
    probes_in_vpc,
    wants_token,
)
from .escalation import NETWORK_PARTS, container_instances, fail2ban_lines, network
from .lambdas import (
    lambda_account_limit,
    lambda_api_sources,
    lambda_concurrency,
    lambda_error_lines,
    lambda_fleet,
)
from .letsencrypt import (
    ACTIVITY_PARTS,
    CERTBOT_FAILURE_WORDS,
    CERTBOT_LOOKBACK,
    CERTBOT_RATE_LIMIT_WORDS,
    CERTBOT_RUN_SPAN,
    PUBLIC_CERT_PARAMS,
    RATE_LIMIT_WINDOW,
    certbot_activity,
    certbot_function,
    certbot_schedule,
    ssm_certificate,
)
from .load_balancers import (
    front_listeners,
    front_zones,
    load_balancer,
    security_group,
    subnets,
    target_group,
    target_group_description,
)
from .table import CLIENT_ORDER, CLIENTS, clients_needed, start_as_made

__all__ = [
    "ACTIVITY_PARTS", "FRONTS", "NETWORK_PARTS", "backend_said", "front_dns_name", "front_listeners", "front_zones",
    "target_group_description",
    "CERTBOT_FAILURE_WORDS", "CERTBOT_LOOKBACK", "CERTBOT_RATE_LIMIT_WORDS", "CERTBOT_RUN_SPAN", "CLIENTS",
    "CLIENT_ORDER", "FRONT_LBS", "PUBLIC_CERT_PARAMS", "RATE_LIMIT_WINDOW", "WIRE_SOURCE", "acm_certificate",
    "acm_consumer", "api_token", "cabal_vpc", "certbot_activity", "certbot_function", "certbot_schedule",
    "clients_needed", "cloudfront_domain", "container_instances", "dns_view", "ecs_services", "facts_of_pem",
    "fail2ban_lines", "front_load_balancers", "load_balancer", "minted_token", "network", "probe", "probe_in_vpc",
    "probe_spec", "probes_in_vpc", "public_zone", "running_tasks", "security_group", "served",
    "served_certificates", "ssm_certificate", "start_as_made", "stopped_tasks", "subnets", "target_group", "wants_token",
    # lambda family
    "lambda_account_limit", "lambda_api_sources", "lambda_concurrency", "lambda_error_lines", "lambda_fleet",
    "capacity_metrics", "chown_failures", "ecs_hosts", "launch_template", "task_definition",
]
