"""A real account is never clean: the noise of a healthy Cabalmail account, laid over the healthy seed.

``apply(seeded)`` runs after ``aws_seed.seed()`` (``Sandbox(topology, noisy=True)``, ``--noisy``) and adds
what an account built from cabal-infra and lived in for a year holds besides the deployment itself, every
item healthy or long resolved, so the suite must stay green on all of it:

* leftovers of past certificates: the predecessor of the ACM wildcard (same tag, EXPIRED, INELIGIBLE, in use by
  nothing: create_before_destroy's old half whose destroy failed), an abandoned re-request (VALIDATION_TIMED_OUT),
  certificates for other names (``*.staging.<cd>``, a mail domain's site);
* past deployments and resolved incidents: a restart loop of the relay tier 45-56 minutes ago (stopped tasks still
  listed, older than the 30-minute window), an old placement failure of imap followed by a steady state, a failed
  certbot attempt 20 minutes before the successful manual re-run in the same (warm) log stream, a rate-limited
  run 20 days ago, the log streams of the schedule's past runs, a fail2ban ban of the NAT addresses three days ago
  (2026-05), the imap target group 2026-08 deleted, left behind without a listener;
* a neighbouring stack with the same names (a fork renames only what AWS forces to be unique): a staging VPC with
  security groups named exactly like ours (listed first), a Cognito pool ``cabal`` with its own
  ``cabal_admin_client`` (listed first), a private hosted zone ``<cd>`` of its own whose records of our names point at
  its NLB (listed first), a stopped NAT instance ``cabal-nat-staging-0`` and its blackholed route
  table ``cabal-private-rt-staging-0``, a quiesced cluster ``cabal-mail-staging`` with its own ``cabal-imap``, an
  NLB ``cabal-nlb-staging``, target groups ``cabal-ecs-relay-tg-staging`` and ``cabal-ecs-relay-tg-old``, a
  terminated old ``cabal-nat-0``; in our VPC, a NACL left unassociated after an incident, and a deny entry
  shadowed by an earlier allow;
* more than one page: hundreds of per-address mail-subdomain records in the control zone (the control domain
  doubles as a mail domain), mail-domain zones, 60 old imap log streams, the monitoring module's services
  (more than one ``describe_services`` call of 10), draining and unused targets, CloudFront distributions of
  other names;
* the legal spellings: record names in upper case, Route 53's ``\\052`` for ``*``, alias targets with
  ``dualstack.``, a trailing dot and mixed case, CNAME values with and without the trailing dot, and (2026-08,
  where cabal-infra publishes CAA since 2026-07-10) CAA per RFC 8659: flags 0 and 128, tags in any case,
  parameters, ``iodef``, an unknown non-critical tag.

Where moto's API refuses a real state, the backend objects or the registries of ``aws_seed`` are set, as the
seed does; each place says so.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from . import history_capacity, history_dynamodb_efs, history_lambda, history_mail_logs
from .aws_faults import fail2ban_bans, make_cert
from .aws_seed import (
    NAT_AMI,
    Seeded,
    _dvo,
    backend,
    certbot_stream_name,
    certbot_success_lines,
    place_task,
    put_log_lines,
    service_event,
    stop_task,
)
from .history_heartbeat import noise as heartbeat_noise
from .moto_patches import ACM_OVERRIDES, ROUTE_STATES, TARGET_HEALTH

STAGING_CIDR = "10.1.0.0/16"
MONITORING_SERVICES = ("cabal-blackbox-exporter", "cabal-healthchecks", "cabal-prometheus", "cabal-alertmanager",
                       "cabal-grafana", "cabal-cloudwatch-exporter", "cabal-cloudwatch-exporter-us-east-1",
                       "cabal-node-exporter")
MAIL_SUBDOMAINS = 150  # x 3 records: beyond one list_resource_record_sets page of 300


def apply(s: Seeded) -> None:
    """Lay the noise over a freshly seeded healthy account."""
    certs = _certificates(s)
    _neighbour_stack(s, certs["staging"])
    _past_deployments(s)
    _certbot_history(s)
    _fail2ban_history(s)
    history_mail_logs.noise(s)  # r4 mail_logs: resolved spikes outside the windows, a staging neighbour
    _nacls(s)
    _spellings(s)  # before _pages: it rewrites records found on the zones' first page
    _pages(s, certs)
    history_dynamodb_efs.noise(s)
    heartbeat_noise(s)  # heartbeat family
    history_lambda.noise(s)  # lambda family: a resolved spike, a staging neighbour's function
    history_capacity.noise(s)  # capacity runbooks (r3)


# --- certificates -----------------------------------------------------------------------------------


def _acm_cert(s: Seeded, domain: str, tags: list[dict] | None = None, *, issued: bool = True, **look: Any) -> str:
    """A certificate of ``domain`` made to look the way ACM shows it (the registry sets the look). Imported, with a
    quick EC key and a validity moto accepts: moto refuses to import an expired certificate, and requesting one
    costs an RSA key."""
    pem = make_cert(domain, s.now + timedelta(days=300), s.now - timedelta(days=1))
    kw = {"Tags": tags} if tags else {}
    arn = s.client("acm").import_certificate(Certificate=pem.cert_pem, PrivateKey=pem.key_pem, **kw)["CertificateArn"]
    drop = ["ImportedAt", "RenewalSummary"] + ([] if issued else ["NotBefore", "NotAfter", "Serial", "Issuer"])
    ACM_OVERRIDES[arn] = {"Type": "AMAZON_ISSUED", "DomainName": domain, "InUseBy": [], "RenewalEligibility": "INELIGIBLE",
                          "_drop": drop, **({"Issuer": "Amazon"} if issued else {}), **look}
    return arn


def _certificates(s: Seeded) -> dict[str, str]:
    """The leftovers; returns the ARNs of the certificates for other names (their consumers come later)."""
    now, domain = s.now, f"*.{s.control_domain}"
    tag = [{"Key": "Name", "Value": s.names["acm_tag_name"]}]
    _acm_cert(s, domain, tag, Status="EXPIRED", NotBefore=now - timedelta(days=425), NotAfter=now - timedelta(days=30),
              IssuedAt=now - timedelta(days=425), CreatedAt=now - timedelta(days=426),
              DomainValidationOptions=_dvo(s, domain, "SUCCESS"))
    _acm_cert(s, domain, None, issued=False, Status="VALIDATION_TIMED_OUT", CreatedAt=now - timedelta(days=97),
              DomainValidationOptions=_dvo(s, domain, "FAILED"))
    staging = _acm_cert(s, f"*.staging.{s.control_domain}", [{"Key": "Name", "Value": "cabal-nlb-staging"}],
                        Status="ISSUED", NotBefore=now - timedelta(days=40), NotAfter=now + timedelta(days=355),
                        RenewalEligibility="ELIGIBLE")
    site = _acm_cert(s, "www.example.org", None, Status="ISSUED", NotBefore=now - timedelta(days=100),
                     NotAfter=now + timedelta(days=295), RenewalEligibility="ELIGIBLE")
    return {"staging": staging, "site": site}


# --- the neighbouring staging stack ---------------------------------------------------------------


def _neighbour_stack(s: Seeded, staging_cert: str) -> None:
    ec2, elbv2 = s.client("ec2"), s.client("elbv2")

    def tags(kind: str, name: str) -> list[dict]:
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}, {"Key": "environment", "Value": "staging"}]}]

    vpc = ec2.create_vpc(CidrBlock=STAGING_CIDR, TagSpecifications=tags("vpc", "cabal-vpc-staging"))["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{101 + i}.0/24", AvailabilityZone=f"{s.region}{az}",
                                 TagSpecifications=tags("subnet", f"cabal-public-subnet-staging-{i}"))["Subnet"]["SubnetId"]
               for i, az in enumerate("ab")]
    # Security groups are unique by name per VPC only: staging's carry exactly our names (quiesced: no ingress).
    for key in ("sg_imap", "sg_smtp_in", "sg_smtp_out", "sg_alb"):
        if key in s.sg_ids:
            ec2.create_security_group(GroupName=s.names[key], Description=s.names[key], VpcId=vpc)
    # AWS promises no order; moto lists by VPC creation. Put the staging VPC's groups first (backend) so that a
    # lookup taking the first group of the name takes staging's.
    _first(backend("ec2", s).groups, vpc)
    # A NAT instance of the other VPC sharing our prefix, stopped with the stack, its route blackholed (moto leaves
    # a stopped instance's route active: registry), and the terminated NAT instance ours replaced.
    prefix = s.names["nat_instance_prefix"]
    nat = _nat_instance(ec2, subnets[0], tags("instance", f"{prefix}staging-0"))
    ec2.stop_instances(InstanceIds=[nat])
    rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=tags(
        "route-table", f"{s.names['private_route_table_prefix']}staging-0"))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", InstanceId=nat)
    ROUTE_STATES[(rt, "0.0.0.0/0")] = "blackhole"
    old_nat = _nat_instance(ec2, s.public_subnet_ids[0], [{"ResourceType": "instance", "Tags": [
        {"Key": "Name", "Value": f"{prefix}0"}]}])
    ec2.terminate_instances(InstanceIds=[old_nat])
    # Load balancing: staging's NLB and target group, and our relay TG's predecessor (name_prefix replacement).
    nlb = elbv2.create_load_balancer(Name=f"{s.names['nlb']}-staging", Subnets=subnets, Scheme="internet-facing",
                                     Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name=f"{s.names['tg_relay']}-staging", Protocol="TCP", Port=25, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(LoadBalancerArn=nlb, Port=25, Protocol="TCP",
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    elbv2.create_target_group(Name=f"{s.names['tg_relay']}-old", Protocol="TCP", Port=25, VpcId=s.vpc_id, TargetType="ip")
    if "tg_imap" not in s.tg_arns:  # 2026-08: the imap target group that 53ac616e deleted, left behind (no listener)
        elbv2.create_target_group(Name=s.names["tg_imap"], Protocol="TCP", Port=143, VpcId=s.vpc_id, TargetType="ip")
    ACM_OVERRIDES[staging_cert]["InUseBy"] = [nlb]
    # Cognito pool names need not be unique: staging's pool is "cabal" too, with its own cabal_admin_client and
    # without our probe user. AWS promises no order; moto lists by creation: staging's first (backend).
    idp = s.client("cognito-idp")
    pool = idp.create_user_pool(PoolName=s.names["cognito_pool"])["UserPool"]["Id"]
    idp.create_user_pool_client(UserPoolId=pool, ClientName=s.names["cognito_client"],
                                ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    _first(backend("cognito-idp", s).user_pools, pool)
    # Private zones are unique by name per VPC only: staging's is "<cd>" too, its records of our names pointing at
    # staging's NLB. AWS promises no order; moto lists by creation: staging's first (backend).
    _staging_private_zone(s, vpc, elbv2.describe_load_balancers(LoadBalancerArns=[nlb])["LoadBalancers"][0]["DNSName"])
    # A quiesced staging cluster with services of our names. No tasks: moto's list_tasks matches the cluster by
    # substring ("cabal-mail" in ".../cabal-mail-staging"), which real ECS never does.
    ecs = s.client("ecs")
    cluster = f"{s.names['cluster']}-staging"
    ecs.create_cluster(clusterName=cluster)
    for key in ("service_imap", "service_smtp_in"):
        family = f"{s.names[key]}-staging"
        td = ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": key.removeprefix("service_"), "image": "cabal/staging", "memory": 512}])["taskDefinition"]
        ecs.create_service(cluster=cluster, serviceName=s.names[key], taskDefinition=td["taskDefinitionArn"],
                           desiredCount=0)


def _staging_private_zone(s: Seeded, vpc: str, target: str) -> None:
    from moto.backends import get_backend

    r53 = s.client("route53")
    zone = r53.create_hosted_zone(Name=s.control_domain, CallerReference=f"staging-{uuid.uuid4()}",
                                  VPC={"VPCRegion": s.region, "VPCId": vpc},
                                  HostedZoneConfig={"Comment": "Internal control domain", "PrivateZone": True})
    ours = r53.list_resource_record_sets(HostedZoneId=s.private_zone_id)["ResourceRecordSets"]
    r53.change_resource_record_sets(HostedZoneId=zone["HostedZone"]["Id"], ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": r["Name"], "Type": "CNAME", "TTL": 300,
                                                   "ResourceRecords": [{"Value": target}]}}
        for r in ours if r["Type"] in ("A", "CNAME")]})
    _first(get_backend("route53")[s.account_id]["global"].zones, zone["HostedZone"]["Id"].rsplit("/", 1)[1])


def _first(listed: dict, key: str) -> None:
    """Move ``key`` to the front of a moto backend dict (in place): moto lists in insertion order."""
    rest = [(k, v) for k, v in listed.items() if k != key]
    value = listed[key]
    listed.clear()
    listed.update([(key, value), *rest])


def _nat_instance(ec2, subnet: str, tag_spec: list[dict]) -> str:
    return ec2.run_instances(ImageId=NAT_AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnet,
                             TagSpecifications=tag_spec)["Instances"][0]["InstanceId"]


# --- past deployments and resolved incidents --------------------------------------------------------


def _past_deployments(s: Seeded) -> None:
    now = s.now
    key = "service_smtp_in"  # no container health check, no Cloud Map name: its task can be replaced freely
    reason, code = "Essential container in task exited", "EssentialContainerExited"
    current, t = s.task_arns[key], now - timedelta(minutes=56)
    for _ in range(3):
        stop_task(s, key, current, reason=reason, stop_code=code, stopped_at=t, exit_code=1)
        service_event(s, key, f"has stopped 1 running tasks: (task {current.rsplit('/', 1)[1]}).", t)
        current, ip = place_task(s, key, t + timedelta(minutes=1, seconds=30))
        service_event(s, key, f"has started 1 tasks: (task {current.rsplit('/', 1)[1]}).", t + timedelta(minutes=1))
        t += timedelta(minutes=5, seconds=20)
    s.task_arns[key], s.task_ips[key] = current, ip
    service_event(s, key, "has reached a steady state.", now - timedelta(minutes=36))
    ci = s.container_instance_arn.rsplit("/", 1)[1]
    for i in range(2):
        service_event(s, "service_imap", "was unable to place a task because no container instance met all of its "
                      f"requirements. The closest matching (container-instance {ci}) has insufficient memory available. "
                      "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.",
                      now - timedelta(days=3, minutes=30 - 5 * i))
    service_event(s, "service_imap", "has reached a steady state.", now - timedelta(days=3, minutes=10))
    for svc in backend("ecs", s).services.values():  # ECS lists events newest first
        svc.events.sort(key=lambda e: e["createdAt"], reverse=True)


def _certbot_history(s: Seeded) -> None:
    group, cd, run_at = s.names["certbot_log_group"], s.control_domain, s.last_certbot_run()
    # The scheduled run failed; the operator re-ran it by hand 20 minutes later, in the same warm environment:
    # one log stream, the failure first.
    failed_at = run_at - timedelta(minutes=20)
    put_log_lines(s, group, s.certbot_log_stream, _failed_lines(failed_at, cd, [
        f"Detail: DNS problem: SERVFAIL looking up TXT for _acme-challenge.{cd} - the domain's nameservers may be "
        "malfunctioning"]))
    _metric(s, failed_at, errors=1)
    # A manual run 20 days ago that Let's Encrypt rate-limited (older than the 7-day window), in its own stream.
    limited_at = s.now - timedelta(days=20)
    put_log_lines(s, group, certbot_stream_name(limited_at), _failed_lines(limited_at, cd, [
        '  "type": "urn:ietf:params:acme:error:rateLimited",', "HTTP 429",
        "too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s"]))
    _metric(s, limited_at, errors=1)
    # The schedule's earlier runs, as far back as the group's retention keeps them (30 days at 2026-05, 365 at HEAD).
    retention = 30 if s.topology.name == "2026-05" else 365
    for n in range(1, 7):
        at = run_at - timedelta(days=60 * n)
        if (s.now - at).days < retention:
            put_log_lines(s, group, certbot_stream_name(at), certbot_success_lines(s, at))
            _metric(s, at, errors=0)


def _fail2ban_history(s: Seeded) -> None:
    """Where fail2ban is configured (2026-05): a ban of the NAT addresses three days ago, since unbanned (older than
    the 24 h the check reads), and today's bans of a scanner that is not a probe source."""
    if not s.topology.fail2ban:
        return
    fail2ban_bans(s, tuple(s.nat_eips), minutes_ago=3 * 24 * 60)
    at = s.now - timedelta(days=3) + timedelta(minutes=10)
    put_log_lines(s, f"/ecs/{s.names['service_imap']}", s.imap_log_stream, [
        (at, f"{at:%Y-%m-%d %H:%M:%S},412 fail2ban.actions [1]: NOTICE [dovecot] Unban {ip}") for ip in s.nat_eips])
    fail2ban_bans(s, ("198.51.100.23",), minutes_ago=200)


