"""The AWS half of the sandbox: a moto account shaped like the real Cabalmail deployment.

``seed()`` builds, with plain boto3 calls, everything the read-only suite looks up by name
(cabal-infra-facts.md section 2): VPC, NAT instances, security groups, the ECS cluster with one
running task per service, the NLB and the ALB with healthy targets, both Route 53 zones, the ACM
wildcard, CloudFront, API Gateway, Cognito and the Let's Encrypt pipeline (certbot Lambda, its
schedule, its log group, the three SSM parameters). It works inside ``moto.mock_aws()`` and against a
``ThreadedMotoServer`` in the same process (``AWS_ENDPOINT_URL``), because where moto has no API for a
state (task ``startedAt``, SSM ``LastModifiedDate``, the look of an AMAZON_ISSUED cert) it reaches into
moto's backend objects or sets an entry in the registries of ``moto_patches`` (moto-and-tooling-notes.md section 0,
way C): ``ACM_OVERRIDES``, ``TARGET_HEALTH``, ``LAMBDA_CONFIG``, ``ROUTE_STATES``, re-exported here with
``install_patches``, ``remove_patches`` and ``clear_registries``.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from cryptography import x509

from ..names import DEFAULT_NAMES
from ..topology import Topology

if TYPE_CHECKING:
    from moto.backends import SERVICE_NAMES
from . import history_capacity, history_dynamodb_efs
from .moto_patches import (  # noqa: F401  (re-exported: aws_faults, aws_noise, snapshot and the sandbox use them here)
    ACM_OVERRIDES,
    LAMBDA_CONFIG,
    ROUTE_STATES,
    TARGET_HEALTH,
    clear_registries,
    install_patches,
    remove_patches,
    shared_loader,
)


def session(region: str = "us-east-1") -> boto3.session.Session:
    """A fresh boto3 session (fresh credentials and ``AWS_ENDPOINT_URL``) sharing one botocore model loader."""
    # moto.mock_aws() swaps out boto3's default session, so each sandbox would otherwise parse the service
    # models again (about 0.05 s per client).
    bs = botocore.session.get_session()
    bs.register_component("data_loader", shared_loader())
    return boto3.session.Session(botocore_session=bs, region_name=region)


def backend(service: SERVICE_NAMES, seeded: Seeded):
    """moto's backend object for ``service`` in the seeded account and region (in-process only)."""
    from moto.backends import get_backend

    return get_backend(service)[seeded.account_id][seeded.region]


def put_metrics(seeded: Seeded, namespace: str, data: list[dict]) -> None:
    """PutMetricData for the histories, straight into moto's CloudWatch backend (in this process, as ``backend``),
    stored as moto stores what the API brings (naive UTC, float values): thousands of datums through botocore's
    serializer and moto's parser were a fifth of a sandbox's start. moto's own validation still runs."""
    stored = [{**d, "Timestamp": _naive_utc(d["Timestamp"]), "Value": float(d["Value"])} for d in data]
    backend("cloudwatch", seeded).put_metric_data(namespace, stored)


def _naive_utc(when: datetime) -> datetime:
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


# --------------------------------------------------------------------------------------------
# What was created
# --------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """Ids and ARNs of what ``seed()`` created; the fault functions work from these."""

    topology: Topology
    control_domain: str
    names: dict[str, str]
    region: str
    account_id: str
    now: datetime
    vpc_id: str = ""
    vpc_cidr: str = "10.0.0.0/16"
    private_subnet_ids: list[str] = field(default_factory=list)
    public_subnet_ids: list[str] = field(default_factory=list)
    default_nacl_id: str = ""
    nat_instance_ids: list[str] = field(default_factory=list)
    nat_eips: list[str] = field(default_factory=list)  # public IPs, index = AZ
    nat_eip_allocation_ids: list[str] = field(default_factory=list)
    private_route_table_ids: list[str] = field(default_factory=list)
    ecs_instance_id: str = ""
    sg_ids: dict[str, str] = field(default_factory=dict)  # names key (sg_imap...) or literal SG name -> id
    cluster_arn: str = ""
    container_instance_arn: str = ""
    service_names: dict[str, str] = field(default_factory=dict)  # names key -> ECS service name
    service_arns: dict[str, str] = field(default_factory=dict)
    task_definition_arns: dict[str, str] = field(default_factory=dict)
    task_arns: dict[str, str] = field(default_factory=dict)  # names key -> the RUNNING task
    task_ips: dict[str, str] = field(default_factory=dict)
    stopped_task_arns: dict[str, list[str]] = field(default_factory=dict)  # filled by faults
    service_tgs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # service key -> [(tg key, port)]
    tg_arns: dict[str, str] = field(default_factory=dict)  # names key -> target group ARN
    tg_ports: dict[str, int] = field(default_factory=dict)
    targets: dict[str, list[str]] = field(default_factory=dict)  # tg key -> registered target ids
    nlb_arn: str = ""
    nlb_dns: str = ""
    nlb_zone_id: str = ""
    alb_arn: str = ""
    alb_dns: str = ""
    alb_zone_id: str = ""
    listener_arns: dict[int, str] = field(default_factory=dict)  # port -> listener ARN (NLB ports + ALB 443)
    alb_rule_arns: dict[str, str] = field(default_factory=dict)  # host -> rule ARN
    public_zone_id: str = ""
    private_zone_id: str = ""
    records: list[tuple[str, str, str]] = field(default_factory=list)  # (zone, fqdn with dot, type)
    acm_arn: str = ""
    acm_validation_name: str = ""
    acm_validation_value: str = ""
    acm_in_use_by: list[str] = field(default_factory=list)
    cf_distribution_id: str = ""
    cf_domain_name: str = ""
    cf_arn: str = ""
    site_distributions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # alias -> (id, domain, ARN)
    rest_api_id: str = ""
    authorizer_id: str = ""
    list_resource_id: str = ""
    user_pool_id: str = ""
    user_pool_arn: str = ""
    client_id: str = ""
    probe_username: str = ""
    probe_password: str = ""
    cloudmap_namespace_id: str = ""
    cloudmap_service_arns: dict[str, str] = field(default_factory=dict)
    certbot_role_arn: str = ""
    certbot_function_arn: str = ""
    certbot_schedule_arn: str = ""
    certbot_run_at: datetime | None = None
    certbot_log_stream: str = ""
    ssm_cert_modified_at: datetime | None = None
    imap_log_stream: str = ""
    seconds: float = 0.0  # wall time of seed()
    ip_counter: int = 10
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)

    def last_certbot_run(self) -> datetime:
        """When the certbot Lambda last ran (seed() sets it before anything reads it)."""
        if self.certbot_run_at is None:
            raise RuntimeError("certbot_run_at read before seed() set it")
        return self.certbot_run_at

    def name(self, key: str) -> str:
        return self.names[key]

    def client(self, service: str):
        """A boto3 client for the seeded region (cached; honours ``AWS_ENDPOINT_URL`` when it was created)."""
        if service not in self._clients:
            if self._session is None:
                self._session = session(self.region)
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def forget_clients(self) -> None:
        """Drop the cached clients (and their session): the next ones honour ``AWS_ENDPOINT_URL`` as it is then."""
        self._clients, self._session = {}, None

    def fqdn(self, host: str) -> str:
        """``imap`` or ``imap.<cd>`` -> ``imap.<cd>.``"""
        host = host.rstrip(".")
        if host != self.control_domain and not host.endswith("." + self.control_domain):
            host = f"{host}.{self.control_domain}"
        return host + "."


