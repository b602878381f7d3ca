"""AWS faults: an AWS that throttles, refuses, forgets credentials, is down, hangs, lacks a resource, pages.

"Can't tell" is never red. Each fault here is real HTTP from a tiny local server (``FakeAws``: every AWS
wire protocol the suite speaks: JSON, query, ec2, rest-xml, rest-json) or real moto
(in-process, some with IAM enforcement), reached through the suite's own reader (``AwsReader``), facts,
Gatherer and judges. The last test runs the unchanged live suite against the sandbox's wire with every AWS
call throttled, and reads its JUnit report: nothing red, every AWS test one "can't tell:" line, the run ends.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs

import boto3
import botocore.retries.standard
import pytest

from cabal_checks import facts
from cabal_checks.aws import dns, ecs, elb, logs
from cabal_checks.aws.reader import AwsReader, NotFound
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.judge import ecs as ecs_judge
from cabal_checks.judge import load_balancers as lb_judge
from cabal_checks.verdict import CantTell

from .live_run import run_live

REGION = "us-east-1"
DOMAIN = "cabal.example.test"

# --- a misbehaving AWS ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    proto: str  # json | query | ec2 | restxml | restjson
    op: str
    method: str
    path: str
    body: bytes
    headers: dict = field(default_factory=dict, compare=False)
    attempt: int = field(default=1, compare=False)  # how many times the server has now seen this very call

    @property
    def key(self) -> tuple[str, str]:
        """One distinct call: the operation and exactly what was asked (same bytes on every retry)."""
        return self.op, hashlib.sha256(self.method.encode() + self.path.encode() + self.body).hexdigest()[:12]


HANG = object()


def error_reply(req: Req, code: str, message: str, status: int) -> tuple[int, dict, bytes]:
    """An AWS error, shaped the way the request's protocol carries it."""
    if req.proto == "json":
        return status, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"__type": code, "message": message}).encode()
    if req.proto == "restjson":
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
            {"message": message}).encode()
    if req.proto == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>fake-1</RequestID></Response>")
    else:  # query, restxml
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>fake-1</RequestId></ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body.encode()


THROTTLE = {"json": ("ThrottlingException", 400), "query": ("Throttling", 400),
            "ec2": ("RequestLimitExceeded", 503), "restxml": ("Throttling", 400),
            "restjson": ("TooManyRequestsException", 429)}


def throttle(req: Req):
    code, status = THROTTLE[req.proto]
    return error_reply(req, code, "Rate exceeded", status)