def _failed_lines(at: datetime, cd: str, middle: list[str]) -> list[tuple[datetime, str]]:
    rid = str(uuid.uuid4())
    msgs = [f"START RequestId: {rid} Version: $LATEST", f"Running certbot for *.{cd}",
            f"Requesting a certificate for *.{cd}", *middle, "[ERROR] RuntimeError: certbot exited with code 1",
            f"END RequestId: {rid}",
            f"REPORT RequestId: {rid}\tDuration: 12004.17 ms\tBilled Duration: 12005 ms\tMemory Size: 512 MB\t"
            "Max Memory Used: 176 MB"]
    return [(at + timedelta(seconds=2 * i), m) for i, m in enumerate(msgs)]


def _metric(s: Seeded, at: datetime, errors: int) -> None:
    dims = [{"Name": "FunctionName", "Value": s.names["certbot_function"]}]
    s.client("cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": 1, "Unit": "Count"},
        {"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": errors, "Unit": "Count"}])


def _nacls(s: Seeded) -> None:
    ec2 = s.client("ec2")
    # Left from an incident: the blocking NACL, no longer associated with any subnet (they went back to the default).
    left = ec2.create_network_acl(VpcId=s.vpc_id, TagSpecifications=[{"ResourceType": "network-acl", "Tags": [
        {"Key": "Name", "Value": "cabal-manual-block"}]}])["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=left, RuleNumber=90, Egress=False, RuleAction="deny",
                                 CidrBlock="0.0.0.0/0", Protocol="-1")
    # On the default NACL: a deny that an earlier-numbered allow-all undid (rules match lowest number first).
    ec2.create_network_acl_entry(NetworkAclId=s.default_nacl_id, RuleNumber=10, Egress=False, RuleAction="allow",
                                 CidrBlock="0.0.0.0/0", Protocol="-1")
    ec2.create_network_acl_entry(NetworkAclId=s.default_nacl_id, RuleNumber=90, Egress=False, RuleAction="deny",
                                 CidrBlock="0.0.0.0/0", Protocol="6", PortRange={"From": 25, "To": 25})


