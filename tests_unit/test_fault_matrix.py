"""The fault matrix: the proof that a red test is a failing runbook step.

For each topology, the unchanged live suite (tests_live, in its own process, reaching the sandbox only
through the public interface) runs against the healthy sandbox - nothing red, no errors - and against
every fault of the catalogue - exactly the fault's declared tests red, each with its runbook step and
next command, and nothing else red (no collateral); and the diagnosis of each run names the fault's
declared cause, with every other red as a consequence. Two faults at once name both causes. The run's
results.json carries that diagnosis (each red's role and cause), and the notifier, fed it, sends one page per
independent cause, its first line naming the cause (pages per fault = independent causes per fault).
"""

from __future__ import annotations

import json
import re

import pytest

from cabal_checks import notify
from cabal_checks import results as results_file
from cabal_checks.judge import diagnosis as d
from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.sandbox.sandbox import Sandbox

from .live_run import run_live
from .monitoring_stack import Receiver

TOPOLOGIES = ("2026-05", "2026-08")
CORE = "cabal_checks.sandbox.faults"  # probe-failure and cert-expiring: the wire, the network, the shared causes


def independent_groups(topology: str) -> list[tuple[str, ...]]:
    """Every fault of the catalogue, packed into runs of at most one fault per part of the account (``_domain``)
    whose declared red tests and causes are disjoint: one run proves every fault of its group as two faults at once
    are proven (the union red and nothing else; each cause named, the rest its consequences; one page per cause),
    and the matrix gets cheaper per case as the catalogue grows. A fault's collateral in another part's tests is
    still red that no fault declared. No two faults of a run touch the same endpoint (``_hosts``); of the
    probe-failure faults whose causes are shared (NETWORK: the network, a host; ECS_SERVICES: the cluster's services)
    at most one runs at a time; those that silence everything (ALONE) run alone."""
    domains: dict[str, list[str]] = {}
    for name, f in sorted(FAULTS.items()):
        if topology in f.topologies and name not in ALONE:
            domains.setdefault(_domain(name), []).append(name)
    groups: list[list[str]] = []
    for names in sorted(domains.values(), key=len, reverse=True):
        for name in names:
            fits = (g for g in groups if len(g) < GROUP and all(
                _domain(o) != _domain(name) and not _claims(topology, o) & _claims(topology, name)
                and not _hosts(topology, o) & _hosts(topology, name) for o in g))
            group = next(fits, None)
            if group is None:
                groups.append(group := [])
            group.append(name)
    return [tuple(g) for g in groups] + [(name,) for name in sorted(ALONE) if topology in FAULTS[name].topologies]


ALONE = {"every-endpoint-silent", "wedged-host"}  # every endpoint silent, or the host's sockets wedged: nothing to share
# Probe-failure faults whose cause is shared by several endpoints (the network, the NAT, the cluster's instances, a
# load balancer's node): one a run. ECS services below desired or unhealthy: one a run (two at once are the
# diagnosis' "several services" case, the cluster's).
NETWORK = {"nat-instance-stopped", "container-instance-disconnected", "public-nacl-no-egress", "nacl-deny-probe-subnets",
           "private-nacl-replies-only", "nacl-deny-smtp", "nlb-node-silent", "sg-admits-port-not-probe-source"}
ECS_SERVICES = {"imap-service-down", "smtp-in-restart-loop", "ntfy-down", "smtp-out-health-check-loop",
                "imap-task-unhealthy", "relay-target-unhealthy", "ntfy-target-unhealthy"}
GROUP = 7  # faults per run at most: a failing case's message stays readable
# What a family's faults change, where runbooks share it: the Lambda runbooks read every function's metrics; the
# reconfigure heartbeat and the mail-log runbooks read the same /ecs/cabal-<tier> lines ("[reconfigure] Done.").
SHARED = {"heartbeat-ecs-reconfigure": "mail_logs", "lambda-5xx-spike": "lambda", "lambda-throttles": "lambda",
          "lambda-errors": "lambda"}


