"""Fault primitives: put a seeded sandbox account into the failure states the runbooks name.

Each function takes the ``Seeded`` returned by ``aws_seed.seed()`` and changes the account the way the
real failure would (cabal-infra-facts.md section 3). Where moto has an API for the state the function
uses it; otherwise it changes moto's backend objects or sets an entry in a patch registry of
``aws_seed`` (works in-process and with a ``ThreadedMotoServer`` in the same process). Times are
relative to ``seeded.now``.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import aws_seed
from .aws_seed import (
    ACM_OVERRIDES,
    ROUTE_STATES,
    TARGET_HEALTH,
    Seeded,
    backend,
    certbot_stream_name,
    place_task,
    put_log_lines,
    service_event,
    stop_task,
)

# ---------------------------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------------------------

# cause -> (stoppedReason, stopCode, container exit code or None when the container never started)
STOP_CAUSES = {
    "crash": ("Essential container in task exited", "EssentialContainerExited", 1),
    # ECS replaces a task whose container health check fails (2026-08: imap, smtp-out have healthChecks)
    "health": ("Task failed container health checks", "ServiceSchedulerInitiated", 137),
    "secrets": ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                "retrieval failed: unable to retrieve secrets from ssm: service call has been retried 5 time(s): "
                "RequestCanceled: request context canceled caused by: context deadline exceeded",
                "TaskFailedToStart", None),
    "image": ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
              "{account}.dkr.ecr.{region}.amazonaws.com/cabal/{container}:sandbox: failed to do request: "
              "Head \"https://{account}.dkr.ecr.{region}.amazonaws.com/v2/cabal/{container}/manifests/sandbox\": "
              "dial tcp 52.46.0.10:443: i/o timeout", "TaskFailedToStart", None),
}
PLACEMENT_MESSAGE = ("was unable to place a task because no container instance met all of its requirements. "
                     "The closest matching (container-instance {ci}) has insufficient memory available. For more "
                     "information, see the Troubleshooting section of the Amazon ECS Developer Guide.")


def _svc(seeded: Seeded, service_key: str):
    return backend("ecs", seeded).services[f"{seeded.names['cluster']}:{seeded.service_names[service_key]}"]


def _reason(seeded: Seeded, service_key: str, cause: str) -> tuple[str, str, int | None]:
    reason, code, exit_code = STOP_CAUSES[cause]
    container = aws_seed.SERVICE_SPECS[service_key]["container"]
    return reason.format(account=seeded.account_id, region=seeded.region, container=container), code, exit_code


def _set_counts(seeded: Seeded, service_key: str, running: int, pending: int, rollout: str | None = None) -> None:
    svc = _svc(seeded, service_key)
    svc.running_count, svc.pending_count = running, pending
    dep = svc.deployments[0]
    dep.update(runningCount=running, pendingCount=pending, updatedAt=seeded.now)
    if rollout:
        dep["rolloutState"] = rollout
        dep["rolloutStateReason"] = f"ECS deployment {dep['id']} in progress." if rollout == "IN_PROGRESS" else \
            f"ECS deployment {dep['id']} failed: tasks failed to start."


def _tid(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def service_below_desired(seeded: Seeded, service_key: str, cause: str = "crash", *, minutes_ago: int = 12) -> None:
    """Service runs 0 of 1: its task stopped (cause crash|secrets|image|placement), events say why, targets gone."""
    now = seeded.now
    old = seeded.task_arns.pop(service_key)
    seeded.task_ips.pop(service_key, None)
    t0 = now - timedelta(minutes=minutes_ago)
    if cause == "placement":
        stop_task(seeded, service_key, old, reason="Scaling activity initiated by (deployment ecs-svc/0)",
                  stop_code="ServiceSchedulerInitiated",
                  stopped_at=t0, exit_code=0)
        service_event(seeded, service_key, f"has stopped 1 running tasks: (task {_tid(old)}).", t0)
        ci = seeded.container_instance_arn.rsplit("/", 1)[1]
        for i in range(3):
            service_event(seeded, service_key, PLACEMENT_MESSAGE.format(ci=ci), t0 + timedelta(minutes=1 + 4 * i))
        _set_counts(seeded, service_key, 0, 0, "IN_PROGRESS")
        return
    reason, code, exit_code = _reason(seeded, service_key, cause)
    stop_task(seeded, service_key, old, reason=reason, stop_code=code, stopped_at=t0, exit_code=exit_code)
    service_event(seeded, service_key, f"has stopped 1 running tasks: (task {_tid(old)}).", t0)
    for tg_key, _ in seeded.service_tgs.get(service_key, []):
        service_event(seeded, service_key, f"deregistered 1 targets in (target-group {seeded.tg_arns[tg_key]})",
                      t0 + timedelta(seconds=5))
    # ECS keeps trying: one more attempt that also died, and one pending now
    t1 = t0 + timedelta(minutes=5)
    retry, _ip = place_task(seeded, service_key, t1, register=False)
    service_event(seeded, service_key, f"has started 1 tasks: (task {_tid(retry)}).", t1 - timedelta(seconds=40))
    stop_task(seeded, service_key, retry, reason=reason, stop_code=code, stopped_at=t1 + timedelta(seconds=20),
              exit_code=exit_code, deregister=False)
    service_event(seeded, service_key, f"has stopped 1 running tasks: (task {_tid(retry)}).", t1 + timedelta(seconds=20))
    _set_counts(seeded, service_key, 0, 1, "IN_PROGRESS")


def service_restart_loop(seeded: Seeded, service_key: str, restarts: int = 4, *, window_minutes: int = 10,
                         cause: str = "crash") -> None:
    """Service flaps: ``restarts`` tasks stopped in the last minutes, a fresh one just started (running 1 of 1)."""
    now = seeded.now
    reason, code, exit_code = _reason(seeded, service_key, cause)
    step = timedelta(minutes=window_minutes) / restarts
    current = seeded.task_arns[service_key]
    t = now - timedelta(minutes=window_minutes)
    for i in range(restarts):
        stop_task(seeded, service_key, current, reason=reason, stop_code=code, stopped_at=t, exit_code=exit_code)
        service_event(seeded, service_key, f"has stopped 1 running tasks: (task {_tid(current)}).", t)
        for tg_key, _ in seeded.service_tgs.get(service_key, []):
            service_event(seeded, service_key, f"deregistered 1 targets in (target-group {seeded.tg_arns[tg_key]})", t)
        start = t + step * 0.2 if i < restarts - 1 else now - timedelta(seconds=30)
        current, ip = place_task(seeded, service_key, start)
        seeded.task_ips[service_key] = ip
        service_event(seeded, service_key, f"has started 1 tasks: (task {_tid(current)}).", start - timedelta(seconds=40))
        t = t + step
    seeded.task_arns[service_key] = current
    service_event(seeded, service_key, "is unable to consistently start tasks successfully. For more information, "
                  "see the Troubleshooting section of the Amazon ECS Developer Guide.", now - timedelta(seconds=20))
    _set_counts(seeded, service_key, 1, 0)


def task_unhealthy(seeded: Seeded, service_key: str) -> None:
    """The service's running task stays RUNNING but its container health check fails: healthStatus UNHEALTHY."""
    task = backend("ecs", seeded).tasks[seeded.names["cluster"]][seeded.task_arns[service_key]]
    task.health_status = "UNHEALTHY"
    for container in task.containers:
        container.health_status = "UNHEALTHY"