# --- more than one page ---------------------------------------------------------------------------------


def _pages(s: Seeded, certs: dict[str, str]) -> None:
    cd, r53 = s.control_domain, s.client("route53")
    changes = []
    for i in range(MAIL_SUBDOMAINS):
        sub = f"{hashlib.sha256(f'{cd}|{i}'.encode()).hexdigest()[:8]}.{cd}."
        changes += [_rrs(sub, "MX", f"10 smtp-in.{cd}."), _rrs(sub, "TXT", f'"v=spf1 include:{cd} ~all"'),
                    _rrs(f"cabal._domainkey.{sub}", "CNAME", f"cabal._domainkey.{cd}")]
    r53.change_resource_record_sets(HostedZoneId=s.public_zone_id, ChangeBatch={"Changes": changes})
    for domain in ("example.org", "example.net", "example.com"):
        zid = r53.create_hosted_zone(Name=domain, CallerReference=f"mail-{domain}-{uuid.uuid4()}")["HostedZone"]["Id"]
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
            _rrs(f"{domain}.", "MX", f"10 smtp-in.{cd}."), _rrs(f"{domain}.", "TXT", f'"v=spf1 include:{cd} ~all"')]})
    # The streams of past imap tasks, beyond one describe_log_streams page of 50. Nothing reads them but pages: set on
    # the backend (through the API, 60 streams cost seconds).
    group = backend("logs", s).groups[f"/ecs/{s.names['service_imap']}"]
    for i in range(60):
        stream, at = f"imap/imap/{uuid.uuid4().hex}", s.now - timedelta(days=1, hours=6 * i)
        group.create_log_stream(stream)
        group.streams[stream].put_log_events([{"timestamp": int(at.timestamp() * 1000),
                                               "message": f"{at:%Y-%m-%d %H:%M:%S} master: Info: Dovecot v2.3.21 starting up"}])
    if "service_uptime_kuma" in s.topology.services():  # the monitoring module's other services
        ecs = s.client("ecs")
        for name in MONITORING_SERVICES:
            td = ecs.register_task_definition(family=name, containerDefinitions=[
                {"name": name.removeprefix("cabal-"), "image": f"cabal/{name}", "memory": 256}])["taskDefinition"]
            ecs.create_service(cluster=s.names["cluster"], serviceName=name, taskDefinition=td["taskDefinitionArn"],
                               desiredCount=1)
    # The relay target group also lists what a replacement leaves: a draining target and an unused one (registry).
    elbv2, tg = s.client("elbv2"), s.tg_arns["tg_relay"]
    for ip, state in (("10.0.1.250", ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")),
                      ("10.0.2.251", ("unused", "Target.InvalidState", "Target is in the stopped state"))):
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": ip, "Port": 25}])
        TARGET_HEALTH[(tg, ip)] = state
    _distribution(s, f"admin.staging.{cd}", certs["staging"], "Cabal admin website (staging)")
    _distribution(s, "www.example.org", certs["site"], "example.org site")


def _rrs(name: str, rtype: str, value: str, ttl: int = 300) -> dict:
    return {"Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": rtype, "TTL": ttl,
                                                      "ResourceRecords": [{"Value": value}]}}


