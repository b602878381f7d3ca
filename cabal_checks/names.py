"""The real deployment's AWS resource names (cabal-infra-facts.md section 2).

Every key here may be overridden in the ``[names]`` table of the config file. The defaults are
the names Terraform gives the real resources, so the suite works against any account built from
cabal-infra, not just against the sandbox.
"""

DEFAULT_NAMES: dict[str, str] = {
    # ECS (facts 2.1)
    "cluster": "cabal-mail",
    "service_imap": "cabal-imap",
    "service_smtp_in": "cabal-smtp-in",
    "service_smtp_out": "cabal-smtp-out",
    "service_uptime_kuma": "cabal-uptime-kuma",
    "service_ntfy": "cabal-ntfy",
    # Load balancers and target groups (facts 2.2)
    "nlb": "cabal-nlb",
    "alb": "cabal-uptime-alb",
    "tg_imap": "cabal-ecs-imap-tg",
    "tg_relay": "cabal-ecs-relay-tg",
    "tg_submission": "cabal-ecs-submission-tg",
    "tg_starttls": "cabal-ecs-starttls-tg",
    "tg_uptime_kuma": "cabal-uptime-kuma",
    "tg_ntfy": "cabal-ntfy",
    # Security groups and network (facts 2.5)
    "sg_imap": "cabal-ecs-imap-sg",
    "sg_smtp_in": "cabal-ecs-smtp-in-sg",
    "sg_smtp_out": "cabal-ecs-smtp-out-sg",
    "sg_alb": "cabal-uptime-alb",
    "vpc": "cabal-vpc",
    "nat_instance_prefix": "cabal-nat-",
    "private_subnet_prefix": "cabal-private-subnet-",
    "public_subnet_prefix": "cabal-public-subnet-",
    "private_route_table_prefix": "cabal-private-rt-",
    # Logs (facts 3.1: the runbook's fail2ban command reads this group)
    "imap_log_group": "/ecs/cabal-imap",
    # Edge, API, identity (facts 2.3)
    "cf_distribution_param": "/cabal/react-config/cf-distribution",
    "api_name": "cabal_gateway",
    "api_stage": "prod",
    "cognito_pool": "cabal",
    "cognito_client": "cabal_admin_client",
    # ACM (facts 2.3): the wildcard cert carries tag Name=cabal-nlb
    "acm_tag_name": "cabal-nlb",
    # Let's Encrypt pipeline (facts 0 and 2.4: the real places, not the runbook's text)
    "certbot_function": "cabal-certbot-renewal",
    "certbot_schedule": "cabal-certbot-renewal",
    "certbot_schedule_group": "default",
    "certbot_log_group": "/cabal/lambda/certbot-renewal",
    "ssm_cert": "/cabal/control_domain_ssl_cert",
    "ssm_key": "/cabal/control_domain_ssl_key",
    "ssm_chain": "/cabal/control_domain_chain_cert",
    # heartbeat runbooks (every-runbook-facts 3.15-3.18: the real names, not the runbooks' text)
    "dmarc_function": "process_dmarc",
    "dmarc_schedule": "cabal-process-dmarc",
    "dmarc_log_group": "/cabal/lambda/process_dmarc",
    "reconfig_queue_prefix": "cabal-reconfig-",
    "osid_function": "assign_osid",
    "backup_plan": "cabal-backup-plan",
    "backup_vault": "cabal-backup",
    "backup_dr_vault": "cabal-backup-dr",
    # Capacity runbooks (every-runbook-facts 3.8-3.10): the ECS hosts' Name tag and launch template prefix
    "ecs_instance": "cabal-ecs-instance",
    "ecs_launch_template_prefix": "cabal-ecs-",
}

# Where the runbook text names a place that does not exist in the real deployment.
RUNBOOK_SAYS = {
    "certbot_log_group": "/aws/lambda/cabal-certbot-renewal",
    "ssm_cert": "/cabal/letsencrypt/*",
    "dmarc_function": "cabal-process-dmarc",
    "dmarc_log_group": "/aws/lambda/cabal-process-dmarc",
    "osid_function": "cabal-cognito-counter",
}


def merge_names(overrides: dict[str, object]) -> dict[str, str]:
    """Return the default names updated with ``overrides``; unknown keys raise ``KeyError``."""
    unknown = sorted(set(overrides) - set(DEFAULT_NAMES))
    if unknown:
        raise KeyError(", ".join(unknown))
    merged = dict(DEFAULT_NAMES)
    merged.update({k: str(v) for k, v in overrides.items()})
    return merged