def sg_ingress_only_from(seeded: Seeded, sg_key: str, port: int, cidr: str) -> None:
    """The SG still admits ``port``, but only from ``cidr`` (someone narrowed the rule) (API)."""
    sg_ingress_revoked(seeded, sg_key, port)
    seeded.client("ec2").authorize_security_group_ingress(GroupId=seeded.sg_ids[sg_key], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
         "IpRanges": [{"CidrIp": cidr, "Description": f"{port} from the bastion subnet only"}]}])


def container_instance_disconnected(seeded: Seeded) -> None:
    """The ECS agent on the (only) container instance lost its connection: ``agentConnected False``, status ACTIVE."""
    for ci in backend("ecs", seeded).container_instances[seeded.names["cluster"]].values():
        if ci.container_instance_arn == seeded.container_instance_arn:
            ci.agent_connected = False


def container_instance_draining(seeded: Seeded) -> None:
    """The container instance is DRAINING (API)."""
    seeded.client("ecs").update_container_instances_state(
        cluster=seeded.names["cluster"], containerInstances=[seeded.container_instance_arn], status="DRAINING")


# ---------------------------------------------------------------------------------------------
# Load balancers
# ---------------------------------------------------------------------------------------------


def target_unhealthy(seeded: Seeded, tg_key: str, state: str = "unhealthy", reason: str = "Target.FailedHealthChecks",
                     description: str = "Health checks failed") -> None:
    """Every registered target of the group reports ``state``/``reason`` (registry); ECS logs the unhealthy event."""
    for target in seeded.targets.get(tg_key, []):
        TARGET_HEALTH[(seeded.tg_arns[tg_key], target)] = (state, reason, description)
    owner = aws_seed.TG_SPECS[tg_key]["service"]
    if state == "unhealthy" and owner in seeded.service_names:
        port = seeded.tg_ports[tg_key]
        service_event(seeded, owner, f"(port {port}) is unhealthy in (target-group {seeded.tg_arns[tg_key]}) "
                      "due to (reason Health checks failed).", seeded.now - timedelta(minutes=4))


