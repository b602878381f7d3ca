"""The AWS sandbox: seed() builds an account a read-only checker finds by the real names; faults read back.

Everything is read back through boto3 the way a checker would (by name, never by the ids ``seed()``
returned), except where a fault's own target has to be named.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from moto import mock_aws

from cabal_checks.names import DEFAULT_NAMES
from cabal_checks.sandbox import aws_faults as F
from cabal_checks.sandbox import aws_seed, moto_patches
from cabal_checks.sandbox.aws_seed import seed
from cabal_checks.topology import load_topology

CD = "cabal.example.test"
TIMINGS: dict[str, list[float]] = {}


@dataclass(frozen=True)
class Cert:  # the shape of cabal_checks.sandbox.pki.IssuedCert
    cert_pem: bytes
    chain_pem: bytes
    key_pem: bytes
    serial: int
    not_after: datetime
    sha256: str


def _issue(ca: trustme.CA, days: int) -> Cert:
    now = datetime.now(timezone.utc)
    leaf = ca.issue_cert(f"*.{CD}", not_before=now - timedelta(days=2), not_after=now + timedelta(days=days))
    pems = [p.bytes() for p in leaf.cert_chain_pems]
    cert = x509.load_pem_x509_certificate(pems[0])
    der = cert.public_bytes(serialization.Encoding.DER)
    return Cert(pems[0], b"".join(pems[1:]), leaf.private_key_pem.bytes(), cert.serial_number,
                cert.not_valid_after_utc, hashlib.sha256(der).hexdigest())


@pytest.fixture(scope="module")
def certs():
    inter = trustme.CA().create_child_ca()
    return _issue(inter, 395), _issue(inter, 90)


@pytest.fixture(scope="module", autouse=True)
def patches():
    aws_seed.install_patches()
    aws_seed.install_patches()  # idempotent
    yield
    aws_seed.remove_patches()
    aws_seed.remove_patches()


@pytest.fixture(autouse=True)
def moto_env(aws_env):
    aws_env.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # 0.3 s per sandbox, and seed() needs no AMI list


def _seed(topology: str, certs, label: str | None = None):
    acm_cert, le_cert = certs
    t0 = time.perf_counter()
    s = seed(load_topology(topology, CD), CD, dict(DEFAULT_NAMES), acm_cert=acm_cert, le_cert=le_cert)
    TIMINGS.setdefault(label or topology, []).append(time.perf_counter() - t0)
    return s


@pytest.fixture
def sb05(certs, mock_account):
    return _seed("2026-05", certs, "faults")


@pytest.fixture
def sb08(certs, mock_account):
    return _seed("2026-08", certs, "faults-08")


def _c(service: str):
    return aws_seed.session("us-east-1").client(service)


class Reader:
    """Read-only lookups by the real names (cabal-infra-facts.md section 2)."""

    def __init__(self):
        self._clients = {}
        self.session = aws_seed.session("us-east-1")

    def __getattr__(self, service):
        if service.startswith("_"):
            raise AttributeError(service)
        key = service.rstrip("_").replace("_", "-")
        if key not in self._clients:
            self._clients[key] = self.session.client(key)
        return self._clients[key]

    def service(self, name):
        return self.ecs.describe_services(cluster="cabal-mail", services=[name])["services"][0]

    def tasks(self, name, status="RUNNING"):
        arns = self.ecs.list_tasks(cluster="cabal-mail", desiredStatus=status)["taskArns"]
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(cluster="cabal-mail", tasks=arns)["tasks"]
        return [t for t in tasks if t["group"] == f"service:{name}"]

    def tg(self, name):
        return self.elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]

    def health(self, name):
        return self.elbv2.describe_target_health(TargetGroupArn=self.tg(name)["TargetGroupArn"])["TargetHealthDescriptions"]

    def listeners(self, lb):
        arn = self.elbv2.describe_load_balancers(Names=[lb])["LoadBalancers"][0]["LoadBalancerArn"]
        return {ls["Port"]: ls for ls in self.elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]}

    def sg(self, name):
        return self.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0]

    def ingress(self, name):
        out = set()
        for p in self.sg(name)["IpPermissions"]:
            for r in p.get("IpRanges", []):
                out.add((p.get("FromPort"), r["CidrIp"]))
            for r in p.get("Ipv6Ranges", []):
                out.add((p.get("FromPort"), r["CidrIpv6"]))
        return out

    def zones(self):
        zs = self.route53.list_hosted_zones_by_name(DNSName=CD)["HostedZones"]
        zs = [z for z in zs if z["Name"] == CD + "."]
        return {("private" if z["Config"]["PrivateZone"] else "public"): z["Id"] for z in zs}

    def records(self, zone):
        zid = self.zones()[zone]
        rr = self.route53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
        return {(r["Name"], r["Type"]): r for r in rr}

    def acm_cert(self):
        summaries = self.acm.list_certificates()["CertificateSummaryList"]
        for s in summaries:
            tags = self.acm.list_tags_for_certificate(CertificateArn=s["CertificateArn"])["Tags"]
            if s["DomainName"] == f"*.{CD}" and {"Key": "Name", "Value": "cabal-nlb"} in tags and s.get("InUse"):
                if "RenewalSummary" in self.acm.describe_certificate(CertificateArn=s["CertificateArn"])["Certificate"]:
                    return self.acm.describe_certificate(CertificateArn=s["CertificateArn"])["Certificate"]
        raise AssertionError("no ACM *.<cd> cert tagged Name=cabal-nlb")

    def log_lines(self, group, word, start=None):
        kw = {"startTime": int(start.timestamp() * 1000)} if start else {}
        return [e["message"] for e in self.logs.filter_log_events(logGroupName=group, filterPattern=word, **kw)["events"]]

    def newest_event(self, group):
        streams = self.logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)["logStreams"]
        stamps = [s["lastEventTimestamp"] for s in streams if "lastEventTimestamp" in s]
        return datetime.fromtimestamp(max(stamps) / 1000, timezone.utc) if stamps else None

    def ssm(self, name):
        return self.ssm_.get_parameter(Name=name, WithDecryption=True)["Parameter"]

    @property
    def ssm_(self):
        return self.__getattr__("ssm")


# ---------------------------------------------------------------------------------------------
# Healthy sandbox, read back by name
# ---------------------------------------------------------------------------------------------

EXPECT = {
    "2026-05": {
        "nlb_ports": {993: "TLS", 25: "TCP", 465: "TCP", 587: "TCP"},
        "tgs": {"cabal-ecs-imap-tg": 143, "cabal-ecs-relay-tg": 25, "cabal-ecs-submission-tg": 465,
                "cabal-ecs-starttls-tg": 587, "cabal-ntfy": 80, "cabal-uptime-kuma": 3001},
        "sg": {"cabal-ecs-imap-sg": {(143, "0.0.0.0/0"), (143, "::/0"), (993, "0.0.0.0/0"), (993, "::/0"),
                                     (25, "10.0.0.0/16")},
               "cabal-ecs-smtp-in-sg": {(25, "0.0.0.0/0"), (25, "::/0")},
               "cabal-ecs-smtp-out-sg": {(465, "0.0.0.0/0"), (465, "::/0"), (587, "0.0.0.0/0"), (587, "::/0")},
               "cabal-uptime-alb": {(443, "0.0.0.0/0")}},
        "nlb_hosts": ["imap", "smtp-in", "smtp-out"],
    },
    "2026-08": {
        "nlb_ports": {25: "TCP"},
        "tgs": {"cabal-ecs-relay-tg": 25, "cabal-ntfy": 80, "cabal-uptime-kuma": 3001},
        "sg": {"cabal-ecs-imap-sg": {(143, "10.0.0.0/16"), (25, "10.0.0.0/16")},
               "cabal-ecs-smtp-in-sg": {(25, "0.0.0.0/0"), (25, "::/0")},
               "cabal-ecs-smtp-out-sg": {(465, "10.0.0.0/16"), (587, "10.0.0.0/16")},
               "cabal-uptime-alb": {(443, "0.0.0.0/0")}},
        "nlb_hosts": ["smtp-in"],
    },
}
SERVICES = ["cabal-imap", "cabal-smtp-in", "cabal-smtp-out", "cabal-ntfy", "cabal-uptime-kuma"]
SERVICE_TGS = {"cabal-imap": {"cabal-ecs-imap-tg": 143}, "cabal-smtp-in": {"cabal-ecs-relay-tg": 25},
               "cabal-smtp-out": {"cabal-ecs-submission-tg": 465, "cabal-ecs-starttls-tg": 587},
               "cabal-ntfy": {"cabal-ntfy": 80}, "cabal-uptime-kuma": {"cabal-uptime-kuma": 3001}}


@pytest.mark.parametrize("topology", ["2026-05", "2026-08"])
def test_seeded_account_reads_back_by_name(topology, certs):
    acm_cert, le_cert = certs
    exp = EXPECT[topology]
    with mock_aws():
        s = _seed(topology, certs)
        r = Reader()
        now = datetime.now(timezone.utc)

        # --- ECS: counts, wiring, tasks, container instance
        for name in SERVICES:
            svc = r.service(name)
            assert (svc["desiredCount"], svc["runningCount"], svc["pendingCount"]) == (1, 1, 0), name
            assert "has reached a steady state." in svc["events"][0]["message"]
            want = {k: v for k, v in SERVICE_TGS[name].items() if k in exp["tgs"]}
            got = {lb["targetGroupArn"].split("/")[-2]: lb["containerPort"] for lb in svc["loadBalancers"]}
            assert got == want, name
            tasks = r.tasks(name)
            assert len(tasks) == 1 and tasks[0]["lastStatus"] == "RUNNING", name
            again = r.ecs.describe_tasks(cluster="cabal-mail", tasks=[tasks[0]["taskArn"]])["tasks"][0]
            assert again["lastStatus"] == "RUNNING"  # ecs::task transition pinned
            ip = next(d["value"] for d in tasks[0]["attachments"][0]["details"] if d["name"] == "privateIPv4Address")
            assert ip.startswith("10.0.")
            for tg, port in want.items():
                h = r.health(tg)
                assert [(d["Target"]["Id"], d["Target"]["Port"], d["TargetHealth"]["State"]) for d in h] == \
                    [(ip, port, "healthy")], tg
        assert r.service("cabal-imap").get("serviceRegistries")
        cis = r.ecs.describe_container_instances(cluster="cabal-mail", containerInstances=r.ecs.list_container_instances(
            cluster="cabal-mail")["containerInstanceArns"])["containerInstances"]
        assert [(c["agentConnected"], c["status"]) for c in cis] == [(True, "ACTIVE")]
        inst = r.ec2.describe_instances(InstanceIds=[cis[0]["ec2InstanceId"]])["Reservations"][0]["Instances"][0]
        assert {"Key": "Name", "Value": "cabal-ecs-instance"} in inst["Tags"]

        # --- SSM cert params vs the smtp-out task (rotated-and-served)
        params = {n: r.ssm(n) for n in ("/cabal/control_domain_ssl_cert", "/cabal/control_domain_ssl_key",
                                        "/cabal/control_domain_chain_cert")}
        assert params["/cabal/control_domain_ssl_cert"]["Value"].encode() == le_cert.cert_pem
        assert params["/cabal/control_domain_ssl_key"]["Value"].encode() == le_cert.key_pem
        assert params["/cabal/control_domain_chain_cert"]["Value"].encode() == le_cert.chain_pem
        assert all(p["Type"] == "SecureString" for p in params.values())
        modified = params["/cabal/control_domain_ssl_cert"]["LastModifiedDate"]
        assert timedelta(days=9) < now - modified < timedelta(days=12)
        started = r.tasks("cabal-smtp-out")[0]["startedAt"]
        assert started > modified
        assert r.ssm("/cabal/react-config/cf-distribution")["Type"] == "String"

        # --- ELBv2
        nlb = r.elbv2.describe_load_balancers(Names=["cabal-nlb"])["LoadBalancers"][0]
        assert (nlb["Type"], nlb["Scheme"], nlb["State"]["Code"]) == ("network", "internet-facing", "active")
        listeners = r.listeners("cabal-nlb")
        assert {p: ls["Protocol"] for p, ls in listeners.items()} == exp["nlb_ports"]
        if 993 in listeners:
            assert listeners[993]["Certificates"][0]["CertificateArn"] == s.acm_arn
            assert r.elbv2.describe_target_groups(TargetGroupArns=[listeners[993]["DefaultActions"][0]["TargetGroupArn"]])[
                "TargetGroups"][0]["TargetGroupName"] == "cabal-ecs-imap-tg"
        for name, port in exp["tgs"].items():
            tg = r.tg(name)
            assert (tg["Port"], tg["TargetType"]) == (port, "ip"), name
            assert tg["Protocol"] == ("HTTP" if port in (80, 3001) else "TCP")
        for gone in set(EXPECT["2026-05"]["tgs"]) - set(exp["tgs"]):
            with pytest.raises(r.elbv2.exceptions.TargetGroupNotFoundException):
                r.tg(gone)
        alb_l = r.listeners("cabal-uptime-alb")
        assert list(alb_l) == [443] and alb_l[443]["Protocol"] == "HTTPS"
        assert alb_l[443]["Certificates"][0]["CertificateArn"] == s.acm_arn
        rules = r.elbv2.describe_rules(ListenerArn=alb_l[443]["ListenerArn"])["Rules"]
        host_rule = next(x for x in rules if not x["IsDefault"])
        assert host_rule["Conditions"][0]["HostHeaderConfig"]["Values"] == [f"ntfy.{CD}"]
        assert host_rule["Actions"][0]["TargetGroupArn"] == r.tg("cabal-ntfy")["TargetGroupArn"]
        default = next(x for x in rules if x["IsDefault"])
        assert default["Actions"][0]["TargetGroupArn"] == r.tg("cabal-uptime-kuma")["TargetGroupArn"]

        # --- Network
        vpc = r.ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["cabal-vpc"]}])["Vpcs"][0]
        subnets = r.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        names = sorted(t["Value"] for sn in subnets for t in sn.get("Tags", []) if t["Key"] == "Name")
        assert names == ["cabal-private-subnet-0", "cabal-private-subnet-1", "cabal-public-subnet-0", "cabal-public-subnet-1"]
        for i in range(2):
            nat = r.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": [f"cabal-nat-{i}"]}])[
                "Reservations"][0]["Instances"][0]
            assert nat["State"]["Name"] == "running" and nat["SourceDestCheck"] is False
            assert nat.get("PublicIpAddress") in s.nat_eips
            rt = r.ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [f"cabal-private-rt-{i}"]}])[
                "RouteTables"][0]
            default_route = next(x for x in rt["Routes"] if x.get("DestinationCidrBlock") == "0.0.0.0/0")
            assert (default_route["InstanceId"], default_route["State"]) == (nat["InstanceId"], "active")
        nacls = r.ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["NetworkAcls"]
        assert len(nacls) == 1 and nacls[0]["IsDefault"]
        assert not [e for e in nacls[0]["Entries"] if e["RuleAction"] == "deny" and e["RuleNumber"] < 32767]
        for name, want in exp["sg"].items():
            assert r.ingress(name) == want, name

        # --- Route 53
        assert set(r.zones()) == {"public", "private"}
        for zone in ("public", "private"):
            rec = r.records(zone)
            for host in exp["nlb_hosts"]:
                assert rec[(f"{host}.{CD}.", "A")]["AliasTarget"]["DNSName"].rstrip(".").lower() == nlb["DNSName"].lower()
            for host in {"imap", "smtp-in", "smtp-out"} - set(exp["nlb_hosts"]):
                assert (f"{host}.{CD}.", "A") not in rec
            assert rec[(f"admin.{CD}.", "CNAME")]["ResourceRecords"][0]["Value"] == s.cf_domain_name
            alb = r.elbv2.describe_load_balancers(Names=["cabal-uptime-alb"])["LoadBalancers"][0]
            assert rec[(f"ntfy.{CD}.", "A")]["AliasTarget"]["DNSName"].rstrip(".").lower() == alb["DNSName"].lower()

        # --- ACM: AMAZON_ISSUED look, renewal SUCCESS, validation record present, PEM == what the wire serves
        cert = r.acm_cert()
        assert (cert["Type"], cert["Status"], cert["RenewalEligibility"]) == ("AMAZON_ISSUED", "ISSUED", "ELIGIBLE")
        assert cert["RenewalSummary"]["RenewalStatus"] == "SUCCESS"
        assert int(cert["Serial"]) == acm_cert.serial
        rr = cert["DomainValidationOptions"][0]["ResourceRecord"]
        assert rr["Name"].startswith("_") and rr["Value"].endswith(".acm-validations.aws.")
        assert r.records("public")[(rr["Name"], "CNAME")]["ResourceRecords"][0]["Value"] == rr["Value"]
        assert cert["RenewalSummary"]["DomainValidationOptions"][0]["ResourceRecord"] == rr
        in_use = cert["InUseBy"]
        assert (nlb["LoadBalancerArn"] in in_use) == (topology == "2026-05")
        assert s.alb_arn in in_use and s.cf_arn in in_use
        got = r.acm.get_certificate(CertificateArn=cert["CertificateArn"])
        assert got["Certificate"].encode() == acm_cert.cert_pem
        assert cert["NotAfter"] == acm_cert.not_after

        # --- CloudFront via the SSM parameter
        dist_id = r.ssm("/cabal/react-config/cf-distribution")["Value"]
        conf = r.cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
        assert conf["Comment"] == "Cabal admin website" and conf["Aliases"]["Items"] == [f"admin.{CD}"]
        assert conf["ViewerCertificate"]["ACMCertificateArn"] == cert["CertificateArn"]
        assert conf["Restrictions"]["GeoRestriction"]["Items"] == ["US"]

        # --- API Gateway + Cognito: a fresh IdToken via USER_PASSWORD_AUTH
        api = next(a for a in r.apigateway.get_rest_apis()["items"] if a["name"] == "cabal_gateway")
        res = next(x for x in r.apigateway.get_resources(restApiId=api["id"])["items"] if x["path"] == "/list")
        method = r.apigateway.get_method(restApiId=api["id"], resourceId=res["id"], httpMethod="GET")
        assert method["authorizationType"] == "COGNITO_USER_POOLS"
        auth = r.apigateway.get_authorizers(restApiId=api["id"])["items"][0]
        assert (auth["name"], auth["type"], auth["id"]) == ("cabal_pool", "COGNITO_USER_POOLS", method["authorizerId"])
        assert [st["stageName"] for st in r.apigateway.get_stages(restApiId=api["id"])["item"]] == ["prod"]
        pool = next(p for p in r.cognito_idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "cabal")
        assert auth["providerARNs"] == [r.cognito_idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Arn"]]
        client = next(c for c in r.cognito_idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)[
            "UserPoolClients"] if c["ClientName"] == "cabal_admin_client")
        desc = r.cognito_idp.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=client["ClientId"])["UserPoolClient"]
        assert "ALLOW_USER_PASSWORD_AUTH" in desc["ExplicitAuthFlows"] and desc["IdTokenValidity"] == 12
        tokens = r.cognito_idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": s.probe_username, "PASSWORD": s.probe_password})["AuthenticationResult"]
        payload = json.loads(base64.urlsafe_b64decode(tokens["IdToken"].split(".")[1] + "=="))
        assert payload["aud"] == client["ClientId"] and payload["exp"] > time.time()

        # --- Let's Encrypt pipeline
        fn = r.lambda_.get_function(FunctionName="cabal-certbot-renewal")["Configuration"]
        assert (fn["Runtime"], fn["Timeout"], fn["MemorySize"]) == ("python3.13", 300, 512)
        assert fn["LoggingConfig"] == {"LogGroup": "/cabal/lambda/certbot-renewal", "LogFormat": "Text"}
        sched = r.scheduler.get_schedule(Name="cabal-certbot-renewal")
        assert (sched["State"], sched["ScheduleExpression"]) == ("ENABLED", "rate(60 days)")
        assert sched["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60}
        assert sched["Target"]["Arn"] == fn["FunctionArn"]
        group = "/cabal/lambda/certbot-renewal"
        newest = r.newest_event(group)
        assert timedelta(days=9) < now - newest < timedelta(days=12)
        for word in ("Running certbot", "Updated SSM parameter /cabal/control_domain_ssl_cert",
                     "Forced new deployment for cabal-smtp-out", "healthcheck ping -> 200"):
            assert r.log_lines(group, f'"{word}"'), word
        assert not r.logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/cabal-certbot-renewal")["logGroups"]
        stats = r.cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": "cabal-certbot-renewal"}],
            StartTime=now - timedelta(days=14), EndTime=now, Period=86400, Statistics=["Sum"])["Datapoints"]
        assert sum(d["Sum"] for d in stats) == 0

        # --- imap logs: ordinary Dovecot, no fail2ban
        assert r.log_lines("/ecs/cabal-imap", "imap-login")
        assert r.log_lines("/ecs/cabal-imap", "fail2ban") == []


def test_patches_install_and_remove_idempotently():
    from moto.acm.models import CertBundle

    assert CertBundle.describe is moto_patches._acm_describe
    aws_seed.remove_patches()
    aws_seed.remove_patches()
    assert CertBundle.describe is not moto_patches._acm_describe
    aws_seed.install_patches()
    aws_seed.install_patches()
    assert CertBundle.describe is moto_patches._acm_describe


def test_aws_seed_still_offers_the_patch_registries_it_used_to_hold():
    """The patches moved to moto_patches; code that imported them from aws_seed keeps working, on the same dicts."""
    for name in ("ACM_OVERRIDES", "TARGET_HEALTH", "LAMBDA_CONFIG", "ROUTE_STATES", "clear_registries",
                 "install_patches", "remove_patches", "shared_loader"):
        assert getattr(aws_seed, name) is getattr(moto_patches, name), name


# ---------------------------------------------------------------------------------------------
# Faults, read back
# ---------------------------------------------------------------------------------------------


def test_fault_service_below_desired(sb05):
    s, r = sb05, Reader()
    F.service_below_desired(s, "service_imap", "crash")
    F.service_below_desired(s, "service_smtp_out", "secrets")
    F.service_below_desired(s, "service_smtp_in", "placement")
    imap = r.service("cabal-imap")
    assert (imap["desiredCount"], imap["runningCount"], imap["pendingCount"]) == (1, 0, 1)
    msgs = [e["message"] for e in imap["events"]]
    assert msgs[0].startswith("(service cabal-imap) has stopped 1 running tasks: (task ")
    assert any("deregistered 1 targets in (target-group" in m for m in msgs)
    assert r.tasks("cabal-imap") == []
    stopped = r.tasks("cabal-imap", "STOPPED")
    assert len(stopped) == 2
    for t in stopped:
        assert (t["lastStatus"], t["stoppedReason"], t["stopCode"]) == (
            "STOPPED", "Essential container in task exited", "EssentialContainerExited")
        assert t["stoppedAt"] > t["startedAt"] and t["containers"][0]["exitCode"] == 1
    assert r.health("cabal-ecs-imap-tg") == []
    out = r.tasks("cabal-smtp-out", "STOPPED")
    assert out and all(t["stoppedReason"].startswith("ResourceInitializationError: unable to pull secrets") for t in out)
    assert r.health("cabal-ecs-submission-tg") == [] and r.health("cabal-ecs-starttls-tg") == []
    relay = r.service("cabal-smtp-in")
    assert (relay["runningCount"], relay["pendingCount"]) == (0, 0)
    assert "was unable to place a task because no container instance met all of its requirements" in relay["events"][0]["message"]
    assert r.service("cabal-ntfy")["runningCount"] == 1  # untouched


def test_fault_restart_loop_and_agent_disconnected(sb05):
    s, r = sb05, Reader()
    F.service_restart_loop(s, "service_smtp_in", restarts=4, window_minutes=10)
    F.container_instance_disconnected(s)
    relay = r.service("cabal-smtp-in")
    assert (relay["runningCount"], relay["desiredCount"]) == (1, 1)
    assert "is unable to consistently start tasks successfully" in relay["events"][0]["message"]
    now = datetime.now(timezone.utc)
    stopped = r.tasks("cabal-smtp-in", "STOPPED")
    assert len(stopped) == 4 and all(now - t["stoppedAt"] <= timedelta(minutes=11) for t in stopped)
    running = r.tasks("cabal-smtp-in")
    assert len(running) == 1 and now - running[0]["startedAt"] < timedelta(minutes=2)
    h = r.health("cabal-ecs-relay-tg")
    ip = next(d["value"] for d in running[0]["attachments"][0]["details"] if d["name"] == "privateIPv4Address")
    assert [(d["Target"]["Id"], d["TargetHealth"]["State"]) for d in h] == [(ip, "healthy")]
    ci = r.ecs.describe_container_instances(cluster="cabal-mail", containerInstances=[s.container_instance_arn])[
        "containerInstances"][0]
    assert (ci["agentConnected"], ci["status"]) == (False, "ACTIVE")
    F.container_instance_draining(s)
    ci = r.ecs.describe_container_instances(cluster="cabal-mail", containerInstances=[s.container_instance_arn])[
        "containerInstances"][0]
    assert ci["status"] == "DRAINING"


def test_fault_targets_and_listeners(sb05):
    s, r = sb05, Reader()
    F.target_unhealthy(s, "tg_imap")
    F.target_unhealthy(s, "tg_ntfy", reason="Target.ResponseCodeMismatch",
                       description="Health checks failed with these codes: [502]")
    F.target_group_empty(s, "tg_relay")
    F.listener_deleted(s, 587)
    h = r.health("cabal-ecs-imap-tg")[0]["TargetHealth"]
    assert (h["State"], h["Reason"]) == ("unhealthy", "Target.FailedHealthChecks")
    assert r.health("cabal-ntfy")[0]["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert "is unhealthy in (target-group" in r.service("cabal-imap")["events"][0]["message"]
    assert r.health("cabal-ecs-relay-tg") == []
    assert set(r.listeners("cabal-nlb")) == {993, 25, 465}
    assert r.health("cabal-ecs-submission-tg")[0]["TargetHealth"]["State"] == "healthy"


def test_fault_network(sb05):
    s, r = sb05, Reader()
    F.sg_ingress_revoked(s, "sg_imap", 993)
    assert r.ingress("cabal-ecs-imap-sg") == {(143, "0.0.0.0/0"), (143, "::/0"), (25, "10.0.0.0/16")}
    F.sg_ingress_revoked(s, "sg_smtp_in", 25, cidrs=("0.0.0.0/0",))
    assert r.ingress("cabal-ecs-smtp-in-sg") == {(25, "::/0")}

    def denies():
        acls = r.ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": s.public_subnet_ids}])[
            "NetworkAcls"]
        assert len(acls) == 1 and not acls[0]["IsDefault"]
        assert {a["SubnetId"] for a in acls[0]["Associations"]} >= set(s.public_subnet_ids)
        return sorted((e["RuleNumber"], e["CidrBlock"], (e.get("PortRange") or {}).get("From"))
                      for e in acls[0]["Entries"] if e["RuleAction"] == "deny" and e["RuleNumber"] < 32767 and not e["Egress"])

    F.nacl_deny(s, 25)
    assert denies() == [(90, "0.0.0.0/0", 25)]
    F.nacl_deny_nat_eips(s)
    assert denies() == [(80 + i, f"{ip}/32", None) for i, ip in enumerate(s.nat_eips)]
    F.nat_instance_stopped(s, 0)
    nat = r.ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["cabal-nat-0"]}])["Reservations"][0]["Instances"][0]
    assert nat["State"]["Name"] == "stopped"
    states = {}
    for i in range(2):
        rt = r.ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [f"cabal-private-rt-{i}"]}])["RouteTables"][0]
        states[i] = next(x["State"] for x in rt["Routes"] if x.get("DestinationCidrBlock") == "0.0.0.0/0")
    assert states == {0: "blackhole", 1: "active"}


def test_fault_dns(sb05):
    s, r = sb05, Reader()
    F.dns_record_deleted(s, "imap", "private")
    F.dns_record_repointed(s, "smtp-in", "public")
    F.dns_record_repointed(s, "admin", "public")
    F.caa_forbids_amazon(s)
    priv, pub = r.records("private"), r.records("public")
    assert (f"imap.{CD}.", "A") not in priv and (f"imap.{CD}.", "A") in pub
    smtp_in = pub[(f"smtp-in.{CD}.", "A")]
    assert "AliasTarget" not in smtp_in and smtp_in["ResourceRecords"] == [{"Value": "192.0.2.10"}]
    assert pub[(f"admin.{CD}.", "CNAME")]["ResourceRecords"][0]["Value"] != s.cf_domain_name
    caa = [x["Value"] for x in pub[(f"{CD}.", "CAA")]["ResourceRecords"]]
    assert '0 issue "letsencrypt.org"' in caa and not any("amazon" in v for v in caa)
    F.caa_forbids_letsencrypt(s)
    caa = [x["Value"] for x in r.records("public")[(f"{CD}.", "CAA")]["ResourceRecords"]]
    assert '0 issuewild "amazon.com"' in caa and not any("letsencrypt" in v for v in caa)


def test_fault_acm(sb05):
    s, r = sb05, Reader()
    F.acm_validation_cname_deleted(s)
    F.acm_renewal_pending_validation(s)
    cert = r.acm_cert()
    assert cert["RenewalSummary"]["RenewalStatus"] == "PENDING_VALIDATION"
    assert cert["RenewalSummary"]["DomainValidationOptions"][0]["ValidationStatus"] == "PENDING_VALIDATION"
    name = cert["DomainValidationOptions"][0]["ResourceRecord"]["Name"]
    assert (name, "CNAME") not in r.records("public")
    F.acm_renewal_failed(s, "CAA_ERROR")
    summary = r.acm_cert()["RenewalSummary"]
    assert (summary["RenewalStatus"], summary["RenewalStatusReason"]) == ("FAILED", "CAA_ERROR")
    assert r.acm_cert()["Status"] == "ISSUED"
    old993 = F.listener_on_old_cert(s, 993)
    old443 = F.listener_on_old_cert(s, 443)
    old_cf = F.cloudfront_on_old_cert(s)
    assert r.listeners("cabal-nlb")[993]["Certificates"][0]["CertificateArn"] == old993
    assert r.listeners("cabal-uptime-alb")[443]["Certificates"][0]["CertificateArn"] == old443
    dist = r.ssm("/cabal/react-config/cf-distribution")["Value"]
    assert r.cloudfront.get_distribution_config(Id=dist)["DistributionConfig"]["ViewerCertificate"][
        "ACMCertificateArn"] == old_cf
    old = r.acm.describe_certificate(CertificateArn=old993)["Certificate"]
    assert old["Type"] == "AMAZON_ISSUED" and old["InUseBy"] == [s.nlb_arn]
    assert old["NotAfter"] - datetime.now(timezone.utc) < timedelta(days=6)
    current = r.acm.describe_certificate(CertificateArn=s.acm_arn)["Certificate"]
    assert current["InUseBy"] == [s.site_distributions[f"www.{CD}"][2]]  # the front door only, now
    wildcards = [c for c in r.acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == f"*.{CD}"]
    assert len(wildcards) == 4 and {c["Type"] for c in wildcards} == {"AMAZON_ISSUED"}


def test_fault_certbot_failures(sb05):
    s, r = sb05, Reader()
    group = "/cabal/lambda/certbot-renewal"
    F.certbot_schedule_disabled(s)
    assert r.scheduler.get_schedule(Name="cabal-certbot-renewal")["State"] == "DISABLED"
    F.certbot_failing(s, hours_ago=30)
    F.certbot_rate_limited(s, hours_ago=6)
    since = datetime.now(timezone.utc) - timedelta(days=2)
    assert r.log_lines(group, '"certbot exited with code 1"', since)
    assert r.log_lines(group, '"Task timed out after 300.00 seconds"', since)
    assert r.log_lines(group, '"urn:ietf:params:acme:error:rateLimited"', since)
    assert r.log_lines(group, '"too many certificates"', since)
    assert r.log_lines(group, '"HTTP 429"', since)
    assert timedelta(hours=5) < datetime.now(timezone.utc) - r.newest_event(group) < timedelta(hours=7)
    stats = r.cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": "cabal-certbot-renewal"}],
        StartTime=since, EndTime=datetime.now(timezone.utc), Period=86400 * 2, Statistics=["Sum"])["Datapoints"]
    assert sum(d["Sum"] for d in stats) == 3
    assert r.ssm("/cabal/control_domain_ssl_cert")["Version"] == 1  # SSM unchanged


def test_fault_certbot_last_run_long_ago(sb05):
    s, r = sb05, Reader()
    group = "/cabal/lambda/certbot-renewal"
    F.certbot_last_run_long_ago(s, days=75)
    age = datetime.now(timezone.utc) - r.newest_event(group)
    assert timedelta(days=61) < age < timedelta(days=76)
    assert r.log_lines(group, '"Running certbot"')  # still readable without a startTime
    modified = r.ssm("/cabal/control_domain_ssl_cert")["LastModifiedDate"]
    assert datetime.now(timezone.utc) - modified > timedelta(days=61)
    assert r.tasks("cabal-smtp-out")[0]["startedAt"] > modified
    F.certbot_last_run_long_ago(s, days=75, keep_events=False)
    assert r.newest_event(group) is None


def test_fault_ssm_rotated_not_served_and_fail2ban(sb05, certs):
    s, r = sb05, Reader()
    new = F.ssm_cert_rotated_not_served(s, hours_ago=1)
    p = r.ssm("/cabal/control_domain_ssl_cert")
    assert p["Value"].encode() == new.cert_pem and p["Version"] == 2
    assert p["LastModifiedDate"] > r.tasks("cabal-smtp-out")[0]["startedAt"]
    served = x509.load_pem_x509_certificate(certs[1].cert_pem).serial_number
    assert x509.load_pem_x509_certificate(p["Value"].encode()).serial_number != served
    bans = F.fail2ban_bans(s)
    lines = r.log_lines("/ecs/cabal-imap", "fail2ban")
    assert [ln for ln in lines if " Ban " in ln] == bans
    for ip, line in zip(s.nat_eips, bans, strict=True):
        assert line.endswith(f"fail2ban.actions [1]: NOTICE [dovecot] Ban {ip}")
        assert line[:23][19] == ","
    F.ssm_cert_missing(s)
    with pytest.raises(r.ssm_.exceptions.ParameterNotFound):
        r.ssm("/cabal/control_domain_ssl_cert")


def test_faults_on_2026_08(sb08):
    s, r = sb08, Reader()
    assert "service_imap" not in s.service_tgs  # no TG behind imap at 2026-08
    F.service_below_desired(s, "service_imap", "image")
    F.service_restart_loop(s, "service_smtp_out", restarts=3)
    imap = r.service("cabal-imap")
    assert (imap["runningCount"], imap["pendingCount"]) == (0, 1)
    assert all(t["stoppedReason"].startswith("CannotPullContainerError") and t["stopCode"] == "TaskFailedToStart"
               for t in r.tasks("cabal-imap", "STOPPED"))
    assert len(r.tasks("cabal-smtp-out", "STOPPED")) == 3 and len(r.tasks("cabal-smtp-out")) == 1
    with pytest.raises(KeyError):
        F.listener_deleted(s, 993)
    F.listener_on_old_cert(s, 443)
    assert r.acm.describe_certificate(CertificateArn=s.acm_arn)["Certificate"]["InUseBy"] == [
        s.cf_arn, s.site_distributions[f"www.{CD}"][2]]  # the admin app and the front door


# ---------------------------------------------------------------------------------------------
# Over real HTTP
# ---------------------------------------------------------------------------------------------


def test_seed_over_threaded_moto_server(certs, monkeypatch):
    import requests
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    try:
        host, port = srv.get_host_and_port()
        url = f"http://{host}:{port}"
        requests.post(f"{url}/moto-api/reset", timeout=10)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        s = _seed("2026-05", certs, "server")
        r = Reader()
        assert r.ecs.meta.endpoint_url == url and s.client("ecs").meta.endpoint_url == url
        svc = r.service("cabal-smtp-out")
        assert (svc["runningCount"], svc["desiredCount"]) == (1, 1)
        assert r.acm_cert()["RenewalSummary"]["RenewalStatus"] == "SUCCESS"
        assert r.lambda_.get_function(FunctionName="cabal-certbot-renewal")["Configuration"]["LoggingConfig"][
            "LogGroup"] == "/cabal/lambda/certbot-renewal"
        assert r.tasks("cabal-smtp-out")[0]["startedAt"] > r.ssm("/cabal/control_domain_ssl_cert")["LastModifiedDate"]
        F.target_unhealthy(s, "tg_starttls")  # registry fault, seen over HTTP
        F.container_instance_disconnected(s)  # backend fault, seen over HTTP
        assert r.health("cabal-ecs-starttls-tg")[0]["TargetHealth"]["State"] == "unhealthy"
        ci = r.ecs.describe_container_instances(cluster="cabal-mail", containerInstances=[s.container_instance_arn])
        assert ci["containerInstances"][0]["agentConnected"] is False
        tokens = r.cognito_idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": s.probe_username, "PASSWORD": s.probe_password})["AuthenticationResult"]
        assert tokens["IdToken"].count(".") == 2
        requests.post(f"{url}/moto-api/reset", timeout=10)
    finally:
        srv.stop()


def test_report_seed_timings():
    """Not an assertion: prints seed() wall times (pytest -s, or the -rP summary) for the record."""
    print("seed() wall time (s):", {k: [round(v, 2) for v in vs] for k, vs in TIMINGS.items()})
