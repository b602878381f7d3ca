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
  escalation): the first failing step of the pipeline is the cause, its later reds and the wire its consequences;
  a critical check comes before its warning twin, and a red escalation step is said beside the cause.

Can't tell blocks a conclusion and never becomes one: a red probe (or wire) whose later steps could not be told is
"blocked" at the first of them, not "the endpoint itself"; a red step after a can't-tell one is probable "unless"
that earlier step fails. What the whole run shares is said first (``Diagnosis.preamble``): AWS answered nothing;
every endpoint fails from this vantage. Several services' target groups unhealthy while ECS reads those services
running is one cause on the host they share (a wedged container instance), as the runbook's escalation says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..alerts import NOT_CABALS
from ..runbooks import STEPS

GREEN, RED, CANT_TELL, NOT_APPLICABLE = "green", "red", "cant_tell", "not_applicable"
PIPELINES = {"acm": "the ACM pipeline", "letsencrypt": "the Let's Encrypt pipeline"}

# The runbooks' conclusions, in their words.
INSIDE_PASSES = "in-VPC passes, public fails: the load balancer or DNS layer"
BOTH_FAIL = "both fail: the service itself"
BOTH_FAIL_EARLIER = "both fail (public and in-VPC), not the service itself"  # when a network-layer step explains both
HEALTHY_TARGETS = "healthy targets + failing probe: a security-group rule, listener rule or DNS"
SEVERAL = "several services unhealthy at once: look at the cluster instances / NAT"
WEDGED = ("several services' targets unhealthy at once while ECS reads them running: one cause on the host they share "
          "(a wedged container instance), not one per service")

NOTHING_CHECKED = "no runbook path"
PROBES_SEEN = ("test_endpoint_answers", "test_endpoint_answers_from_inside_vpc")  # the probe itself, outside / in
SERVICE = ("test_ecs_service_running", "test_ecs_service_not_restarting")
SHARED = ("test_container_instances_connected", "test_nat_instances_running")
TARGETS = ("test_targets_healthy", "test_ecs_tasks_healthy")  # the service's tasks as its load balancer / ECS see them
NETWORK = ("test_dns_points_at_front", "test_listener_present", "test_security_group_admits", "test_no_nacl_denies",
           "test_no_fail2ban_ban_of_probe_source", "test_nat_instances_running")  # explain a probe failing, service up
LOCAL = ("test_seeded_token_not_expired",)  # judged without AWS
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
# The heartbeat runbooks (each job's own order: its schedule or trigger, its heartbeat, its failures): what the runbook
# concludes when the first failing step is this check ({param}: the tier, queue, job or vault).
HEARTBEAT_SAYS = {
    "test_dmarc_schedule_enabled": "process_dmarc is not scheduled (step 1): the job never runs by itself",
    "test_dmarc_ingest_heartbeat": "process_dmarc has not completed a run within 6 h + 2 h (the heartbeat)",
    "test_dmarc_last_run_without_errors": "process_dmarc runs but fails on reports (step 3)",
    "test_reconfigure_heartbeat": "the reconfigure loop of {param} is dead: that tier's address map goes stale (the "
                                  "one shared Healthchecks check would stay green while the other tiers ping)",
    "test_reconfigure_queue_not_backing_up": "{param} backs up: its tier's loop does not receive (step 2)",
    "test_cognito_users_have_osid": "a sign-up has no OSID: assign_osid did not run for it (step 2)",
    "test_post_confirmation_wired": "assign_osid is no longer the pool's PostConfirmation trigger (step 3)",
    "test_backup_heartbeat": "a selected resource's backup did not complete within 1 d + 6 h (step 2: which one, "
                             "and its StatusMessage, below)",
    "test_backup_copies_succeeded": "the DR copies to cabal-backup-dr fail (step 2)",
    "test_backup_failures_rare": "backups fail more than once in 7 days (escalation 2)",
    "test_backup_vault_locked": "the vault cabal-backup is missing or unlocked (escalation 1: re-apply Terraform)",
}

