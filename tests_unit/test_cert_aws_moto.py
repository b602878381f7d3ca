"""The cert-expiring facts and judges against moto (in-process), each check proven green and red.

State is seeded with boto3 calls in each test; what moto cannot model (a RenewalSummary, a task's
startedAt) is patched onto its backend, as moto-and-tooling-notes sections 1 and 3 show.
"""

from __future__ import annotations

import base64
import io
import json
import shlex
import time
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import moto.settings
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from moto.acm.models import CertBundle
from moto.backends import get_backend

from cabal_checks import facts as f
from cabal_checks.aws.reader import AwsReader
from cabal_checks.certs import chain_facts
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.judge import acm, cert_wire
from cabal_checks.judge import letsencrypt as le
from cabal_checks.shapes import CertbotActivity
from cabal_checks.verdict import NotApplicable

CD = "cabal.example.test"
WILDCARD = f"*.{CD}"
REGION = "us-east-1"
ACCOUNT = "123456789012"
KEY_SENTINEL = "-----BEGIN PRIVATE KEY-----\nSENTINEL-KEY-MATERIAL\n-----END PRIVATE KEY-----\n"


@pytest.fixture(autouse=True)
def aws(mock_account, monkeypatch):
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", -1)
    # Every run's reader shares one set of boto3 clients (a client costs ~0.1 s to build); each
    # Context still has its own memo, so a judgement after a change sees the change.
    build = AwsReader.client
    monkeypatch.setattr(AwsReader, "client", lambda self, service: READER_CLIENTS.get(service) or
                        READER_CLIENTS.setdefault(service, build(self, service)))


def context(now: str | None = None, topology: str = "2026-05") -> Context:
    """A fresh run (the reader memoizes every call, so each judgement after a change needs its own)."""
    cli = {"control_domain": CD, "region": REGION, "topology": topology, "now": now}
    return Context(load_settings(cli, env={}))


READER_CLIENTS: dict = {}
SEED_CLIENTS: dict = {}


def client(name: str):
    """A boto3 client for seeding state (moto intercepts every client, whenever it was built)."""
    if name not in SEED_CLIENTS:
        SEED_CLIENTS[name] = boto3.client(name, region_name=REGION)
    return SEED_CLIENTS[name]


@pytest.fixture
def renewal(monkeypatch):
    """``renewal[arn] = {...}``: the RenewalSummary (and other keys) describe_certificate reports for ``arn``."""
    patches: dict[str, dict] = {}
    original = CertBundle.describe

    def describe(self):
        out = original(self)
        extra = patches.get(self.arn)
        if extra:
            out["Certificate"].update(RenewalEligibility="ELIGIBLE", **extra)
        return out

    monkeypatch.setattr(CertBundle, "describe", describe)
    return patches


# --- ACM seeding -----------------------------------------------------------------------------------


def request_cert(tag: str = "cabal-nlb") -> str:
    return client("acm").request_certificate(DomainName=WILDCARD, ValidationMethod="DNS",
                                             Tags=[{"Key": "Name", "Value": tag}])["CertificateArn"]


def public_zone() -> str:
    return client("route53").create_hosted_zone(Name=CD, CallerReference=str(time.time()))["HostedZone"]["Id"]


def upsert(zone_id: str, name: str, rtype: str, *values: str, action: str = "UPSERT") -> None:
    client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [{
        "Action": action, "ResourceRecordSet": {"Name": name, "Type": rtype, "TTL": 60,
                                                "ResourceRecords": [{"Value": v} for v in values]}}]})


def validation_record(arn: str) -> dict:
    cert = client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    return cert["DomainValidationOptions"][0]["ResourceRecord"]


def acm_world() -> tuple[str, str]:
    """An ISSUED wildcard with its validation CNAME in the public zone."""
    arn = request_cert()
    zone_id = public_zone()
    rr = validation_record(arn)
    upsert(zone_id, rr["Name"], "CNAME", rr["Value"])
    return arn, zone_id


def acm_view(now: str | None = None) -> dict | None:
    return f.acm_certificate(context(now))


def in_use(arn: str) -> None:
    get_backend("acm")[ACCOUNT][REGION].set_certificate_in_use_by(arn, "arn:aws:elasticloadbalancing:lb/x")


# --- ACM: step 1 -----------------------------------------------------------------------------------


def test_acm_certificate_found_issued_and_absent():
    assert not acm.issued(acm_view(), WILDCARD, "cabal-nlb", datetime.now(UTC)).ok  # nothing yet
    arn = request_cert()
    view = acm_view()
    assert view.cert["CertificateArn"] == arn and view.leaf is not None
    v = acm.issued(view, WILDCARD, "cabal-nlb", datetime.now(UTC))
    assert v.ok, v.render()


def test_acm_not_issued_is_red(monkeypatch):
    monkeypatch.setattr(moto.settings, "ACM_VALIDATION_WAIT", 3600)
    arn = request_cert()
    v = acm.issued(acm_view(), WILDCARD, "cabal-nlb", datetime.now(UTC))
    assert not v.ok and "PENDING_VALIDATION, not ISSUED" in v.summary
    assert f"--certificate-arn {arn}" in v.render() and f"--region {REGION}" in v.render()