# Per ECS service: container name, container ports, log stream prefix, extra SSM secrets.
SERVICE_SPECS: dict[str, dict[str, Any]] = {
    "service_imap": {"container": "imap", "ports": [143, 993, 25],
                     "extra_secrets": {"MASTER_PASSWORD": "/cabal/master_password"}},
    "service_smtp_in": {"container": "smtp-in", "ports": [25], "extra_secrets": {}},
    "service_smtp_out": {"container": "smtp-out", "ports": [465, 587],
                         "extra_secrets": {"DKIM_PRIVATE_KEY": "/cabal/dkim_private_key"}},
    "service_uptime_kuma": {"container": "uptime-kuma", "ports": [3001], "extra_secrets": None},
    "service_ntfy": {"container": "ntfy", "ports": [80], "extra_secrets": None},
}
MAIL_SERVICES = ("service_imap", "service_smtp_in", "service_smtp_out")

# Per target group: protocol, container port, service key, health check (facts 2.2).
TG_SPECS: dict[str, dict[str, Any]] = {
    "tg_imap": {"protocol": "TCP", "port": 143, "service": "service_imap"},
    "tg_relay": {"protocol": "TCP", "port": 25, "service": "service_smtp_in"},
    "tg_submission": {"protocol": "TCP", "port": 465, "service": "service_smtp_out"},
    "tg_starttls": {"protocol": "TCP", "port": 587, "service": "service_smtp_out"},
    "tg_uptime_kuma": {"protocol": "HTTP", "port": 3001, "service": "service_uptime_kuma", "hc_path": "/", "matcher": "200-399"},
    "tg_ntfy": {"protocol": "HTTP", "port": 80, "service": "service_ntfy", "hc_path": "/v1/health", "matcher": "200"},
}
# Service SGs that are not in the names table (facts 2.5, monitoring SGs).
EXTRA_SERVICE_SGS = {"service_uptime_kuma": ("cabal-uptime-kuma", 3001), "service_ntfy": ("cabal-ntfy", 80)}
MAIL_SG_KEYS = ("sg_imap", "sg_smtp_in", "sg_smtp_out")

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"  # every CloudFront distribution's alias target zone
FAKE_AMI = "ami-0cab1a1ec5a1d0000"
NAT_AMI = "ami-0cab1a1ec5a1d0001"
TRUST_LAMBDA = {"Service": "lambda.amazonaws.com"}


def _trust(principal: dict[str, str]) -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _hex(seed_text: str, n: int = 32) -> str:
    return hashlib.sha256(seed_text.encode()).hexdigest()[:n]


def service_event(seeded: Seeded, service_key: str, message: str, at: datetime | None = None) -> None:
    """Prepend an ECS service event (newest first, like AWS); ``message`` follows the name in parentheses."""
    svc = backend("ecs", seeded).services[f"{seeded.names['cluster']}:{seeded.service_names[service_key]}"]
    svc.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": at or datetime.now(timezone.utc),
                          "message": f"(service {seeded.service_names[service_key]}) {message}"})


def put_log_lines(seeded: Seeded, group: str, stream: str, lines: list[tuple[datetime, str]]) -> None:
    """Write events through the API; those moto would reject (older than 14 days, future) go in through the backend."""
    logs = seeded.client("logs")
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    stamped = sorted(((_ms(t), m) for t, m in lines), key=lambda e: e[0])
    real_now = time.time() * 1000
    low, high = real_now - 14 * 86400_000 + 60_000, real_now + 3600_000
    in_window = [{"timestamp": ms, "message": m} for ms, m in stamped if low < ms < high]
    outside = [{"timestamp": ms, "message": m} for ms, m in stamped if not low < ms < high]
    if in_window:
        resp = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=in_window)
        if resp.get("rejectedLogEventsInfo"):
            raise RuntimeError(f"moto rejected log events for {group}/{stream}: {resp['rejectedLogEventsInfo']}")
    if outside:
        backend("logs", seeded).groups[group].streams[stream].put_log_events(outside)


def place_task(seeded: Seeded, service_key: str, started_at: datetime, *, register: bool = True,
               index: int | None = None) -> tuple[str, str]:
    """Run one RUNNING task for the service (API), give it a VPC IP and start time (backend), register it; -> (arn, ip)."""
    ecs = seeded.client("ecs")
    name = seeded.service_names[service_key]
    subnet_index = (index if index is not None else seeded.ip_counter) % len(seeded.private_subnet_ids)
    subnet = seeded.private_subnet_ids[subnet_index]
    sg = seeded.sg_ids[_service_sg_key(seeded.topology, service_key)]
    svc = ecs.describe_services(cluster=seeded.names["cluster"], services=[name])["services"][0]
    deployment = (svc.get("deployments") or [{"id": "ecs-svc/0"}])[0]["id"]
    resp = ecs.run_task(cluster=seeded.names["cluster"], taskDefinition=seeded.task_definition_arns[service_key],
                        launchType="EC2", startedBy=deployment, group=f"service:{name}",
                        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}})
    if not resp["tasks"]:
        raise RuntimeError(f"moto placed no task for {name}: {resp.get('failures')}")
    arn = resp["tasks"][0]["taskArn"]
    seeded.ip_counter += 1
    ip = f"10.0.{1 + subnet_index}.{seeded.ip_counter}"
    be = backend("ecs", seeded)
    task = be.tasks[seeded.names["cluster"]][arn]
    eni_id = ""
    for attachment in task.attachments:
        for detail in attachment["details"]:
            if detail["name"] == "privateIPv4Address":
                detail["value"] = ip
            elif detail["name"] == "privateDnsName":
                detail["value"] = f"ip-{ip.replace('.', '-')}.ec2.internal"
            elif detail["name"] == "networkInterfaceId":
                eni_id = detail["value"]
    if eni_id:
        eni = backend("ec2", seeded).get_network_interface(eni_id)
        eni.private_ip_address = ip
        eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": ip,
                                     "PrivateDnsName": f"ip-{ip.replace('.', '-')}.ec2.internal"}]
        eni.private_dns_name = f"ip-{ip.replace('.', '-')}.ec2.internal"
    az = f"{seeded.region}{'ab'[subnet_index % 2]}"
    task.created_at = started_at - timedelta(seconds=40)
    task.pull_started_at = started_at - timedelta(seconds=35)
    task.pull_stopped_at = started_at - timedelta(seconds=8)
    task.started_at = started_at
    task.connectivity = "CONNECTED"
    task.connectivity_at = started_at - timedelta(seconds=38)
    task.availability_zone = az
    task.health_status = "HEALTHY"
    task.cpu = "256"
    task.memory = "512"
    task.version = 2
    for container in task.containers:
        container.last_status = "RUNNING"
        container.exitCode = None
        container.network_interfaces = [{"attachmentId": task.attachments[0]["id"] if task.attachments else "",
                                         "privateIpv4Address": ip}]
    if register:
        elbv2 = seeded.client("elbv2")
        for tg_key, port in seeded.service_tgs.get(service_key, []):
            elbv2.register_targets(TargetGroupArn=seeded.tg_arns[tg_key], Targets=[{"Id": ip, "Port": port}])
            seeded.targets.setdefault(tg_key, []).append(ip)
    return arn, ip