# The runbooks of issue #16 (every runbook in STEPS but these): walked generically. The alert's condition
# (``test_<runbook>_condition[...]``) is the symptom; the first red step in the runbook's order the cause; the
# conclusion in the runbook's own words from CONCLUDES, keyed by the cause's test function ({param} = its test id
# parameter: the function, table, service or tier). Families add their rows at the end, in one block each.
HAND_WALKED = ("deployment", "probe-failure", "cert-expiring")
CONDITION_SUFFIX = "_condition"
CONCLUDES: dict[str, str | Callable[[Outcome], str]] = {  # a text, or a function of the cause (its evidence)
    **HEARTBEAT_SAYS,
}


def _said(o: Outcome) -> str:
    """What the cause said (its summary and first evidence), its own test name left out."""
    return f"{o.summary} {o.evidence}".replace(o.check, "").casefold()


def _restart_loop(o: Outcome) -> str:
    text = _said(o)
    if "unable to place" in text or "insufficient" in text:
        return f"{o.param or 'the service'}: no capacity to place its task (capacity, not a crash loop)"
    if "exited" in text or "exit code" in text or "exitcode" in text or "essential container" in text:
        return f"{o.param or 'the service'}: each new task crashes (a crash loop, not capacity)"
    return ""


def _auth_source(o: Outcome) -> str:
    text = _said(o)
    if "interfacetype lambda" in text or "a lambda eni" in text or "lambda eni" in text:
        return "the failed logins come from a Lambda (the Lambda source: cause 1), not one client"
    if "rip=" in text or "client" in text:
        return "the failed logins come from one client (cause 2), not the Lambda source"
    return ""


def _bounces(o: Outcome) -> str:
    codes = sorted(set(re.findall(r"\b5\.\d{1,3}\.\d{1,3}\b", f"{o.summary} {o.evidence}")))
    return (f"{o.param} bounces" if o.param else "") + (f" ({', '.join(codes[:5])})" if codes else "")


# Per runbook, when its cause's test function has no row in CONCLUDES: the runbook's conclusion read from the cause's
# own summary and evidence (crash loop vs capacity; which tier's loop is dead; Lambda source vs one
# client; which tier and codes bounce; which resource's backup failed). "" = the step's title alone.
RUNBOOK_WORDS: dict[str, Callable[[Outcome], str]] = {
    "container-restart-loop": _restart_loop,
    "heartbeat-ecs-reconfigure": lambda o: f"the reconfigure loop of {o.param} is dead" if o.param and "loop" in o.check
    else "",
    "imap-auth-failure-spike": _auth_source,
    "sendmail-bounced-spike": _bounces,
    "heartbeat-aws-backup": lambda o: f"the backup of {o.param} failed" if o.param else "",
}

# lambda family (issue #16): the three runbooks read the same functions; a red in one follows from the first red of
# any of them, in STEPS' order (lambda-errors, lambda-throttles, lambda-5xx-spike). Their conclusions, in their words.
LAMBDA_RUNBOOKS = ("lambda-errors", "lambda-throttles", "lambda-5xx-spike")
LAMBDA_SAYS = {
    "test_lambda_errors_condition": "LambdaErrors would be firing: a function errs (its error: lambda-errors step 1)",
    "test_lambda_errors_error_text": "a function errs (lambda-errors step 1)",
    "test_lambda_errors_not_after_deploy": "a deploy just before the first error: roll back (lambda-errors step 2)",
    "test_lambda_throttles_condition": "LambdaThrottles would be firing: a function is throttled",
    "test_lambda_throttles_no_load_spike": "a load spike: invocations at 10x the hour's baseline (lambda-throttles "
                                           "step 1)",
    "test_lambda_no_reserved_concurrency": "reserved concurrency set by hand (lambda-throttles step 2)",
    "test_lambda_account_below_limit": "the account near its concurrency limit (lambda-throttles step 3)",
    "test_lambda_throttles_no_runaway_client": "a runaway client: one source IP makes most of the API's requests "
                                               "(lambda-throttles escalation)",
    "test_lambda_5xx_spike_condition": "Lambda5xxSpike would be firing: the API fails its callers",
    "test_lambda_5xx_failing_functions": "a function errs (lambda-5xx-spike step 1)",
}


def _index(step, test: str) -> float:
    """A test's place in its step; a critical check comes before its warning twin (a certificate with 5 days left
    is the critical case, whose warning follows from it)."""
    twin = test.removesuffix("_critical") + "_warning"
    return step.tests.index(twin) - 0.5 if test.endswith("_critical") and twin in step.tests else step.tests.index(test)