def target_group_empty(seeded: Seeded, tg_key: str) -> None:
    """Deregister every target of the group (API): ``describe_target_health`` returns an empty list."""
    targets = seeded.targets.get(tg_key, [])
    if targets:
        seeded.client("elbv2").deregister_targets(
            TargetGroupArn=seeded.tg_arns[tg_key], Targets=[{"Id": t, "Port": seeded.tg_ports[tg_key]} for t in targets])
    seeded.targets[tg_key] = []


def listener_deleted(seeded: Seeded, port: int) -> None:
    """Delete the NLB (or ALB, port 443) listener on ``port`` (API)."""
    seeded.client("elbv2").delete_listener(ListenerArn=seeded.listener_arns.pop(port))


# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------


def sg_ingress_revoked(seeded: Seeded, sg_key: str, port: int, cidrs: tuple[str, ...] | None = None) -> None:
    """Revoke the SG's ingress on ``port`` (all sources, or only ``cidrs``; IPv4 and IPv6) (API)."""
    ec2 = seeded.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[seeded.sg_ids[sg_key]])["SecurityGroups"][0]
    for perm in group["IpPermissions"]:
        if perm.get("FromPort") is None or not perm["FromPort"] <= port <= perm["ToPort"]:
            continue
        v4 = [r for r in perm.get("IpRanges", []) if cidrs is None or r["CidrIp"] in cidrs]
        v6 = [r for r in perm.get("Ipv6Ranges", []) if cidrs is None or r["CidrIpv6"] in cidrs]
        if not v4 and not v6:
            continue
        revoke = {"IpProtocol": perm["IpProtocol"], "FromPort": perm["FromPort"], "ToPort": perm["ToPort"]}
        if v4:
            revoke["IpRanges"] = [{"CidrIp": r["CidrIp"]} for r in v4]
        if v6:
            revoke["Ipv6Ranges"] = [{"CidrIpv6": r["CidrIpv6"]} for r in v6]
        ec2.revoke_security_group_ingress(GroupId=seeded.sg_ids[sg_key], IpPermissions=[revoke])


def nacl_deny(seeded: Seeded, port: int | None = None, cidr: str = "0.0.0.0/0", *, rule_number: int = 90,
              subnets: str = "public", extra_cidrs: tuple[str, ...] = ()) -> str:
    """A new NACL on the public (or private) subnets: ingress deny ``port`` (None = all) from ``cidr``, else allow.

    Returns its id."""
    ec2 = seeded.client("ec2")
    nacl = ec2.create_network_acl(VpcId=seeded.vpc_id, TagSpecifications=[{"ResourceType": "network-acl", "Tags": [
        {"Key": "Name", "Value": "cabal-manual-block"}]}])["NetworkAcl"]["NetworkAclId"]
    for i, block in enumerate((cidr, *extra_cidrs)):
        kw = {"Protocol": "6", "PortRange": {"From": port, "To": port}} if port else {"Protocol": "-1"}
        ec2.create_network_acl_entry(NetworkAclId=nacl, RuleNumber=rule_number + i, Egress=False, RuleAction="deny",
                                     CidrBlock=block, **kw)
    for egress in (False, True):
        ec2.create_network_acl_entry(NetworkAclId=nacl, RuleNumber=100, Egress=egress, RuleAction="allow",
                                     CidrBlock="0.0.0.0/0", Protocol="-1")
    _associate(seeded, nacl, subnets)
    return nacl