def _domain(name: str) -> str:
    """The part of the account a fault changes: the network or the cluster's services (a probe-failure fault whose
    cause several endpoints share), else the fault's own endpoint path; a certificate pipeline (ACM, Let's Encrypt);
    its runbook's, unless it shares its signal (SHARED); or its family's. A new probe-failure fault with a shared
    cause belongs in NETWORK or ECS_SERVICES."""
    f = FAULTS[name]
    if f.apply.__module__ == CORE:
        words = f.runbook.split()
        if words[0] == "probe-failure":  # one endpoint's own fault shares a run with another endpoint's
            return "network" if name in NETWORK else "ecs" if name in ECS_SERVICES else f"probe:{name}"
        return "acm" if words[1:2] == ["ACM"] else "letsencrypt"  # the certificate on the wire: LE's (le-*)
    runbook = f.runbook.split()[0] if f.runbook else ""
    if runbook.startswith("heartbeat-") or runbook in SHARED:
        return SHARED.get(runbook, runbook)
    return f.apply.__module__.rsplit(".", 1)[-1].removeprefix("faults_")  # faults_mail_logs -> mail_logs


def _hosts(topology: str, name: str) -> set[str]:
    """The endpoints a fault's red tests name (``imap.cd`` of ``[imaps://imap.cd:993]`` or ``[private:imap.cd]``): a
    fault that silences an endpoint also hides what another fault does to it (its certificate, its DNS record)."""
    return {m.group(1) for t in FAULTS[name].red_for(topology, "cd") for m in _HOST.finditer(t)}


_HOST = re.compile(r"(?:://|\[(?:public|private):)([^/:\]]+)")  # an endpoint's URL, a DNS record's zone:name


def _claims(topology: str, name: str) -> set[str]:
    f = FAULTS[name]
    return f.red_for(topology, "cd") | f.causes_for(topology, "cd")


CASES = [(t, ()) for t in TOPOLOGIES] + [(t, group) for t in TOPOLOGIES for group in independent_groups(t)]
# Two independent faults at once: the diagnosis names both causes (NAT or the cluster instances do not explain
# one service's own failure; two pipelines are two causes).
COMBINATIONS = [("2026-05", ("nat-instance-stopped", "imap-service-down")),
                ("2026-08", ("container-instance-disconnected", "ntfy-down")),
                ("2026-05", ("relay-sg-rule-removed", "certbot-schedule-disabled")),
                ("2026-08", ("acm-validation-cname-missing", "le-cert-in-warning-window")),
                # heartbeat family: two jobs, two causes (one tier's loop; one sign-up without an OSID)
                ("2026-08", ("reconfigure-loop-dead-smtp-in", "user-without-osid"))]


def sandbox_for(sandboxes, topology: str, monitoring: bool = True, apex: bool = False) -> Sandbox:
    """The topology's sandbox (with or without the monitoring module, with a hand-made apex distribution); one at
    a time, since moto's backends are per process."""
    return sandboxes.get(topology, probe_timeout=5.0, monitoring=monitoring, apex=apex)


@pytest.mark.parametrize("topology, faults", CASES, ids=[f"{t}-{'+'.join(f) or 'healthy'}" for t, f in CASES])
def test_fault_turns_exactly_its_tests_red(sandboxes, topology, faults, tmp_path):
    check_faults(sandboxes, topology, faults, tmp_path)


def test_every_fault_is_in_the_matrix_in_every_topology_it_declares():
    cased = {(t, name) for t, faults in CASES for name in faults}
    assert cased == {(t, name) for name, f in FAULTS.items() for t in f.topologies}
    grouped = [g for t in TOPOLOGIES for g in independent_groups(t)]
    assert max(map(len, grouped)) >= 4, "the families' faults share runs"
    assert NETWORK | ECS_SERVICES | ALONE <= set(FAULTS), "the packing's rules name faults of the catalogue"


@pytest.mark.parametrize("topology, faults", COMBINATIONS, ids=[f"{t}-{'+'.join(f)}" for t, f in COMBINATIONS])
def test_two_faults_at_once_the_diagnosis_names_both_causes(sandboxes, topology, faults, tmp_path):
    check_faults(sandboxes, topology, faults, tmp_path)