_RANK = {(s.key, t): (i, _index(s, t)) for i, s in enumerate(STEPS) for t in s.tests}


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
    shared: bool = False  # a cause on a layer several services share: its probes are every member's
    next: str = ""  # the next command when it is not the cause's own (a shared layer's)

    def members(self) -> list[Outcome]:
        return [self.cause, *self.consequences]

    def probes(self) -> set[str]:
        return {p for o in self.members() for p in o.probes} if self.shared else set(self.cause.probes)

    @property
    def blocked(self) -> bool:
        """The red is a symptom (a probe, the wire) and a later step of its path could not be told: no conclusion."""
        return bool(self.blocked_by) and _symptom(self.cause)


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    checked: str  # "probe-failure (imap, ...), cert-expiring (acm, letsencrypt)"
    cant_tell: tuple[Outcome, ...] = ()
    preamble: tuple[str, ...] = ()  # what the whole run shares, said first: AWS answered nothing, every endpoint fails

    def causes(self) -> list[str]:
        return [f.cause.test_id for f in self.findings]

    def lines(self) -> list[str]:
        if not self.findings:
            ids = [o.test_id for o in self.cant_tell]
            undecided = f"{len(ids)} can't tell: {', '.join(ids[:5])}" + (f", ... ({len(ids) - 5} more)" if len(ids) > 5
                                                                          else "")
            if self.checked == NOTHING_CHECKED:  # green on nothing is not green
                return [*self.preamble, f"nothing red, and nothing judged: {undecided if ids else 'no test ran'}"]
            return [*self.preamble, f"nothing red: {self.checked} checked and green" + (f"; {undecided}" if ids else "")]
        out = list(self.preamble)
        for f in self.findings:
            c = f.cause
            out.append(f"{f.runbook}, {f.subject}: {f.conclusion}")
            out.append(f"  {'red, not traced' if f.blocked else 'probable cause'}: {c.test_id}: {c.summary}")
            if c.evidence:
                out.append(f"    seen: {c.evidence}")
            if f.next or c.next:
                out.append(f"    next: {f.next or c.next}")
            for e in (o for o in f.consequences if o.step == "ce-e1"):  # the runbook's manual path: said, not buried
                out.append(f"  escalation (the manual path): {e.test_id}: {e.summary}")
                if e.next:
                    out.append(f"    next: {e.next}")
            if f.consequences:
                out.append(f"  consequences: {', '.join(o.test_id for o in f.consequences)}")
            for o in f.blocked_by[:1] if f.blocked else f.blocked_by:  # blocked: the first blocker decides
                out.append(f"  can't tell (blocks the conclusion): {o.test_id}: {o.summary}")
            if f.blocked and len(f.blocked_by) > 1:
                out.append(f"  can't tell, later on its path: {len(f.blocked_by) - 1} more "
                           f"({', '.join(o.test_id for o in f.blocked_by[1:4])}{', ...' if len(f.blocked_by) > 4 else ''})")
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
    services = [o for o in reds if o.check in SERVICE or o.check in TARGETS]
    shared = [o for o in reds if o.check in SHARED]
    if len({_service(o) for o in services}) >= 2 and shared:
        add(Finding("probe-failure", "several services", shared[0], conclusion=SEVERAL, shared=True), *services)
    # Several services' targets unhealthy while ECS reads those services running: the host they share, once.
    down = {_service(o) for o in reds if o.check in SERVICE}
    up = {_service(o) for o in outcomes if o.check == "test_ecs_service_running" and o.status == GREEN} - down
    sick = [o for o in reds if o.check in TARGETS and o.test_id not in placed and _service(o) in up]
    if len({_service(o) for o in sick}) >= 2:
        cluster = next((o.param for o in outcomes if o.check == "test_container_instances_connected"), "")
        add(Finding("probe-failure", "several services", sick[0], conclusion=WEDGED, shared=True, next=(
            f"aws ecs list-container-instances --cluster {cluster}  # then describe-container-instances (agentConnected,"
            " runningTasksCount) and the EC2 instance's status checks" if cluster else "")), *sick)

    # The runbooks' own steps (not the probe itself, not the wire): the first red of each path is a cause.
    for o in (o for o in reds if o.test_id not in placed and not _symptom(o)):
        home = next((f for f in findings if _follows(o, f)), None)
        if home:
            add(home, o)
        else:
            add(Finding(o.runbook, _subject(o), o))

    # Issue #16's runbooks: a red condition follows from the first red step of its runbook, else is its own finding.
    for o in (o for o in reds if o.test_id not in placed and _generic(o)):
        home = next((f for f in findings if f.runbook == o.runbook), None)
        add(home or Finding(o.runbook, _subject(o), o), o)

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
        if f.runbook == "probe-failure" and seen and not f.shared:  # name the failing probes
            f.subject = f"probe {', '.join(sorted({p for o in seen for p in o.probes}))} " \
                        f"({', '.join(o.param for o in seen)})"
        f.blocked_by = sorted((o for o in outcomes if o.status == CANT_TELL and _on_path(o, f)
                               and (_symptom(f.cause) or rank(o) < rank(f.cause))), key=rank)
        f.conclusion = f.conclusion or _conclusion(f, outcomes, by_id)
        if f.blocked_by and not f.blocked:  # an earlier step could not be told: it may be the cause instead
            first = f.blocked_by[0]
            f.conclusion += f"; unless {first.test_id}, an earlier step, fails: it can't tell ({_why(first)})"
    return Diagnosis(tuple(findings), _checked(outcomes), tuple(o for o in outcomes if o.status == CANT_TELL),
                     tuple(_preamble(outcomes)))


