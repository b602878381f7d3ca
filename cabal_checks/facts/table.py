"""The fact table: which AWS clients each fact uses, the order to make them in, and the clients a run needs."""

from __future__ import annotations

from ..aws.reader import SERVICES
from .account import public_zone
from .acm import acm_certificate, acm_consumer
from .ecs import ecs_services, running_tasks, stopped_tasks
from .endpoints import dns_view, minted_token, probe, wants_token
from .escalation import container_instances, fail2ban_lines, network
from .letsencrypt import certbot_activity, certbot_function, certbot_schedule, ssm_certificate
from .load_balancers import load_balancer, security_group, subnets, target_group


def clients_needed(s, facts) -> tuple[str, ...]:
    """The AWS clients a run gathering ``facts`` ((kind, fn, args) each) will use (``CLIENTS``), Cognito's when the
    /list probe mints its token; in the order to make them: the services at the head of the longest chains first."""
    needed = {service for kind, fn, _ in facts if kind == "aws" for service in CLIENTS[fn]}
    if s.api_token is None and wants_token(s) and any(fn is probe and args[0].probe == "api_list"
                                                      for _, fn, args in facts):
        needed.add("cognito-idp")
    return tuple(service for service in CLIENT_ORDER if service in needed)



# The AWS clients each fact uses, the one of its first request first (made up front in the main thread: see
# AwsReader.prepare; the fault matrix proves that no run makes one anywhere else), and the order to make them in:
# elbv2 (pools, then listeners, then rules) and Cognito (pools, then clients, then the token the /list probe waits
# for) head chains of three requests; ACM (list, then describe, tags and PEM at once), Logs -> CloudWatch (the last
# run's START line, then its minutes' Errors), Route 53, SSM -> CloudFront and ECS of two; EC2 (the costliest client
# to make) and the rest of one.
CLIENTS = {
    ecs_services: ("ecs",), stopped_tasks: ("ecs",), container_instances: ("ecs",), running_tasks: ("ecs",),
    load_balancer: ("elbv2",), target_group: ("elbv2",), security_group: ("ec2",), subnets: ("ec2",), network: ("ec2",),
    dns_view: ("route53", "elbv2", "ssm", "cloudfront", "ec2"), fail2ban_lines: ("logs",), acm_certificate: ("acm",),
    acm_consumer: ("elbv2", "cloudfront", "acm"), public_zone: ("route53",), certbot_function: ("lambda",),
    certbot_schedule: ("scheduler",), certbot_activity: ("logs", "cloudwatch"), ssm_certificate: ("ssm",),
    minted_token: ("cognito-idp",),
}

CLIENT_ORDER = ("elbv2", "cognito-idp", "acm", "logs", "cloudwatch", "route53", "ssm", "cloudfront", "ecs", "ec2",
                "lambda", "scheduler")

assert sorted(CLIENT_ORDER) == sorted(SERVICES)

