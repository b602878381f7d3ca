"""A real account is never clean: each way the noisy healthy sandbox (sandbox/aws_noise.py) once fooled the suite.

Each test builds, in moto or as plain facts, the one noise item beside the real deployment and shows the suite
is right about it (where the old lookup or judge was wrong, the test says what it did), and keeps the red twin:
the real fault next to the same noise is still red.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from cabal_checks import facts
from cabal_checks.aws import cognito
from cabal_checks.aws import ec2 as ec2_lookup
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.judge import escalation as esc
from cabal_checks.judge import letsencrypt as le
from cabal_checks.judge import load_balancers as lb_judge
from cabal_checks.verdict import CantTell

REGION = "us-east-1"
DOMAIN = "cabal.example.test"


@pytest.fixture
def moto_aws(mock_account):
    return boto3.client("ec2", region_name=REGION)


def context(env: dict | None = None) -> Context:
    """A fresh run: the reader memoizes every call, so a judgement after a change needs its own."""
    return Context(load_settings({"control_domain": DOMAIN, "region": REGION, "aws_timeout": 30.0}, env=env or {}))


def _vpc(ec2, name: str, cidr: str) -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "Name", "Value": name}]}])["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"]["SubnetId"]
    return vpc, subnet


def _nat(ec2, vpc: str, subnet: str, name: str, rt_name: str) -> str:
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]
    rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=[{"ResourceType": "route-table", "Tags": [
        {"Key": "Name", "Value": rt_name}]}])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", InstanceId=inst)
    return inst


# --- a neighbouring stack's NAT instance shares the prefix -------------------------------------------


def test_nat_instance_of_another_vpc_is_not_ours(moto_aws):
    ec2 = moto_aws
    ours = _nat(ec2, *_vpc(ec2, "cabal-vpc", "10.0.0.0/16"), "cabal-nat-0", "cabal-private-rt-0")
    theirs = _nat(ec2, *_vpc(ec2, "cabal-vpc-staging", "10.1.0.0/16"), "cabal-nat-staging-0",
                  "cabal-private-rt-staging-0")
    ec2.stop_instances(InstanceIds=[theirs])  # the staging stack is quiesced
    ctx = context()
    # the old lookup, by name prefix alone, took staging's stopped instance for one of ours: red on a healthy stack
    assert theirs in [i["InstanceId"] for i in ec2_lookup.instances_named(ctx.aws, "cabal-nat-")]
    net = ctx.get("aws", facts.network)
    assert [i["InstanceId"] for i in net.nat] == [ours]
    assert [ec2_lookup.tag(t, "Name") for t in net.route_tables] == ["cabal-private-rt-0"]
    v = esc.nat_ok(net, "cabal-nat-", "cabal-private-rt-")
    assert v.ok, v.render()
    # the red twin: our own NAT instance stopped, beside the same neighbour
    ec2.stop_instances(InstanceIds=[ours])
    v = esc.nat_ok(context().get("aws", facts.network), "cabal-nat-", "cabal-private-rt-")
    assert not v.ok and ours in v.render() and theirs not in v.render()


# --- a staging VPC's security group carries our name ---------------------------------------------------


def test_security_group_of_another_vpc_is_not_ours(moto_aws):
    ec2 = moto_aws
    theirs_vpc, _ = _vpc(ec2, "cabal-vpc-staging", "10.1.0.0/16")
    ours_vpc, _ = _vpc(ec2, "cabal-vpc", "10.0.0.0/16")
    theirs = ec2.create_security_group(GroupName="cabal-ecs-smtp-in-sg", Description="staging", VpcId=theirs_vpc)["GroupId"]
    ours = ec2.create_security_group(GroupName="cabal-ecs-smtp-in-sg", Description="prod", VpcId=ours_vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ours, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ctx = context()
    # the old lookup, by name alone, took the first group of the name: staging's (moto lists it first here), which
    # admits nothing, so a healthy tier was red
    assert ec2_lookup.security_groups(ctx.aws, ["cabal-ecs-smtp-in-sg"])[0]["GroupId"] == theirs
    sg = ctx.get("aws", facts.security_group, "sg_smtp_in")
    assert sg["GroupId"] == ours
    v = lb_judge.sg_admits("cabal-ecs-smtp-in-sg", sg, (25,))
    assert v.ok, v.render()
    # the red twin: our rule revoked, staging's group unchanged
    ec2.revoke_security_group_ingress(GroupId=ours, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 25, "ToPort": 25, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    v = lb_judge.sg_admits("cabal-ecs-smtp-in-sg", context().get("aws", facts.security_group, "sg_smtp_in"), (25,))
    assert not v.ok and ours in v.summary


# --- what an incident leaves in the NACLs --------------------------------------------------------------


def _acl(*entries: tuple, associated: bool = True) -> dict:
    """A NACL with its default entries and ``entries`` as (number, action, protocol, ports or None, cidr)."""
    rows = [{"RuleNumber": n, "RuleAction": action, "Protocol": proto, "Egress": False, "CidrBlock": cidr,
             **({"PortRange": {"From": ports[0], "To": ports[1]}} if ports else {})}
            for n, action, proto, ports, cidr in entries]
    rows += [{"RuleNumber": n, "RuleAction": action, "Protocol": "-1", "Egress": egress, "CidrBlock": "0.0.0.0/0"}
             for egress in (False, True) for n, action in ((100, "allow"), (32767, "deny"))]
    assoc = [{"NetworkAclAssociationId": "aclassoc-1", "NetworkAclId": "acl-1", "SubnetId": "subnet-1"}]
    return {"NetworkAclId": "acl-1", "Associations": assoc if associated else [], "Entries": rows}


def test_nacl_associated_with_no_subnet_denies_nothing():
    left = _acl((90, "deny", "-1", None, "0.0.0.0/0"), associated=False)
    # the old judge read every NACL of the VPC, associated or not: red for a NACL that filters no subnet
    v = esc.nacl_denies([left], (25,), ["203.0.113.10"])
    assert v.ok, v.render()
    v = esc.nacl_denies([_acl((90, "deny", "-1", None, "0.0.0.0/0"))], (25,), ["203.0.113.10"])
    assert not v.ok and "rule 90" in v.render()


def test_nacl_deny_after_a_covering_allow_never_matches():
    undone = _acl((10, "allow", "-1", None, "0.0.0.0/0"), (90, "deny", "6", (25, 25), "0.0.0.0/0"))
    # the old judge took any deny before the default rule as blocking, whatever matched first
    v = esc.nacl_denies([undone], (25,), [])
    assert v.ok, v.render()
    # red twins: an allow that comes after, or that covers only part of the addresses, or another port
    for allow in ((95, "allow", "-1", None, "0.0.0.0/0"), (10, "allow", "-1", None, "10.0.0.0/16"),
                  (10, "allow", "6", (993, 993), "0.0.0.0/0")):
        v = esc.nacl_denies([_acl(allow, (90, "deny", "6", (25, 25), "0.0.0.0/0"))], (25,), [])
        assert not v.ok and "rule 90" in v.render(), allow


# --- a failed certbot attempt, then the manual re-run that fixed it, in one warm log stream -------------

GROUP, FN = "/cabal/lambda/certbot-renewal", "cabal-certbot-renewal"


def _invocation(at: datetime, *middle: str) -> list[dict]:
    rid = str(uuid.uuid4())
    msgs = [f"START RequestId: {rid} Version: $LATEST", f"Running certbot for *.{DOMAIN}", *middle, f"END RequestId: {rid}"]
    return [{"timestamp": int(at.timestamp() * 1000) + i, "message": m} for i, m in enumerate(msgs)]


def _certbot_runs(*runs: tuple[datetime, bool]) -> None:
    """One stream holding each (start, failed) invocation in turn, and each one's Lambda metrics."""
    logs, cw = boto3.client("logs", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName="2026/11/20/[$LATEST]warm")
    events = []
    for at, failed in runs:
        events += _invocation(at, "[ERROR] RuntimeError: certbot exited with code 1" if failed else
                              "Updated SSM parameter /cabal/control_domain_ssl_cert")
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[  # moto accepts AWS/; AWS would not
            {"MetricName": m, "Dimensions": [{"Name": "FunctionName", "Value": FN}], "Timestamp": at, "Value": v}
            for m, v in (("Invocations", 1), ("Errors", int(failed)))])
    logs.put_log_events(logGroupName=GROUP, logStreamName="2026/11/20/[$LATEST]warm", logEvents=events)


