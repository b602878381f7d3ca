"""The diagnosis of a run: the runbooks' decision procedure walked over this run's verdicts.

A pure function: ``diagnose(outcomes)``, one ``Outcome`` per test id of this run, gives a ``Diagnosis``: for
each red probe and each red pipeline, the conclusion the runbook draws (in its words), the probable cause (the
first failing step in the runbook's order, with its evidence and its first ``next:`` command), the reds that
follow from it (consequences), and the "can't tell" steps that block the conclusion. Several findings are
independent causes. Nothing here knows what was injected into a sandbox: only what this run saw.

The runbooks' order (``runbooks.STEPS``):
- probe-failure: which probe (outside vs inside the VPC, DNS), the ECS service, the load balancer, escalation
  (seeded token, fail2ban, NACL, container instances / NAT). A red on a probe's path is a consequence of an
  earlier red whose probes include all of its own; NAT and the container instances are shared by every probe, so
  they explain several services at once but never one service's own failure.
- cert-expiring: which endpoint (the wire), then the pipeline's steps in order (ACM 1-3 or Let's Encrypt 1-3,
  escalation): the first failing step of the pipeline is the cause, its later reds and the wire its consequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..runbooks import STEPS

GREEN, RED, CANT_TELL, NOT_APPLICABLE = "green", "red", "cant_tell", "not_applicable"
PIPELINES = {"acm": "the ACM pipeline", "letsencrypt": "the Let's Encrypt pipeline"}

# The runbooks' conclusions, in their words.
INSIDE_PASSES = "in-VPC passes, public fails: the load balancer or DNS layer"
BOTH_FAIL = "both fail: the service itself"
HEALTHY_TARGETS = "healthy targets + failing probe: a security-group rule, listener rule or DNS"
SEVERAL = "several services unhealthy at once: look at the cluster instances / NAT"

PROBES_SEEN = ("test_endpoint_answers", "test_endpoint_answers_from_inside_vpc")  # the probe itself, outside / in
SERVICE = ("test_ecs_service_running", "test_ecs_service_not_restarting")
SHARED = ("test_container_instances_connected", "test_nat_instances_running")
# What the runbook concludes when the first failing step on a probe's path is this check.
CAUSE_SAYS = {
    "test_dns_points_at_front": "a DNS record (step 1)",
    "test_ecs_service_running": "the ECS service itself (step 2)",
    "test_ecs_service_not_restarting": "the ECS service keeps restarting (step 2)",
    "test_targets_healthy": "the load balancer's targets fail their health checks (step 3)",
    "test_listener_present": "a listener rule (step 3)",
    "test_security_group_admits": "a security-group rule (step 3)",
    "test_seeded_token_not_expired": "the seeded JWT of the /list probe (escalation)",
    "test_no_fail2ban_ban_of_probe_source": "fail2ban banned the probe source (escalation)",
    "test_no_nacl_denies": "a NACL that drops the probe or its replies (escalation)",
    "test_container_instances_connected": "the cluster instances (escalation)",
    "test_nat_instances_running": "the NAT instance (escalation)",
}
_STEP = {s.key: s for s in STEPS}
_RANK = {(s.key, t): (i, j) for i, s in enumerate(STEPS) for j, t in enumerate(s.tests)}


@dataclass(frozen=True)
class Outcome:
    """One test of this run, as the diagnosis needs it."""

    test_id: str  # "test_ecs_service_running[cabal-imap]"
    status: str  # green | red | cant_tell | not_applicable
    step: str = ""  # a key of runbooks.STEPS ("pf-2")
    probes: tuple[str, ...] = ()  # probe markers: the probes whose runbook path includes the test
    pipeline: str = ""  # acm | letsencrypt: the certificate pipeline the test belongs to or covers
    summary: str = ""
    evidence: str = ""  # its first line of evidence
    next: str = ""  # its first next: command
    cert_failure: bool = False  # a probe that failed because the certificate did not verify

    @property
    def check(self) -> str:
        return self.test_id.split("[", 1)[0]

    @property
    def param(self) -> str:
        return self.test_id.split("[", 1)[1][:-1] if "[" in self.test_id else ""

    @property
    def runbook(self) -> str:
        return _STEP[self.step].runbook if self.step in _STEP else ""


@dataclass
class Finding:
    """One independent cause: what the runbook concludes, the probable cause, what follows from it."""

    runbook: str
    subject: str  # "probe imap (imaps://imap.example.net:993)", "the Let's Encrypt pipeline"
    cause: Outcome
    consequences: list[Outcome] = field(default_factory=list)
    blocked_by: list[Outcome] = field(default_factory=list)
    conclusion: str = ""

    def members(self) -> list[Outcome]:
        return [self.cause, *self.consequences]

    def probes(self) -> set[str]:
        return set(self.cause.probes)


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    checked: str  # "probe-failure (imap, ...), cert-expiring (acm, letsencrypt)"
    cant_tell: tuple[Outcome, ...] = ()

    def causes(self) -> list[str]:
        return [f.cause.test_id for f in self.findings]

    def lines(self) -> list[str]:
        if not self.findings:
            undecided = f"; {len(self.cant_tell)} can't tell: {', '.join(o.test_id for o in self.cant_tell)}" \
                if self.cant_tell else ""
            return [f"nothing red: {self.checked} checked and green{undecided}"]
        out = []
        for f in self.findings:
            c = f.cause
            out.append(f"{f.runbook}, {f.subject}: {f.conclusion}")
            out.append(f"  probable cause: {c.test_id}: {c.summary}")
            if c.evidence:
                out.append(f"    seen: {c.evidence}")
            if c.next:
                out.append(f"    next: {c.next}")
            if f.consequences:
                out.append(f"  consequences: {', '.join(o.test_id for o in f.consequences)}")
            for o in f.blocked_by:
                out.append(f"  can't tell (blocks the conclusion): {o.test_id}: {o.summary}")
        if len(self.findings) > 1:
            out.append(f"independent causes ({len(self.findings)}): {', '.join(self.causes())}")
        return out

    def properties(self) -> list[tuple[str, str]]:
        """JUnit testsuite properties: the text, and per finding its cause, conclusion, consequences, blockers."""
        props = [("diagnosis", "\n".join(self.lines())), ("diagnosis_causes", "\n".join(self.causes()))]
        for i, f in enumerate(self.findings, 1):
            props += [(f"diagnosis_{i}_cause", f.cause.test_id), (f"diagnosis_{i}_conclusion", f.conclusion),
                      (f"diagnosis_{i}_consequences", "\n".join(o.test_id for o in f.consequences)),
                      (f"diagnosis_{i}_blocked_by", "\n".join(o.test_id for o in f.blocked_by))]
        return props


def diagnose(outcomes: list[Outcome]) -> Diagnosis:
    """Verdicts of this run in (in run order), diagnosis out."""
    order = {o.test_id: i for i, o in enumerate(outcomes)}

    def rank(o: Outcome):
        return (*_RANK.get((o.step, o.check), (len(STEPS), 0)), order[o.test_id])

    reds = sorted((o for o in outcomes if o.status == RED), key=rank)
    findings: list[Finding] = []
    placed: set[str] = set()

    def add(finding: Finding, *more: Outcome) -> None:
        finding.consequences += [o for o in more if o.test_id not in placed and o is not finding.cause]
        placed.update(o.test_id for o in finding.members())
        if finding not in findings:
            findings.append(finding)

    # Several services unhealthy at once, with the cluster instances or NAT red: that is the cause.
    services = [o for o in reds if o.check in SERVICE]
    shared = [o for o in reds if o.check in SHARED]
    if len({o.param for o in services}) >= 2 and shared:
        add(Finding("probe-failure", "several services", shared[0], conclusion=SEVERAL), *services)

    # The runbooks' own steps (not the probe itself, not the wire): the first red of each path is a cause.
    for o in (o for o in reds if o.test_id not in placed and not _symptom(o)):
        home = next((f for f in findings if _follows(o, f)), None)
        if home:
            add(home, o)
        else:
            add(Finding(o.runbook, _subject(o), o))

    # The wire (cert-expiring, which endpoint): follows from its pipeline's cause, else is the first failing step.
    for o in (o for o in reds if o.test_id not in placed and o.step == "ce-0"):
        home = next((f for f in findings if f.runbook == "cert-expiring" and f.cause.pipeline == o.pipeline), None)
        add(home or Finding("cert-expiring", PIPELINES.get(o.pipeline, "certificate"), o), o)

    # The probes themselves: they follow from a cause on their path, else are the first failing step (per endpoint).
    for o in (o for o in reds if o.test_id not in placed):
        home = _home_of_probe(o, findings)
        if home is None:
            home = next((f for f in findings if f.cause.check in PROBES_SEEN and f.cause.param == o.param), None)
        add(home or Finding("probe-failure", f"probe {', '.join(o.probes)} ({o.param})", o), o)

    by_id = {o.test_id: o for o in outcomes}
    for f in findings:
        seen = [o for o in f.members() if o.check == "test_endpoint_answers"]
        if f.runbook == "probe-failure" and seen and f.conclusion != SEVERAL:  # name the failing probes
            f.subject = f"probe {', '.join(sorted({p for o in seen for p in o.probes}))} " \
                        f"({', '.join(o.param for o in seen)})"
        f.conclusion = f.conclusion or _conclusion(f, outcomes, by_id)
        f.blocked_by = [o for o in outcomes if o.status == CANT_TELL and _on_path(o, f)
                        and (_symptom(f.cause) or rank(o) < rank(f.cause))]
    return Diagnosis(tuple(findings), _checked(outcomes), tuple(o for o in outcomes if o.status == CANT_TELL))


def _symptom(o: Outcome) -> bool:
    return o.check in PROBES_SEEN or o.step == "ce-0"


def _follows(o: Outcome, f: Finding) -> bool:
    """A later red of the same path: the same pipeline, or a probe-failure step of no probe beyond the cause's."""
    c = f.cause
    if o.runbook != c.runbook:
        return False
    if o.runbook == "cert-expiring":
        return bool(o.pipeline) and o.pipeline == c.pipeline
    return bool(o.probes) and set(o.probes) <= f.probes() and not (c.check in SERVICE and o.check in SHARED)