def test_acm_two_certificates_take_the_one_in_use_and_say_so():
    old, new = request_cert(), request_cert()
    in_use(old)
    view = acm_view()
    assert view.cert["CertificateArn"] == old
    assert "2 certificates named" in view.why and "in use by 1" in view.why and new in view.why


def test_acm_untagged_certificate_is_still_found_and_said():
    request_cert(tag="something-else")
    view = acm_view()
    assert view is not None and "none carries tag Name=cabal-nlb" in view.why


def test_acm_renewal_eligibility(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    bad = acm.renewal_eligible(acm_view(), WILDCARD, "cabal-nlb", now)
    assert not bad.ok and "not in use by any resource" in bad.render()
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "SUCCESS", "UpdatedAt": now}}
    assert acm.renewal_eligible(acm_view(), WILDCARD, "cabal-nlb", now).ok


def test_acm_renewal_failed_caa_error_says_the_real_enum(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    assert acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", now).ok  # no renewal under way
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "FAILED", "RenewalStatusReason": "CAA_ERROR",
                                       "DomainValidationOptions": [], "UpdatedAt": now}}
    v = acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", now)
    assert not v.ok and "CAA_ERROR" in v.summary and "DOMAIN_NOT_ALLOWED_BY_CAA is not an ACM value" in v.summary
    assert v.step == acm.STEP1 and "aws acm describe-certificate" in v.render()


def test_acm_renewal_failed_other_reason(renewal):
    arn = request_cert()
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "FAILED", "RenewalStatusReason": "DOMAIN_VALIDATION_DENIED",
                                       "UpdatedAt": datetime.now(UTC)}}
    v = acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", datetime.now(UTC))
    assert not v.ok and "DOMAIN_VALIDATION_DENIED" in v.summary


def test_acm_renewal_in_progress_green_pending_validation_red(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "PENDING_AUTO_RENEWAL", "UpdatedAt": now - timedelta(hours=1)}}
    assert acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", now).ok
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "SUCCESS", "UpdatedAt": now - timedelta(hours=1)}}
    assert acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", now).ok
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "PENDING_VALIDATION", "UpdatedAt": now - timedelta(hours=30),
                                       "DomainValidationOptions": [{"DomainName": WILDCARD,
                                                                    "ValidationStatus": "PENDING_VALIDATION",
                                                                    "ResourceRecord": validation_record(arn)}]}}
    v = acm.renewal_not_stuck(acm_view(), WILDCARD, "cabal-nlb", now)
    assert not v.ok and "stuck in PENDING_VALIDATION for 30 h" in v.summary and "acm-validations.aws" in v.render()


# --- ACM: step 2 (DNS) -----------------------------------------------------------------------------


def zone_facts() -> dict | None:
    return f.public_zone(context())


def test_acm_validation_record_present_green():
    acm_world()
    v = acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb")
    assert v.ok, v.render()


def test_acm_validation_record_case_and_trailing_dot_do_not_matter():
    arn = request_cert()
    zone_id = public_zone()
    rr = validation_record(arn)
    upsert(zone_id, rr["Name"].rstrip("."), "CNAME", rr["Value"].rstrip(".").upper())  # moto refuses upper-case names
    assert acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb").ok


def test_acm_validation_record_deleted_gives_exact_upsert():
    arn, zone_id = acm_world()
    rr = validation_record(arn)
    upsert(zone_id, rr["Name"], "CNAME", rr["Value"], action="DELETE")
    v = acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb")
    assert not v.ok and f"missing: {rr['Name']}" in v.render()
    argv = shlex.split(v.next[0])
    assert argv[:5] == ["aws", "route53", "change-resource-record-sets", "--hosted-zone-id", zone_id.split("/")[-1]]
    change = json.loads(argv[-1])["Changes"][0]
    assert change["Action"] == "UPSERT"
    assert change["ResourceRecordSet"]["ResourceRecords"] == [{"Value": rr["Value"]}]
    # the command restores it: apply it to moto and the check is green again
    client("route53").change_resource_record_sets(HostedZoneId=argv[4], ChangeBatch=json.loads(argv[-1]))
    assert acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb").ok


def test_acm_validation_record_altered_is_red():
    arn, zone_id = acm_world()
    rr = validation_record(arn)
    upsert(zone_id, rr["Name"], "CNAME", "_wrong.acm-validations.aws.")
    v = acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb")
    assert not v.ok and "wrong:" in v.render() and "_wrong.acm-validations.aws" in v.render()