# What the diagnosis must say under a fault, beyond naming its cause (issue #17: shared causes, honest wording).
SAYS = {"wedged-host": (d.WEDGED, "next: aws ecs list-container-instances --cluster cabal-mail"),
        "every-endpoint-silent": ("every endpoint fails from this vantage (7 of 7", "the in-VPC probes fail too",
                                  "the endpoint itself, unless what every endpoint shares (said first)"),
        "nacl-deny-probe-subnets": (d.BOTH_FAIL_EARLIER,),
        "le-cert-in-critical-window": ("escalation (the manual path): test_letsencrypt_escalation_not_needed[",),
        "le-cert-expired": ("escalation (the manual path): test_letsencrypt_escalation_not_needed[",),
        # lambda family: deploy vs runtime, in lambda-errors' words
        "lambda-errors-list": ("runtime, not a deploy",), "lambda-deploy-broke-list": ("after a deploy: roll back",),
        # container-restart-loop's last escalation bullet: several services at once suspect the cluster
        "several-services-restart-loop": ("several services below desired at once (cabal-imap, cabal-smtp-in): suspect "
                                          "the cluster instance role, EFS or the network",)}
# Wording that contradicts itself: never in any diagnosis.
NEVER = (re.compile(r"both fail: the service itself; .*the first failing step is (a NACL|a security-group|a listener|"
                    r"a DNS|fail2ban|the NAT)"), re.compile(r"probe-failure, probe-failure: "))


def check_faults(sandboxes, topology: str, faults: tuple, tmp_path) -> None:
    sb = sandbox_for(sandboxes, topology)
    sb.reset()
    sb.apply(*faults)
    run = run_live(sb, tmp_path, options=(f"--results-json={tmp_path / 'results.json'}",))
    assert not run.made_late, f"AWS clients made in a gathering thread (the os.environ race): {run.made_late}"
    assert run.early, "a run of every live test starts facts before discovery (run_live proves its tests ask for them)"
    assert run.gc_enabled, "garbage collection left off after the prefetch (fixtures/facts.py turns it back on)"
    results = {nodeid.split("::")[-1]: r for nodeid, r in run.results.items()}
    errors = {name: msg for name, (outcome, msg) in results.items() if outcome == "error"}
    red = {name: msg for name, (outcome, msg) in results.items() if outcome == "failure"}
    expected = {t for f in faults for t in FAULTS[f].red_for(topology, sb.control_domain)}
    fault = "+".join(faults)
    assert not errors, f"errors (can't tell) under {fault or 'healthy'}: {errors}"
    assert set(red) == expected, (f"{fault or 'healthy'} on {topology}: unexpected red {sorted(set(red) - expected)}, "
                                  f"missing red {sorted(expected - set(red))}\n"
                                  + "\n".join(f"--- {n}\n{m[:600]}" for n, m in red.items() if n not in expected))
    for name, message in red.items():
        assert "runbook: " in message, f"{name}: red without its runbook step:\n{message}"
    causes, consequences = run.diagnosis()
    want = {c for f in faults for c in FAULTS[f].causes_for(topology, sb.control_domain)}
    text = run.properties.get("diagnosis", "")
    assert causes == want, f"{fault or 'healthy'} on {topology}: diagnosis names {sorted(causes)}, want {sorted(want)}\n{text}"
    missing = sorted(set(red) - want - consequences)
    assert consequences == set(red) - want, (f"{fault} on {topology}: consequences missing {missing}, "
                                             f"unexpected {sorted(consequences - set(red))}\n{text}")
    if not faults:
        assert text.startswith("nothing red: probe-failure (") and "cert-expiring (acm, letsencrypt)" in text, text
    for f in faults:
        for words in SAYS.get(f, ()):
            assert words in text, f"{f} on {topology}: the diagnosis does not say {words!r}\n{text}"
    assert not [p.pattern for p in NEVER if p.search(text)], f"{fault} on {topology}: self-contradicting wording\n{text}"
    assert not text.startswith("AWS answered nothing"), text  # moto answers every fault of the catalogue
    assert text.startswith("every endpoint fails") == ("every-endpoint-silent" in faults), text
    check_pages(tmp_path, fault or "healthy", want, consequences)