def _service(o: Outcome) -> tuple[str, ...]:
    """Which service a step is about: its probes, else its own name (a service no probe covers)."""
    return o.probes or (o.param,)


def _symptom(o: Outcome) -> bool:
    return o.check in PROBES_SEEN or o.step == "ce-0" or (_generic(o) and o.check.endswith(CONDITION_SUFFIX))


def _generic(o: Outcome) -> bool:
    """A test of a runbook walked by the generic walk (issue #16), not by the hand-written one."""
    return bool(o.runbook) and o.runbook not in HAND_WALKED


def _follows(o: Outcome, f: Finding) -> bool:
    """A later red of the same path: the same pipeline, or a probe-failure step of no probe beyond the cause's."""
    c = f.cause
    if o.runbook in LAMBDA_RUNBOOKS and c.runbook in LAMBDA_RUNBOOKS:
        return True
    if o.runbook != c.runbook:
        return False
    if _generic(o):  # one finding per runbook: its first red step is the cause, the rest follows
        return True
    if o.runbook == "cert-expiring":
        return bool(o.pipeline) and o.pipeline == c.pipeline
    if not o.probes and not c.probes:  # a service no probe covers: its own later steps (same name)
        return bool(o.param) and o.param == c.param
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
    if _generic(f.cause):
        return o.runbook == f.runbook
    if f.runbook == "cert-expiring":
        return o.runbook == "cert-expiring" and o.pipeline == f.cause.pipeline
    return o.runbook == "probe-failure" and bool(set(o.probes) & f.probes())


def _subject(o: Outcome) -> str:
    if o.runbook in LAMBDA_RUNBOOKS:
        if "/" in o.param:
            return f"API {o.param}"
        return "Cabal's Lambda functions" if o.param in ("", "functions") else f"Lambda {o.param} (the page's)"
    if _generic(o):
        return f"{o.check.removeprefix('test_')}" + (f" ({o.param})" if o.param else "")
    if o.runbook == "cert-expiring":
        return PIPELINES.get(o.pipeline, "certificate")
    if o.check in SHARED:
        return "what every probe shares"
    if o.probes:
        return f"probe {', '.join(o.probes)}"
    return f"{o.param} (no probe covers it)" if o.param else "probe-failure"


