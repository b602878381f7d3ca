"""Read-only, proven: iam/readonly-policy.json grants exactly the reads the suite makes, and they suffice.

(a) Every (service, Operation) the code can send (read from its source) and every one a full sandbox run
    sends (recorded in the run, by the reader and by botocore itself) is a read operation the policy grants;
    the policy grants nothing the code never calls.
(b) The unchanged live suite, run against the sandbox's moto with IAM enforced and credentials of a user
    holding only (a Resource-"*" copy of) the policy, is entirely green: no AccessDenied anywhere. The same
    policy without ecs:DescribeServices turns test_ecs_service_running into "can't tell: AccessDenied ...
    ecs:DescribeServices" ERRORs, and nothing red.
Cognito ``InitiateAuth`` (minting the /list probe's token) is absent from the policy on purpose: it is an
unauthenticated operation that IAM policies do not govern (the botocore model says so; checked below).
"""

from __future__ import annotations

import ast
import copy
import json
from fnmatch import fnmatchcase
from pathlib import Path

import boto3
import botocore.session
import pytest
import requests
from botocore.exceptions import ClientError

from cabal_checks.aws.reader import ALSO_ALLOWED, READ_PREFIXES, SERVICES, iam_action

from .live_run import run_live

REPO = Path(__file__).resolve().parents[1]
POLICY_PATH = REPO / "iam" / "readonly-policy.json"
CODE = REPO / "cabal_checks"
NO_IAM = {("cognito-idp", "InitiateAuth")}
# Actions named by HTTP verb: API Gateway's management API is IAM's apigateway:<verb>, every read of it GET. Its one
# secret (API key values, GET /apikeys) is denied beside the TLS key.
VERB_READS = {"apigateway:GET"}  # operations IAM does not govern (unauthenticated)
# Services the sandbox's moto enforces IAM on (with the signature check bypassed, see moto notes section 10).
ENFORCED = {"acm", "cloudfront", "cloudwatch", "cognito-idp", "ec2", "ecs", "elbv2", "lambda", "logs", "route53",
            "scheduler", "ssm"}
# A read each service refuses under the policy: proof that enforcement is on for it.
UNGRANTED = {"acm": ("get_account_configuration", {}), "cloudfront": ("list_functions", {}),
             "cloudwatch": ("describe_alarm_history", {}), "cognito-idp": ("list_groups", {"UserPoolId": "us-east-1_x"}),
             "ec2": ("describe_regions", {}), "ecs": ("list_clusters", {}), "elbv2": ("describe_account_limits", {}),
             "lambda": ("list_layers", {}), "logs": ("describe_destinations", {}),
             "route53": ("list_hosted_zones", {}), "scheduler": ("list_schedules", {}),
             "ssm": ("describe_parameters", {}),
             "backup": ("list_backup_vaults", {}), "sqs": ("list_queues", {})}  # heartbeat family


def load_policy() -> dict:
    return json.loads(POLICY_PATH.read_text())


def _actions(statement: dict) -> list[str]:
    a = statement["Action"]
    return [a] if isinstance(a, str) else list(a)


def granted(policy: dict, action: str) -> bool:
    """IAM's verdict for ``action`` on Resource "*": some Allow matches, no Deny does (case-insensitive)."""
    def matches(st):
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _actions(st))

    applies = [st for st in policy["Statement"] if matches(st)]
    if any(st["Effect"] == "Deny" and st["Resource"] == "*" for st in applies):
        return False
    return any(st["Effect"] == "Allow" and st["Resource"] == "*" for st in applies)


def is_read(service: str, api: str) -> bool:
    return api.startswith(READ_PREFIXES) or (service, api) in ALSO_ALLOWED


_models: dict = {}


def api_name(service: str, method: str) -> str:
    """boto3 method name -> API operation name, from the installed botocore model."""
    if service not in _models:
        model = botocore.session.get_session().get_service_model(service)
        _models[service] = {botocore.xform_name(op): op for op in model.operation_names}
    return _models[service][method]