def test_acm_renewal_validation_records_are_checked_too(renewal):
    arn, _ = acm_world()
    extra = {"Name": f"_renewal.{CD}.", "Type": "CNAME", "Value": "_r.acm-validations.aws."}
    renewal[arn] = {"RenewalSummary": {"RenewalStatus": "PENDING_VALIDATION", "UpdatedAt": datetime.now(UTC),
                                       "DomainValidationOptions": [{"DomainName": WILDCARD, "ResourceRecord": extra}]}}
    v = acm.validation_records_present(acm_view(), zone_facts(), WILDCARD, "cabal-nlb")
    assert not v.ok and "_renewal." in v.render()


def test_caa_in_moto_zone():
    zone_id = public_zone()
    upsert(zone_id, f"{CD}.", "CAA", '0 issue "letsencrypt.org"', '0 issuewild "letsencrypt.org"')
    assert le.caa_allows_letsencrypt(zone_facts(), WILDCARD).ok
    assert not acm.caa_allows_amazon(zone_facts(), WILDCARD).ok
    upsert(zone_id, f"{CD}.", "CAA", '0 issue "letsencrypt.org"', '0 issuewild "letsencrypt.org"',
           '0 issuewild "amazon.com"', '0 issue "amazon.com"')
    assert acm.caa_allows_amazon(zone_facts(), WILDCARD).ok


# --- ACM: step 3 (consumers) -----------------------------------------------------------------------