def _conclusion(f: Finding, outcomes: list[Outcome], by_id: dict) -> str:
    c = f.cause
    if c.runbook in LAMBDA_RUNBOOKS:
        return _lambda_conclusion(f, outcomes)
    if _generic(c):
        return _generic_conclusion(f)
    everywhere = bool(_every_endpoint_fails(outcomes))
    if f.runbook == "cert-expiring":
        step = _STEP[c.step].title if c.step in _STEP else c.step
        if c.step == "ce-0":
            if f.blocked:
                return f"{_blocked(f)}: whether the wire's red comes from a step of the pipeline is not known"
            return f"no step of the pipeline fails; the first failing step is the wire itself ({step})"
        return f"its first failing step is {step}"
    seen = [o for o in f.members() if o.check == "test_endpoint_answers"]
    if not seen:
        if c.check in PROBES_SEEN:  # only the in-VPC probe fails
            return f"public passes, in-VPC fails: the service as seen from inside ({c.param})" + \
                (f"; {_blocked(f)}" if f.blocked else "")
        probes = [o for o in outcomes if o.check == "test_endpoint_answers" and set(o.probes) & f.probes()]
        covered = ("no probe of this run covers it" if not probes else
                   f"its probes ({', '.join(sorted(f.probes()))}) pass" if all(o.status == GREEN for o in probes)
                   else "no failing probe follows from it")
        return f"{covered}; {CAUSE_SAYS.get(c.check, c.check)} is red on its own"
    words = []
    if c.check != "test_seeded_token_not_expired":  # the in-VPC probe never carries the token: no comparison
        inside = [by_id.get(f"test_endpoint_answers_from_inside_vpc[{o.param}]") for o in seen]
        statuses = {i.status for i in inside if i is not None}
        if RED in statuses:
            words.append(BOTH_FAIL_EARLIER if c.check in NETWORK else "both fail" if everywhere else BOTH_FAIL)
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
        words.append(_blocked(f) if f.blocked else "every later step of its path is green: the endpoint itself"
                     + (", unless what every endpoint shares (said first)" if everywhere else ""))
    return "; ".join(words)


# What a runbook concludes when its alert's condition holds for several of its subjects at once ({} = them).
SEVERAL_AT_ONCE = {
    "container-restart-loop": "several services below desired at once ({}): suspect the cluster instance role, EFS or "
                              "the network, not the services themselves (container-restart-loop escalation)"}


def _several(f: Finding) -> str:
    said = SEVERAL_AT_ONCE.get(f.runbook, "")
    subjects = sorted({o.param for o in f.members() if o.check.endswith(CONDITION_SUFFIX) and o.status == RED
                       and o.param})
    return said.format(", ".join(subjects)) + "; " if said and len(subjects) > 1 else ""


def _generic_conclusion(f: Finding) -> str:
    """Issue #16's runbooks: the alert's condition alone, or the first red step and the runbook's words for it; said
    after what the runbook concludes of several subjects at once (``SEVERAL_AT_ONCE``)."""
    return _several(f) + _first_step(f)


def _first_step(f: Finding) -> str:
    c = f.cause
    step = _STEP[c.step].title if c.step in _STEP else c.step
    if _symptom(c):
        if f.blocked:
            return f"the alert's condition holds; {_blocked(f)}"
        return f"the alert's condition holds and every step of {f.runbook} read is green: its escalation"
    said: str | Callable[[Outcome], str] = CONCLUDES.get(c.check) or RUNBOOK_WORDS.get(c.runbook) or ""
    words = said(c) if callable(said) else said.format(param=c.param or "it")
    fired = c.check in HEARTBEAT_SAYS or any(_symptom(o) for o in f.consequences)  # a heartbeat's own words say it
    return (f"{words}; " if words else "") + f"the first failing step is {step}" + \
        ("" if fired else " (its alert's condition does not hold, or was not read: red on its own)")
def _lambda_conclusion(f: Finding, outcomes: list[Outcome]) -> str:
    """The first failing step in the Lambda runbooks' words; for errors, deploy or runtime (lambda-errors step 2)."""
    words = [f"the first failing step is {LAMBDA_SAYS.get(f.cause.check, f.cause.check)}"]
    if any(o.check in ("test_lambda_errors_condition", "test_lambda_errors_error_text",
                       "test_lambda_5xx_failing_functions") for o in f.members()):
        deploy = next((o for o in outcomes if o.check == "test_lambda_errors_not_after_deploy"), None)
        if deploy is not None and deploy.status == GREEN:
            words.append("runtime, not a deploy: no erring function changed within 1 h before its first error")
        elif deploy is not None and deploy.status == RED and f.cause is not deploy:
            words.append("after a deploy: roll back (lambda-errors step 2)")
    return "; ".join(words)


def _why(o: Outcome) -> str:
    return o.summary.removeprefix("can't tell: ")