def check_pages(tmp_path, fault: str, causes: set, consequences: set) -> None:
    """results.json carries the diagnosis; the notifier (first run, a webhook here) pages once per cause, naming it."""
    by_id, _ = results_file.load(tmp_path / "results.json")
    roles = {i: (r.role, r.cause) for i, r in by_id.items() if r.status == "red"}
    assert {i for i, (role, _) in roles.items() if role == "cause"} == causes, (fault, roles)
    assert {i for i, (role, _) in roles.items() if role == "consequence"} == consequences, (fault, roles)
    assert all(cause in causes for _, cause in roles.values()), (fault, roles)
    receiver = Receiver()
    try:
        rc = notify.main(["--results", str(tmp_path / "results.json"), "--state", str(tmp_path / "state.json"),
                          "--webhook", f"{receiver.base}/sink"], env={})
        pages = [json.loads(body)["summary"] for _, body in receiver.take("/sink")]
    finally:
        receiver.stop()
    assert rc == 0 and len(pages) == len(causes), f"{fault}: {len(pages)} pages for {len(causes)} causes: {pages}"
    named = {next((c for c in causes if f": {c}: " in page.split("\n")[0]), None) for page in pages}
    assert named == causes, f"{fault}: the pages' first lines name {named}, the causes are {causes}: {pages}"


NOISY = ("2026-08", "2026-05")  # the matrix's last sandbox first


@pytest.mark.parametrize("topology", NOISY, ids=[f"{t}-healthy-noisy" for t in NOISY])
def test_noisy_healthy_account_is_green(sandboxes, topology, tmp_path):
    """The healthy state under a lived-in account's noise (sandbox/aws_noise.py): nothing red, no errors."""
    sb = sandbox_for(sandboxes, topology)
    sb.noisy = True
    try:
        sb.reset()
        results = run_live(sb, tmp_path).results
    finally:
        sb.noisy = False  # the next case's reset() seeds the plain healthy state again
    bad = {name: text[:600] for name, (outcome, text) in results.items() if outcome in ("error", "failure")}
    assert not bad, f"red or errors on the noisy healthy {topology}: {bad}"


# Discovery: each built-in shape, with and without the monitoring module, is found by --topology auto and is green;
# ordered so that consecutive cases share a sandbox.
SHAPES = [("2026-05", True), ("2026-05", False), ("2026-08", True), ("2026-08", False)]


@pytest.mark.parametrize("topology, monitoring", SHAPES,
                         ids=[f"{t}-{'monitoring' if m else 'no-monitoring'}" for t, m in SHAPES])
def test_topology_auto_finds_the_shape_and_is_green(sandboxes, topology, monitoring, tmp_path):
    sb = sandbox_for(sandboxes, topology, monitoring)
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=auto", f"--runbook-report={tmp_path / 'report.md'}"))
    assert not run.outcomes("failure") and not run.outcomes("error"), (run.outcomes("failure"), run.outcomes("error"))
    ntfy = [n for n in run.results if "ntfy" in n]
    assert bool(ntfy) == monitoring, f"ntfy checks {'missing' if monitoring else 'collected'}: {ntfy}"
    report = (tmp_path / "report.md").read_text()
    assert f"- topology: {topology} (auto: NLB cabal-nlb listens on" in report
    assert ("monitoring module: present" if monitoring else "monitoring module: absent: the ntfy checks are not "
            "collected") in report
    assert f"ACM consumers found by alias (CloudFront): www.{sb.control_domain}" in report
    at = report.index  # the runbooks' order, escalation last (issue #17: it came before step 1, sorted by text)
    assert at("## probe-failure") < at("## cert-expiring"), report
    assert at("### probe-failure, step 1") < at("### probe-failure, step 3") < at("### probe-failure, escalation")
    assert at("### cert-expiring, ACM step 1") < at("### cert-expiring, Let's Encrypt step 3") \
        < at("### cert-expiring, escalation"), report


def test_explicit_topology_contradicting_the_account_is_one_cant_tell(sandboxes, tmp_path):
    sb = sandbox_for(sandboxes, "2026-08", False)  # Cabalmail today (the last case above); told the May shape
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=2026-05",))
    errors = run.outcomes("error")
    assert not run.outcomes("failure"), run.outcomes("failure")
    assert list(errors) == ["tests_live/test_deployment_shape.py::test_deployment_matches_topology[2026-05]"], errors
    line = next(iter(errors.values()))
    assert line.count("\n") == 0 and "can't tell: topology 2026-05 does not fit this account" in line, line
    assert "NLB cabal-nlb listens on 25;" in line and "pass --topology 2026-08" in line, line