def stop_task(seeded: Seeded, service_key: str, arn: str, *, reason: str, stop_code: str, stopped_at: datetime,
              exit_code: int | None = 1, started_at: datetime | None = None, deregister: bool = True) -> None:
    """Stop a task via the API, then give it the ``stopCode``/``stoppedAt`` AWS would show (backend)."""
    ecs = seeded.client("ecs")
    ecs.stop_task(cluster=seeded.names["cluster"], task=arn, reason=reason)
    task = backend("ecs", seeded).tasks[seeded.names["cluster"]][arn]
    task.last_status = task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = stop_code
    task.stopping_at = stopped_at - timedelta(seconds=5)
    task.execution_stopped_at = stopped_at - timedelta(seconds=2)
    task.stopped_at = stopped_at
    task.connectivity = "DISCONNECTED"
    if started_at is not None:
        task.started_at = started_at
    task.health_status = "UNKNOWN"
    for container in task.containers:
        container.last_status = "STOPPED"
        container.exitCode = exit_code
        if exit_code is None:
            container.reason = reason
    if deregister:
        ip = next((d["value"] for a in task.attachments for d in a["details"] if d["name"] == "privateIPv4Address"), None)
        elbv2 = seeded.client("elbv2")
        for tg_key, port in seeded.service_tgs.get(service_key, []):
            if ip and ip in seeded.targets.get(tg_key, []):
                elbv2.deregister_targets(TargetGroupArn=seeded.tg_arns[tg_key], Targets=[{"Id": ip, "Port": port}])
                seeded.targets[tg_key].remove(ip)
    seeded.stopped_task_arns.setdefault(service_key, []).append(arn)


def _service_sg_key(topology: Topology, service_key: str) -> str:
    for e in topology.endpoints:
        if e.service == service_key and e.security_group and e.security_group in MAIL_SG_KEYS:
            return e.security_group
    fallback = {"service_imap": "sg_imap", "service_smtp_in": "sg_smtp_in", "service_smtp_out": "sg_smtp_out"}
    if service_key in fallback:
        return fallback[service_key]
    return EXTRA_SERVICE_SGS[service_key][0]


# --------------------------------------------------------------------------------------------
# seed()
# --------------------------------------------------------------------------------------------


def seed(topology: Topology, control_domain: str, names: dict[str, str], *, acm_cert, le_cert,
         region: str = "us-east-1", now: datetime | None = None) -> Seeded:
    """Create the healthy Cabalmail account for ``topology`` and return what was created."""
    started = time.perf_counter()
    install_patches()
    clear_registries()
    names = {**DEFAULT_NAMES, **(names or {})}
    now = now or datetime.now(timezone.utc)
    cd = control_domain.rstrip(".")
    s = Seeded(topology=topology, control_domain=cd, names=names, region=region, account_id="", now=now)
    s.account_id = s.client("sts").get_caller_identity()["Account"]
    run_at = now - timedelta(days=10, hours=3, minutes=17)  # the last certbot run (60-day schedule)
    s.certbot_run_at = run_at
    s.ssm_cert_modified_at = run_at + timedelta(seconds=38)

    _network(s)
    _security_groups(s)
    _iam(s)
    _acm(s, acm_cert)
    _ssm(s, le_cert)
    _load_balancers(s)
    _cloudmap(s)
    _ecs(s)
    _cognito_and_api(s)
    _cloudfront(s)
    _route53(s)
    _acm_look(s, acm_cert)
    _certbot(s)
    _imap_logs(s)
    history_mail_logs.seed(s)  # r4 mail_logs: the mail tiers' log history at normal rates
    history_dynamodb_efs.seed(s)
    from .history_heartbeat import seed as heartbeat_history  # heartbeat family (imports this module)
    heartbeat_history(s)
    from . import history_lambda  # lambda family: API and function metrics at normal rates (imports this module)
    history_lambda.seed(s)
    history_capacity.seed(s)  # capacity runbooks (r3)
    s.seconds = time.perf_counter() - started
    return s


from . import history_mail_logs  # noqa: E402  (it imports this module's helpers)