def nacl_no_egress(seeded: Seeded, subnets: str = "public",
                   egress: tuple[tuple[int, int], ...] = ((25, 25), (80, 80), (443, 443))) -> str:
    """A new NACL on the public (or private) subnets that admits everything in but lets out only the port spans
    ``egress`` (an operator locking outbound traffic down): stateless, it drops whatever else goes out, the replies on
    an ephemeral port by default. Returns its id."""
    ec2 = seeded.client("ec2")
    nacl = ec2.create_network_acl(VpcId=seeded.vpc_id, TagSpecifications=[{"ResourceType": "network-acl", "Tags": [
        {"Key": "Name", "Value": "cabal-egress-lockdown"}]}])["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=nacl, RuleNumber=100, Egress=False, RuleAction="allow",
                                 CidrBlock="0.0.0.0/0", Protocol="-1")
    for i, (low, high) in enumerate(egress):
        ec2.create_network_acl_entry(NetworkAclId=nacl, RuleNumber=100 + 10 * i, Egress=True, RuleAction="allow",
                                     CidrBlock="0.0.0.0/0", Protocol="6", PortRange={"From": low, "To": high})
    _associate(seeded, nacl, subnets)
    return nacl


def _associate(seeded: Seeded, nacl: str, subnets: str) -> None:
    """``nacl`` replaces whatever NACL the public (or private) subnets had."""
    ec2 = seeded.client("ec2")
    ids = seeded.public_subnet_ids if subnets == "public" else seeded.private_subnet_ids
    current = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": ids}])["NetworkAcls"]
    for acl in current:
        for assoc in acl["Associations"]:
            if assoc["SubnetId"] in ids:
                ec2.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=nacl)


def nlb_node_interfaces(seeded: Seeded, addresses: tuple[str, ...]) -> dict[str, str]:
    """The NLB's node in each public subnet as AWS shows it: a network interface ``ELB net/<name>/<id>`` holding the
    node's public address (``addresses[i]`` in the i-th public subnet, an Elastic IP at that address). Returns
    address -> zone."""
    ec2 = seeded.client("ec2")
    described = "ELB " + seeded.nlb_arn.split(":loadbalancer/", 1)[1]
    subnets = ec2.describe_subnets(SubnetIds=seeded.public_subnet_ids)["Subnets"]
    zones = {}
    for address, subnet in zip(addresses, sorted(subnets, key=lambda sn: sn["AvailabilityZone"]), strict=False):
        eni = ec2.create_network_interface(SubnetId=subnet["SubnetId"], Description=described)["NetworkInterface"]
        eip = ec2.allocate_address(Domain="vpc", Address=address)
        ec2.associate_address(AllocationId=eip["AllocationId"], NetworkInterfaceId=eni["NetworkInterfaceId"])
        zones[address] = subnet["AvailabilityZone"]
    return zones


def nacl_deny_nat_eips(seeded: Seeded, port: int | None = None) -> str:
    """A deny NACL on the public subnets covering the NAT EIPs (/32 each): in-VPC probes hairpinning through NAT fail."""
    cidrs = [f"{ip}/32" for ip in seeded.nat_eips]
    return nacl_deny(seeded, port, cidrs[0], rule_number=80, extra_cidrs=tuple(cidrs[1:]))


def nat_instance_stopped(seeded: Seeded, index: int = 0) -> None:
    """Stop NAT instance ``index`` (API); its private route 0.0.0.0/0 reads ``blackhole`` (registry)."""
    seeded.client("ec2").stop_instances(InstanceIds=[seeded.nat_instance_ids[index]])
    ROUTE_STATES[(seeded.private_route_table_ids[index], "0.0.0.0/0")] = "blackhole"


# ---------------------------------------------------------------------------------------------
# DNS
# ---------------------------------------------------------------------------------------------


def _zone(seeded: Seeded, zone: str) -> str:
    return seeded.public_zone_id if zone == "public" else seeded.private_zone_id


def _find_records(seeded: Seeded, zone: str, fqdn: str, rtype: str | None = None) -> list[dict]:
    r53 = seeded.client("route53")
    rrsets = r53.list_resource_record_sets(HostedZoneId=_zone(seeded, zone), StartRecordName=fqdn)["ResourceRecordSets"]
    return [r for r in rrsets if r["Name"].lower() == fqdn.lower() and (rtype is None or r["Type"] == rtype)
            and r["Type"] not in ("NS", "SOA")]


def dns_record_deleted(seeded: Seeded, host: str, zone: str = "public") -> None:
    """Delete the record(s) of ``host`` (``imap`` or a FQDN) from the public or private zone (API)."""
    fqdn = seeded.fqdn(host)
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in _find_records(seeded, zone, fqdn)]
    if not changes:
        raise KeyError(f"no record {fqdn} in the {zone} zone")
    seeded.client("route53").change_resource_record_sets(HostedZoneId=_zone(seeded, zone), ChangeBatch={"Changes": changes})