def _home_of_probe(o: Outcome, findings: list[Finding]) -> Finding | None:
    """The cause a failing probe follows from: for a certificate failure its pipeline's, else the most specific
    probe-failure cause whose probes include the probe's."""
    certs = [f for f in findings if f.runbook == "cert-expiring"]
    if o.cert_failure and certs:
        return next((f for f in certs if f.cause.pipeline == o.pipeline or set(o.probes) & f.probes()), certs[0])
    paths = [f for f in findings if f.runbook == "probe-failure" and f.cause.check not in PROBES_SEEN
             and (o.probes and set(o.probes) <= f.probes() or _same_name(o, f.cause))]
    return min(paths, key=lambda f: len(f.probes()), default=None)


def _same_name(o: Outcome, dns: Outcome) -> bool:
    """A DNS record of the name the probe dials (admin.<cd> carries both the admin app and /list)."""
    return dns.check == "test_dns_points_at_front" and dns.param.split(":", 1)[-1] == urlsplit(o.param).hostname


def _on_path(o: Outcome, f: Finding) -> bool:
    if f.runbook == "cert-expiring":
        return o.runbook == "cert-expiring" and o.pipeline == f.cause.pipeline
    return o.runbook == "probe-failure" and bool(set(o.probes) & f.probes())


def _subject(o: Outcome) -> str:
    if o.runbook == "cert-expiring":
        return PIPELINES.get(o.pipeline, "certificate")
    if o.check in SHARED:
        return "what every probe shares"
    return f"probe {', '.join(o.probes)}" if o.probes else "probe-failure"


