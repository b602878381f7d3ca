"""The fault catalogue: every cause the runbooks name, injectable into a running sandbox.

Each fault changes the AWS state and the wire together where both would change in reality, and
declares the live tests it must turn red (``red``: test ids, ``{cd}`` is the control domain; per
topology where they differ) and the probable cause the diagnosis must name among them (``cause``; by
default the one red test). The fault matrix (tests_unit/test_fault_matrix.py) proves that each
fault turns exactly those tests red, and nothing else, and that the diagnosis names its cause with
the other reds as consequences.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import aws_faults as aws

BOTH = ("2026-05", "2026-08")
MAY = ("2026-05",)
AUG = ("2026-08",)


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    apply: Callable
    red: dict[str, tuple[str, ...]]  # topology -> test ids that must go red
    topologies: tuple[str, ...] = BOTH
    runbook: str = ""
    cause: dict[str, tuple[str, ...]] | None = None  # topology -> the causes the diagnosis names (None: the one red)

    def red_for(self, topology: str, cd: str) -> set[str]:
        return {t.format(cd=cd) for t in self.red.get(topology, ())}

    def causes_for(self, topology: str, cd: str) -> set[str]:
        if self.cause is None:
            reds = self.red_for(topology, cd)
            if len(reds) != 1:
                raise ValueError(f"fault {self.name} turns {len(reds)} tests red in {topology}: declare its cause=")
            return reds
        return {t.format(cd=cd) for t in self.cause.get(topology, ())}


FAULTS: dict[str, Fault] = {}


def fault(name: str, description: str, red, topologies=BOTH, runbook: str = "", cause=None):
    """Register the decorated ``apply(sandbox)``. ``red``: a tuple for every topology, or a dict per topology;
    ``cause``: a test id, a tuple of them, or a dict per topology."""
    def ids(v) -> dict[str, tuple[str, ...]]:  # a test id, a tuple of them, or a dict per topology of either
        if isinstance(v, dict):
            return {t: (x,) if isinstance(x, str) else tuple(x) for t, x in v.items()}
        return {t: (v,) if isinstance(v, str) else tuple(v) for t in topologies}

    def register(fn):
        FAULTS[name] = Fault(name, description, fn, ids(red), tuple(topologies), runbook,
                             None if cause is None else ids(cause))
        return fn
    return register


def ep(sb, probe: str, scheme: str = ""):
    """The sandbox endpoint of a probe (and scheme, when a probe has several); ``site:<host>`` names a site."""
    if probe.startswith("site:"):
        return next(e for e in sb.topology.sites if e.host == sb.seeded.fqdn(probe[5:]).rstrip("."))
    return next(e for e in sb.topology.endpoints if e.probe == probe and (not scheme or e.scheme == scheme))


def unsigned_jwt(expires_in: float, sig: str = "c2lnbmF0dXJl", **claims) -> str:
    """An unsigned id token whose ``exp`` is ``expires_in`` seconds from now (negative: expired). The sandbox's
    /list and the seeded-token check read only ``exp``."""
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    payload = {"exp": int(time.time() + expires_in), "token_use": "id", **claims}
    return f"{b64({'alg': 'RS256', 'kid': 'sandbox'})}.{b64(payload)}.{sig}"


# Test ids, spelled once. IMAP differs per topology.
IMAP = {"2026-05": "imaps://imap.{cd}:993", "2026-08": "imap+starttls://imap.cabal.internal:143"}
SUB587 = {"2026-05": "smtp+starttls://smtp-out.{cd}:587", "2026-08": "smtp+starttls://smtp-out.cabal.internal:587"}
SMTPS = {"2026-05": "smtps://smtp-out.{cd}:465", "2026-08": "smtps://smtp-out.cabal.internal:465"}
RELAY = "smtp://smtp-in.{cd}:25"
ADMIN, LIST, NTFY = "https://admin.{cd}/", "https://admin.{cd}/prod/list", "https://ntfy.{cd}/v1/health"
WWW = "https://www.{cd}/"  # the front door: an ACM consumer no monitor probes (cert checks only)


def answers(spec: str, inside: bool = True) -> tuple[str, ...]:
    out = (f"test_endpoint_answers[{spec}]",)
    return out + ((f"test_endpoint_answers_from_inside_vpc[{spec}]",) if inside else ())


# --- probe-failure runbook ----------------------------------------------------------------------------


@fault("imap-service-down", "cabal-imap has 0 of 1 tasks (essential container exited); nothing listens",
       {t: answers(IMAP[t]) + ("test_ecs_service_running[cabal-imap]",)
        + (("test_targets_healthy[cabal-ecs-imap-tg]",) if t == "2026-05" else ()) for t in BOTH},
       runbook="probe-failure step 2", cause="test_ecs_service_running[cabal-imap]")
def _imap_down(sb):
    aws.service_below_desired(sb.seeded, "service_imap", cause="crash")
    if sb.topology.name == "2026-05":
        aws.target_group_empty(sb.seeded, "tg_imap")
    sb.plant.backend(ep(sb, "imap")).mode = "refuse"


@fault("smtp-in-restart-loop", "cabal-smtp-in keeps crashing: 4 tasks stopped in 10 minutes, one running now",
       ("test_ecs_service_not_restarting[cabal-smtp-in]",), runbook="probe-failure step 2")
def _relay_restarts(sb):
    aws.service_restart_loop(sb.seeded, "service_smtp_in", restarts=4)


@fault("relay-target-unhealthy", "the relay target group's only target fails NLB health checks (NLB fails open)",
       ("test_targets_healthy[cabal-ecs-relay-tg]",), runbook="probe-failure step 3")
def _relay_unhealthy(sb):
    aws.target_unhealthy(sb.seeded, "tg_relay")


@fault("nlb-listener-missing", "the NLB lost its 587 listener: the public probe is refused, the task answers",
       {"2026-05": answers(SUB587["2026-05"], inside=False) + ("test_listener_present[cabal-nlb:587]",)},
       topologies=MAY, runbook="probe-failure step 3", cause="test_listener_present[cabal-nlb:587]")
def _listener_missing(sb):
    aws.listener_deleted(sb.seeded, 587)
    sb.plant.front(ep(sb, "submission", "smtp+starttls")).mode = "refuse"


@fault("ntfy-target-unhealthy", "ntfy answers 503, the ALB marks its target unhealthy (ResponseCodeMismatch)",
       answers(NTFY) + ("test_targets_healthy[cabal-ntfy]",), runbook="probe-failure step 3",
       cause="test_targets_healthy[cabal-ntfy]")
def _ntfy_unhealthy(sb):
    aws.target_unhealthy(sb.seeded, "tg_ntfy", reason="Target.ResponseCodeMismatch",
                         description="Health checks failed with these codes: [503]")
    sb.plant.backend(ep(sb, "ntfy")).status = 503


@fault("relay-sg-rule-removed", "the 25/tcp ingress rule of cabal-ecs-smtp-in-sg is gone: the NLB's packets are dropped",
       answers(RELAY, inside=False) + ("test_security_group_admits[cabal-ecs-smtp-in-sg:25]",),
       runbook="probe-failure step 3", cause="test_security_group_admits[cabal-ecs-smtp-in-sg:25]")
def _sg_removed(sb):
    aws.sg_ingress_revoked(sb.seeded, "sg_smtp_in", 25)
    sb.plant.front(ep(sb, "smtp_relay")).mode = "silent"


@fault("admin-dns-missing", "admin.<cd> was deleted from the public zone: the name does not resolve",
       answers(ADMIN, inside=False) + answers(LIST, inside=False) + ("test_dns_points_at_front[public:admin.{cd}]",),
       runbook="probe-failure step 1", cause="test_dns_points_at_front[public:admin.{cd}]")
def _admin_dns(sb):
    aws.dns_record_deleted(sb.seeded, "admin", zone="public")
    sb.unresolvable.add(f"admin.{sb.control_domain}:443")


@fault("relay-dns-repointed", "smtp-in.<cd> in the private zone points somewhere else (in-VPC probes go astray)",
       ("test_dns_points_at_front[private:smtp-in.{cd}]",), runbook="probe-failure step 1")
def _relay_dns(sb):
    aws.dns_record_repointed(sb.seeded, "smtp-in", zone="private")


@fault("admin-app-403", "CloudFront answers 403 for the admin app (S3 object missing / geo restriction)",
       answers(ADMIN), runbook="probe-failure step 1", cause=answers(ADMIN)[0])
def _admin_403(sb):
    sb.plant.backend(ep(sb, "admin_app")).status = 403


@fault("api-list-500", "API Gateway -> Lambda list fails: /prod/list answers 500",
       answers(LIST), runbook="probe-failure step 1", cause=answers(LIST)[0])
def _list_500(sb):
    sb.plant.backend(ep(sb, "api_list")).status = 500


@fault("seeded-token-expired", "the /list probe sends a seeded id token that expired 2 h ago",
       answers(LIST, inside=False) + (f"test_seeded_token_not_expired[{LIST}]",), runbook="probe-failure escalation",
       cause=f"test_seeded_token_not_expired[{LIST}]")
def _token_expired(sb):
    sb.suite_env_extra.update(CABAL_API_TOKEN=unsigned_jwt(-2 * 3600), CABAL_PROBE_USERNAME=None, CABAL_PROBE_PASSWORD=None)


@fault("ntfy-down", "cabal-ntfy has no running task (image pull failure); the ALB answers 503",
       answers(NTFY) + ("test_ecs_service_running[cabal-ntfy]", "test_targets_healthy[cabal-ntfy]"),
       runbook="probe-failure step 2", cause="test_ecs_service_running[cabal-ntfy]")
def _ntfy_down(sb):
    aws.service_below_desired(sb.seeded, "service_ntfy", cause="image")
    aws.target_group_empty(sb.seeded, "tg_ntfy")
    sb.plant.backend(ep(sb, "ntfy")).mode = "refuse"


@fault("every-endpoint-silent", "every listener (load balancers and tasks alike) accepts and never answers: the "
       "drill for a bounded run, which still ends in about one --probe-timeout",
       {t: tuple(x for spec in (IMAP[t], RELAY, SUB587[t], SMTPS[t], ADMIN, LIST, NTFY) for x in answers(spec))
        for t in BOTH},
       runbook="probe-failure step 1",  # seven independent causes: each endpoint, both inside and outside
       cause={t: tuple(answers(spec)[0] for spec in (IMAP[t], RELAY, SUB587[t], SMTPS[t], ADMIN, LIST, NTFY)) for t in BOTH})
def _every_endpoint_silent(sb):
    for listener in sb.plant.listeners():
        listener.mode = "silent"


@fault("nacl-deny-smtp", "an operator-made NACL denies 25/tcp on the public subnets",
       answers(RELAY, inside=False) + (f"test_no_nacl_denies[{RELAY}]",), runbook="probe-failure escalation",
       cause=f"test_no_nacl_denies[{RELAY}]")
def _nacl(sb):
    aws.nacl_deny(sb.seeded, port=25)
    sb.plant.front(ep(sb, "smtp_relay")).mode = "silent"


@fault("fail2ban-ban", "fail2ban in the imap tier banned the NAT addresses (the in-VPC probe source)",
       {"2026-05": ("test_no_fail2ban_ban_of_probe_source[imaps://imap.{cd}:993]",)}, topologies=MAY,
       runbook="probe-failure escalation")
def _fail2ban(sb):
    aws.fail2ban_bans(sb.seeded)


@fault("container-instance-disconnected", "the ECS agent on the only container instance lost its connection",
       ("test_container_instances_connected[cabal-mail]",), runbook="probe-failure escalation")
def _agent(sb):
    aws.container_instance_disconnected(sb.seeded)


@fault("nat-instance-stopped", "NAT instance cabal-nat-0 is stopped and its private route is blackholed",
       ("test_nat_instances_running[cabal-nat-*]",), runbook="probe-failure escalation")
def _nat(sb):
    aws.nat_instance_stopped(sb.seeded, 0)


TARGET_GROUPS = {"2026-05": ("cabal-ecs-imap-tg", "cabal-ecs-relay-tg", "cabal-ecs-starttls-tg", "cabal-ecs-submission-tg",
                             "cabal-ntfy", "cabal-uptime-kuma"),
                 "2026-08": ("cabal-ecs-relay-tg", "cabal-ntfy", "cabal-uptime-kuma")}  # in the run's order


@fault("wedged-host", "the one container instance is wedged: every target group of every service reports its targets "
       "unhealthy (Health checks failed) while ECS still reads every service 1/1 and the agent connected; the load "
       "balancers fail open, so the probes still pass",
       {t: tuple(f"test_targets_healthy[{tg}]" for tg in TARGET_GROUPS[t]) for t in BOTH},
       runbook="probe-failure escalation",  # one cause on the shared host, not one per service
       cause={t: f"test_targets_healthy[{TARGET_GROUPS[t][0]}]" for t in BOTH})
def _wedged_host(sb):
    for key in sb.topology.target_groups():
        aws.target_unhealthy(sb.seeded, key)


@fault("imap-task-unhealthy", "the cabal-imap task runs but fails its container health check: Dovecot accepts and "
       "never greets (1 of 1 running, healthStatus UNHEALTHY)",
       {"2026-08": answers(IMAP["2026-08"]) + ("test_ecs_tasks_healthy[cabal-imap]",)}, topologies=AUG,
       runbook="probe-failure step 2", cause="test_ecs_tasks_healthy[cabal-imap]")
def _imap_unhealthy(sb):
    aws.task_unhealthy(sb.seeded, "service_imap")
    sb.plant.backend(ep(sb, "imap")).mode = "silent"


@fault("smtp-out-health-check-loop", "ECS keeps replacing cabal-smtp-out: 4 tasks stopped for failing container "
       "health checks in 10 minutes, a fresh one running now",
       {"2026-08": ("test_ecs_service_not_restarting[cabal-smtp-out]",)}, topologies=AUG, runbook="probe-failure step 2")
def _smtp_out_loop(sb):
    aws.service_restart_loop(sb.seeded, "service_smtp_out", restarts=4, cause="health")


@fault("sg-admits-port-not-probe-source", "the tier's SG still admits the port, but only from a bastion subnet, not "
       "from where the probes stand (2026-05: submission 587 behind the NLB; 2026-08: imap 143 in the VPC)",
       {"2026-05": answers(SUB587["2026-05"], inside=False) + ("test_security_group_admits[cabal-ecs-smtp-out-sg:587]",),
        "2026-08": answers(IMAP["2026-08"]) + ("test_security_group_admits[cabal-ecs-imap-sg:143]",)},
       runbook="probe-failure step 3", cause={"2026-05": "test_security_group_admits[cabal-ecs-smtp-out-sg:587]",
                                              "2026-08": "test_security_group_admits[cabal-ecs-imap-sg:143]"})
def _sg_source(sb):
    if sb.topology.name == "2026-05":  # the NLB's nodes (public subnets) may no longer reach the task on 587
        aws.sg_ingress_only_from(sb.seeded, "sg_smtp_out", 587, "10.0.250.0/24")
        sb.plant.front(ep(sb, "submission", "smtp+starttls")).mode = "silent"
    else:  # Kuma, blackbox and the API Lambdas (private subnets) may no longer reach imap on 143
        aws.sg_ingress_only_from(sb.seeded, "sg_imap", 143, "10.0.250.0/24")
        sb.plant.backend(ep(sb, "imap")).mode = "silent"


@fault("nacl-deny-probe-subnets", "an operator-made NACL on the private subnets denies 143/tcp from the VPC: the "
       "in-VPC probes and the API Lambdas are refused at the network layer",
       {"2026-08": answers(IMAP["2026-08"]) + (f"test_no_nacl_denies[{IMAP['2026-08']}]",)}, topologies=AUG,
       runbook="probe-failure escalation", cause=f"test_no_nacl_denies[{IMAP['2026-08']}]")
def _nacl_private(sb):
    aws.nacl_deny(sb.seeded, port=143, cidr=sb.seeded.vpc_cidr, subnets="private")
    sb.plant.backend(ep(sb, "imap")).mode = "silent"


# Behind the NLB and the ALB (public subnets): (spec, whether the in-VPC probe crosses them too: ntfy, through the
# ALB; the mail tiers go to the task, IMAP in 2026-05 by its backend name).
BEHIND_LBS = {"2026-05": ((IMAP["2026-05"], False), (RELAY, False), (SUB587["2026-05"], False),
                          (SMTPS["2026-05"], False), (NTFY, True)),
              "2026-08": ((RELAY, False), (NTFY, True))}


@fault("public-nacl-no-egress", "an operator-made NACL on the public subnets admits everything in but lets out only "
       "TCP 25, 80 and 443: stateless, it drops every reply to a client's ephemeral port (every NLB and ALB "
       "listener goes silent; an in-VPC probe through them too, one straight to the task does not)",
       {t: tuple(x for spec, inside in specs for x in answers(spec, inside) + (f"test_no_nacl_denies[{spec}]",))
        for t, specs in BEHIND_LBS.items()},
       runbook="probe-failure escalation",
       # one cause per probe: 465 is a consequence beside 587 (one submission probe)
       cause={t: tuple(f"test_no_nacl_denies[{spec}]" for spec, _ in specs if spec != SMTPS[t])
              for t, specs in BEHIND_LBS.items()})
def _nacl_no_egress(sb):
    aws.nacl_no_egress(sb.seeded, subnets="public")
    for endpoint in sb.topology.endpoints:
        if endpoint.front in ("nlb", "alb"):
            sb.plant.front(endpoint).mode = "silent"


@fault("nlb-node-silent", "the relay's NLB has a node in each of two zones; the second zone's node accepts and never "
       "answers (the other node answers): smtp-in.<cd> resolves to both, and a client that lands there waits forever",
       (f"test_endpoint_answers[{RELAY}]",), runbook="probe-failure step 1")
def _nlb_node_silent(sb):
    from .nodes import add_node

    relay = ep(sb, "smtp_relay")
    front = sb.plant.front(relay)
    node = add_node(front, relay.host, relay.port, "127.0.0.2", "second zone")
    sb.nodes.append(node)
    aws.nlb_node_interfaces(sb.seeded, ("127.0.0.1", "127.0.0.2"))
    node.listener.mode = "silent"


IN_VPC = ("imap", "submission")  # 2026-08: the tiers probed only inside the VPC


@fault("private-nacl-replies-only", "an operator-made NACL on the private subnets lets out only the replies (TCP "
       "1024-65535) and HTTPS: the in-VPC probes, which stand in those subnets too, can no longer send to IMAP 143 or "
       "submission 587/465 (the tasks' own side of the NACL is fine)",
       {"2026-08": tuple(x for spec in (IMAP["2026-08"], SUB587["2026-08"], SMTPS["2026-08"])
                         for x in answers(spec) + (f"test_no_nacl_denies[{spec}]",))}, topologies=AUG,
       runbook="probe-failure escalation",  # one cause per probe: 465 is a consequence beside 587
       cause=(f"test_no_nacl_denies[{IMAP['2026-08']}]", f"test_no_nacl_denies[{SUB587['2026-08']}]"))
def _private_nacl_replies_only(sb):
    aws.nacl_no_egress(sb.seeded, subnets="private", egress=((443, 443), (1024, 65535)))
    for endpoint in sb.topology.endpoints:
        if endpoint.probe in IN_VPC:
            sb.plant.backend(endpoint).mode = "silent"


# --- cert-expiring runbook ----------------------------------------------------------------------------

LE_RED_WIRE = {"2026-05": (SUB587["2026-05"], SMTPS["2026-05"]),
               "2026-08": (SUB587["2026-08"], SMTPS["2026-08"], IMAP["2026-08"])}
ACM_WIRE = {"2026-05": (IMAP["2026-05"], ADMIN, NTFY), "2026-08": (ADMIN, NTFY)}  # probed endpoints
ACM_CERTS = {t: specs + (WWW,) for t, specs in ACM_WIRE.items()}  # and the front door: every ACM certificate check
CERT = "/cabal/control_domain_ssl_cert"
WILDCARD = "*.{cd}"
SSM_WARNING = f"test_ssm_certificate_days_left_warning[{CERT}]"
SSM_CRITICAL = f"test_ssm_certificate_days_left_critical[{CERT}]"  # the cause once inside 7 days: warning follows
FIRST_LE = {"2026-05": SUB587["2026-05"], "2026-08": IMAP["2026-08"]}  # in each topology's endpoint order
FIRST_ACM = {"2026-05": IMAP["2026-05"], "2026-08": ADMIN}


def days(n: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=n)


def serve_le(sb, cert, send_chain: bool = True) -> None:
    """The certbot pipeline produced ``cert``: in SSM (as of the last run, before the tasks started) and on the wire."""
    hours = (datetime.now(timezone.utc) - sb.seeded.ssm_cert_modified_at).total_seconds() / 3600
    aws.ssm_cert_rotated_not_served(sb.seeded, cert, hours_ago=hours)
    sb.plant.serve_cert("le", cert, send_chain)


def le_ids(topology: str, *tests: str) -> tuple[str, ...]:
    return tuple(f"{t}[{spec}]" for spec in LE_RED_WIRE[topology] for t in tests)


def le_handshake_ids(topology: str) -> tuple[str, ...]:
    """A Let's Encrypt cert that fails verification: every handshake that serves it fails, including,
    in 2026-05, the in-VPC IMAP probe (Dovecot on 143 behind the NLB serves the container's cert)."""
    ids = le_ids(topology, "test_endpoint_answers", "test_endpoint_answers_from_inside_vpc",
                 "test_chain_verifies_for_public_name")
    return ids + ((f"test_endpoint_answers_from_inside_vpc[{IMAP['2026-05']}]",) if topology == "2026-05" else ())


def per_topology(fn) -> dict:
    return {t: fn(t) for t in BOTH}


@fault("le-cert-in-warning-window", "certbot renewal stuck: the Let's Encrypt cert has 15 days left (SSM and wire)",
       per_topology(lambda t: le_ids(t, "test_cert_days_left_warning")
                    + (f"test_ssm_certificate_days_left_warning[{CERT}]",)), runbook="cert-expiring LE",
       cause=SSM_WARNING)
def _le_warning(sb):
    serve_le(sb, sb.plant.pki.issue(f"*.{sb.control_domain}", issuer="le", not_after=days(15)))


@fault("le-cert-in-critical-window", "the Let's Encrypt cert has 5 days left: critical, manual renewal path",
       per_topology(lambda t: le_ids(t, "test_cert_days_left_warning", "test_cert_days_left_critical")
                    + (f"test_ssm_certificate_days_left_warning[{CERT}]", f"test_ssm_certificate_days_left_critical[{CERT}]",
                       f"test_letsencrypt_escalation_not_needed[{WILDCARD}]")), runbook="cert-expiring LE escalation",
       cause=SSM_CRITICAL)
def _le_critical(sb):
    serve_le(sb, sb.plant.pki.issue(f"*.{sb.control_domain}", issuer="le", not_after=days(5)))


@fault("le-cert-expired", "the Let's Encrypt cert expired yesterday: submission TLS handshakes fail",
       per_topology(lambda t: le_handshake_ids(t) + le_ids(t, "test_cert_days_left_warning", "test_cert_days_left_critical")
                    + (f"test_ssm_certificate_days_left_warning[{CERT}]", f"test_ssm_certificate_days_left_critical[{CERT}]",
                       f"test_letsencrypt_escalation_not_needed[{WILDCARD}]")), runbook="cert-expiring LE escalation",
       cause=SSM_CRITICAL)
def _le_expired(sb):
    serve_le(sb, sb.plant.pki.issue(f"*.{sb.control_domain}", issuer="le", not_after=days(-1), not_before=days(-91)))


@fault("le-cert-wrong-name", "certbot produced (SSM) and the mail tiers serve a certificate for another name",
       per_topology(lambda t: le_handshake_ids(t) + (f"test_ssm_certificate_parses[{CERT}]",)), runbook="cert-expiring",
       cause=f"test_ssm_certificate_parses[{CERT}]")
def _le_wrong_name(sb):
    serve_le(sb, sb.plant.pki.issue("mail.other.example", issuer="le"))


@fault("le-missing-intermediate", "the mail tiers send the leaf without its intermediate",
       per_topology(le_handshake_ids), runbook="cert-expiring",
       cause=per_topology(lambda t: f"test_chain_verifies_for_public_name[{FIRST_LE[t]}]"))
def _le_no_chain(sb):
    sb.plant.serve_cert("le", sb.plant.le_cert, send_chain=False)


@fault("le-intermediate-expires-first", "the chain's intermediate expires in 5 days, before the leaf",
       per_topology(lambda t: le_ids(t, "test_chain_earliest_expiry_warning", "test_chain_earliest_expiry_critical")),
       runbook="cert-expiring", cause=per_topology(lambda t: f"test_chain_earliest_expiry_critical[{FIRST_LE[t]}]"))
def _le_intermediate(sb):
    serve_le(sb, sb.plant.pki.issue(f"*.{sb.control_domain}", issuer="le", intermediate_not_after=days(5)))


@fault("acm-untrusted-chain", "the ACM endpoints serve a chain from an untrusted root",
       per_topology(lambda t: tuple(f"{x}[{spec}]" for spec in ACM_WIRE[t] for x in ("test_endpoint_answers",))
           + tuple(f"{x}[{spec}]" for spec in ACM_CERTS[t] for x in (
               "test_chain_verifies_for_public_name", "test_acm_certificate_served"))
           # in-VPC, IMAP reaches Dovecot (Let's Encrypt) behind the NLB: unaffected
           + tuple(f"test_endpoint_answers_from_inside_vpc[{spec}]" for spec in ACM_WIRE[t] if spec != IMAP["2026-05"])
           + (f"test_endpoint_answers[{LIST}]", f"test_endpoint_answers_from_inside_vpc[{LIST}]")),
       runbook="cert-expiring ACM step 3", cause=per_topology(lambda t: f"test_acm_certificate_served[{FIRST_ACM[t]}]"))
def _acm_untrusted(sb):
    sb.plant.serve_cert("acm", sb.plant.pki.issue(f"*.{sb.control_domain}", sb.control_domain, untrusted=True))


def reimport_acm(sb, left_days: float) -> None:
    """ACM's certificate (same ARN) and what the ACM endpoints serve now expire in ``left_days``."""
    cert = sb.plant.pki.issue(f"*.{sb.control_domain}", sb.control_domain, issuer="acm", not_after=days(left_days))
    sb.seeded.client("acm").import_certificate(CertificateArn=sb.seeded.acm_arn, Certificate=cert.cert_pem,
                                               PrivateKey=cert.key_pem, CertificateChain=cert.chain_pem)
    sb.plant.serve_cert("acm", cert)


PINNED = f"test_acm_no_consumer_on_an_old_certificate[{WILDCARD}]"  # ACM's InUseBy of the old certificate


def pin_old_cert(sb, probe: str, attach) -> None:  # probe: a probe name or site:<host>
    """One ACM consumer (``attach(seeded, old_cert)``) and its front are left on an old certificate (5 days)."""
    old = sb.plant.pki.issue(f"*.{sb.control_domain}", sb.control_domain, issuer="acm", not_after=days(5))
    attach(sb.seeded, old)
    sb.plant.front(ep(sb, probe)).ssl_context = sb.plant.pki.server_context(old)


@fault("acm-cert-in-warning-window", "the ACM wildcard has 16 days left: inside the 21-day warning, not yet escalation",
       per_topology(lambda t: tuple(f"test_cert_days_left_warning[{spec}]" for spec in ACM_CERTS[t])),
       runbook="cert-expiring ACM", cause=per_topology(lambda t: f"test_cert_days_left_warning[{FIRST_ACM[t]}]"))
def _acm_warning(sb):
    reimport_acm(sb, 16)


@fault("acm-renewal-stuck-near-expiry", "ACM renewal FAILED (DOMAIN_VALIDATION_DENIED) and 10 days left: escalate",
       per_topology(lambda t: tuple(f"{x}[{spec}]" for spec in ACM_CERTS[t] for x in ("test_cert_days_left_warning",))
                    + (f"test_acm_renewal_not_stuck[{WILDCARD}]", f"test_acm_escalation_not_needed[{WILDCARD}]")),
       runbook="cert-expiring ACM escalation", cause=f"test_acm_renewal_not_stuck[{WILDCARD}]")
def _acm_stuck(sb):
    reimport_acm(sb, 10)
    aws.acm_renewal_failed(sb.seeded, "DOMAIN_VALIDATION_DENIED")


ACM_REASONS = ("CAA_ERROR", "DOMAIN_VALIDATION_DENIED", "NO_AVAILABLE_CONTACTS", "ADDITIONAL_VERIFICATION_REQUIRED",
               "DOMAIN_NOT_ALLOWED", "INVALID_PUBLIC_DOMAIN", "SLR_NOT_FOUND", "OTHER")
for _reason in ACM_REASONS:
    fault(f"acm-renewal-failed-{_reason.lower().replace('_', '-')}",
          f"ACM managed renewal FAILED with RenewalStatusReason {_reason}",
          (f"test_acm_renewal_not_stuck[{WILDCARD}]",),
          topologies=BOTH if _reason == "CAA_ERROR" else MAY, runbook="cert-expiring ACM step 1")(
        lambda sb, r=_reason: aws.acm_renewal_failed(sb.seeded, r))


@fault("acm-pending-validation", "ACM renewal stuck in PENDING_VALIDATION (the validation CNAME is not answered)",
       (f"test_acm_renewal_not_stuck[{WILDCARD}]",), runbook="cert-expiring ACM step 1")
def _acm_pending(sb):
    aws.acm_renewal_pending_validation(sb.seeded)


@fault("acm-validation-cname-missing", "the ACM validation CNAME was deleted from the public zone",
       (f"test_acm_validation_records_present[{WILDCARD}]",), runbook="cert-expiring ACM step 2")
def _acm_cname(sb):
    aws.acm_validation_cname_deleted(sb.seeded)


@fault("caa-forbids-amazon", "the apex CAA records allow only letsencrypt.org: ACM may not issue",
       (f"test_caa_allows_acm[{WILDCARD}]",), runbook="cert-expiring ACM step 1")
def _caa_amazon(sb):
    aws.caa_forbids_amazon(sb.seeded)


@fault("caa-forbids-letsencrypt", "the apex CAA records allow only Amazon: certbot may not issue",
       (f"test_caa_allows_letsencrypt[{WILDCARD}]",), runbook="cert-expiring LE step 3")
def _caa_le(sb):
    aws.caa_forbids_letsencrypt(sb.seeded)


@fault("alb-listener-pinned-old-cert", "the ALB 443 listener is pinned to an old ACM certificate (5 days left)",
       (PINNED, "test_acm_consumer_uses_certificate[cabal-uptime-alb:443]", f"test_acm_certificate_served[{NTFY}]",
        f"test_cert_days_left_warning[{NTFY}]", f"test_cert_days_left_critical[{NTFY}]"),
       runbook="cert-expiring ACM step 3", cause="test_acm_consumer_uses_certificate[cabal-uptime-alb:443]")
def _alb_old(sb):
    pin_old_cert(sb, "ntfy", lambda seeded, old: aws.listener_on_old_cert(seeded, 443, old))


@fault("nlb-listener-pinned-old-cert", "the NLB 993 listener is pinned to an old ACM certificate (5 days left)",
       {"2026-05": (PINNED, "test_acm_consumer_uses_certificate[cabal-nlb:993]",
                    f"test_acm_certificate_served[{IMAP['2026-05']}]",
                    f"test_cert_days_left_warning[{IMAP['2026-05']}]", f"test_cert_days_left_critical[{IMAP['2026-05']}]")},
       topologies=MAY, runbook="cert-expiring ACM step 3", cause="test_acm_consumer_uses_certificate[cabal-nlb:993]")
def _nlb_old(sb):
    pin_old_cert(sb, "imap", lambda seeded, old: aws.listener_on_old_cert(seeded, 993, old))


@fault("cloudfront-pinned-old-cert", "the admin CloudFront distribution is pinned to an old ACM certificate",
       (PINNED, "test_acm_consumer_uses_certificate[cloudfront:admin.{cd}]", f"test_acm_certificate_served[{ADMIN}]",
        f"test_cert_days_left_warning[{ADMIN}]", f"test_cert_days_left_critical[{ADMIN}]"),
       runbook="cert-expiring ACM step 3", cause="test_acm_consumer_uses_certificate[cloudfront:admin.{cd}]")
def _cf_old(sb):
    pin_old_cert(sb, "admin_app", aws.cloudfront_on_old_cert)


@fault("front-door-pinned-old-cert", "the front door's CloudFront distribution (www.<cd>, found by its alias) is "
       "pinned to an old ACM certificate (5 days left)",
       (PINNED, "test_acm_consumer_uses_certificate[cloudfront:www.{cd}]", f"test_acm_certificate_served[{WWW}]",
        f"test_cert_days_left_warning[{WWW}]", f"test_cert_days_left_critical[{WWW}]"),
       runbook="cert-expiring ACM step 3", cause="test_acm_consumer_uses_certificate[cloudfront:www.{cd}]")
def _front_door_old(sb):
    pin_old_cert(sb, "site:www", lambda seeded, old: aws.cloudfront_on_old_cert(seeded, old, f"www.{sb.control_domain}"))


@fault("certbot-schedule-disabled", "the EventBridge schedule cabal-certbot-renewal is DISABLED",
       ("test_certbot_schedule_enabled[cabal-certbot-renewal]",), runbook="cert-expiring LE step 1")
def _sched(sb):
    aws.certbot_schedule_disabled(sb.seeded)


@fault("certbot-not-run", "certbot last ran 75 days ago (period 60 days + 24 h grace)",
       ("test_certbot_ran_within_period[cabal-certbot-renewal]",), runbook="cert-expiring LE step 1")
def _not_run(sb):
    aws.certbot_last_run_long_ago(sb.seeded, 75)


@fault("certbot-failing", "the last certbot runs failed: exited with code 1, then timed out after 300 s",
       ("test_certbot_last_run_succeeded[cabal-certbot-renewal]",), runbook="cert-expiring LE step 1")
def _failing(sb):
    aws.certbot_failing(sb.seeded)


@fault("letsencrypt-rate-limited", "Let's Encrypt answered 429 rateLimited: too many certificates already issued",
       ("test_certbot_last_run_succeeded[cabal-certbot-renewal]",
        "test_certbot_not_rate_limited[/cabal/lambda/certbot-renewal]"), runbook="cert-expiring LE step 3",
       cause="test_certbot_last_run_succeeded[cabal-certbot-renewal]")  # the runbook's order: step 1 fails first
def _rate(sb):
    aws.certbot_rate_limited(sb.seeded)


@fault("ssm-cert-rotated-not-served", "certbot wrote a new cert to SSM but smtp-out was not redeployed",
       per_topology(lambda t: tuple(f"test_ssm_certificate_served[{spec}]" for spec in LE_RED_WIRE[t])),
       runbook="cert-expiring LE step 2", cause=per_topology(lambda t: f"test_ssm_certificate_served[{FIRST_LE[t]}]"))
def _rotated(sb):
    aws.ssm_cert_rotated_not_served(sb.seeded, sb.plant.pki.issue(f"*.{sb.control_domain}", issuer="le"))


def _acm_override(sb, **keys) -> None:
    from .aws_seed import ACM_OVERRIDES

    ACM_OVERRIDES.setdefault(sb.seeded.acm_arn, {}).update(keys)


@fault("acm-certificate-revoked", "the ACM wildcard's Status is REVOKED (and the endpoints still serve it)",
       per_topology(lambda t: (f"test_acm_certificate_issued[{WILDCARD}]",)
                    + tuple(f"test_acm_certificate_served[{spec}]" for spec in ACM_CERTS[t])),
       runbook="cert-expiring ACM step 1", cause=f"test_acm_certificate_issued[{WILDCARD}]")
def _revoked(sb):
    _acm_override(sb, Status="REVOKED")


@fault("acm-renewal-ineligible", "ACM says RenewalEligibility INELIGIBLE (the certificate looks unused)",
       (f"test_acm_renewal_eligible[{WILDCARD}]",), runbook="cert-expiring ACM step 1")
def _ineligible(sb):
    _acm_override(sb, RenewalEligibility="INELIGIBLE")


@fault("certbot-function-missing", "the Lambda cabal-certbot-renewal does not exist",
       ("test_certbot_function_exists[cabal-certbot-renewal]",), runbook="cert-expiring LE step 1")
def _no_function(sb):
    sb.seeded.client("lambda").delete_function(FunctionName=sb.names["certbot_function"])


@fault("ssm-cert-missing", "the SSM parameter /cabal/control_domain_ssl_cert is gone: new mail tasks cannot start",
       (f"test_ssm_certificate_parses[{CERT}]",), runbook="cert-expiring LE step 2")
def _ssm_missing(sb):
    aws.ssm_cert_missing(sb.seeded)




def faults_by_test() -> dict[str, list[str]]:
    """Live test function -> faults (``topology:fault``) that turn one of its ids red."""
    out: dict[str, list[str]] = {}
    for fault in FAULTS.values():
        for topology, ids in fault.red.items():
            for test_id in ids:
                out.setdefault(test_id.split("[")[0], []).append(f"{fault.name} ({topology})")
    return out


from . import faults_capacity, faults_dynamodb_efs, faults_heartbeat, faults_lambda, faults_mail_logs  # noqa: E402, F401, I001  (issue 16's families register their faults)
