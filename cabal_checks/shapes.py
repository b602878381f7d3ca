"""The shapes facts hand to the judges: frozen dataclasses of what AWS answered, and pure helpers over AWS's own
dicts (records, groups, tags). No client, no request, no boto3: a judge imports this, never ``aws/`` or ``facts/``.

The helpers are used by the AWS lookups (``aws/``) too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .certs import CertFacts


@dataclass(frozen=True)
class Zone:
    """A hosted zone (as Route 53 lists it) and its record sets."""

    zone: dict
    records: tuple[dict, ...]

    @property
    def id(self) -> str:
        """The zone's id without its ``/hostedzone/`` prefix, as the CLI takes it."""
        return self.zone["Id"].split("/")[-1]


@dataclass(frozen=True)
class DnsView:
    """The control domain's zones by kind (``public``, ``private``; either may be absent) and the DNS name of each
    front asked for (``nlb``, ``alb``, ``cloudfront``; None when that front was not found)."""

    zones: dict[str, Zone]
    fronts: dict[str, str | None]


@dataclass(frozen=True)
class Front:
    """A load balancer, its listeners, and where each listener forwards (ListenerArn -> target group ARNs; None when
    the fact did not ask: the listeners' certificates need no rules)."""

    lb: dict
    listeners: tuple[dict, ...]
    forwards: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class TargetGroup:
    """A target group and the health of its registered targets."""

    tg: dict
    health: tuple[dict, ...]


@dataclass(frozen=True)
class Network:
    """The deployment's VPC (None when not found) and the parts a check asked for, each the VPC's (None: not asked):
    its network ACLs, NAT instances, private route tables."""

    vpc: dict | None
    nacls: tuple[dict, ...] | None = None
    nat: tuple[dict, ...] | None = None
    route_tables: tuple[dict, ...] | None = field(default=None)



@dataclass(frozen=True)
class CertbotActivity:
    """What the certbot Lambda did lately: the parts a check asked for (``facts.letsencrypt.certbot_activity``); a part
    not asked for keeps its default. ``streams``: newest log streams (None: the group does not exist);
    ``invocations``/``errors``: daily metric points; ``failures``/``rate_limits``: matching log events;
    ``last_start``: the newest START line's time; ``last_run_errors``: that run's Errors points (None: no run)."""

    group: str
    streams: tuple[dict, ...] | None = None
    invocations: tuple[dict, ...] = ()
    errors: tuple[dict, ...] = ()
    failures: tuple[dict, ...] = ()
    rate_limits: tuple[dict, ...] = ()
    last_start: datetime | None = None
    last_run_errors: tuple[dict, ...] | None = None


@dataclass(frozen=True)
class SsmCertificate:
    """The certificate (``ssm_cert``) or chain (``ssm_chain``) parameter as facts (the PEM itself dropped); ``error``
    says why it does not parse ("" when it does)."""

    key: str
    name: str
    version: int | None
    modified: datetime | None
    certs: tuple[CertFacts, ...]
    error: str = ""


@dataclass(frozen=True)
class AcmView:
    """The ACM wildcard ``domain`` chosen among its copies (``cert``: describe_certificate), its leaf's facts (None
    when not ISSUED or not parsed), the other copies, and ``why`` that one was taken."""

    cert: dict
    leaf: CertFacts | None = None
    others: tuple[dict, ...] = ()
    why: str = ""
    domain: str = ""


@dataclass(frozen=True)
class AcmConsumer:
    """Which certificate ARN a consumer presents: a listener (``front`` nlb/alb, ``port``) or a CloudFront
    distribution (``alias``); ``arn_cert`` describes that ARN; ``problem`` says why no ARN could be read."""

    front: str
    name: str
    arn: str | None = None
    problem: str = ""
    port: int | None = None
    alias: str = ""
    lb_arn: str | None = None
    listener_arn: str | None = None
    distribution_id: str | None = None
    resource_arn: str | None = None
    arn_cert: dict | None = None

def find(records_: Iterable[dict], name: str, types=("A", "AAAA", "CNAME")) -> list[dict]:
    want = name.rstrip(".").lower() + "."
    return [r for r in records_ if r["Name"].lower().replace("\\052", "*") == want and r["Type"] in types]


def target_of(record: dict) -> str:
    """Where a record points: the alias DNS name or the first value, lower case, no trailing dot."""
    if record.get("AliasTarget"):
        return record["AliasTarget"]["DNSName"].rstrip(".").lower()
    values = [r["Value"] for r in record.get("ResourceRecords", [])]
    return values[0].rstrip(".").lower() if values else ""


def admits(group: dict, port: int) -> list[str]:
    """The sources an SG admits on TCP ``port`` (CIDRs, prefix lists, other groups)."""
    sources = []
    for perm in group.get("IpPermissions", []):
        proto = perm.get("IpProtocol")
        if proto not in ("-1", "tcp", "6"):
            continue
        if proto != "-1" and not (perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)):
            continue
        sources += [r["CidrIp"] for r in perm.get("IpRanges", [])]
        sources += [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])]
        sources += [r["PrefixListId"] for r in perm.get("PrefixListIds", [])]
        sources += [r["GroupId"] for r in perm.get("UserIdGroupPairs", [])]
    return sources


def tag(resource: dict, key: str) -> str:
    for t in resource.get("Tags", []):
        if t.get("Key") == key:
            return t.get("Value", "")
    return ""


# --- heartbeat family (heartbeat-* runbooks) ----------------------------------------------------------------------


@dataclass(frozen=True)
class JobTrace:
    """A scheduled job's traces: its schedule (None: absent), its log group and whether it exists, the newest success
    line (time and text; None: none in what was read) and ``since``, how far back was read."""

    group: str
    group_exists: bool
    since: datetime
    schedule: dict | None = None
    last_success: datetime | None = None
    last_line: str = ""
    restarts: int = 0  # "Starting config watch loop" lines read (the reconfigure loop)
    task_started: datetime | None = None  # the running task's startedAt (the reconfigure loop starts with it)


@dataclass(frozen=True)
class UserSync:
    """The Cognito pool ``pool`` (id "" when absent): its PostConfirmation trigger, the assign_osid function's ARN
    ("" when absent), and the users without ``custom:osid`` as (username, created)."""

    pool: str
    pool_id: str
    post_confirmation: str
    function_arn: str
    users: int
    without_osid: tuple[tuple[str, datetime | None], ...] = ()


@dataclass(frozen=True)
class BackupState:
    """The backup plan (None: backup is off), the vault's backup jobs and the copy jobs since ``since`` (the
    selection, ``cabal-addresses`` and the EFS mail store, is judged by the jobs' ResourceType)."""

    plan: dict | None
    vault: str
    since: datetime
    jobs: tuple[dict, ...] = ()
    copies: tuple[dict, ...] = ()
    vault_info: dict | None = None  # DescribeBackupVault (None: the vault does not exist)