class FakeAws:
    """A local HTTP server answering every AWS request with ``behave(req)``: (status, headers, body) or HANG."""

    def __init__(self, behave):
        self.behave = behave
        self.seen: Counter = Counter()
        self.protos: set[str] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self._answer()

            do_GET = do_POST

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                req = fake.parse(self.command, self.path, self.headers, body)
                with fake._lock:
                    fake.seen[req.key] += 1
                    req = replace(req, attempt=fake.seen[req.key])
                    fake.protos.add(req.proto)
                    fake._conns.append(self.connection)
                reply = fake.behave(req)
                if reply is HANG:
                    fake.release.wait()
                    self.close_connection = True
                    return
                status, headers, payload = reply
                self.send_response(status)
                for k, v in {**headers, "Content-Length": str(len(payload)), "x-amzn-RequestId": "fake-1"}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @staticmethod
    def parse(method: str, path: str, headers, body: bytes) -> Req:
        h = dict(headers.items())
        if headers.get("X-Amz-Target"):
            return Req("json", headers["X-Amz-Target"].rsplit(".", 1)[-1], method, path, body, h)
        if (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs(body.decode())
            proto = "ec2" if form.get("Version") == ["2016-11-15"] else "query"
            return Req(proto, form["Action"][0], method, path, body, h)
        proto = "restxml" if path.startswith(("/2013-04-01/", "/2020-05-31/")) else "restjson"
        return Req(proto, f"{method} {path.split('?')[0]}", method, path, body, h)

    def attempts(self) -> list[int]:
        with self._lock:
            return sorted(self.seen.values())

    def total(self) -> int:
        with self._lock:
            return sum(self.seen.values())

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except OSError:
                    pass
        self.thread.join(5)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def no_backoff(monkeypatch):
    """Retries without their jittered sleep (up to 1 s + 2 s when throttled): same attempts, faster test."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def pointed_at(aws_env, url: str) -> None:
    aws_env.setenv("AWS_ENDPOINT_URL", url)


def context(aws_timeout: float = 30.0) -> Context:
    """A run's context; the roomy default deadline is for moto's first-call warm-up (about 1 s, more on a busy
    machine), the fault tests pass a short one."""
    return Context(load_settings({"control_domain": DOMAIN, "region": REGION, "aws_timeout": aws_timeout}, env={}))


def cant_tell(fn, *args, **kwargs) -> str:
    with pytest.raises(CantTell) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, f"can't tell must be one line: {message!r}"
    return message


# One representative read per wire protocol the suite speaks: (service, method, params, IAM action, protocol).
CALLS = [
    ("ecs", "describe_services", {"cluster": "cabal-mail", "services": ["cabal-imap"]}, "ecs:DescribeServices", "json"),
    ("cloudwatch", "get_metric_statistics",
     {"Namespace": "AWS/Lambda", "MetricName": "Errors", "StartTime": datetime(2026, 1, 1, tzinfo=UTC),
      "EndTime": datetime(2026, 1, 2, tzinfo=UTC), "Period": 86400, "Statistics": ["Sum"]},
     "cloudwatch:GetMetricStatistics", "json"),  # botocore prefers awsJson 1.0 of its protocols
    ("elbv2", "describe_target_groups", {"Names": ["cabal-ecs-imap-tg"]},
     "elasticloadbalancing:DescribeTargetGroups", "query"),
    ("ec2", "describe_vpcs", {"Filters": [{"Name": "tag:Name", "Values": ["cabal-vpc"]}]}, "ec2:DescribeVpcs", "ec2"),
    ("route53", "list_hosted_zones_by_name", {"DNSName": DOMAIN + "."}, "route53:ListHostedZonesByName", "restxml"),
    ("lambda", "get_function_configuration", {"FunctionName": "cabal-certbot-renewal"},
     "lambda:GetFunctionConfiguration", "restjson"),
]
CALL_IDS = [f"{c[0]}-{c[4]}" for c in CALLS]


# --- throttling -------------------------------------------------------------------------------------


@pytest.mark.parametrize("service, method, params, action, proto", CALLS, ids=CALL_IDS)
def test_throttled_call_is_tried_three_times_then_cant_tell(aws_env, no_backoff, service, method, params, action, proto):
    with FakeAws(throttle) as fake:
        pointed_at(aws_env, fake.url)
        reader = AwsReader(REGION, 10.0)
        message = cant_tell(reader.call, service, method, **params)
        assert message.startswith(f"throttled by AWS calling {action} after 3 attempt(s)"), message
        assert fake.protos == {proto} and fake.attempts() == [3], f"one distinct call, three attempts: {fake.seen}"
        cant_tell(reader.call, service, method, **params)  # asked again: the run's answer, not a 4th attempt
        assert fake.attempts() == [3]
        assert reader.calls == [(service, action.split(":")[1])]


def test_throttled_pages_are_bounded_too(aws_env, no_backoff):
    with FakeAws(throttle) as fake:
        pointed_at(aws_env, fake.url)
        reader = AwsReader(REGION, 10.0)
        for group in ("cabal-imap", "cabal-smtp-in"):  # two distinct calls: three attempts each
            message = cant_tell(reader.pages, "ec2", "describe_security_groups", "SecurityGroups",
                                Filters=[{"Name": "group-name", "Values": [group]}])
            assert "throttled" in message and "ec2:DescribeSecurityGroups" in message
        assert fake.attempts() == [3, 3]


def test_a_call_that_passed_after_a_retry_is_noted(aws_env, no_backoff):
    """The first answer is a throttle, the second a success: the run goes on, ``retried`` says so."""
    def once_throttled(req: Req):
        return throttle(req) if req.attempt == 1 else (200, {"Content-Type": "application/x-amz-json-1.1"},
                                                       b'{"services": [], "failures": []}')

    with FakeAws(once_throttled) as fake:
        pointed_at(aws_env, fake.url)
        reader = AwsReader(REGION, 10.0)
        out = reader.call("ecs", "describe_services", cluster="cabal-mail", services=["cabal-imap"])
        assert out["services"] == [] and out["ResponseMetadata"]["RetryAttempts"] == 1
        assert fake.attempts() == [2]
        assert reader.retried == {("ecs", "DescribeServices"): 1}


# --- access denied, bad credentials, no credentials --------------------------------------------------

DENIED = {"json": ("AccessDeniedException", 400), "query": ("AccessDenied", 403),
          "ec2": ("UnauthorizedOperation", 403), "restxml": ("AccessDenied", 403),
          "restjson": ("AccessDeniedException", 403)}


@pytest.mark.parametrize("service, method, params, action, proto", CALLS, ids=CALL_IDS)
def test_access_denied_names_the_missing_iam_action(aws_env, service, method, params, action, proto):
    def deny(req: Req):
        code, status = DENIED[req.proto]
        return error_reply(req, code, f"User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: "
                                      f"{action} because no identity-based policy allows the {action} action", status)

    with FakeAws(deny) as fake:
        pointed_at(aws_env, fake.url)
        message = cant_tell(AwsReader(REGION, 10.0).call, service, method, **params)
        assert message.startswith(f"AccessDenied: these credentials may not call {action} "), message
        assert fake.protos == {proto} and fake.attempts() == [1], "AccessDenied is not retried"


CREDENTIAL_FAULTS = [
    ("json", "UnrecognizedClientException", 400, "invalid"),
    ("json", "ExpiredTokenException", 400, "expired"),
    ("query", "InvalidClientTokenId", 403, "invalid"),
    ("query", "ExpiredToken", 400, "expired"),
    ("ec2", "AuthFailure", 401, "invalid"),
]


@pytest.mark.parametrize("proto, code, status, says", CREDENTIAL_FAULTS, ids=[c[1] for c in CREDENTIAL_FAULTS])
def test_rejected_credentials_say_so(aws_env, proto, code, status, says):
    service, method, params, action, _ = next(c for c in CALLS if c[4] == proto)
    with FakeAws(lambda req: error_reply(req, code, "The security token included in the request is invalid.",
                                         status)) as fake:
        pointed_at(aws_env, fake.url)
        message = cant_tell(AwsReader(REGION, 10.0).call, service, method, **params)
        verb = "have" if says == "expired" else "are"
        assert message.startswith(f"AWS rejected the credentials ({code}) calling {action}: they {verb} {says}"), message
        assert fake.attempts() == [1]


def test_no_credentials_at_all(aws_env):
    with FakeAws(throttle) as fake:
        pointed_at(aws_env, fake.url)
        aws_env.delenv("AWS_ACCESS_KEY_ID")
        aws_env.delenv("AWS_SECRET_ACCESS_KEY")
        message = cant_tell(context().get, "aws", facts.ecs_services)
        assert message.startswith("no AWS credentials"), message
        assert fake.total() == 0, "nothing is sent without credentials"


def test_moto_enforcing_iam_denies_with_the_iam_action(aws_env, monkeypatch):
    """Real moto, IAM enforced, a user allowed nothing the suite needs: each denial names its IAM action,
    whatever shape the protocol gives it (ec2 Code, JSON "403" + XML, rest-xml empty Code)."""
    import moto
    import moto.core.authorization
    import moto.iam.access_control

    with moto.mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="auditor")
        iam.put_user_policy(UserName="auditor", PolicyName="nothing-useful", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                                                     "Resource": "*"}]}))
        key = iam.create_access_key(UserName="auditor")["AccessKey"]
        aws_env.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
        monkeypatch.setattr(moto.core.authorization.ActionAuthenticatorMixin, "request_count", 0)
        # moto recomputes bodiless rest-xml signatures wrongly (notes section 10): authorize by action alone
        monkeypatch.setattr(moto.iam.access_control.IAMRequest, "check_signature", lambda self: None)
        reader = AwsReader(REGION, 10.0)
        for service, method, params, action, _proto in CALLS:
            message = cant_tell(reader.call, service, method, **params)
            assert message.startswith(f"AccessDenied: these credentials may not call {action} "), message


# --- AWS down or hanging ------------------------------------------------------------------------------


def test_unreachable_endpoint_is_cant_tell(aws_env, no_backoff):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pointed_at(aws_env, f"http://127.0.0.1:{port}")
    ctx = context(aws_timeout=5.0)  # refused at once, three times: the reader's answer comes well within it
    message = cant_tell(ctx.get, "aws", facts.ecs_services)
    assert message.startswith("AWS ecs:DescribeServices could not be reached: EndpointConnectionError"), message


def test_hanging_endpoint_is_cant_tell_within_the_deadline(aws_env):
    """Accepts, never answers: the fact gives up at its deadline (aws_timeout). After that, nothing costs a second
    deadline: the same request, asked again (a later check, or one after discovery), is told at once that its call has
    had no answer for a whole deadline, and a new request is not sent at all while AWS has answered none of them
    for a whole read timeout (aws_timeout/2: every attempt so far has timed out)."""
    with FakeAws(lambda req: HANG) as fake:
        pointed_at(aws_env, fake.url)
        ctx = context(aws_timeout=2.0)
        message = cant_tell(ctx.get, "aws", facts.ecs_services)
        assert message == "ecs_services(): no answer within 2s", message
        message = cant_tell(ctx.aws.call, "ecs", "describe_services", cluster="cabal-mail",
                            services=sorted(ctx.name(k) for k in ctx.settings.topology.services()))
        assert message == "AWS ecs:DescribeServices: no answer within 2s", message
        message = cant_tell(ctx.aws.call, "ecs", "list_clusters")
        assert message == ("AWS has answered none of this run's requests for over 1s (its read timeout): "
                           "ecs:ListClusters not sent"), message
        assert [op for op, _ in fake.seen] == ["DescribeServices"]


def test_hanging_call_ends_by_itself_after_its_attempts(aws_env):
    """The call a fact abandoned is bounded by itself: 3 attempts, each with a read timeout of aws_timeout/2."""
    with FakeAws(lambda req: HANG) as fake:
        pointed_at(aws_env, fake.url)
        message = cant_tell(AwsReader(REGION, 2.0).call, "ecs", "list_clusters")
        assert message.startswith("AWS ecs:ListClusters could not be reached: ReadTimeoutError"), message
        assert fake.attempts() == [3]


def test_one_answer_and_requests_go_out_again(aws_env):
    """An AWS that answers something (an error is an answer) is not silent: a request after the deadline is sent."""
    def behave(req: Req):
        return HANG if req.op == "DescribeServices" else error_reply(req, "ClusterNotFoundException", "none", 400)

    with FakeAws(behave) as fake:
        pointed_at(aws_env, fake.url)
        ctx = context(aws_timeout=2.0)
        with pytest.raises(NotFound):
            ctx.aws.call("ecs", "list_clusters")  # answered: the endpoint is not silent
        assert cant_tell(ctx.get, "aws", facts.ecs_services) == "ecs_services(): no answer within 2s"
        with pytest.raises(NotFound):
            ctx.aws.call("ecs", "list_services", cluster="cabal-mail")  # a whole deadline later, still sent
        assert {op for op, _ in fake.seen} == {"DescribeServices", "ListClusters", "ListServices"}


# --- a resource missing: red where the runbook means it ------------------------------------------------


def test_ecs_cluster_missing_is_red_not_found(mock_account):
    ctx = context()
    cluster, name = ctx.name("cluster"), ctx.name("service_imap")
    services = ctx.get("aws", facts.ecs_services)
    stopped = ctx.get("aws", facts.stopped_tasks, "service_imap")
    verdict = ecs_judge.service_running(cluster, name, services.get(name), stopped)
    assert not verdict.ok and "not found" in verdict.summary and name in verdict.summary and cluster in verdict.summary


def test_ecs_service_missing_is_red_not_found(mock_account):
    ctx = context()
    cluster, name = ctx.name("cluster"), ctx.name("service_imap")
    boto3.client("ecs", region_name=REGION).create_cluster(clusterName=cluster)
    services = ctx.get("aws", facts.ecs_services)
    verdict = ecs_judge.service_running(cluster, name, services.get(name),
                                        ctx.get("aws", facts.stopped_tasks, "service_imap"))
    assert not verdict.ok
    assert verdict.summary == f"ECS service {name} not found in cluster {cluster}"
    assert verdict.next == (f"aws ecs list-services --cluster {cluster}",)


def test_target_group_missing_is_red_not_found(mock_account):
    ctx = context()
    tg = ctx.name("tg_imap")
    verdict = lb_judge.targets_healthy(tg, ctx.get("aws", facts.target_group, "tg_imap"))
    assert not verdict.ok and verdict.summary == f"target group {tg} not found"
    assert verdict.next == (f"aws elbv2 describe-target-groups --names {tg}",)


def test_load_balancer_missing_is_red_not_found(mock_account):
    ctx = context()
    ep = next(e for e in ctx.settings.topology.endpoints if e.front == "nlb")
    name = ctx.name("nlb")
    verdict = lb_judge.listener_present(ep, name, ctx.get("aws", facts.load_balancer, "nlb"), None, {})
    assert not verdict.ok and verdict.summary == f"load balancer {name} not found"


# --- more than one page --------------------------------------------------------------------------------


def _count_requests(reader: AwsReader, service: str, api: str) -> list:
    seen = []
    reader.client(service).meta.events.register(f"before-call.{service}.{api}", lambda **kw: seen.append(api))
    return seen


def test_route53_records_beyond_one_page_are_all_read(mock_account):
    r53 = boto3.client("route53", region_name=REGION)
    zone = r53.create_hosted_zone(Name=DOMAIN, CallerReference="faults")["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [
        {"Action": "CREATE", "ResourceRecordSet": {"Name": f"h{i:03d}.{DOMAIN}", "Type": "A", "TTL": 60,
                                                   "ResourceRecords": [{"Value": f"10.0.{i // 250}.{i % 250 + 1}"}]}}
        for i in range(320)]})
    reader = AwsReader(REGION, 10.0)
    pages = _count_requests(reader, "route53", "ListResourceRecordSets")
    records = dns.records(reader, zone)
    assert len(pages) >= 2, "moto's page holds 300 record sets: this must have taken more than one"
    assert {r["Name"] for r in records if r["Type"] == "A"} == {f"h{i:03d}.{DOMAIN}." for i in range(320)}
    assert {r["Type"] for r in records} == {"A", "NS", "SOA"}


def test_log_events_beyond_one_page_are_all_read(mock_account):
    cwl = boto3.client("logs", region_name=REGION)
    group = "/cabal/lambda/certbot-renewal"
    cwl.create_log_group(logGroupName=group)
    cwl.create_log_stream(logGroupName=group, logStreamName="s")
    now = datetime.now(UTC)
    start_ms = int((now - timedelta(hours=2)).timestamp() * 1000)
    cwl.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": start_ms + i * 1000, "message": f"certbot exited with code {i}"} for i in range(130)])
    reader = AwsReader(REGION, 10.0)
    pages = _count_requests(reader, "logs", "FilterLogEvents")
    events = reader.pages("logs", "filter_log_events", "events", logGroupName=group, limit=50,
                          startTime=start_ms, endTime=int(now.timestamp() * 1000))
    assert len(pages) == 3 and len(events) == 130
    assert [e["message"] for e in events] == [f"certbot exited with code {i}" for i in range(130)]
    # and the suite's own search (one filter per word, OR-ed) sees every line too
    found = logs.events_with(reader, group, ("certbot exited with code",), now - timedelta(hours=3), now)
    assert len(found) == 130


def test_ecs_services_beyond_one_describe_batch_are_all_read(mock_account):
    client = boto3.client("ecs", region_name=REGION)
    client.create_cluster(clusterName="cabal-mail")
    client.register_task_definition(family="t", containerDefinitions=[{"name": "c", "image": "i", "memory": 64}])
    names = tuple(f"svc-{i:02d}" for i in range(13))
    for name in names:
        client.create_service(cluster="cabal-mail", serviceName=name, taskDefinition="t", desiredCount=1)
    reader = AwsReader(REGION, 10.0)
    calls = _count_requests(reader, "ecs", "DescribeServices")
    found = ecs.services(reader, "cabal-mail", names)
    assert len(calls) == 2, "describe_services takes 10 names at a time"
    assert all(found[n] and found[n]["serviceName"] == n for n in names)


def test_targets_all_read(mock_account):
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    tg = elbv2.create_target_group(Name="cabal-ecs-imap-tg", Protocol="TCP", Port=993, VpcId=vpc,
                                   TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": f"10.9.0.{i}", "Port": 993} for i in range(1, 41)])
    health = elb.target_health(AwsReader(REGION, 10.0), tg)
    assert sorted(h["Target"]["Id"] for h in health) == sorted(f"10.9.0.{i}" for i in range(1, 41))


def test_ecs_tasks_beyond_one_page_are_all_read(aws_env):
    """moto ignores list_tasks paging, so this AWS pages 100 task ARNs at a time (nextToken) and describes
    at most 100 per call, like ECS: 250 tasks take 3 list pages and 3 describe calls, and all are seen."""
    arns = [f"arn:aws:ecs:{REGION}:123456789012:task/cabal-mail/{i:032x}" for i in range(250)]

    def ecs_api(req: Req):
        body = json.loads(req.body or b"{}")
        if req.op == "ListTasks":
            start = int(body.get("nextToken", "0"))
            page = {"taskArns": arns[start:start + 100]}
            if start + 100 < len(arns):
                page["nextToken"] = str(start + 100)
            out = page
        elif req.op == "DescribeTasks":
            assert len(body["tasks"]) <= 100
            out = {"tasks": [{"taskArn": a, "group": "service:cabal-imap", "lastStatus": "STOPPED",
                              "stoppedAt": 1_700_000_000 + arns.index(a)} for a in body["tasks"]], "failures": []}
        else:
            return error_reply(req, "InvalidParameterException", "unexpected", 400)
        return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(out).encode()

    with FakeAws(ecs_api) as fake:
        pointed_at(aws_env, fake.url)
        tasks = ecs.tasks(AwsReader(REGION, 10.0), "cabal-mail", "cabal-imap", "STOPPED")
        assert sorted(t["taskArn"] for t in tasks) == sorted(arns)
        assert Counter(op for op, _ in fake.seen) == {"ListTasks": 3, "DescribeTasks": 3}


# --- end to end: the live suite, sandbox wire, AWS throttled ---------------------------------------------
# These come last: the sandbox's moto server shares moto's backends with the in-process mock_aws tests above.


@pytest.fixture(scope="module")
def sandbox_options():
    return {"probe_timeout": 2.0}


def test_live_suite_with_aws_throttled_is_never_red(sandbox, tmp_path):
    """The unchanged live suite against the sandbox's endpoints, with AWS_ENDPOINT_URL on a server that
    throttles every call (real backoff): it ends; no test is red; every test that reads AWS (marker ``aws``)
    is an ERROR of one line "can't tell: ..."; each distinct call was tried exactly 3 times."""
    with FakeAws(throttle) as fake:
        run = run_live(sandbox, tmp_path, env={"AWS_ENDPOINT_URL": fake.url}, timeout=120)
        attempts = fake.attempts()
    assert run.results and set(run.results) == set(run.markers)
    assert not run.outcomes("failure"), f"red because AWS throttled: {run.outcomes('failure')}"
    for nodeid, (outcome, text) in run.results.items():
        if outcome == "error":
            assert text.startswith("can't tell: ") and "\n" not in text.strip(), f"{nodeid}: {text!r}"
        if "aws" in run.markers[nodeid]:
            assert outcome in ("error", "skipped"), f"{nodeid} reads AWS, yet {outcome}"
    errors = run.outcomes("error").values()
    assert errors and all("throttled by AWS calling " in t and "after 3 attempt(s)" in t for t in errors), errors
    assert attempts and set(attempts) == {3}, f"attempts per distinct call: {attempts}"
    assert run.retried == [], "nothing succeeded, so nothing passed after a retry"


def test_live_suite_with_aws_silent_costs_one_deadline(sandbox, tmp_path):
    """The unchanged live suite, AWS_ENDPOINT_URL on a server that accepts every request and never answers: no
    test is red, every one that reads AWS is an ERROR of one line, and nothing was sent after the requests of
    discovery and of the facts started beside it (facts/early.py): they wait one deadline, together, before collection;
    after it, no check waits a second one."""
    with FakeAws(lambda req: HANG) as fake:
        run = run_live(sandbox, tmp_path, env={"AWS_ENDPOINT_URL": fake.url}, options=("--aws-timeout", "2"),
                       timeout=120)
        sent = {op for op, _ in fake.seen}
    assert run.results and not run.outcomes("failure"), f"red because AWS is silent: {run.outcomes('failure')}"
    for nodeid, (outcome, text) in run.results.items():
        if "aws" in run.markers[nodeid]:
            assert outcome in ("error", "skipped"), f"{nodeid} reads AWS, yet {outcome}"
        if outcome == "error":
            assert text.startswith("can't tell: ") and "\n" not in text.strip(), f"{nodeid}: {text!r}"
    assert any("not sent" in t for t in run.outcomes("error").values()), run.outcomes("error")
    discovery = {"DescribeLoadBalancers", "DescribeTargetGroups", "DescribeServices",
                 "GET /2020-05-31/distribution"}  # CloudFront ListDistributions, as the fake names it
    beside = {"FilterLogEvents", "ListUserPools",  # the first requests of the early facts; dmarc's schedule:
              "GET /schedules/cabal-process-dmarc"}  # EventBridge Scheduler's GetSchedule, as the fake names it
    assert sent == discovery | beside, sent


def forward_to(url: str):
    """Behaviour: throttle the first attempt of every distinct call, pass the retry through to ``url``."""
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(url)

    def behave(req: Req):
        if req.attempt == 1:
            return throttle(req)
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(req.method, req.path, body=req.body or None, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            keep = {k: v for k, v in resp.getheaders()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server")}
            return resp.status, keep, payload
        finally:
            conn.close()

    return behave


def test_live_suite_passes_after_retries(sandbox, tmp_path):
    """Every distinct AWS call is throttled once, then answered by the sandbox's moto: the retries are
    transparent (the healthy sandbox stays all green, nothing can't-tell) and the run knows which calls
    passed only after a retry (the reader's ``retried``: every call, once)."""
    with FakeAws(forward_to(sandbox.endpoint_url)) as fake:
        # a fact's calls are sequential, each now waiting up to 1 s before its retry: a roomier deadline
        run = run_live(sandbox, tmp_path, env={"AWS_ENDPOINT_URL": fake.url}, options=("--aws-timeout=30",),
                       timeout=120)
        attempts = fake.attempts()
    assert not run.outcomes("failure") and not run.outcomes("error"), (run.outcomes("failure"), run.outcomes("error"))
    assert attempts and set(attempts) == {2}, f"one throttle and one answer per distinct call: {attempts}"
    retried = {(s, a): n for s, a, n in run.retried}
    assert set(retried) == run.reader_calls, sorted(run.reader_calls ^ set(retried))