def calls_in_source() -> tuple[set[tuple[str, str]], list[str]]:
    """Every ``<...>aws.call/pages("service", "method", ...)`` in cabal_checks (the sandbox excluded: it
    builds the fake account). Returns the (service, Operation) set and the calls whose names are not literals."""
    found, opaque = set(), []
    for path in sorted(CODE.rglob("*.py")):
        if "sandbox" in path.relative_to(CODE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("call", "pages")):
                continue
            receiver = node.func.value
            if not ((isinstance(receiver, ast.Name) and receiver.id == "aws")
                    or (isinstance(receiver, ast.Attribute) and receiver.attr == "aws")):
                continue
            args = node.args[:2]
            if len(args) == 2 and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args):
                found.add((args[0].value, api_name(args[0].value, args[1].value)))
            else:
                opaque.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found, opaque


# --- the policy itself ---------------------------------------------------------------------------------


def test_policy_is_plain_least_privilege_json():
    policy = load_policy()
    assert policy["Version"] == "2012-10-17" and set(policy) == {"Version", "Statement"}
    for st in policy["Statement"]:
        assert set(st) <= {"Sid", "Effect", "Action", "Resource"}, f"{st.get('Sid')}: no NotAction/Condition/Principal"
        actions = _actions(st)
        assert actions == sorted(set(actions)), f"{st['Sid']}: actions sorted, once each"
        if st["Effect"] == "Allow":
            assert st["Resource"] == "*"
            for action in actions:
                prefix, _, api = action.partition(":")
                assert "*" not in action and "?" not in action, f"{action}: no wildcards, name each read"
                assert api.startswith(READ_PREFIXES) or action in VERB_READS, f"{action} is not a read"
                assert all(action.startswith(prefix + ":") for action in actions), f"{st['Sid']}: one service"
        else:
            assert st["Effect"] == "Deny"


def test_code_calls_exactly_what_the_policy_grants():
    """Static half of (a): each read the code can send is granted, and the policy grants nothing else."""
    calls, opaque = calls_in_source()
    assert not opaque, f"AWS calls whose service/method is not a literal cannot be audited: {opaque}"
    assert len(calls) >= 20, calls  # the scan found the suite's calls, not nothing
    policy = load_policy()
    for service, api in sorted(calls):
        assert is_read(service, api), f"{service}:{api} is not a read"
        if (service, api) not in NO_IAM:
            assert granted(policy, iam_action(service, api)), f"{iam_action(service, api)} is missing from the policy"
    needed = {iam_action(s, a) for s, a in calls if (s, a) not in NO_IAM}
    allowed = {a for st in policy["Statement"] if st["Effect"] == "Allow" for a in _actions(st)}
    assert allowed == needed, f"granted but never called: {sorted(allowed - needed)}"


def test_the_tls_private_key_parameter_is_denied():
    policy = load_policy()
    deny = [st for st in policy["Statement"] if st["Effect"] == "Deny"]
    assert any("ssm:GetParameter" in _actions(st) and st["Resource"].endswith(":parameter/cabal/control_domain_ssl_key")
               for st in deny)


def test_api_gateway_reads_are_get_and_never_the_api_keys():
    from cabal_checks.aws.reader import iam_action as action
    assert action("apigateway", "GetRestApis") == "apigateway:GET"
    assert any(st["Effect"] == "Deny" and "apigateway:GET" in _actions(st) and
               "arn:aws:apigateway:*::/apikeys/*" in st["Resource"] for st in load_policy()["Statement"])


def test_initiate_auth_needs_no_iam_permission():
    """Cognito InitiateAuth is unauthenticated: AWS documents that IAM policies are not evaluated for it
    and cannot grant it (the same text ships in botocore's model, which also marks it noAuth)."""
    op = botocore.session.get_session().get_service_model("cognito-idp").operation_model("InitiateAuth")
    assert op.auth == ["smithy.api#noAuth"]
    assert "doesn't evaluate Identity and Access Management (IAM) policies" in op.documentation
    assert "you can't grant IAM permissions in policies" in op.documentation
    assert not granted(load_policy(), "cognito-idp:InitiateAuth")


