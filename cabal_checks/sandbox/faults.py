"""The fault catalogue: every cause the runbooks name, injectable into a running sandbox.

Each fault changes the AWS state and the wire together where both would change in reality, and
declares the live tests it must turn red (``red``: test ids, ``{cd}`` is the control domain; per
topology where they differ). The fault matrix (tests_unit/test_fault_matrix.py) proves that each
fault turns exactly those tests red, and nothing else.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from typing import Callable

from . import aws_faults as aws

BOTH = ("2026-05", "2026-08")
MAY = ("2026-05",)


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    apply: Callable
    red: dict[str, tuple[str, ...]]  # topology -> test ids that must go red
    topologies: tuple[str, ...] = BOTH
    runbook: str = ""

    def red_for(self, topology: str, cd: str) -> set[str]:
        return {t.format(cd=cd) for t in self.red.get(topology, ())}


FAULTS: dict[str, Fault] = {}


def fault(name: str, description: str, red, topologies=BOTH, runbook: str = ""):
    """Register the decorated ``apply(sandbox)``. ``red``: a tuple for every topology, or a dict per topology."""
    def register(fn):
        per = red if isinstance(red, dict) else {t: red for t in topologies}
        FAULTS[name] = Fault(name, description, fn, {t: tuple(v) for t, v in per.items()}, tuple(topologies), runbook)
        return fn
    return register


def ep(sb, probe: str, scheme: str = ""):
    """The sandbox endpoint of a probe (and scheme, when a probe has several)."""
    return next(e for e in sb.topology.endpoints if e.probe == probe and (not scheme or e.scheme == scheme))


def expired_jwt(hours_ago: float = 2) -> str:
    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    exp = int(time.time() - hours_ago * 3600)
    return f"{b64({'alg': 'RS256', 'kid': 'sandbox'})}.{b64({'exp': exp, 'token_use': 'id'})}.c2lnbmF0dXJl"


# Test ids, spelled once. IMAP differs per topology.
IMAP = {"2026-05": "imaps://imap.{cd}:993", "2026-08": "imap+starttls://imap.cabal.internal:143"}
SUB587 = {"2026-05": "smtp+starttls://smtp-out.{cd}:587", "2026-08": "smtp+starttls://smtp-out.cabal.internal:587"}
RELAY = "smtp://smtp-in.{cd}:25"
ADMIN, LIST, NTFY = "https://admin.{cd}/", "https://admin.{cd}/prod/list", "https://ntfy.{cd}/v1/health"


def answers(spec: str, inside: bool = True) -> tuple[str, ...]:
    out = (f"test_endpoint_answers[{spec}]",)
    return out + ((f"test_endpoint_answers_from_inside_vpc[{spec}]",) if inside else ())


# --- probe-failure runbook ----------------------------------------------------------------------------


@fault("imap-service-down", "cabal-imap has 0 of 1 tasks (essential container exited); nothing listens",
       {t: answers(IMAP[t]) + ("test_ecs_service_running[cabal-imap]",)
        + (("test_targets_healthy[cabal-ecs-imap-tg]",) if t == "2026-05" else ()) for t in BOTH},
       runbook="probe-failure step 2")
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
       topologies=MAY, runbook="probe-failure step 3")
def _listener_missing(sb):
    aws.listener_deleted(sb.seeded, 587)
    sb.plant.front(ep(sb, "submission", "smtp+starttls")).mode = "refuse"


@fault("ntfy-target-unhealthy", "ntfy answers 503, the ALB marks its target unhealthy (ResponseCodeMismatch)",
       answers(NTFY) + ("test_targets_healthy[cabal-ntfy]",), runbook="probe-failure step 3")
def _ntfy_unhealthy(sb):
    aws.target_unhealthy(sb.seeded, "tg_ntfy", reason="Target.ResponseCodeMismatch",
                         description="Health checks failed with these codes: [503]")
    sb.plant.backend(ep(sb, "ntfy")).status = 503


@fault("relay-sg-rule-removed", "the 25/tcp ingress rule of cabal-ecs-smtp-in-sg is gone: the NLB's packets are dropped",
       answers(RELAY, inside=False) + ("test_security_group_admits[cabal-ecs-smtp-in-sg:25]",),
       runbook="probe-failure step 3")
def _sg_removed(sb):
    aws.sg_ingress_revoked(sb.seeded, "sg_smtp_in", 25)
    sb.plant.front(ep(sb, "smtp_relay")).mode = "silent"


@fault("admin-dns-missing", "admin.<cd> was deleted from the public zone: the name does not resolve",
       answers(ADMIN, inside=False) + answers(LIST, inside=False) + ("test_dns_points_at_front[public:admin.{cd}]",),
       runbook="probe-failure step 1")
def _admin_dns(sb):
    aws.dns_record_deleted(sb.seeded, "admin", zone="public")
    sb.unresolvable.add(f"admin.{sb.control_domain}:443")


@fault("relay-dns-repointed", "smtp-in.<cd> in the private zone points somewhere else (in-VPC probes go astray)",
       ("test_dns_points_at_front[private:smtp-in.{cd}]",), runbook="probe-failure step 1")
def _relay_dns(sb):
    aws.dns_record_repointed(sb.seeded, "smtp-in", zone="private")


@fault("admin-app-403", "CloudFront answers 403 for the admin app (S3 object missing / geo restriction)",
       answers(ADMIN), runbook="probe-failure step 1")
def _admin_403(sb):
    sb.plant.backend(ep(sb, "admin_app")).status = 403


@fault("api-list-500", "API Gateway -> Lambda list fails: /prod/list answers 500",
       answers(LIST), runbook="probe-failure step 1")
def _list_500(sb):
    sb.plant.backend(ep(sb, "api_list")).status = 500


@fault("seeded-token-expired", "the /list probe sends a seeded id token that expired 2 h ago",
       answers(LIST, inside=False) + (f"test_seeded_token_not_expired[{LIST}]",), runbook="probe-failure escalation")
def _token_expired(sb):
    sb.suite_env_extra.update(CABAL_API_TOKEN=expired_jwt(), CABAL_PROBE_USERNAME=None, CABAL_PROBE_PASSWORD=None)


@fault("ntfy-down", "cabal-ntfy has no running task (image pull failure); the ALB answers 503",
       answers(NTFY) + ("test_ecs_service_running[cabal-ntfy]", "test_targets_healthy[cabal-ntfy]"),
       runbook="probe-failure step 2")
def _ntfy_down(sb):
    aws.service_below_desired(sb.seeded, "service_ntfy", cause="image")
    aws.target_group_empty(sb.seeded, "tg_ntfy")
    sb.plant.backend(ep(sb, "ntfy")).mode = "refuse"


@fault("nacl-deny-smtp", "an operator-made NACL denies 25/tcp on the public subnets",
       answers(RELAY, inside=False) + (f"test_no_nacl_denies[{RELAY}]",), runbook="probe-failure escalation")
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