def dns_record_repointed(seeded: Seeded, host: str, zone: str = "public", value: str | None = None) -> None:
    """Point ``host`` elsewhere: an alias A becomes a plain A (default 192.0.2.10), a CNAME another name (API)."""
    fqdn = seeded.fqdn(host)
    old = _find_records(seeded, zone, fqdn)
    if not old:
        raise KeyError(f"no record {fqdn} in the {zone} zone")
    rtype = old[0]["Type"]
    value = value or ("d1old0distribution.cloudfront.net" if rtype == "CNAME" else "192.0.2.10")
    changes = [{"Action": "DELETE", "ResourceRecordSet": r} for r in old]
    changes.append({"Action": "CREATE", "ResourceRecordSet": {"Name": fqdn, "Type": rtype, "TTL": 300,
                                                               "ResourceRecords": [{"Value": value}]}})
    seeded.client("route53").change_resource_record_sets(HostedZoneId=_zone(seeded, zone), ChangeBatch={"Changes": changes})


def caa_records(seeded: Seeded, issuers: tuple[str, ...]) -> None:
    """Publish apex CAA records in the public zone allowing only ``issuers`` (issue + issuewild + iodef) (API)."""
    cd = seeded.control_domain
    values = [f'0 issue "{i}"' for i in issuers] + [f'0 issuewild "{i}"' for i in issuers] + \
        [f'0 iodef "mailto:admin@{cd}"']
    seeded.client("route53").change_resource_record_sets(HostedZoneId=seeded.public_zone_id, ChangeBatch={"Changes": [
        {"Action": "UPSERT", "ResourceRecordSet": {"Name": f"{cd}.", "Type": "CAA", "TTL": 3600,
                                                   "ResourceRecords": [{"Value": v} for v in values]}}]})


def caa_forbids_amazon(seeded: Seeded) -> None:
    """Apex CAA allows only letsencrypt.org: ACM cannot renew (renewal would fail with CAA_ERROR)."""
    caa_records(seeded, ("letsencrypt.org",))