def test_certbot_failure_before_the_rerun_in_the_same_stream_is_history(moto_aws):
    now = datetime.now(UTC)
    _certbot_runs((now - timedelta(hours=3, minutes=20), True), (now - timedelta(hours=3), False))
    activity = context().get("aws", facts.certbot_activity)
    # the old judge started the last run at the stream's first event (the failed attempt's) and counted the Errors
    # of the whole day: red, although the re-run succeeded
    names = context().settings.names
    old = replace(activity, last_start=None, last_run_errors=None)
    assert not le.last_run_succeeded(old, names).ok
    v = le.last_run_succeeded(activity, names)
    assert v.ok, v.render()


@pytest.mark.parametrize("runs", [(False, True), (True, True)], ids=["success-then-failure", "failure-then-failure"])
def test_certbot_last_invocation_failing_in_a_warm_stream_is_red(moto_aws, runs):
    now = datetime.now(UTC)
    _certbot_runs((now - timedelta(hours=3, minutes=20), runs[0]), (now - timedelta(hours=3), runs[1]))
    v = le.last_run_succeeded(context().get("aws", facts.certbot_activity), context().settings.names)
    assert not v.ok and "certbot exited with code 1" in v.render() and "AWS/Lambda Errors 1" in v.render()


# --- a neighbouring stack's Cognito pool is named cabal too ---------------------------------------------


def _pool(idp, user: tuple[str, str] | None = None) -> str:
    pool = idp.create_user_pool(PoolName="cabal")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="cabal_admin_client",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    if user:
        idp.admin_create_user(UserPoolId=pool, Username=user[0], MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=pool, Username=user[0], Password=user[1], Permanent=True)
    return client


def test_token_is_minted_in_the_pool_that_knows_the_probe_user(moto_aws):
    idp = boto3.client("cognito-idp", region_name=REGION)
    user = ("cabal-checks-probe", "Pr0be-Passw0rd-noise")
    env = {"CABAL_PROBE_USERNAME": user[0], "CABAL_PROBE_PASSWORD": user[1]}
    staging = _pool(idp)  # listed first, no probe user
    # the red twin first: the probe user in no pool of the name is one can't-tell line, naming both pools
    _pool(idp, ("someone-else", user[1]))
    with pytest.raises(CantTell, match=r"cannot mint a token .* \(and 1 other pool\(s\) named cabal\)"):
        context(env).get("aws", facts.minted_token)
    ours = _pool(idp, user)
    # the old lookup took the first client of the name, staging's: InitiateAuth said UserNotFoundException, a
    # traceback instead of a token
    ctx = context(env)
    assert cognito.client_ids(ctx.aws, "cabal", "cabal_admin_client")[0] == staging
    assert ours in cognito.client_ids(ctx.aws, "cabal", "cabal_admin_client")
    token = ctx.get("aws", facts.minted_token).reveal()
    assert token.count(".") == 2