def test_a_hand_made_apex_distribution_is_found_and_checked_on_the_wire(sandboxes, tmp_path):
    """The HEAD cert table's https://<cd>/ row: Terraform makes no apex record, an operator may; found by its alias."""
    sb = sandbox_for(sandboxes, "2026-08", False, apex=True)
    sb.reset()
    run = run_live(sb, tmp_path, options=("--topology=auto",))
    assert not run.outcomes("failure") and not run.outcomes("error"), (run.outcomes("failure"), run.outcomes("error"))
    apex = f"https://{sb.control_domain}/"
    for test_id in (f"test_cert_expiring_acm.py::test_acm_consumer_uses_certificate[cloudfront:{sb.control_domain}]",
                    f"test_cert_expiring_acm.py::test_acm_certificate_served[{apex}]",
                    f"test_cert_expiring_wire.py::test_cert_days_left_critical[{apex}]",
                    f"test_cert_expiring_wire.py::test_chain_verifies_for_public_name[{apex}]"):
        assert run.results[f"tests_live/{test_id}"][0] == "passed", test_id


# Issue #17: can't-tell blocks a conclusion, never becomes one; said first when it is the whole run.


def test_no_network_and_no_aws_says_so_first_and_draws_no_conclusion(sandboxes, tmp_path):
    """No name resolves from here, nothing answers, AWS unreachable: the header and the diagnosis say so first, in
    one line each; each endpoint's red is blocked at its first can't-tell step, none is 'the endpoint itself'."""
    sb = sandbox_for(sandboxes, "2026-05")
    sb.reset()
    sb.unresolvable.update(":".join(c.split(":")[:2]) for c in sb.plant.connect_to)
    for listener in sb.plant.listeners():
        listener.mode = "refuse"
    run = run_live(sb, tmp_path, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, options=("--aws-timeout", "2"))
    red = {n.split("::")[-1].split("[")[0] for n in run.outcomes("failure")}
    assert red == {"test_endpoint_answers", "test_endpoint_answers_from_inside_vpc"}, run.outcomes("failure")
    assert "AWS answered nothing: no part of the account could be read" in run.stdout, run.stdout[:2000]
    assert "ACM consumers found by alias" not in run.stdout, run.stdout[:2000]
    text = run.properties["diagnosis"]
    lines = text.splitlines()
    assert lines[0].startswith("AWS answered nothing: all ") and "can't tell" in lines[0], text
    assert lines[1].startswith("every endpoint fails from this vantage (7 of 7, all at resolve): first look at what "
                               "they share: this vantage's DNS resolver or its network"), text
    assert "the endpoint itself" not in text and "every later step of its path is green" not in text, text
    assert "probable cause" not in text and text.count("red, not traced: test_endpoint_answers[") == 7, text
    blocked = [v for k, v in run.properties.items() if k.endswith("_blocked_by")]
    assert len(blocked) == 7 and all(blocked), run.properties


def test_a_single_denied_action_blocks_its_step_and_the_red_after_it_is_only_probable(sandboxes, tmp_path):
    """ecs:DescribeServices denied while cabal-imap is down: the ECS step is one can't-tell line, the target group's
    red is the probable cause 'unless' the ECS step fails, and nothing says AWS answered nothing."""
    from dataclasses import replace

    from .test_aws_faults import DENIED, FakeAws, error_reply, forward_to

    sb = sandbox_for(sandboxes, "2026-05")
    sb.reset()
    sb.apply("imap-service-down")
    through = forward_to(sb.endpoint_url)

    def deny_describe_services(req):
        if req.op == "DescribeServices":
            code, status = DENIED[req.proto]
            return error_reply(req, code, "User: arn:aws:iam::123456789012:user/oncall is not authorized to perform: "
                                          "ecs:DescribeServices because no identity-based policy allows it", status)
        return through(replace(req, attempt=2))  # forwarded at once (forward_to throttles only a first attempt)

    with FakeAws(deny_describe_services) as fake:
        run = run_live(sb, tmp_path, env={"AWS_ENDPOINT_URL": fake.url}, options=("--aws-timeout=30",), timeout=120)
    imap = f"imaps://imap.{sb.control_domain}:993"
    assert set(n.split("::")[-1] for n in run.outcomes("failure")) == {
        f"test_endpoint_answers[{imap}]", f"test_endpoint_answers_from_inside_vpc[{imap}]",
        "test_targets_healthy[cabal-ecs-imap-tg]"}, run.outcomes("failure")
    denied = run.results["tests_live/test_probe_failure_2_ecs.py::test_ecs_service_running[cabal-imap]"]
    assert denied[0] == "error" and "ecs:DescribeServices" in denied[1], denied
    text = run.properties["diagnosis"]
    assert run.diagnosis()[0] == {"test_targets_healthy[cabal-ecs-imap-tg]"}, text
    assert ("; unless test_ecs_service_running[cabal-imap], an earlier step, fails: it can't tell (AccessDenied: "
            "these credentials may not call ecs:DescribeServices") in text, text
    assert "test_ecs_service_running[cabal-imap]" in run.properties["diagnosis_1_blocked_by"].splitlines(), text
    assert not text.startswith(("AWS answered nothing", "every endpoint fails")), text