def _distribution(s: Seeded, alias: str, cert_arn: str, comment: str) -> None:
    s.client("cloudfront").create_distribution(DistributionConfig={
        "CallerReference": f"noise-{uuid.uuid4()}", "Comment": comment, "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [alias]},
        "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": f"{alias}.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}}, "MinTTL": 0},
        "ViewerCertificate": {"ACMCertificateArn": cert_arn, "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": "TLSv1.2_2021"}})


# --- legal spellings ---------------------------------------------------------------------------------


def _spellings(s: Seeded) -> None:
    cd, r53 = s.control_domain, s.client("route53")
    zones = {"public": s.public_zone_id, "private": s.private_zone_id}
    for zone, zid in zones.items():
        rrsets = r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
        changes = []
        for r in rrsets:
            host = r["Name"].rstrip(".").lower()
            if host == f"smtp-in.{cd}" and r.get("AliasTarget"):
                # upper-case name (only the label: moto refuses a zone part in another case, which Route 53, comparing
                # names case-insensitively, accepts); the alias target as the console writes it: dualstack., mixed
                # case, trailing dot
                alias = dict(r["AliasTarget"], DNSName="dualstack." + r["AliasTarget"]["DNSName"].rstrip(".").title() + ".")
                changes += [{"Action": "DELETE", "ResourceRecordSet": r},
                            {"Action": "CREATE", "ResourceRecordSet": {**r, "Name": f"SMTP-IN.{cd}.",
                                                                       "AliasTarget": alias}}]
            elif host == f"admin.{cd}" and r["Type"] == "CNAME":
                value = r["ResourceRecords"][0]["Value"].rstrip(".")
                value = value.upper() + "." if zone == "public" else value  # with and without the trailing dot
                changes += [{"Action": "DELETE", "ResourceRecordSet": r},
                            {"Action": "CREATE", "ResourceRecordSet": {**r, "Name": f"Admin.{cd}.",
                                                                       "ResourceRecords": [{"Value": value}]}}]
            elif zone == "public" and r["Type"] == "CNAME" and r["Name"].lower() == s.acm_validation_name.lower():
                changes += [{"Action": "DELETE", "ResourceRecordSet": r},  # the value without its trailing dot
                            {"Action": "CREATE", "ResourceRecordSet": {**r, "ResourceRecords": [
                                {"Value": s.acm_validation_value.rstrip(".").upper()}]}}]
        # Route 53 returns '*' as its octal escape
        changes.append(_rrs(f"\\052.staging.{cd}.", "CNAME", f"{s.names['nlb']}-staging.elb.{s.region}.amazonaws.com"))
        r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
    if s.topology.name != "2026-05":  # cabal-infra's modules/caa (2026-07-10), in legal spellings of its own
        values = ['0 issue "amazon.com"', '128 issue "amazontrust.com"', '0 ISSUE "awstrust.com; cansignhttpexchanges=yes"',
                  '0 Issue "AmazonAWS.com"', '0 issue "letsencrypt.org; validationmethods=dns-01"',
                  '0 issuewild "amazon.com"', '128 IssueWild "amazontrust.com"', '0 issuewild "awstrust.com"',
                  '0 issuewild "amazonaws.com"', '0 issuewild " letsencrypt.org ; accounturi=https://acme-v02.api.'
                  'letsencrypt.org/acme/acct/1234567890"', f'0 iodef "mailto:caa-reports@mail-admin.{cd}"',
                  '0 issuemail ";"']
        r53.change_resource_record_sets(HostedZoneId=s.public_zone_id, ChangeBatch={"Changes": [
            {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"{cd}.", "Type": "CAA", "TTL": 3600,
                                                       "ResourceRecords": [{"Value": v} for v in values]}}]})