def caa_forbids_letsencrypt(seeded: Seeded) -> None:
    """Apex CAA allows only Amazon's CAs: certbot's order is refused."""
    caa_records(seeded, ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com"))


# ---------------------------------------------------------------------------------------------
# ACM
# ---------------------------------------------------------------------------------------------


def acm_renewal(seeded: Seeded, status: str, reason: str | None = None, *, arn: str | None = None) -> None:
    """Set the cert's ``RenewalSummary`` to ``status`` (PENDING_AUTO_RENEWAL, PENDING_VALIDATION, SUCCESS, FAILED)."""
    arn = arn or seeded.acm_arn
    domain = f"*.{seeded.control_domain}"
    dvo_status = {"FAILED": "FAILED", "SUCCESS": "SUCCESS"}.get(status, "PENDING_VALIDATION")
    summary = {"RenewalStatus": status, "DomainValidationOptions": aws_seed._dvo(seeded, domain, dvo_status),
               "UpdatedAt": seeded.now - timedelta(hours=6)}
    if reason:
        summary["RenewalStatusReason"] = reason
    ACM_OVERRIDES[arn]["RenewalSummary"] = summary


def acm_renewal_failed(seeded: Seeded, reason: str = "CAA_ERROR") -> None:
    """ACM managed renewal FAILED with ``RenewalStatusReason`` ``reason`` (facts 3.3 enum)."""
    acm_renewal(seeded, "FAILED", reason)


def acm_renewal_pending_validation(seeded: Seeded) -> None:
    """ACM managed renewal sits in PENDING_VALIDATION (its DNS validation cannot complete)."""
    acm_renewal(seeded, "PENDING_VALIDATION")


def acm_validation_cname_deleted(seeded: Seeded) -> None:
    """Delete ACM's DNS-validation CNAME from the public zone (API)."""
    dns_record_deleted(seeded, seeded.acm_validation_name, "public")


def make_cert(common_name: str, not_after: datetime, not_before: datetime | None = None):
    """A self-signed leaf in the ``IssuedCert`` shape (for "old" or "rotated" certs when none is given)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or not_after - timedelta(days=90)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return SimpleNamespace(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM), chain_pem=b"",
        key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
        serial=cert.serial_number, not_after=cert.not_valid_after_utc, sha256=hashlib.sha256(der).hexdigest())


def import_old_acm_cert(seeded: Seeded, old_cert=None) -> str:
    """Import an older wildcard (default: expires in 5 days) that looks AMAZON_ISSUED too; return its ARN."""
    old_cert = old_cert or make_cert(f"*.{seeded.control_domain}", datetime.now(timezone.utc) + timedelta(days=5))
    kw = {"CertificateChain": old_cert.chain_pem} if old_cert.chain_pem else {}
    arn = seeded.client("acm").import_certificate(
        Certificate=old_cert.cert_pem, PrivateKey=old_cert.key_pem, **kw,
        Tags=[{"Key": "Name", "Value": seeded.names["acm_tag_name"]}])["CertificateArn"]
    domain = f"*.{seeded.control_domain}"
    ACM_OVERRIDES[arn] = {"_drop": ["ImportedAt"], "Type": "AMAZON_ISSUED", "DomainName": domain, "Issuer": "Amazon",
                          "RenewalEligibility": "INELIGIBLE", "InUseBy": [],
                          "DomainValidationOptions": aws_seed._dvo(seeded, domain, "SUCCESS")}
    return arn


def _move_in_use(seeded: Seeded, old_arn: str, user: str) -> None:
    ACM_OVERRIDES[old_arn]["InUseBy"].append(user)
    ACM_OVERRIDES[old_arn]["RenewalEligibility"] = "ELIGIBLE"
    current = ACM_OVERRIDES[seeded.acm_arn]["InUseBy"]
    if user in current:
        current.remove(user)


def listener_on_old_cert(seeded: Seeded, port: int, old_cert=None) -> str:
    """The NLB TLS listener (993) or the ALB 443 listener serves an older ACM cert (API); returns its ARN."""
    old_arn = import_old_acm_cert(seeded, old_cert)
    listener_arn = seeded.listener_arns[port]
    elbv2 = seeded.client("elbv2")
    elbv2.modify_listener(ListenerArn=listener_arn, Certificates=[{"CertificateArn": old_arn}])
    now = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]
    if now["Certificates"][0]["CertificateArn"] != old_arn:  # moto 5.2.5 applies Certificates to HTTPS only, not TLS
        listener = backend("elbv2", seeded).describe_listeners(None, [listener_arn])[0]
        listener.certificate, listener.certificates = old_arn, [old_arn]
    _move_in_use(seeded, old_arn, seeded.alb_arn if port == 443 else seeded.nlb_arn)
    return old_arn


def cloudfront_on_old_cert(seeded: Seeded, old_cert=None, site: str = "") -> str:
    """A CloudFront distribution's ViewerCertificate points at an older ACM cert (API): the admin one, or the
    site's with that alias (the front door); returns the old ARN."""
    old_arn = import_old_acm_cert(seeded, old_cert)
    dist_id, _, dist_arn = seeded.site_distributions[site] if site else (seeded.cf_distribution_id, "", seeded.cf_arn)
    cf = seeded.client("cloudfront")
    got = cf.get_distribution_config(Id=dist_id)
    config = got["DistributionConfig"]
    config["ViewerCertificate"] = {"ACMCertificateArn": old_arn, "SSLSupportMethod": "sni-only",
                                   "MinimumProtocolVersion": "TLSv1.2_2021"}
    cf.update_distribution(Id=dist_id, IfMatch=got["ETag"], DistributionConfig=config)
    _move_in_use(seeded, old_arn, dist_arn)
    return old_arn


# ---------------------------------------------------------------------------------------------
# Let's Encrypt pipeline
# ---------------------------------------------------------------------------------------------


def certbot_schedule_disabled(seeded: Seeded) -> None:
    """The Scheduler schedule ``cabal-certbot-renewal`` is DISABLED (API)."""
    sch = seeded.client("scheduler")
    got = sch.get_schedule(Name=seeded.names["certbot_schedule"], GroupName=seeded.names["certbot_schedule_group"])
    keep = {k: got[k] for k in ("Name", "GroupName", "ScheduleExpression", "FlexibleTimeWindow", "Target") if k in got}
    sch.update_schedule(State="DISABLED", **keep)


def certbot_last_run_long_ago(seeded: Seeded, days: float = 75, *, keep_events: bool = True,
                              shift_ssm: bool = True) -> None:
    """Newest certbot log event ``days`` old (backend timestamps; SSM dates follow).

    With ``keep_events=False``, no streams at all."""
    # moto refuses events older than 14 days through the API, so the stored timestamps are moved on the backend.
    group_name = seeded.names["certbot_log_group"]
    group = backend("logs", seeded).groups[group_name]
    newest_target = seeded.now - timedelta(days=days)
    if not keep_events:
        logs = seeded.client("logs")
        for name in list(group.streams):
            logs.delete_log_stream(logGroupName=group_name, logStreamName=name)
    else:
        newest = max((e.timestamp for st in group.streams.values() for e in st.events), default=None)
        if newest is not None:
            shift = newest - aws_seed._ms(newest_target)
            for st in group.streams.values():
                for e in st.events:
                    e.timestamp -= shift
                    e.ingestion_time -= shift
                st.creation_time -= timedelta(milliseconds=shift)
                if st.last_ingestion_time:
                    st.last_ingestion_time -= timedelta(milliseconds=shift)
    # The Lambda's metrics (Invocations, Errors, Duration) move with the logs: the run really was that long ago.
    for datum in backend("cloudwatch", seeded).metric_data:
        target = newest_target if datum.timestamp.tzinfo else newest_target.replace(tzinfo=None)  # moto: naive UTC
        if datum.namespace == "AWS/Lambda" and datum.timestamp > target:
            datum.timestamp = target
    seeded.certbot_run_at = newest_target - timedelta(seconds=42)
    if shift_ssm:
        ssm = backend("ssm", seeded)
        for key in ("ssm_cert", "ssm_key", "ssm_chain"):
            ssm.get_parameter(seeded.names[key]).last_modified_date = newest_target - timedelta(seconds=4)
        seeded.ssm_cert_modified_at = newest_target - timedelta(seconds=4)


def _errors_metric(seeded: Seeded, at: datetime, errors: int = 1) -> None:
    dims = [{"Name": "FunctionName", "Value": seeded.names["certbot_function"]}]
    seeded.client("cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Errors", "Dimensions": dims, "Timestamp": at, "Value": errors, "Unit": "Count"},
        {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": at, "Value": errors, "Unit": "Count"}])


def _failed_run(seeded: Seeded, at: datetime, middle: list[str], *, timeout: bool = False) -> str:
    cd, rid = seeded.control_domain, str(uuid.uuid4())
    msgs = [f"START RequestId: {rid} Version: $LATEST", f"Running certbot for *.{cd}",
            "Saving debug log to /tmp/certbot/logs/letsencrypt.log", f"Requesting a certificate for *.{cd}", *middle]
    if timeout:
        msgs += [f"END RequestId: {rid}",
                 f"REPORT RequestId: {rid}\tDuration: 300000.00 ms\tBilled Duration: 300000 ms\tMemory Size: 512 MB\t"
                 "Max Memory Used: 203 MB\tStatus: timeout",
                 f"{at + timedelta(seconds=300):%Y-%m-%dT%H:%M:%S.%f}"[:-3] + f"Z {rid} Task timed out after 300.00 seconds"]
    else:
        msgs += ["Traceback (most recent call last):",
                 '  File "/var/task/function.py", line 58, in handler',
                 "    raise RuntimeError(f\"certbot exited with code {proc.returncode}\")",
                 "[ERROR] RuntimeError: certbot exited with code 1",
                 f"END RequestId: {rid}",
                 f"REPORT RequestId: {rid}\tDuration: 9120.55 ms\tBilled Duration: 9121 ms\tMemory Size: 512 MB\t"
                 "Max Memory Used: 171 MB"]
    span = 300.0 if timeout else 9.1
    lines = [(at + timedelta(seconds=span * i / max(1, len(msgs) - 1)), m) for i, m in enumerate(msgs)]
    stream = certbot_stream_name(at)
    put_log_lines(seeded, seeded.names["certbot_log_group"], stream, lines)
    _errors_metric(seeded, at)
    return stream


def certbot_failing(seeded: Seeded, hours_ago: float = 6) -> list[str]:
    """Two failed certbot invocations (certbot exit 1, then a 300 s timeout) + Lambda Errors; SSM unchanged."""
    at = seeded.now - timedelta(hours=hours_ago)
    cd = seeded.control_domain
    first = _failed_run(seeded, at, [
        "Certbot failed to authenticate some domains (authenticator: dns-route53). The Certificate Authority "
        "reported these problems:",
        f"  Domain: {cd}",
        "  Type:   dns",
        f"  Detail: DNS problem: NXDOMAIN looking up TXT for _acme-challenge.{cd} - check that a DNS record exists "
        "for this domain",
        "Some challenges have failed.",
        "Ask for help or search for solutions at https://community.letsencrypt.org. See the logfile "
        "/tmp/certbot/logs/letsencrypt.log or re-run Certbot with -v for more details.",
    ])
    second = _failed_run(seeded, at + timedelta(minutes=3), [
        "Waiting 10 seconds for DNS changes to propagate",
        f"Encountered exception during recovery: Waiting for DNS change for _acme-challenge.{cd} timed out",
    ], timeout=True)
    return [first, second]


def certbot_rate_limited(seeded: Seeded, hours_ago: float = 6) -> str:
    """A certbot run refused by Let's Encrypt (HTTP 429 ``urn:ietf:params:acme:error:rateLimited``) + Errors metric."""
    at = seeded.now - timedelta(hours=hours_ago)
    retry = (seeded.now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S UTC")
    detail = (f"too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s, "
              f"retry after {retry}: see https://letsencrypt.org/docs/rate-limits/"
              "#new-certificates-per-exact-set-of-identifiers")
    return _failed_run(seeded, at, [
        "Received response:",
        "HTTP 429",
        "Content-Type: application/problem+json",
        "{",
        '  "type": "urn:ietf:params:acme:error:rateLimited",',
        f'  "detail": "{detail}",',
        '  "status": 429',
        "}",
        "An unexpected error occurred:",
        detail,
    ])


def ssm_cert_rotated_not_served(seeded: Seeded, new_cert=None, *, hours_ago: float = 1) -> object:
    """New cert/key/chain in SSM (API), ``LastModifiedDate`` after the smtp-out task's ``startedAt``; returns the cert."""
    new_cert = new_cert or make_cert(f"*.{seeded.control_domain}", datetime.now(timezone.utc) + timedelta(days=90))
    ssm = seeded.client("ssm")
    values = {"ssm_cert": new_cert.cert_pem, "ssm_key": new_cert.key_pem, "ssm_chain": new_cert.chain_pem or b"\n"}
    at = seeded.now - timedelta(hours=hours_ago)
    be = backend("ssm", seeded)
    for key, value in values.items():
        ssm.put_parameter(Name=seeded.names[key], Value=value.decode(), Type="SecureString", Overwrite=True)
        be.get_parameter(seeded.names[key]).last_modified_date = at
    seeded.ssm_cert_modified_at = at
    return new_cert


def ssm_cert_missing(seeded: Seeded) -> None:
    """The SSM cert parameter is gone (API): new mail tasks cannot start."""
    seeded.client("ssm").delete_parameter(Name=seeded.names["ssm_cert"])


# ---------------------------------------------------------------------------------------------
# fail2ban
# ---------------------------------------------------------------------------------------------


def fail2ban_bans(seeded: Seeded, ips: tuple[str, ...] | None = None, *, jail: str = "dovecot",
                  minutes_ago: int = 30) -> list[str]:
    """fail2ban Found/Ban lines in ``/ecs/cabal-imap`` banning ``ips`` (default: the NAT EIPs); returns the ban lines."""
    ips = ips or tuple(seeded.nat_eips)
    start = seeded.now - timedelta(minutes=minutes_ago)
    lines, bans = [], []

    def stamp(t: datetime) -> str:
        return f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d}"

    for n, ip in enumerate(ips):
        for k in range(5):
            t = start + timedelta(minutes=n, seconds=7 * k + 0.123)
            lines.append((t, f"{stamp(t)} fail2ban.filter [1]: INFO [{jail}] Found {ip} - {t:%Y-%m-%d %H:%M:%S}"))
        t = start + timedelta(minutes=n, seconds=36.123)
        ban = f"{stamp(t)} fail2ban.actions [1]: NOTICE [{jail}] Ban {ip}"
        lines.append((t, ban))
        bans.append(ban)
    group = f"/ecs/{seeded.names['service_imap']}"
    put_log_lines(seeded, group, seeded.imap_log_stream or "imap/imap/fail2ban", lines)
    return bans


ALL_FAULTS = (
    service_below_desired, service_restart_loop, container_instance_disconnected, container_instance_draining,
    target_unhealthy, target_group_empty, listener_deleted, sg_ingress_revoked, nacl_deny, nacl_no_egress, nacl_deny_nat_eips,
    nlb_node_interfaces, nat_instance_stopped, dns_record_deleted, dns_record_repointed, caa_records, caa_forbids_amazon,
    caa_forbids_letsencrypt, acm_renewal, acm_renewal_failed, acm_renewal_pending_validation,
    acm_validation_cname_deleted, listener_on_old_cert, cloudfront_on_old_cert, certbot_schedule_disabled,
    certbot_last_run_long_ago, certbot_failing, certbot_rate_limited, ssm_cert_rotated_not_served, ssm_cert_missing,
    fail2ban_bans,
)