def test_a_now_ahead_forecasts_without_blaming_the_certbot_lambda(sandboxes, tmp_path):
    """``--now +85d`` on the healthy sandbox (a 90-day Let's Encrypt certificate, certbot ran lately, rate(60 days)):
    the forecast is red on the certificate's days, said as a forecast; certbot's step 1 is green, not the cause."""
    sb = sandbox_for(sandboxes, "2026-05")
    sb.reset()
    run = run_live(sb, tmp_path, options=("--now", "+85d"))
    ran = run.results["tests_live/test_cert_expiring_letsencrypt.py::test_certbot_ran_within_period[cabal-certbot-renewal]"]
    assert ran[0] == "passed", ran
    causes, _ = run.diagnosis()
    text = run.properties["diagnosis"]
    assert causes == {"test_ssm_certificate_days_left_critical[/cabal/control_domain_ssl_cert]"}, text
    assert "a forecast" in text and "has not renewed" not in text, text


def test_monitoring_forced_on_without_the_module_names_what_no_probe_covers(sandboxes, tmp_path):
    """``--monitoring true`` on an account without the module: the Kuma service's reds are one finding named by the
    service ("cabal-uptime-kuma (no probe covers it)"), not "probe-failure, probe-failure: no probe fails"."""
    sb = sandbox_for(sandboxes, "2026-08", False)
    sb.reset()
    text = run_live(sb, tmp_path, options=("--monitoring", "true")).properties["diagnosis"]
    assert "probe-failure, probe-failure" not in text and "no probe fails" not in text, text
    assert ("probe-failure, cabal-uptime-kuma (no probe covers it): no probe of this run covers it; the ECS service "
            "itself (step 2) is red on its own") in text, text
    assert "  consequences: test_targets_healthy[cabal-uptime-kuma]" in text, text


def test_a_bad_load_balancer_node_is_named_with_its_address_and_zone(sandboxes, tmp_path):
    """Issue #17 item 15: smtp-in.<cd> stands for two NLB nodes; the one in the second zone never answers. The red
    line names that node's address and the zone the NLB's network interfaces say it is in, and the good node stays
    listed as answering; the in-VPC probe (straight to the task) stays green."""
    sb = sandbox_for(sandboxes, "2026-08")
    sb.reset()
    sb.apply("nlb-node-silent")
    run = run_live(sb, tmp_path)
    relay = f"smtp://smtp-in.{sb.control_domain}:25"
    outcome, text = next(r for n, r in run.results.items() if n.endswith(f"::test_endpoint_answers[{relay}]"))
    node, zones = sb.nodes[0].connect_to.split(":", 2)[2], sorted({s for s in _public_zones(sb)})
    assert outcome == "failure" and text.startswith(
        f"{relay} failed at banner at {node} in {zones[1]} (1 of 2 addresses failing): "), text
    assert f"seen: address 127.0.0.1:{sb.plant.front(relay).port} in {zones[0]}: answered" in text, text


def _public_zones(sb) -> list[str]:
    with sb.aws_env():
        subnets = sb.seeded.client("ec2").describe_subnets(SubnetIds=sb.seeded.public_subnet_ids)["Subnets"]
    return [s["AvailabilityZone"] for s in subnets]