def _network(s: Seeded) -> None:
    ec2 = s.client("ec2")
    vpc = ec2.create_vpc(CidrBlock=s.vpc_cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": [
        {"Key": "Name", "Value": s.names["vpc"]}, {"Key": "managed_by_terraform", "Value": "y"}]}])["Vpc"]
    s.vpc_id = vpc["VpcId"]
    # DNS hostnames on (moto needs it for awsvpc task ENIs; the real VPC has it for the private zone)
    ec2.modify_vpc_attribute(VpcId=s.vpc_id, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=s.vpc_id, EnableDnsSupport={"Value": True})
    igw = ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [
        {"Key": "Name", "Value": "cabal-igw"}]}])["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=s.vpc_id)
    for i, az in enumerate(("a", "b")):
        for kind, cidr in (("private", f"10.0.{1 + i}.0/24"), ("public", f"10.0.{101 + i}.0/24")):
            sn = ec2.create_subnet(VpcId=s.vpc_id, CidrBlock=cidr, AvailabilityZone=f"{s.region}{az}",
                                   TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                       {"Key": "Name", "Value": f"cabal-{kind}-subnet-{i}"}]}])["Subnet"]["SubnetId"]
            (s.private_subnet_ids if kind == "private" else s.public_subnet_ids).append(sn)
    public_rt = ec2.create_route_table(VpcId=s.vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": [
        {"Key": "Name", "Value": "cabal-public-rt"}]}])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for sn in s.public_subnet_ids:
        ec2.associate_route_table(RouteTableId=public_rt, SubnetId=sn)
    nat_sg = ec2.create_security_group(GroupName="cabal-nat-instance-sg", Description="NAT instance", VpcId=s.vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=nat_sg, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": s.vpc_cidr, "Description": "all from VPC"}]}])
    s.sg_ids["cabal-nat-instance-sg"] = nat_sg
    for i in range(2):
        name = f"{s.names['nat_instance_prefix']}{i}"
        inst = ec2.run_instances(ImageId=NAT_AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 SubnetId=s.public_subnet_ids[i], SecurityGroupIds=[nat_sg],
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                     {"Key": "Name", "Value": name}]}])["Instances"][0]["InstanceId"]
        ec2.modify_instance_attribute(InstanceId=inst, SourceDestCheck={"Value": False})
        eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [
            {"Key": "Name", "Value": f"cabal-nat-eip-{i}"}]}])
        ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=inst)
        s.nat_instance_ids.append(inst)
        s.nat_eips.append(eip["PublicIp"])
        s.nat_eip_allocation_ids.append(eip["AllocationId"])
        rt = ec2.create_route_table(VpcId=s.vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": [
            {"Key": "Name", "Value": f"{s.names['private_route_table_prefix']}{i}"}]}])["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", InstanceId=inst)
        ec2.associate_route_table(RouteTableId=rt, SubnetId=s.private_subnet_ids[i])
        s.private_route_table_ids.append(rt)
    nacls = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [s.vpc_id]},
                                               {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    s.default_nacl_id = nacls[0]["NetworkAclId"]


def _security_groups(s: Seeded) -> None:
    ec2 = s.client("ec2")
    rules: dict[str, list[tuple[int, bool]]] = {}  # sg key -> [(port, public)]
    for e in s.topology.endpoints:
        if e.security_group:
            for port in e.sg_ports:
                rules.setdefault(e.security_group, []).append((port, not e.internal))
    services = s.topology.services()
    if "service_imap" in services:
        rules.setdefault("sg_imap", []).append((25, False))  # LMTP/SMTP from the VPC (facts 2.5)
    for key in MAIL_SG_KEYS:
        if any(_service_sg_key(s.topology, sk) == key for sk in services):
            rules.setdefault(key, [])
    if any(e.front == "alb" for e in s.topology.endpoints) or "tg_uptime_kuma" in s.topology.target_groups():
        rules.setdefault("sg_alb", [])
        if (443, True) not in rules["sg_alb"]:
            rules["sg_alb"].append((443, True))
    for key, ports in rules.items():
        name = s.names[key]
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=s.vpc_id)["GroupId"]
        s.sg_ids[key] = gid
        perms = []
        for port, public in dict.fromkeys(ports):
            perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
            if public:
                perm["IpRanges"] = [{"CidrIp": "0.0.0.0/0", "Description": f"{port} from anywhere"}]
                if key in MAIL_SG_KEYS:
                    perm["Ipv6Ranges"] = [{"CidrIpv6": "::/0", "Description": f"{port} from anywhere"}]
            else:
                perm["IpRanges"] = [{"CidrIp": s.vpc_cidr, "Description": f"{port} from the VPC"}]
            perms.append(perm)
        if perms:
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
    for service_key, (sg_name, port) in EXTRA_SERVICE_SGS.items():
        if service_key in services:
            gid = ec2.create_security_group(GroupName=sg_name, Description=sg_name, VpcId=s.vpc_id)["GroupId"]
            s.sg_ids[sg_name] = gid
            src = [{"GroupId": s.sg_ids["sg_alb"]}] if "sg_alb" in s.sg_ids else []
            ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": src}
                if src else {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                             "IpRanges": [{"CidrIp": s.vpc_cidr}]}])
    gid = ec2.create_security_group(GroupName="cabal-ecs-instance-sg", Description="ECS hosts", VpcId=s.vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": s.vpc_cidr, "Description": "all from VPC"}]}])
    s.sg_ids["cabal-ecs-instance-sg"] = gid


def _iam(s: Seeded) -> None:
    iam = s.client("iam")
    for role, principal in (("cabal-ecs-execution-role", {"Service": "ecs-tasks.amazonaws.com"}),
                            ("cabal-ecs-task-role", {"Service": "ecs-tasks.amazonaws.com"}),
                            ("cabal-certbot-renewal-lambda", TRUST_LAMBDA),
                            ("cabal-certbot-renewal-scheduler", {"Service": "scheduler.amazonaws.com"}),
                            ("cabal-lambda-list", TRUST_LAMBDA)):
        arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=_trust(principal))["Role"]["Arn"]
        if role == "cabal-certbot-renewal-lambda":
            s.certbot_role_arn = arn
            iam.put_role_policy(RoleName=role, PolicyName="certbot", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                                                   "route53:GetChange", "route53:ListHostedZones"], "Resource": "*"},
                    {"Effect": "Allow", "Action": ["ssm:PutParameter", "ssm:GetParameter"], "Resource": "*"},
                    {"Effect": "Allow", "Action": ["ecs:UpdateService", "ecs:DescribeServices"], "Resource": "*"}]}))


def _acm(s: Seeded, acm_cert) -> None:
    acm = s.client("acm")
    kw = {"CertificateChain": acm_cert.chain_pem} if acm_cert.chain_pem else {}
    s.acm_arn = acm.import_certificate(Certificate=acm_cert.cert_pem, PrivateKey=acm_cert.key_pem,
                                       Tags=[{"Key": "Name", "Value": s.names["acm_tag_name"]}], **kw)["CertificateArn"]
    h = _hex(f"{s.control_domain}|{s.acm_arn}", 64)
    s.acm_validation_name = f"_{h[:32]}.{s.control_domain}."
    s.acm_validation_value = f"_{h[32:]}.{_hex(h, 10)}.acm-validations.aws."


def _ssm(s: Seeded, le_cert) -> None:
    ssm = s.client("ssm")
    params = {
        s.names["ssm_cert"]: le_cert.cert_pem.decode(),
        s.names["ssm_key"]: le_cert.key_pem.decode(),
        s.names["ssm_chain"]: le_cert.chain_pem.decode(),
        "/cabal/master_password": secrets.token_urlsafe(24),
        "/cabal/dkim_private_key": "-----BEGIN PRIVATE KEY-----\nsandbox\n-----END PRIVATE KEY-----\n",
        "/cabal/healthcheck_ping_certbot_renewal": f"https://heartbeat.{s.control_domain}/ping/{uuid.uuid4()}",
    }
    for name, value in params.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    be = backend("ssm", s)
    for name in (s.names["ssm_cert"], s.names["ssm_key"], s.names["ssm_chain"]):
        be.get_parameter(name).last_modified_date = s.ssm_cert_modified_at