def _blocked(f: Finding) -> str:
    first = f.blocked_by[0]
    more = f" (and {len(f.blocked_by) - 1} more)" if len(f.blocked_by) > 1 else ""
    return f"blocked: the first step that could decide, {first.test_id}, can't tell ({_why(first)}){more}"


def _every_endpoint_fails(outcomes: list[Outcome]) -> list[Outcome]:
    """The public probes when there are several and every one fails, not on a certificate; else []."""
    public = [o for o in outcomes if o.check == "test_endpoint_answers" and o.status in (GREEN, RED)]
    return public if len(public) >= 2 and all(o.status == RED and not o.cert_failure for o in public) else []


def _preamble(outcomes: list[Outcome]) -> list[str]:
    """What the whole run shares, before any per-endpoint line: AWS answered nothing; every endpoint fails."""
    out = []
    read = [o for o in outcomes if o.status in (GREEN, RED, CANT_TELL) and not _symptom(o) and o.check not in LOCAL
            and not _why(o).startswith(NOT_CABALS)]  # a page naming what is not Cabal's: not AWS's silence
    if read and all(o.status == CANT_TELL for o in read):
        why = Counter(_why(o) for o in read).most_common(1)[0][0]
        out.append(f"AWS answered nothing: all {len(read)} steps read from AWS are can't tell ({why}); every "
                   "conclusion that needs them is blocked, not drawn")
    public = _every_endpoint_fails(outcomes)
    if public:
        stages = {m.group(1) for o in public for m in [re.search(r" failed at ([\w-]+)", o.summary)] if m}
        inside = [o for o in outcomes if o.check == "test_endpoint_answers_from_inside_vpc" and o.status in (GREEN, RED)]
        if stages == {"resolve"}:
            share = "this vantage's DNS resolver or its network (no name resolves)"
        elif inside and all(o.status == RED for o in inside):
            share = ("the in-VPC probes fail too, so not this vantage alone: the layers every endpoint shares (the "
                     "host they run on, the network in front of them) before any one service")
        elif inside and all(o.status == GREEN for o in inside):
            share = "from inside the VPC they answer: this vantage's network, or the public path every endpoint shares"
        else:
            share = "this vantage's network or DNS"
        told = [f"{o.check.removeprefix('test_')} {o.status}" for o in outcomes if o.check in SHARED
                and o.status in (GREEN, RED)]
        out.append(f"every endpoint fails from this vantage ({len(public)} of {len(public)}"
                   + (f", all at {next(iter(stages))}" if len(stages) == 1 else "") + f"): first look at what they "
                   f"share: {share}" + (f" ({', '.join(told)})" if told else ""))
    return out


def _checked(outcomes: list[Outcome]) -> str:
    judged = [o for o in outcomes if o.status in (GREEN, RED)]
    path = [o for o in judged if o.runbook == "probe-failure"]
    seen = [o for o in path if o.check in PROBES_SEEN]  # NAT and the instances are on every probe's path: not a probe
    probes = sorted({p for o in seen or path for p in o.probes})
    pipes = sorted({o.pipeline for o in judged if o.runbook == "cert-expiring" and o.pipeline})
    others = list(dict.fromkeys(o.runbook for o in judged if _generic(o)))
    parts = ([f"probe-failure ({', '.join(probes)})"] if probes else []) + \
            ([f"cert-expiring ({', '.join(pipes)})"] if pipes else []) + others
    return ", ".join(parts) or NOTHING_CHECKED


INTERRUPTED = "interrupted: the run was stopped before every check ran"


@dataclass(frozen=True)
class Interrupted:
    """The diagnosis of a run cut short (Ctrl-C): what it found in the checks that ran, and never "nothing red ...
    checked and green", which only a whole run may say."""

    found: Diagnosis

    def causes(self) -> list[str]:
        return self.found.causes()

    def lines(self) -> list[str]:
        if self.found.findings:
            return [f"{INTERRUPTED}; in the checks that ran:", *self.found.lines()]
        undecided = f", {len(self.found.cant_tell)} can't tell" if self.found.cant_tell else ""
        return [f"{INTERRUPTED}: nothing red among those that ran{undecided}; not a green run"]

    def properties(self) -> list[tuple[str, str]]:
        return [(k, "\n".join(self.lines()) if k == "diagnosis" else v) for k, v in self.found.properties()]