def load_balancers(cert_arn: str, alb_cert: str | None = None) -> None:
    ec2, elb = client("ec2"), client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{z}")["Subnet"]["SubnetId"]
               for i, z in ((1, "a"), (2, "b"))]
    nlb = elb.create_load_balancer(Name="cabal-nlb", Type="network", Subnets=subnets)["LoadBalancers"][0]
    tg = elb.create_target_group(Name="cabal-ecs-imap-tg", Protocol="TCP", Port=143, VpcId=vpc,
                                 TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(LoadBalancerArn=nlb["LoadBalancerArn"], Protocol="TLS", Port=993,
                        Certificates=[{"CertificateArn": cert_arn}],
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}])
    sg = ec2.create_security_group(GroupName="cabal-uptime-alb", Description="alb", VpcId=vpc)["GroupId"]
    alb = elb.create_load_balancer(Name="cabal-uptime-alb", Subnets=subnets, SecurityGroups=[sg])["LoadBalancers"][0]
    ntfy = elb.create_target_group(Name="cabal-ntfy", Protocol="HTTP", Port=80, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                        Certificates=[{"CertificateArn": alb_cert or cert_arn}],
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": ntfy}])


def distribution(cert_arn: str) -> str:
    config = {
        "CallerReference": str(time.time()), "Comment": "Cabal admin website", "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [f"admin.{CD}"]},
        "Origins": {"Quantity": 1, "Items": [{"Id": "cabal_admin_s3", "DomainName": f"admin.{CD}.s3.amazonaws.com",
                                               "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "cabal_admin_s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "MinTTL": 0, "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                                 "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        "ViewerCertificate": {"ACMCertificateArn": cert_arn, "SSLSupportMethod": "sni-only",
                              "MinimumProtocolVersion": "TLSv1.2_2021"},
    }
    dist_id = client("cloudfront").create_distribution(DistributionConfig=config)["Distribution"]["Id"]
    client("ssm").put_parameter(Name="/cabal/react-config/cf-distribution", Value=dist_id, Type="String")
    return dist_id


CONSUMERS = {"nlb": ("nlb", 993), "alb": ("alb", 443), "cloudfront": ("cloudfront", f"admin.{CD}")}


@pytest.mark.parametrize("front", ["nlb", "alb", "cloudfront"])
def test_acm_consumer_uses_current_certificate(front):
    arn = request_cert()
    load_balancers(arn)
    distribution(arn)
    ctx = context()
    v = acm.consumer_uses_certificate(f.acm_consumer(ctx, CONSUMERS[front]), f.acm_certificate(ctx), WILDCARD,
                                      "cabal-nlb", ctx.settings.names)
    assert v.ok, v.render()


def test_acm_listener_pinned_to_old_arn():
    old = request_cert(tag="cabal-old")
    current = request_cert()
    load_balancers(current, alb_cert=old)
    ctx = context()
    v = acm.consumer_uses_certificate(f.acm_consumer(ctx, CONSUMERS["alb"]), f.acm_certificate(ctx), WILDCARD, "cabal-nlb",
                                      ctx.settings.names)
    assert not v.ok and "pinned to an old ARN" in v.summary and old in v.summary and current in v.summary
    text = v.render()
    assert "terraform apply" in text and f"--certificates CertificateArn={current}" in text
    assert "cabal-uptime-alb:443" in v.summary


def test_acm_cloudfront_pinned_to_old_arn():
    old = request_cert(tag="cabal-old")
    current = request_cert()
    dist_id = distribution(old)
    ctx = context()
    v = acm.consumer_uses_certificate(f.acm_consumer(ctx, CONSUMERS["cloudfront"]), f.acm_certificate(ctx), WILDCARD,
                                      "cabal-nlb", ctx.settings.names)
    assert not v.ok and "pinned to an old ARN" in v.summary and f"--id {dist_id}" in v.render()
    assert current in v.summary and old in v.summary


def test_acm_consumer_missing_listener_and_param():
    request_cert()
    ctx = context()
    nlb = acm.consumer_uses_certificate(f.acm_consumer(ctx, CONSUMERS["nlb"]), f.acm_certificate(ctx), WILDCARD, "cabal-nlb",
                                        ctx.settings.names)
    cf = acm.consumer_uses_certificate(f.acm_consumer(ctx, CONSUMERS["cloudfront"]), f.acm_certificate(ctx), WILDCARD,
                                       "cabal-nlb", ctx.settings.names)
    assert not nlb.ok and "load balancer cabal-nlb not found" in nlb.summary
    assert not cf.ok and f"no CloudFront distribution carries the alias admin.{CD}" in cf.summary


def served_from_pem(ep, *pem: str | bytes) -> cert_wire.Served:
    ders = tuple(base64.b64encode(x509.load_pem_x509_certificate(p.encode() if isinstance(p, str) else p)
                                  .public_bytes(Encoding.DER)).decode() for p in pem)
    return cert_wire.Served(ep.spec, "203.0.113.1:443", tuple(chain_facts(ders)), True, "")


def test_acm_served_certificate_is_the_acm_one():
    arn = request_cert()
    ctx = context()
    admin = next(e for e in ctx.settings.topology.endpoints if e.probe == "admin_app")
    pem = client("acm").get_certificate(CertificateArn=arn)["Certificate"]
    v = acm.served_is_acm(admin, served_from_pem(admin, pem), f.acm_certificate(ctx), WILDCARD, "cabal-nlb",
                          ctx.settings.names)
    assert v.ok, v.render()
    other = trustme.CA().issue_cert(WILDCARD).cert_chain_pems[0].bytes()
    bad = acm.served_is_acm(admin, served_from_pem(admin, other), f.acm_certificate(ctx), WILDCARD, "cabal-nlb",
                            ctx.settings.names)
    assert not bad.ok and "does not serve the ACM certificate" in bad.summary and "pinned to an old ARN" in bad.render()


def test_acm_escalation_below_14_days(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    assert acm.escalation(acm_view(), WILDCARD, "cabal-nlb", now).ok
    renewal[arn] = {"NotAfter": now + timedelta(days=10),
                    "RenewalSummary": {"RenewalStatus": "PENDING_VALIDATION", "UpdatedAt": now - timedelta(days=9)}}
    v = acm.escalation(acm_view(), WILDCARD, "cabal-nlb", now)
    assert not v.ok and v.step == acm.ESC
    assert v.next[0] == f"aws acm request-certificate --domain-name '*.{CD}' --validation-method DNS"
    assert "DISRUPTIVE" in v.render() and "new ARN" in v.render().replace("NEW", "new")
    for consumer in ("CloudFront", "ALB", "NLB"):
        assert consumer in v.render()


def test_acm_escalation_of_an_expired_certificate_says_expired_not_negative_days(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    renewal[arn] = {"NotAfter": now - timedelta(days=2)}
    v = acm.escalation(acm_view(), WILDCARD, "cabal-nlb", now)
    assert not v.ok and f"*.{CD} has EXPIRED 2.0 days ago (< 14)" in v.summary, v.summary


def test_acm_escalation_forecast_with_now(renewal):
    arn = request_cert()
    now = datetime.now(UTC)
    renewal[arn] = {"NotAfter": now + timedelta(days=20)}
    assert acm.escalation(acm_view(), WILDCARD, "cabal-nlb", now).ok
    assert not acm.escalation(acm_view("+7d"), WILDCARD, "cabal-nlb", now + timedelta(days=7)).ok


# --- Let's Encrypt seeding -------------------------------------------------------------------------

FN, GROUP = "cabal-certbot-renewal", "/cabal/lambda/certbot-renewal"


def certbot_function() -> str:
    role = client("iam").create_role(RoleName="cabal-certbot-renewal-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return client("lambda").create_function(FunctionName=FN, Runtime="python3.12", Role=role, Handler="handler.handler",
                                            Code={"ZipFile": buf.getvalue()}, Timeout=300)["FunctionArn"]


def schedule(fn_arn: str, state: str = "ENABLED", expression: str = "rate(60 days)") -> None:
    client("scheduler").create_schedule(Name=FN, ScheduleExpression=expression, State=state,
                                        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60},
                                        Target={"Arn": fn_arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler"})


def log_run(*messages: str, ago: timedelta = timedelta(hours=1), stream: str = "") -> None:
    logs = client("logs")
    if GROUP not in [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]]:
        logs.create_log_group(logGroupName=GROUP)
    stream = stream or f"2026/11/20/[$LATEST]{int(ago.total_seconds())}"
    logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    start = int((time.time() - ago.total_seconds()) * 1000)
    events = [{"timestamp": start + i, "message": m} for i, m in enumerate((f"Running certbot for {WILDCARD}",) + messages)]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def metric(name: str, value: float, ago: timedelta = timedelta(hours=1)) -> None:
    client("cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[{  # moto accepts AWS/; AWS would not
        "MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": FN}], "Value": value,
        "Timestamp": datetime.now(UTC) - ago}])


def activity(now: str | None = None) -> CertbotActivity:
    return f.certbot_activity(context(now))


def names() -> dict:
    return context().settings.names


# --- Let's Encrypt: step 1 -------------------------------------------------------------------------


def test_certbot_function_exists_green_red():
    assert not le.function_exists(f.certbot_function(context()), names()).ok
    certbot_function()
    v = le.function_exists(f.certbot_function(context()), names())
    assert v.ok, v.render()


def test_certbot_schedule_enabled_green_red():
    assert "not found" in le.schedule_enabled(f.certbot_schedule(context()), names()).summary
    schedule(certbot_function())
    assert le.schedule_enabled(f.certbot_schedule(context()), names()).ok
    client("scheduler").update_schedule(Name=FN, ScheduleExpression="rate(60 days)", State="DISABLED",
                                        FlexibleTimeWindow={"Mode": "OFF"},
                                        Target={"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FN}",
                                                "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler"})
    v = le.schedule_enabled(f.certbot_schedule(context()), names())
    assert not v.ok and "DISABLED" in v.summary and "aws scheduler get-schedule --name cabal-certbot-renewal" in v.render()


def test_certbot_schedule_targets_another_function():
    schedule(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:something-else")
    v = le.schedule_enabled(f.certbot_schedule(context()), names())
    assert not v.ok and "something-else" in v.summary


def test_certbot_ran_within_period_green_and_forecast_red():
    schedule(certbot_function())
    log_run("Updated SSM parameter /cabal/control_domain_ssl_cert")
    sched = f.certbot_schedule(context())
    assert le.ran_within_period(sched, activity(), datetime.now(UTC), names()).ok
    later = context("+62d")
    v = le.ran_within_period(sched, f.certbot_activity(later), later.settings.now, names())
    assert not v.ok and "rate(60 days)" in v.render() and "24 h grace" in v.summary
    assert "aws logs tail /cabal/lambda/certbot-renewal" in v.render()


def test_a_now_ahead_of_the_logs_does_not_blame_the_runs_the_schedule_would_make_before_it():
    """Issue #17: ``--now +85d`` (live: read_at is the real clock) judges the last run when the logs were read; the
    runs the rate(60 days) schedule makes before then are not seen, not missed."""
    schedule(certbot_function())
    log_run("Updated SSM parameter /cabal/control_domain_ssl_cert")
    sched, read_at = f.certbot_schedule(context()), datetime.now(UTC)
    later = context("+85d")
    v = le.ran_within_period(sched, f.certbot_activity(later), later.settings.now, names(), read_at)
    assert v.ok, v.render()
    assert "days after the logs were read" in v.render() and "not seen, not missed" in v.render()
    stale = CertbotActivity(GROUP, ({"lastEventTimestamp": int((time.time() - 70 * 86400) * 1000)},))
    v = le.ran_within_period(sched, stale, later.settings.now, names(), read_at)  # missed before the read: red
    assert not v.ok and "24 h grace" in v.summary, v.render()


def test_certbot_never_ran_is_red_and_names_the_real_log_group():
    schedule(certbot_function())
    v = le.ran_within_period(f.certbot_schedule(context()), activity(), datetime.now(UTC), names())
    assert not v.ok and "/cabal/lambda/certbot-renewal: does not exist" in v.render()
    assert "/aws/lambda/cabal-certbot-renewal" in v.render()  # the runbook's group, named as wrong


def test_certbot_ran_seen_through_invocations_metric_only():
    schedule(certbot_function())
    metric("Invocations", 1, ago=timedelta(days=2))
    assert le.ran_within_period(f.certbot_schedule(context()), activity(), datetime.now(UTC), names()).ok


@pytest.mark.parametrize("line", ["RuntimeError: certbot exited with code 1",
                                  "2026-11-20T03:00:00Z abc Task timed out after 300.00 seconds"])
def test_certbot_last_run_failed_from_log_lines(line):
    log_run("Updated SSM parameter /cabal/control_domain_ssl_cert", ago=timedelta(days=3))
    assert le.last_run_succeeded(activity(), names()).ok
    log_run("Waiting for DNS propagation", line, ago=timedelta(hours=2))
    v = le.last_run_succeeded(activity(), names())
    assert not v.ok and line[-30:] in v.render()


def test_certbot_failure_before_a_good_rerun_is_green():
    log_run("RuntimeError: certbot exited with code 1", ago=timedelta(days=3))
    log_run("Updated SSM parameter /cabal/control_domain_ssl_cert", ago=timedelta(hours=2))
    assert le.last_run_succeeded(activity(), names()).ok


def test_certbot_last_run_failed_from_errors_metric():
    log_run("something", ago=timedelta(hours=2))
    metric("Errors", 1)
    v = le.last_run_succeeded(activity(), names())
    assert not v.ok and "AWS/Lambda Errors 1" in v.render()


@pytest.mark.parametrize("now, period", [(None, 60), ("+20d", 300), ("+70d", 3600)])
def test_certbot_last_run_errors_asked_at_a_period_cloudwatch_still_keeps(now, period):
    """CloudWatch keeps 1-minute points 15 days, 5-minute points 63 days, hourly ones 455 days, and a request finer
    than the data's age allows gets no points at all (moto does not model this, so the request itself is checked):
    with rate(60 days), the last run is mostly older than 15 days, and its Errors were silently lost. (The run is
    an hour old and judged at --now +20d/+70d: CloudWatch Logs, and moto, refuse events over 14 days old.)"""
    log_run("START RequestId: 5f1c Version: $LATEST", "RuntimeError: certbot exited with code 1")
    metric("Errors", 1)
    ctx, asked = context(now), []
    ctx.aws.client("cloudwatch").meta.events.register(
        "provide-client-params.cloudwatch.GetMetricStatistics", lambda params, **_: asked.append(params))
    seen = f.certbot_activity(ctx)
    run = [p for p in asked if p["Period"] != 86400]
    assert [p["Period"] for p in run] == [period], asked
    assert run[0]["StartTime"] <= seen.last_start < run[0]["EndTime"]
    assert run[0]["StartTime"].timestamp() % period == 0 and run[0]["EndTime"].timestamp() % period == 0
    v = le.last_run_succeeded(seen, names())
    assert not v.ok and "AWS/Lambda Errors 1" in v.render(), v.render()


@pytest.mark.parametrize("error_ago, finer", [(None, False), (timedelta(days=9), False), (timedelta(hours=6), True)],
                         ids=["no-errors", "errors-nine-days-before", "errors-earlier-the-same-day"])
def test_certbot_last_run_minutes_are_read_only_when_its_days_had_errors(error_ago, finer):
    """The last run's own minutes are a second request, after the log read that finds the run: made only when the
    daily Errors read beside that read have some from the day before the run to its end (else none, and no chain).
    Either way an earlier run's Errors are not the last run's: green. (Errors in the run itself: the test above.)"""
    log_run("START RequestId: 5f1c Version: $LATEST", "Updated SSM parameter /cabal/control_domain_ssl_cert")
    if error_ago:
        metric("Errors", 1, ago=error_ago)
    ctx, asked = context(), []
    ctx.aws.client("cloudwatch").meta.events.register(
        "provide-client-params.cloudwatch.GetMetricStatistics", lambda params, **_: asked.append(params))
    seen = f.certbot_activity(ctx)
    assert [p["Period"] for p in asked if p["Period"] != 86400] == ([60] if finer else []), asked
    assert seen.last_start is not None and seen.last_run_errors == ()  # none in the run's own minutes
    v = le.last_run_succeeded(seen, names())
    assert v.ok, v.render()


@pytest.mark.parametrize("line", ["urn:ietf:params:acme:error:rateLimited :: too many new orders",
                                  "An unexpected error occurred: HTTP 429",
                                  "Error creating new order :: too many certificates (5) already issued"])
def test_certbot_rate_limited(line):
    log_run("Saving debug log", ago=timedelta(hours=5))
    assert le.not_rate_limited(activity(), datetime.now(UTC), names()).ok
    log_run(line, ago=timedelta(hours=1))
    v = le.not_rate_limited(activity(), datetime.now(UTC), names())
    assert not v.ok and line[:20] in v.render() and v.step == le.STEP3


# --- Let's Encrypt: step 2 (SSM and the tasks) -----------------------------------------------------


@pytest.fixture(scope="module")
def le_ca():
    return trustme.CA(organization_unit_name="Test LE CA")


def le_cert(ca, days: float):
    leaf = ca.issue_cert(WILDCARD, not_before=datetime.now(UTC) - timedelta(days=80 - days),
                         not_after=datetime.now(UTC) + timedelta(days=days))
    return leaf.cert_chain_pems[0].bytes().decode()


def put_ssm(ca, days: float = 80, key: str = KEY_SENTINEL) -> str:
    pem = le_cert(ca, days)
    ssm = client("ssm")
    for name, value in (("/cabal/control_domain_ssl_cert", pem),
                        ("/cabal/control_domain_chain_cert", ca.cert_pem.bytes().decode()),
                        ("/cabal/control_domain_ssl_key", key)):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    return pem


def ssm_facts(key: str = "ssm_cert", now: str | None = None) -> dict | None:
    return f.ssm_certificate(context(now), key)


def test_ssm_certificate_parses_green_red(le_ca):
    cover = [f"smtp-out.{CD}", f"imap.{CD}"]
    assert "not found" in le.ssm_parses(ssm_facts(), "/cabal/control_domain_ssl_cert", cover, names()).summary
    put_ssm(le_ca)
    assert le.ssm_parses(ssm_facts(), "/cabal/control_domain_ssl_cert", cover, names()).ok
    assert le.ssm_parses(ssm_facts("ssm_chain"), "/cabal/control_domain_chain_cert", [], names()).ok
    client("ssm").put_parameter(Name="/cabal/control_domain_ssl_cert", Value="not a pem", Type="SecureString",
                                Overwrite=True)
    v = le.ssm_parses(ssm_facts(), "/cabal/control_domain_ssl_cert", cover, names())
    assert not v.ok and "does not parse" in v.summary and "not a pem" not in v.render()


def test_ssm_certificate_wrong_name_is_red(le_ca):
    client("ssm").put_parameter(Name="/cabal/control_domain_ssl_cert", Type="SecureString",
                                Value=le_ca.issue_cert("mail.other.example").cert_chain_pems[0].bytes().decode())
    v = le.ssm_parses(ssm_facts(), "/cabal/control_domain_ssl_cert", [f"smtp-out.{CD}"], names())
    assert not v.ok and f"does not cover smtp-out.{CD}" in v.summary


@pytest.mark.parametrize("days, warning_ok, critical_ok", [(40, True, True), (15, False, True), (3, False, False)])
def test_ssm_certificate_days_left_tiers(le_ca, days, warning_ok, critical_ok):
    put_ssm(le_ca, days=days)
    now = datetime.now(UTC)
    warn = le.ssm_days_left(ssm_facts(), "/cabal/control_domain_ssl_cert", now, cert_wire.WARNING_DAYS, names())
    crit = le.ssm_days_left(ssm_facts(), "/cabal/control_domain_ssl_cert", now, cert_wire.CRITICAL_DAYS, names())
    assert (warn.ok, crit.ok) == (warning_ok, critical_ok)


def test_ssm_days_left_at_a_now_ahead_of_the_read_is_a_forecast_not_a_lambda_that_failed(le_ca):
    """Issue #17: ``--now +85d`` on a 90-day certificate: red (5 days left then), said as a forecast, without blaming
    the certbot Lambda for runs its schedule makes before then; the next command is its schedule."""
    put_ssm(le_ca, days=90)
    read_at = datetime.now(UTC)
    v = le.ssm_days_left(ssm_facts(), "/cabal/control_domain_ssl_cert", read_at + timedelta(days=85),
                         cert_wire.CRITICAL_DAYS, names(), read_at)
    assert not v.ok and "a forecast" in v.summary and "has not renewed" not in v.summary, v.render()
    assert len(v.next) == 1 and v.next[0].startswith("aws scheduler get-schedule --name cabal-certbot-renewal"), v.next


def smtp_out_world(started_ago: timedelta) -> None:
    ecs = client("ecs")
    ecs.create_cluster(clusterName="cabal-mail")
    ecs.register_task_definition(family="cabal-smtp-out", containerDefinitions=[{"name": "smtp-out", "image": "x",
                                                                                  "memory": 512}])
    ecs.create_service(cluster="cabal-mail", serviceName="cabal-smtp-out", taskDefinition="cabal-smtp-out",
                       desiredCount=1)
    arn = ecs.run_task(cluster="cabal-mail", taskDefinition="cabal-smtp-out", launchType="FARGATE",
                       group="service:cabal-smtp-out")["tasks"][0]["taskArn"]
    get_backend("ecs")[ACCOUNT][REGION].tasks["cabal-mail"][arn].started_at = datetime.now(UTC) - started_ago


def served_is_ssm(served_pem: str | None) -> le.Verdict:
    ctx = context()
    ep = next(e for e in ctx.settings.topology.endpoints if e.scheme == "smtps")
    served = served_from_pem(ep, served_pem) if served_pem else None
    return le.ssm_is_served(ep, f.ssm_certificate(ctx, "ssm_cert"), f.running_tasks(ctx, ep.service), served,
                            "cabal-mail", "cabal-smtp-out", "/cabal/control_domain_ssl_cert")


def test_ssm_certificate_is_served_green(le_ca):
    pem = put_ssm(le_ca)
    smtp_out_world(started_ago=timedelta(minutes=-1))  # the task started after the write
    v = served_is_ssm(pem)
    assert v.ok, v.render()
    assert served_is_ssm(None).ok  # no wire: judged from startedAt


def test_ssm_rotated_ahead_of_the_served_certificate(le_ca):
    smtp_out_world(started_ago=timedelta(days=30))
    old = le_cert(le_ca, days=5)
    put_ssm(le_ca, days=85)  # the Lambda wrote a new one; the task still serves the old one
    v = served_is_ssm(old)
    assert not v.ok and v.step == le.STEP2 and "not redeployed" in v.summary
    assert v.next == ("aws ecs update-service --cluster cabal-mail --service cabal-smtp-out --force-new-deployment",)
    assert "BEFORE the SSM write" in v.render()
    nowire = served_is_ssm(None)
    assert not nowire.ok and "started before /cabal/control_domain_ssl_cert was last written" in nowire.summary


def test_a_task_started_after_the_write_that_serves_the_old_cert_reads_another_source(le_ca):
    """Issue #17: the task started after the SSM write and still serves the old certificate: a redeploy would not
    help; the next command names what the task reads (its task definition's secrets), not a redeploy."""
    old = le_cert(le_ca, days=5)
    put_ssm(le_ca, days=85)
    smtp_out_world(started_ago=timedelta(minutes=-1))  # started after the write
    v = served_is_ssm(old)
    assert not v.ok and v.step == le.STEP2 and "not redeployed" not in v.summary, v.render()
    assert "every running cabal-smtp-out task started after /cabal/control_domain_ssl_cert was written" in v.summary
    assert "the secrets its task definition names" in v.summary
    assert v.next == ("aws ecs describe-task-definition --task-definition cabal-smtp-out:1 --query "
                      "'taskDefinition.containerDefinitions[].{name:name,secrets:secrets,environment:environment}'",)
    assert "BEFORE the SSM write" not in v.render()


def test_ssm_served_skips_when_nothing_serves(le_ca):
    put_ssm(le_ca)
    client("ecs").create_cluster(clusterName="cabal-mail")
    with pytest.raises(NotApplicable, match="test_ecs_service_running"):
        served_is_ssm(None)


def test_ssm_older_than_served_is_red_too(le_ca):
    smtp_out_world(started_ago=timedelta(minutes=-1))
    put_ssm(le_ca, days=5)
    v = served_is_ssm(le_cert(le_ca, days=85))
    assert not v.ok and "not the one in" in v.summary


def test_letsencrypt_escalation_below_7_days(le_ca):
    put_ssm(le_ca, days=30)
    ctx = context()
    services = ["cabal-imap", "cabal-smtp-in", "cabal-smtp-out"]
    assert le.escalation(f.ssm_certificate(ctx, "ssm_cert"), ctx.settings.now, names(), WILDCARD, services).ok
    put_ssm(le_ca, days=4)
    ctx = context()
    v = le.escalation(f.ssm_certificate(ctx, "ssm_cert"), ctx.settings.now, names(), WILDCARD, services)
    assert not v.ok and v.step == le.ESC
    text = v.render()
    assert f"certbot certonly --manual --preferred-challenges dns -d '{WILDCARD}'" in text
    for param in ("/cabal/control_domain_ssl_cert", "/cabal/control_domain_chain_cert", "/cabal/control_domain_ssl_key"):
        assert f"aws ssm put-parameter --name {param} --type SecureString --overwrite --value file://" in text
    assert "aws ecs update-service --cluster cabal-mail --service cabal-smtp-out --force-new-deployment" in text
    assert "/cabal/letsencrypt/*" in text  # named as the place that does not exist


def test_letsencrypt_escalation_of_an_expired_certificate_says_expired_not_negative_days(le_ca):
    put_ssm(le_ca, days=-1)
    ctx = context()
    v = le.escalation(f.ssm_certificate(ctx, "ssm_cert"), ctx.settings.now, names(), WILDCARD, ["cabal-smtp-out"])
    assert not v.ok and "has EXPIRED 1.0 days ago (< 7): renew it by hand" in v.summary, v.summary


# --- secrets ---------------------------------------------------------------------------------------


def test_key_parameter_is_never_read_and_nothing_leaks(le_ca, monkeypatch):
    sent = []
    original = AwsReader._send

    def spy(self, service, method, params, result_key):
        sent.append((service, method, json.dumps(params, default=str)))
        return original(self, service, method, params, result_key)

    monkeypatch.setattr(AwsReader, "_send", spy)
    pem = put_ssm(le_ca, days=3)
    smtp_out_world(started_ago=timedelta(days=1))
    log_run("RuntimeError: certbot exited with code 1")
    ctx = context()
    ep = next(e for e in ctx.settings.topology.endpoints if e.scheme == "smtps")
    cert, chain = f.ssm_certificate(ctx, "ssm_cert"), f.ssm_certificate(ctx, "ssm_chain")
    verdicts = [
        le.ssm_parses(cert, "/cabal/control_domain_ssl_cert", [f"smtp-out.{CD}"], names()),
        le.ssm_parses(chain, "/cabal/control_domain_chain_cert", [], names()),
        le.ssm_days_left(cert, "/cabal/control_domain_ssl_cert", ctx.settings.now, 7, names()),
        le.ssm_is_served(ep, cert, f.running_tasks(ctx, ep.service), None, "cabal-mail", "cabal-smtp-out",
                         "/cabal/control_domain_ssl_cert"),
        le.escalation(cert, ctx.settings.now, names(), WILDCARD, ["cabal-smtp-out"]),
        le.last_run_succeeded(f.certbot_activity(ctx), names()),
    ]
    assert not any("control_domain_ssl_key" in params for _, _, params in sent)
    with pytest.raises(ValueError):
        f.ssm_certificate(ctx, "ssm_key")
    body = pem.split("\n")[1]
    for v in verdicts:
        text = v.render() + repr(v.facts)
        assert "SENTINEL" not in text and "PRIVATE KEY" not in text and body not in text