def _conclusion(f: Finding, outcomes: list[Outcome], by_id: dict) -> str:
    c = f.cause
    if f.runbook == "cert-expiring":
        step = _STEP[c.step].title if c.step in _STEP else c.step
        if c.step == "ce-0":
            return f"no step of the pipeline fails; the first failing step is the wire itself ({step})"
        return f"its first failing step is {step}"
    seen = [o for o in f.members() if o.check == "test_endpoint_answers"]
    if not seen:
        if c.check in PROBES_SEEN:  # only the in-VPC probe fails
            return f"public passes, in-VPC fails: the service as seen from inside ({c.param})"
        return f"no probe fails; {CAUSE_SAYS.get(c.check, c.check)} is red on its own"
    words = []
    if c.check != "test_seeded_token_not_expired":  # the in-VPC probe never carries the token: no comparison
        inside = [by_id.get(f"test_endpoint_answers_from_inside_vpc[{o.param}]") for o in seen]
        statuses = {i.status for i in inside if i is not None}
        if RED in statuses:
            words.append(BOTH_FAIL)
        elif statuses == {GREEN}:
            words.append(INSIDE_PASSES)
        else:
            words.append("no in-VPC comparison (no --vpc-host, or it could not be told)")
    if c.check in ("test_security_group_admits", "test_listener_present", "test_dns_points_at_front", "test_no_nacl_denies"):
        healthy = [o for o in outcomes if o.check == "test_targets_healthy" and set(o.probes) & f.probes()]
        if healthy and all(o.status == GREEN for o in healthy):
            words.append(HEALTHY_TARGETS)
    if c.check in CAUSE_SAYS:
        words.append(f"the first failing step is {CAUSE_SAYS[c.check]}")
    elif c.check in PROBES_SEEN:
        words.append("every later step of its path is green: the endpoint itself")
    return "; ".join(words)


def _checked(outcomes: list[Outcome]) -> str:
    judged = [o for o in outcomes if o.status in (GREEN, RED)]
    path = [o for o in judged if o.runbook == "probe-failure"]
    seen = [o for o in path if o.check in PROBES_SEEN]  # NAT and the instances are on every probe's path: not a probe
    probes = sorted({p for o in seen or path for p in o.probes})
    pipes = sorted({o.pipeline for o in judged if o.runbook == "cert-expiring" and o.pipeline})
    parts = ([f"probe-failure ({', '.join(probes)})"] if probes else []) + \
            ([f"cert-expiring ({', '.join(pipes)})"] if pipes else [])
    return ", ".join(parts) or "no runbook path"