def _load_balancers(s: Seeded) -> None:
    elbv2 = s.client("elbv2")
    nlb = elbv2.create_load_balancer(Name=s.names["nlb"], Subnets=s.public_subnet_ids, Scheme="internet-facing",
                                     Type="network", Tags=[{"Key": "Name", "Value": s.names["nlb"]}])["LoadBalancers"][0]
    s.nlb_arn, s.nlb_dns, s.nlb_zone_id = nlb["LoadBalancerArn"], nlb["DNSName"], nlb["CanonicalHostedZoneId"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=s.nlb_arn, Attributes=[
        {"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
    if "sg_alb" not in s.sg_ids:
        _target_groups_and_listeners(s)
        return
    alb = elbv2.create_load_balancer(Name=s.names["alb"], Subnets=s.public_subnet_ids, Scheme="internet-facing",
                                     Type="application", SecurityGroups=[s.sg_ids["sg_alb"]],
                                     Tags=[{"Key": "Name", "Value": s.names["alb"]}])["LoadBalancers"][0]
    s.alb_arn, s.alb_dns, s.alb_zone_id = alb["LoadBalancerArn"], alb["DNSName"], alb["CanonicalHostedZoneId"]
    _target_groups_and_listeners(s)


def _target_groups_and_listeners(s: Seeded) -> None:
    elbv2 = s.client("elbv2")
    for tg_key in s.topology.target_groups():
        spec = TG_SPECS[tg_key]
        kw: dict[str, Any] = dict(Name=s.names[tg_key], Protocol=spec["protocol"], Port=spec["port"], VpcId=s.vpc_id,
                                  TargetType="ip", HealthCheckIntervalSeconds=30, HealthyThresholdCount=2)
        if spec["protocol"] == "TCP":
            kw.update(HealthCheckProtocol="TCP", HealthCheckPort="traffic-port", UnhealthyThresholdCount=10)
        else:
            kw.update(HealthCheckProtocol="HTTP", HealthCheckPath=spec["hc_path"], HealthCheckTimeoutSeconds=5,
                      UnhealthyThresholdCount=3, Matcher={"HttpCode": spec["matcher"]})
        arn = elbv2.create_target_group(**kw)["TargetGroups"][0]["TargetGroupArn"]
        s.tg_arns[tg_key], s.tg_ports[tg_key] = arn, spec["port"]
        s.targets[tg_key] = []
        s.service_tgs.setdefault(spec["service"], []).append((tg_key, spec["port"]))
    for e in s.topology.endpoints:
        if e.front != "nlb" or e.port in s.listener_arns:
            continue
        kw = dict(LoadBalancerArn=s.nlb_arn, Port=e.port, Protocol=e.listener_protocol or "TCP",
                  DefaultActions=[{"Type": "forward", "TargetGroupArn": s.tg_arns[e.target_group]}])
        if (e.listener_protocol or "TCP") == "TLS":
            kw.update(Certificates=[{"CertificateArn": s.acm_arn}], SslPolicy="ELBSecurityPolicy-2016-08")
            s.acm_in_use_by.append(s.nlb_arn)
        s.listener_arns[e.port] = elbv2.create_listener(**kw)["Listeners"][0]["ListenerArn"]
    default_tg = s.tg_arns.get("tg_uptime_kuma") or next(
        (s.tg_arns[e.target_group] for e in s.topology.endpoints if e.front == "alb"), None)
    if default_tg and s.alb_arn:
        s.listener_arns[443] = elbv2.create_listener(
            LoadBalancerArn=s.alb_arn, Port=443, Protocol="HTTPS", SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            Certificates=[{"CertificateArn": s.acm_arn}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": default_tg}])["Listeners"][0]["ListenerArn"]
        s.acm_in_use_by.append(s.alb_arn)
        priority = 100
        for e in s.topology.endpoints:
            if e.front == "alb" and e.target_group and e.host not in s.alb_rule_arns:
                s.alb_rule_arns[e.host] = elbv2.create_rule(
                    ListenerArn=s.listener_arns[443], Priority=priority,
                    Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": [e.host]}}],
                    Actions=[{"Type": "forward", "TargetGroupArn": s.tg_arns[e.target_group]}])["Rules"][0]["RuleArn"]
                priority += 10


def _cloudmap(s: Seeded) -> None:
    sd = s.client("servicediscovery")
    sd.create_private_dns_namespace(Name="cabal.internal", Vpc=s.vpc_id, Description="Cabal internal services")
    s.cloudmap_namespace_id = next(n["Id"] for n in sd.list_namespaces()["Namespaces"] if n["Name"] == "cabal.internal")
    wanted = {"service_imap": "imap"}
    if any(e.service == "service_smtp_out" and e.internal for e in s.topology.endpoints):
        wanted["service_smtp_out"] = "smtp-out"
    for key, name in wanted.items():
        if key in s.topology.services():
            svc = sd.create_service(Name=name, NamespaceId=s.cloudmap_namespace_id, DnsConfig={
                "RoutingPolicy": "MULTIVALUE", "DnsRecords": [{"Type": "A", "TTL": 10}]},
                HealthCheckCustomConfig={"FailureThreshold": 1})["Service"]
            s.cloudmap_service_arns[key] = svc["Arn"]


def _ecs(s: Seeded) -> None:
    ecs, ec2, logs = s.client("ecs"), s.client("ec2"), s.client("logs")
    cluster = s.names["cluster"]
    s.cluster_arn = ecs.create_cluster(clusterName=cluster, settings=[{"name": "containerInsights", "value": "enabled"}])[
        "cluster"]["clusterArn"]
    s.ecs_instance_id = ec2.run_instances(
        ImageId=FAKE_AMI, MinCount=1, MaxCount=1, InstanceType="m6g.medium", SubnetId=s.private_subnet_ids[0],
        SecurityGroupIds=[s.sg_ids["cabal-ecs-instance-sg"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "cabal-ecs-instance"},
                                                                {"Key": "AmazonECSManaged", "Value": "true"}]}],
    )["Instances"][0]["InstanceId"]
    s.container_instance_arn = ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=json.dumps(
        {"instanceId": s.ecs_instance_id, "region": s.region, "instanceType": "m6g.medium",
         "availabilityZone": f"{s.region}a", "accountId": s.account_id, "architecture": "aarch64"}))[
        "containerInstance"]["containerInstanceArn"]
    ssm_arn = lambda name: f"arn:aws:ssm:{s.region}:{s.account_id}:parameter{name}"  # noqa: E731
    imap_ports = [143, 25] + ([993] if any(e.service == "service_imap" and e.port == 993 for e in s.topology.endpoints) else [])
    for key in s.topology.services():
        spec = SERVICE_SPECS[key]
        name = s.names[key]
        s.service_names[key] = name
        group = f"/ecs/{name}"
        try:
            logs.create_log_group(logGroupName=group)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.put_retention_policy(logGroupName=group, retentionInDays=30)
        ports = imap_ports if key == "service_imap" else spec["ports"]
        container: dict[str, Any] = {
            "name": spec["container"],
            "image": f"{s.account_id}.dkr.ecr.{s.region}.amazonaws.com/cabal/{spec['container']}:sandbox",
            "essential": True, "cpu": 128, "memory": 512,
            "portMappings": [{"containerPort": p, "protocol": "tcp"} for p in ports],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": group, "awslogs-region": s.region, "awslogs-stream-prefix": spec["container"]}},
        }
        if spec["extra_secrets"] is not None:
            sec = {"TLS_CA_BUNDLE": s.names["ssm_chain"], "TLS_CERT": s.names["ssm_cert"], "TLS_KEY": s.names["ssm_key"],
                   **spec["extra_secrets"]}
            container["secrets"] = [{"name": k, "valueFrom": ssm_arn(v)} for k, v in sec.items()]
            container["environment"] = [{"name": "CONTROL_DOMAIN", "value": s.control_domain}]
        if key == "service_smtp_out":
            container["stopTimeout"] = 120
        s.task_definition_arns[key] = ecs.register_task_definition(
            family=name, networkMode="awsvpc", requiresCompatibilities=["EC2"], containerDefinitions=[container],
            executionRoleArn=f"arn:aws:iam::{s.account_id}:role/cabal-ecs-execution-role",
            taskRoleArn=f"arn:aws:iam::{s.account_id}:role/cabal-ecs-task-role",
        )["taskDefinition"]["taskDefinitionArn"]
        lbs = [{"targetGroupArn": s.tg_arns[tg], "containerName": spec["container"], "containerPort": port}
               for tg, port in s.service_tgs.get(key, [])]
        kw: dict[str, Any] = {}
        if key in s.cloudmap_service_arns:
            kw["serviceRegistries"] = [{"registryArn": s.cloudmap_service_arns[key]}]
        s.service_arns[key] = ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=s.task_definition_arns[key], desiredCount=1,
            launchType="EC2", loadBalancers=lbs, networkConfiguration={"awsvpcConfiguration": {
                "subnets": s.private_subnet_ids, "securityGroups": [s.sg_ids[_service_sg_key(s.topology, key)]]}},
            **kw)["service"]["serviceArn"]
        ecs.update_service(cluster=cluster, service=name, desiredCount=1)  # moto: running := desired
    _pin_task_state()
    be = backend("ecs", s)
    sd = s.client("servicediscovery") if s.cloudmap_service_arns else None
    for i, key in enumerate(s.topology.services()):
        mail = key in MAIL_SERVICES
        started_at = ((s.last_certbot_run() + timedelta(minutes=2, seconds=20 + 25 * i)) if mail
                      else s.now - timedelta(days=20, hours=i))
        arn, ip = place_task(s, key, started_at, index=i)
        s.task_arns[key], s.task_ips[key] = arn, ip
        if sd and key in s.cloudmap_service_arns:
            sd.register_instance(ServiceId=s.cloudmap_service_arns[key].rsplit("/", 1)[1], InstanceId=arn.rsplit("/", 1)[1],
                                 Attributes={"AWS_INSTANCE_IPV4": ip})
        svc = be.services[f"{s.names['cluster']}:{s.names[key]}"]
        svc.created_at = s.now - timedelta(days=120)
        dep = svc.deployments[0]
        dep.update(runningCount=1, pendingCount=0, rolloutState="COMPLETED", createdAt=started_at - timedelta(minutes=1),
                   updatedAt=started_at + timedelta(minutes=3),
                   rolloutStateReason=f"ECS deployment {dep['id']} completed.")
        task_id = arn.rsplit("/", 1)[1]
        service_event(s, key, f"has started 1 tasks: (task {task_id}).", started_at - timedelta(seconds=40))
        for tg_key, _port in s.service_tgs.get(key, []):
            service_event(s, key, f"registered 1 targets in (target-group {s.tg_arns[tg_key]})",
                          started_at + timedelta(seconds=10))
        service_event(s, key, "has reached a steady state.", started_at + timedelta(minutes=3))
        service_event(s, key, "has reached a steady state.", s.now - timedelta(hours=2, minutes=7 * i))


def _pin_task_state() -> None:
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})