# --- (a) and (b): full runs against moto with IAM enforced --------------------------------------------


def moto_copy(policy: dict, drop: tuple[str, ...] = ()) -> dict:
    """The policy as moto can evaluate it: every Resource "*" (moto checks no ARNs), moto's cloudwatch alias
    (it checks ``monitoring:<Op>``), API Gateway's by operation (moto checks ``apigateway:GetRestApis``, IAM the verb
    ``apigateway:GET``), and ``drop`` removed."""
    out = copy.deepcopy(policy)
    for st in out["Statement"]:
        st["Resource"] = "*"
        st["Action"] = [a for a in _actions(st) if a not in drop]
        st["Action"] += [a.replace("cloudwatch:", "monitoring:") for a in st["Action"] if a.startswith("cloudwatch:")]
        st["Action"] += ["apigateway:GetRestApis" for a in st["Action"] if a == "apigateway:GET"]  # moto: the operation
    out["Statement"] = [st for st in out["Statement"] if st["Action"] and st["Effect"] == "Allow"]
    return out


class Enforced:
    """The sandbox with a moto IAM user ``auditor`` and IAM enforcement switched on."""

    def __init__(self, sb):
        self.sb = sb
        self.make_user()

    def make_user(self) -> None:
        """The user and its keys (again after a sandbox reset, which drops them)."""
        with self.sb.aws_env():
            iam = boto3.client("iam")
            iam.create_user(UserName="auditor")
            key = iam.create_access_key(UserName="auditor")["AccessKey"]
        self.keys = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        self.session = boto3.session.Session(aws_access_key_id=key["AccessKeyId"],
                                             aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1")

    def auth(self, on: bool) -> None:
        requests.post(f"{self.sb.endpoint_url}/moto-api/reset-auth", data=b"0" if on else b"inf", timeout=10)

    def grant(self, policy: dict) -> None:
        self.auth(False)
        with self.sb.aws_env():
            boto3.client("iam").put_user_policy(UserName="auditor", PolicyName="cabal-checks-readonly",
                                                PolicyDocument=json.dumps(policy))
        self.auth(True)

    def run(self, tmp_path: Path, policy: dict, args: tuple = ()):
        self.grant(policy)
        return run_live(self.sb, tmp_path, env=self.keys, args=args)

    def client(self, service: str):
        return self.session.client(service, endpoint_url=self.sb.endpoint_url)


@pytest.fixture(scope="module")
def enforced(sandboxes):
    import moto.iam.access_control
    import moto.settings

    before = moto.settings.INITIAL_NO_AUTH_ACTION_COUNT
    sb = sandboxes.get(probe_timeout=5.0)  # its proofs are about AWS, not a loaded machine's deadlines
    with pytest.MonkeyPatch.context() as mp:
        # moto recomputes the signature of bodiless GETs wrongly (lambda, route53, cloudfront, scheduler):
        # authorize by action alone (moto-and-tooling-notes section 10).
        mp.setattr(moto.iam.access_control.IAMRequest, "check_signature", lambda self: None)
        try:
            yield Enforced(sb)
        finally:
            requests.post(f"{sb.endpoint_url}/moto-api/reset-auth", data=str(before).encode(), timeout=10)


@pytest.fixture(scope="module")
def full_run(enforced, tmp_path_factory):
    """One full live run, every call recorded, under the shipped policy with IAM enforced."""
    return enforced.run(tmp_path_factory.mktemp("full"), moto_copy(load_policy()))


def test_every_call_of_a_full_run_is_a_read_the_policy_grants(full_run):
    """Dynamic half of (a)."""
    assert full_run.reader_calls == full_run.botocore_calls, (
        f"AWS calls that bypassed the reader: {sorted(full_run.botocore_calls - full_run.reader_calls)}")
    policy = load_policy()
    for service, api in sorted(full_run.botocore_calls):
        assert is_read(service, api), f"{service}:{api} is not a read"
        assert granted(policy, iam_action(service, api)) or (service, api) in NO_IAM, (
            f"{iam_action(service, api)} is called but missing from iam/readonly-policy.json")
    static, _ = calls_in_source()
    assert full_run.botocore_calls <= static, "the source scan must see every call a run makes"
    assert {s for s, _ in full_run.botocore_calls} >= ENFORCED, "the run must exercise every enforced service"
    assert ("cognito-idp", "InitiateAuth") in full_run.botocore_calls  # minted a token with no IAM permission


def test_enforcement_is_real(enforced, full_run):
    """Under the same user and policy, one read per service that the policy does not grant is refused."""
    for service, (method, params) in sorted(UNGRANTED.items()):
        with pytest.raises(ClientError) as info:
            getattr(enforced.client(service), method)(**params)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403, service


def test_live_suite_under_the_policy_never_errors(full_run):
    """(b): with only the policy's permissions, the healthy sandbox is all green: no AccessDenied, no red."""
    assert full_run.results
    assert not full_run.outcomes("error"), full_run.outcomes("error")
    assert not full_run.outcomes("failure"), full_run.outcomes("failure")
    aws_tests = [n for n, m in full_run.markers.items() if "aws" in m and full_run.results[n][0] == "passed"]
    assert len(aws_tests) > 30, "the AWS tests ran and passed"


def test_without_describe_services_the_ecs_step_cant_tell(enforced, full_run, tmp_path):
    """(b), narrowed: drop ecs:DescribeServices; exactly test_ecs_service_running becomes ERROR naming it."""
    run = enforced.run(tmp_path, moto_copy(load_policy(), drop=("ecs:DescribeServices",)))
    assert not run.outcomes("failure"), f"a missing permission turned red: {run.outcomes('failure')}"
    errors = run.outcomes("error")
    ecs_running = {n for n in run.results if "::test_ecs_service_running[" in n}
    # and the other checks whose facts ask for it (the capacity runbooks' placement and task definitions), no more
    needing = {n for n in run.results if "ecs:DescribeServices" in full_run.needs.get(n, ())}
    assert ecs_running and ecs_running <= set(errors) <= needing, sorted(errors)
    for nodeid, text in errors.items():
        assert text.strip() == ("can't tell: AccessDenied: these credentials may not call ecs:DescribeServices "
                                "(the read-only policy in iam/readonly-policy.json grants it)"), (nodeid, text)


def test_every_aws_fact_names_its_clients():
    """Only the clients the selected tests need are made (facts.CLIENTS, from the fact table's rows); together they are
    every service read."""
    from cabal_checks import facts as f
    from cabal_checks.facts.table import TABLE
    from fixtures.facts import FACTS

    assert all(bool(fact.clients) == (fact.kind == "aws") for fact in TABLE), "an AWS fact names its clients, no other"
    aws_facts = {fn for kind, fn, _ in FACTS.values() if kind == "aws"} | {f.minted_token}
    assert aws_facts == set(f.CLIENTS)
    assert {s for services in f.CLIENTS.values() for s in services} == set(SERVICES)


def test_the_reader_prepares_a_client_for_every_service_the_code_calls():
    """AwsReader.prepare makes every client in the main thread (a client made in a gathering thread while pytest
    changes os.environ can fail): its list must cover every service the code calls, and the policy's."""
    calls, _ = calls_in_source()
    assert {service for service, _ in calls} == set(SERVICES)
    policy = load_policy()
    granted_prefixes = {a.split(":")[0] for st in policy["Statement"] if st["Effect"] == "Allow" for a in _actions(st)}
    assert granted_prefixes == {iam_action(s, "").split(":")[0] for s in SERVICES}


@pytest.mark.parametrize("env, facts, made", [
    ({}, "aws+wire", ("ecs",)),
    ({"CABAL_PROBE_USERNAME": "probe", "CABAL_PROBE_PASSWORD": "pw"}, "list", ("cognito-idp",)),
    ({"CABAL_API_TOKEN": "a.b.c"}, "list", ()),
    ({"CABAL_PROBE_USERNAME": "probe", "CABAL_PROBE_PASSWORD": "pw"}, "imap", ()),
], ids=["an AWS fact: its own clients", "only /list minting: Cognito", "a seeded token: none", "no /list: none"])
def test_the_clients_a_run_makes_up_front(env, facts, made):
    """Every client a run's gathering threads will use is made before the tests run (none made in a thread)."""
    from cabal_checks import facts as f
    from cabal_checks.config import load_settings
    from cabal_checks.topology import load_topology

    settings = load_settings({"control_domain": "example.net"}, env=env)
    endpoint = {ep.probe: ep for ep in load_topology("2026-05", "example.net").endpoints}
    wire = [("wire", f.probe, (endpoint["api_list" if facts == "list" else "imap"],))]
    wanted = wire + ([("aws", f.ecs_services, ())] if facts == "aws+wire" else [])
    assert f.clients_needed(settings, wanted) == made


def test_while_discovery_waits_the_main_thread_makes_clients_in_order_until_answered(aws_env):
    """The clients made while discovery's answers are on their way (AwsReader.make_while): in the order given, and no
    more once they are in; without a region, none and no error (each fact says so itself)."""
    from cabal_checks.aws.reader import AwsReader

    reader, answered = AwsReader("us-east-1", 10.0), iter([False, False, True])
    reader.make_while(lambda: not next(answered), ("ecs", "acm", "logs"))
    assert reader.made(("ecs", "acm")) and not reader.made(("logs",)) and not reader.made_late
    aws_env.delenv("AWS_DEFAULT_REGION")
    nowhere = AwsReader(None, 10.0)
    nowhere.make_while(lambda: True, ("ecs",))
    assert not nowhere.made(("ecs",))


def test_a_red_probe_asks_which_zone_its_bad_node_is_in_under_the_policy(enforced, full_run, tmp_path):
    """(a) and (b) for the read only a red probe makes: with one NLB node silent, the relay's red names the node's zone
    (ec2:DescribeNetworkInterfaces, granted), and nothing else is red or can't-tell."""
    sb = enforced.sb
    enforced.auth(False)
    try:
        sb.apply("nlb-node-silent")  # on the healthy account the runs above left (a reset would drop the user)
        run = enforced.run(tmp_path, moto_copy(load_policy()))
    finally:
        enforced.auth(False)
        sb.reset()
        enforced.make_user()  # for the tests after this one, in this module's order: the same user, policy and
        enforced.grant(moto_copy(load_policy()))  # enforcement as the module's full run left them
    assert not run.outcomes("error"), run.outcomes("error")
    (nodeid, text), = run.outcomes("failure").items()
    assert nodeid.endswith(f"::test_endpoint_answers[smtp://smtp-in.{sb.control_domain}:25]"), nodeid
    assert " in us-east-1" in text.splitlines()[0], text
    assert ("ec2", "DescribeNetworkInterfaces") in run.botocore_calls
    assert granted(load_policy(), iam_action("ec2", "DescribeNetworkInterfaces"))


# --- one denied action blinds only the checks that need it ---------------------------------------------------

GRANTED = sorted({a for st in load_policy()["Statement"] if st["Effect"] == "Allow" for a in _actions(st)})


# Checks that a fact bundling several requests used to blind with the one denied action they never needed (issue #17
# item 10): each is judged green, as in the full run, with that action denied.
NOT_NEEDED = {
    "elasticloadbalancing:DescribeTargetHealth": "test_listener_present",  # needs the target group's ARN only
    "elasticloadbalancing:DescribeRules": "test_acm_consumer_uses_certificate",  # the listener's certificate only
    "ssm:GetParameter": "test_dns_points_at_front[public:imap.",  # the NLB's name, not CloudFront's (SSM -> id)
    "ec2:DescribeRouteTables": "test_no_nacl_denies",  # NACLs and the NAT addresses, not the route tables
    "ec2:DescribeNetworkAcls": "test_nat_instances_running",  # NAT instances and routes, not the NACLs
    "cloudwatch:GetMetricStatistics": "test_certbot_not_rate_limited",  # the log lines, not the metrics
    "acm:GetCertificate": "test_acm_renewal_not_stuck",  # the description, not the PEM (only the served check's)
}


GROUP = 8  # denied actions per run at most


def denial_groups(full_run) -> list[tuple[str, ...]]:
    """The granted actions packed into runs in which no check of the full run asked for two of them (nor judged, in
    NOT_NEEDED, green without one while asking for another): each can't-tell of such a run is one action's, so one
    run proves each of its actions as a run denying it alone would, and 59 actions take a few runs."""
    groups: list[tuple[list[str], set[str]]] = []
    for action in GRANTED:
        askers = {n for n, needs in full_run.needs.items() if action in needs}
        if action in NOT_NEEDED:
            askers |= {n for n in full_run.results if f"::{NOT_NEEDED[action]}" in n}
        group = next((g for g in groups if len(g[0]) < GROUP and not g[1] & askers), None)
        if group is None:
            groups.append(group := ([], set()))
        group[0].append(action)
        group[1].update(askers)
    return [tuple(actions) for actions, _ in groups]


@pytest.fixture(scope="module")
def groups(full_run) -> list[tuple[str, ...]]:
    """The full run's denial groups, packed once for the module."""
    return denial_groups(full_run)


_DENIED_RUNS: dict[tuple[str, ...], object] = {}  # the runs of this process, by the actions they denied


def run_denying(enforced, groups, tmp_path, action: str):
    """The run (made once per process) that denies ``action`` and the rest of its group; and that group."""
    group = next(g for g in groups if action in g)
    if group not in _DENIED_RUNS:
        _DENIED_RUNS[group] = enforced.run(tmp_path, moto_copy(load_policy(), drop=group), args=("tests_live", "-m", "aws"))
    return _DENIED_RUNS[group], group


@pytest.mark.parametrize("action", GRANTED)
def test_one_denied_action_blinds_only_the_checks_that_need_it(enforced, full_run, groups, tmp_path, action):
    """The shipped policy less ``action`` (and the actions of its group, ``denial_groups``: no check asked for two of
    them), over the checks that read AWS (marker aws; a wire probe's outcome is the network's, not a policy's):
    nothing red; every ERROR of a check that asked for ``action`` is a can't-tell naming it; every check whose facts
    (in the full run) asked for none of the group's actions is judged exactly as in the full run."""
    run, group = run_denying(enforced, groups, tmp_path, action)
    assert not run.outcomes("failure"), f"a denied {'+'.join(group)} turned red: {run.outcomes('failure')}"
    askers = {n for n, needs in full_run.needs.items() if action in needs}
    wrong = {n: t.splitlines()[0] for n, t in run.outcomes("error").items()
             if (n in askers and action not in t) or not any(a in t for a in group if a in full_run.needs.get(n, ()))}
    assert not wrong, f"can't-tells that do not name the denied action they asked for ({action} and its group): {wrong}"
    blinded = {n: run.results.get(n, ("missing", ""))[1][:200] for n, (outcome, _) in full_run.results.items()
               if "aws" in full_run.markers.get(n, ()) and not set(group) & set(full_run.needs.get(n, ()))
               and run.results.get(n, ("missing", ""))[0] != outcome}
    assert not blinded, f"checks that never needed {'+'.join(group)} but were not judged as in the full run: {blinded}"
    if action in NOT_NEEDED:
        checked = {n for n in run.results if f"::{NOT_NEEDED[action]}" in n}
        assert checked and all(full_run.results[n][0] == run.results[n][0] == "passed" for n in checked), (
            f"{action} denied: {NOT_NEEDED[action]} not judged green as in the full run")
        assert all(action not in full_run.needs[n] for n in checked), "their facts no longer ask for it"


def test_the_denial_groups_share_no_check_and_cover_every_action(full_run, groups):
    assert sorted(a for g in groups for a in g) == GRANTED
    assert len(groups) <= len(GRANTED) // 4, groups  # the point of grouping: a few runs, not one per action
    for group in groups:
        for n, needs in full_run.needs.items():
            assert len(set(group) & set(needs)) <= 1, (n, group)