def _cognito_and_api(s: Seeded) -> None:
    idp = s.client("cognito-idp")
    pool = idp.create_user_pool(PoolName=s.names["cognito_pool"], MfaConfiguration="OFF",
                                Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True,
                                                             "RequireLowercase": True, "RequireNumbers": True,
                                                             "RequireSymbols": False}},
                                AutoVerifiedAttributes=["phone_number"])["UserPool"]
    s.user_pool_id, s.user_pool_arn = pool["Id"], pool["Arn"]
    s.client_id = idp.create_user_pool_client(
        UserPoolId=s.user_pool_id, ClientName=s.names["cognito_client"], GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        IdTokenValidity=12, AccessTokenValidity=12,
        TokenValidityUnits={"IdToken": "hours", "AccessToken": "hours", "RefreshToken": "days"},
    )["UserPoolClient"]["ClientId"]
    idp.create_user_pool_domain(Domain=f"cabal-{s.account_id}", UserPoolId=s.user_pool_id)
    idp.create_group(GroupName="admin", UserPoolId=s.user_pool_id)
    s.probe_username = "cabal-checks-probe"
    s.probe_password = "Pr0be-" + secrets.token_urlsafe(18)
    idp.admin_create_user(UserPoolId=s.user_pool_id, Username=s.probe_username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "phone_number", "Value": "+15555550100"}])
    idp.admin_set_user_password(UserPoolId=s.user_pool_id, Username=s.probe_username, Password=s.probe_password,
                                Permanent=True)

    lam = s.client("lambda")
    list_src = "def handler(event, context):\n    return {'statusCode': 200, 'body': '{\"Items\": []}'}\n"
    list_fn = lam.create_function(FunctionName="list", Runtime="python3.13",
                                  Role=f"arn:aws:iam::{s.account_id}:role/cabal-lambda-list", Handler="function.handler",
                                  Code={"ZipFile": _zip({"function.py": list_src})},
                                  Timeout=30, MemorySize=128, Architectures=["arm64"])["FunctionArn"]
    LAMBDA_CONFIG[list_fn] = {"LoggingConfig": {"LogGroup": "/cabal/lambda/list", "LogFormat": "Text"}}
    api = s.client("apigateway")
    s.rest_api_id = api.create_rest_api(name=s.names["api_name"], endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = next(r["id"] for r in api.get_resources(restApiId=s.rest_api_id)["items"] if r["path"] == "/")
    s.authorizer_id = api.create_authorizer(restApiId=s.rest_api_id, name="cabal_pool", type="COGNITO_USER_POOLS",
                                            providerARNs=[s.user_pool_arn],
                                            identitySource="method.request.header.Authorization")["id"]
    s.list_resource_id = api.create_resource(restApiId=s.rest_api_id, parentId=root, pathPart="list")["id"]
    api.put_method(restApiId=s.rest_api_id, resourceId=s.list_resource_id, httpMethod="GET",
                   authorizationType="COGNITO_USER_POOLS", authorizerId=s.authorizer_id)
    api.put_integration(restApiId=s.rest_api_id, resourceId=s.list_resource_id, httpMethod="GET", type="AWS_PROXY",
                        integrationHttpMethod="POST",
                        uri=f"arn:aws:apigateway:{s.region}:lambda:path/2015-03-31/functions/{list_fn}/invocations")
    api.create_deployment(restApiId=s.rest_api_id, stageName=s.names["api_stage"])


def _cloudfront(s: Seeded) -> None:
    cf = s.client("cloudfront")
    admin = f"admin.{s.control_domain}"
    fwd = {"QueryString": False, "Cookies": {"Forward": "none"}}
    viewer = {"ACMCertificateArn": s.acm_arn, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": f"cabal-admin-{uuid.uuid4()}", "Comment": "Cabal admin website", "Enabled": True,
        "Aliases": {"Quantity": 1, "Items": [admin]}, "DefaultRootObject": "index.html", "PriceClass": "PriceClass_100",
        "Origins": {"Quantity": 2, "Items": [
            {"Id": "cabal_admin_s3", "DomainName": f"{admin}.s3.amazonaws.com",
             "S3OriginConfig": {"OriginAccessIdentity": "origin-access-identity/cloudfront/E2CABALADMIN"}},
            {"Id": "cabal_api", "DomainName": f"{s.rest_api_id}.execute-api.{s.region}.amazonaws.com",
             "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "cabal_admin_s3", "ViewerProtocolPolicy": "redirect-to-https",
                                 "ForwardedValues": fwd, "MinTTL": 0},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/prod/*", "TargetOriginId": "cabal_api", "ViewerProtocolPolicy": "https-only",
            "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"},
                                "Headers": {"Quantity": 1, "Items": ["Authorization"]}},
            "MinTTL": 0, "DefaultTTL": 0, "MaxTTL": 0}]},
        "ViewerCertificate": viewer,
        "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Quantity": 1, "Items": ["US"]}},
    })["Distribution"]
    s.cf_distribution_id, s.cf_domain_name, s.cf_arn = dist["Id"], dist["DomainName"], dist["ARN"]
    s.acm_in_use_by.append(s.cf_arn)
    s.client("ssm").put_parameter(Name=s.names["cf_distribution_param"], Value=s.cf_distribution_id, Type="String",
                                  Overwrite=True)
    for site in s.topology.sites:  # the front door (module front_door): its own distribution, the same wildcard
        bucket = f"{site.host}.s3.amazonaws.com"
        dist = cf.create_distribution(DistributionConfig={
            "CallerReference": f"cabal-site-{uuid.uuid4()}", "Enabled": True,
            "Comment": "Cabalmail front door site" if site.host.startswith("www.") else "made by hand",
            "Aliases": {"Quantity": 1, "Items": [site.host]}, "DefaultRootObject": "index.html",
            "PriceClass": "PriceClass_100",
            "Origins": {"Quantity": 1, "Items": [{"Id": "front_door_s3", "DomainName": bucket,
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "front_door_s3", "ViewerProtocolPolicy": "redirect-to-https",
                                     "ForwardedValues": fwd, "MinTTL": 0},
            "ViewerCertificate": viewer,
        })["Distribution"]
        s.site_distributions[site.host] = (dist["Id"], dist["DomainName"], dist["ARN"])
        s.acm_in_use_by.append(dist["ARN"])
        if site.host == f"www.{s.control_domain}":
            s.client("ssm").put_parameter(Name="/cabal/front-door/cf-distribution", Value=dist["Id"], Type="String",
                                          Overwrite=True)


def _route53(s: Seeded) -> None:
    r53 = s.client("route53")
    cd = s.control_domain
    s.public_zone_id = r53.create_hosted_zone(
        Name=cd, CallerReference=f"public-{uuid.uuid4()}",
        HostedZoneConfig={"Comment": "Control domain for cabal-mail infrastructure", "PrivateZone": False})["HostedZone"]["Id"]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=s.public_zone_id.rsplit("/", 1)[1],
                                 AddTags=[{"Key": "Name", "Value": "cabal-control-zone"}])
    s.private_zone_id = r53.create_hosted_zone(
        Name=cd, CallerReference=f"private-{uuid.uuid4()}", VPC={"VPCRegion": s.region, "VPCId": s.vpc_id},
        HostedZoneConfig={"Comment": "Internal control domain", "PrivateZone": True})["HostedZone"]["Id"]
    zones = {"public": s.public_zone_id, "private": s.private_zone_id}
    changes: dict[str, list[dict]] = {"public": [], "private": []}

    def add(zone: str, name: str, rtype: str, *, alias: tuple[str, str] | None = None, values=(), ttl=300):
        rrs: dict[str, Any] = {"Name": name, "Type": rtype}
        if alias:
            rrs["AliasTarget"] = {"HostedZoneId": alias[0], "DNSName": alias[1], "EvaluateTargetHealth": True}
        else:
            rrs.update(TTL=ttl, ResourceRecords=[{"Value": v} for v in values])
        changes[zone].append({"Action": "CREATE", "ResourceRecordSet": rrs})
        s.records.append((zone, name, rtype))

    seen: set[tuple[str, str]] = set()
    for e in s.topology.endpoints:
        fq = s.fqdn(e.host)
        for zone in e.dns:
            if (zone, fq) in seen:
                continue
            seen.add((zone, fq))
            if e.front == "nlb":
                add(zone, fq, "A", alias=(s.nlb_zone_id, s.nlb_dns))
            elif e.front == "alb":
                add(zone, fq, "A", alias=(s.alb_zone_id, s.alb_dns))
            elif e.front == "cloudfront":
                add(zone, fq, "CNAME", values=[s.cf_domain_name])
    for host, (_, domain, _) in s.site_distributions.items():  # the front door's CNAME, in both zones
        for zone in ("public", "private"):
            if host == cd:  # no CNAME at a zone apex: an alias A record to CloudFront (its fixed zone id)
                add(zone, cd + ".", "A", alias=(CLOUDFRONT_ZONE_ID, domain))
            else:
                add(zone, s.fqdn(host), "CNAME", values=[domain])
    if s.listener_arns.get(443):
        for zone in ("public", "private"):
            if (zone, s.fqdn("uptime")) not in seen:
                add(zone, s.fqdn("uptime"), "A", alias=(s.alb_zone_id, s.alb_dns))
    add("public", s.acm_validation_name, "CNAME", values=[s.acm_validation_value], ttl=60)
    add("public", s.fqdn("smtp"), "A", values=s.nat_eips, ttl=360)
    add("public", cd + ".", "TXT", values=['"v=spf1 ' + " ".join(f"ip4:{ip}" for ip in s.nat_eips) + ' ~all"'])
    public_ports = {(e.probe, e.port) for e in s.topology.endpoints if not e.internal}
    srv = {
        "_submission._tcp": f"0 1 587 smtp-out.{cd}." if ("submission", 587) in public_ports else "0 1 0 .",
        "_imaps._tcp": f"0 1 993 imap.{cd}." if ("imap", 993) in public_ports else "0 1 0 .",
        "_imap._tcp": "0 1 0 .", "_pop3._tcp": "0 1 0 .", "_pop3s._tcp": "0 1 0 .",
    }
    for label, value in srv.items():
        add("public", f"{label}.{cd}.", "SRV", values=[value])
    for zone, batch in changes.items():
        if batch:
            r53.change_resource_record_sets(HostedZoneId=zones[zone], ChangeBatch={"Changes": batch})


def _acm_look(s: Seeded, acm_cert) -> None:
    """Make the imported cert read like the real AMAZON_ISSUED, DNS-validated, renewed wildcard."""
    not_before = x509.load_pem_x509_certificate(acm_cert.cert_pem).not_valid_before_utc
    domain = f"*.{s.control_domain}"
    ACM_OVERRIDES[s.acm_arn] = {
        "_drop": ["ImportedAt"],
        "Type": "AMAZON_ISSUED",
        "DomainName": domain,
        "Issuer": "Amazon",
        "RenewalEligibility": "ELIGIBLE",
        "CreatedAt": not_before - timedelta(days=365),
        "IssuedAt": not_before,
        "InUseBy": list(s.acm_in_use_by),
        "DomainValidationOptions": _dvo(s, domain, "SUCCESS"),
        "RenewalSummary": {"RenewalStatus": "SUCCESS", "DomainValidationOptions": _dvo(s, domain, "SUCCESS"),
                           "UpdatedAt": not_before},
    }


def _dvo(s: Seeded, domain: str, status: str) -> list[dict[str, Any]]:
    return [{"DomainName": domain, "ValidationDomain": domain, "ValidationStatus": status, "ValidationMethod": "DNS",
             "ResourceRecord": {"Name": s.acm_validation_name, "Type": "CNAME", "Value": s.acm_validation_value}}]


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


CERTBOT_HANDLER = '''"""Sandbox stand-in for the certbot renewal handler (never invoked)."""
def handler(event, context):
    return {"statusCode": 200, "body": "sandbox"}
'''


def certbot_stream_name(at: datetime) -> str:
    """A Lambda-style log stream name for an invocation at ``at``."""
    return f"{at:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def certbot_success_lines(s: Seeded, at: datetime) -> list[tuple[datetime, str]]:
    """The log lines of one successful certbot run starting at ``at``."""
    cd, rid = s.control_domain, str(uuid.uuid4())
    live = f"/tmp/certbot/config/live/{cd}"
    msgs = [
        f"START RequestId: {rid} Version: $LATEST",
        f"Running certbot for *.{cd}",
        "Saving debug log to /tmp/certbot/logs/letsencrypt.log",
        "Account registered.",
        f"Requesting a certificate for *.{cd}",
        "Waiting 10 seconds for DNS changes to propagate",
        "Successfully received certificate.",
        f"Certificate is saved at: {live}/fullchain.pem",
        f"Key is saved at:         {live}/privkey.pem",
        f"Updated SSM parameter {s.names['ssm_key']}",
        f"Updated SSM parameter {s.names['ssm_cert']}",
        f"Updated SSM parameter {s.names['ssm_chain']}",
    ] + [f"Forced new deployment for {s.names[k]}" for k in MAIL_SERVICES] + [
        "healthcheck ping -> 200",
        f"END RequestId: {rid}",
        f"REPORT RequestId: {rid}\tDuration: 41873.22 ms\tBilled Duration: 41874 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 188 MB\tInit Duration: 912.40 ms",
    ]
    offsets = [0, 0.2, 1.1, 2.5, 3.0, 14.0, 35.5, 35.6, 35.7, 38.0, 38.2, 38.4, 39.1, 39.6, 40.2, 41.5, 41.8, 41.9]
    return [(at + timedelta(seconds=o), m) for o, m in zip(offsets, msgs, strict=True)]


def _certbot(s: Seeded) -> None:
    lam, logs = s.client("lambda"), s.client("logs")
    group = s.names["certbot_log_group"]
    logs.create_log_group(logGroupName=group)
    logs.put_retention_policy(logGroupName=group, retentionInDays=30 if s.topology.name == "2026-05" else 365)
    fn = lam.create_function(
        FunctionName=s.names["certbot_function"], Runtime="python3.13", Role=s.certbot_role_arn,
        Handler="function.handler", Code={"ZipFile": _zip({"function.py": CERTBOT_HANDLER})}, Timeout=300,
        MemorySize=512, Architectures=["arm64"], Description="Let's Encrypt renewal of the control-domain wildcard",
        Environment={"Variables": {"CONTROL_DOMAIN": s.control_domain, "EMAIL": f"admin@{s.control_domain}",
                                   "ECS_CLUSTER_NAME": s.names["cluster"],
                                   "ECS_SERVICE_NAMES": ",".join(s.names[k] for k in MAIL_SERVICES),
                                   # empty without the monitoring module (no Healthchecks to ping)
                                   "HEALTHCHECK_PING_PARAM": "/cabal/healthcheck_ping_certbot_renewal"
                                   if "service_uptime_kuma" in s.topology.services() else ""}},
    )
    s.certbot_function_arn = fn["FunctionArn"]
    LAMBDA_CONFIG[s.certbot_function_arn] = {"LoggingConfig": {"LogGroup": group, "LogFormat": "Text"}}
    s.certbot_schedule_arn = s.client("scheduler").create_schedule(
        Name=s.names["certbot_schedule"], GroupName=s.names["certbot_schedule_group"],
        ScheduleExpression="rate(60 days)", FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 60},
        Target={"Arn": s.certbot_function_arn,
                "RoleArn": f"arn:aws:iam::{s.account_id}:role/cabal-certbot-renewal-scheduler"},
        State="ENABLED", Description="Renew the control-domain wildcard")["ScheduleArn"]
    run_at = s.last_certbot_run()
    s.certbot_log_stream = certbot_stream_name(run_at)
    put_log_lines(s, group, s.certbot_log_stream, certbot_success_lines(s, run_at))
    cw = s.client("cloudwatch")
    dims = [{"Name": "FunctionName", "Value": s.names["certbot_function"]}]
    cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": run_at, "Value": 1, "Unit": "Count"},
        {"MetricName": "Errors", "Dimensions": dims, "Timestamp": run_at, "Value": 0, "Unit": "Count"},
        {"MetricName": "Duration", "Dimensions": dims, "Timestamp": run_at, "Value": 41873.22,
         "Unit": "Milliseconds"}])


def _imap_logs(s: Seeded) -> None:
    if "service_imap" not in s.task_arns:
        return
    group = f"/ecs/{s.names['service_imap']}"
    task_id = s.task_arns["service_imap"].rsplit("/", 1)[1]
    s.imap_log_stream = f"{SERVICE_SPECS['service_imap']['container']}/imap/{task_id}"
    nlb_ip = "10.0.101.37"
    lip = s.task_ips["service_imap"]
    lines: list[tuple[datetime, str]] = []
    start = s.now - timedelta(hours=3)
    dovecot = [
        "master: Info: Dovecot v2.3.21 (47349e2482) starting up for imap, lmtp, submission (core dumps disabled)",
        f"imap-login: Info: Login: user=<alice@{s.control_domain}>, method=PLAIN, rip={nlb_ip}, lip={lip}, mpid=211, secured, "
        "session=<kP3x1Q8hAK0KAGUl>",
        f"imap(alice@{s.control_domain})<211><kP3x1Q8hAK0KAGUl>: Info: Logged out in=412 out=9231 deleted=0 expunged=0 trashed=0 "
        "hdr_count=12 hdr_bytes=4221 body_count=2 body_bytes=6012",
        f"lmtp(bob@{s.control_domain})<230><mC2aLBUiFGbmAAAA8H1d3g>: Info: msgid=<20260520.1@example.org>: saved mail to INBOX",
        f"imap-login: Info: Login: user=<bob@{s.control_domain}>, method=PLAIN, rip={nlb_ip}, lip={lip}, mpid=244, secured, "
        "session=<d1Q2bQ8hBq4KAGUl>",
        f"imap(bob@{s.control_domain})<244><d1Q2bQ8hBq4KAGUl>: Info: Disconnected: Logged out in=98 out=1290",
    ]
    for i, msg in enumerate(dovecot):
        t = start + timedelta(minutes=17 * i, seconds=3 * i)
        lines.append((t, f"{t:%Y-%m-%d %H:%M:%S} {msg}"))
    put_log_lines(s, group, s.imap_log_stream, lines)
