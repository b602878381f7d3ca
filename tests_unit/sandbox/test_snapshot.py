"""A sandbox reset puts back the account exactly as seeded (the fault matrix's cases start from it).

The proof reads the account the way the suite does: every AWS fact of the live suite, for every parameter the
topology gives it, gathered right after seeding, and again after faults that between them touch every service,
each followed by a reset; they must be equal.
"""

from __future__ import annotations

import weakref

import pytest

from cabal_checks import facts as f
from cabal_checks.config import load_settings
from cabal_checks.context import Context
from cabal_checks.sandbox import snapshot
from cabal_checks.sandbox.faults import FAULTS
from cabal_checks.sandbox.sandbox import Sandbox

# Faults that between them change every service the seed builds (ECS, ELBv2, EC2, Route 53, ACM, CloudFront, Lambda,
# Scheduler, Logs, SSM) and the patch registries.
FAULTS_TRIED = ("imap-service-down", "smtp-in-restart-loop", "relay-target-unhealthy", "nlb-listener-missing",
                "relay-sg-rule-removed", "admin-dns-missing", "nacl-deny-smtp", "fail2ban-ban",
                "container-instance-disconnected", "nat-instance-stopped", "acm-renewal-stuck-near-expiry",
                "cloudfront-pinned-old-cert", "certbot-schedule-disabled", "certbot-failing", "certbot-function-missing",
                "ssm-cert-missing", "ssm-cert-rotated-not-served", "public-nacl-no-egress", "nlb-node-silent")
assert set(FAULTS_TRIED) <= set(FAULTS)


@pytest.fixture(scope="module")
def sandbox_options():
    return {"probe_timeout": 2.0}


def account(sb: Sandbox) -> dict:
    """Every AWS fact the live suite gathers, as plain data (request ids and dates of the answers left out)."""
    settings = load_settings({**sb.config(), "aws_timeout": 30.0}, env={})
    topology = settings.topology
    with sb.aws_env():
        ctx = Context(settings)
        calls = [(f.ecs_services,), (f.container_instances,), (f.network,), (f.dns_view,), (f.fail2ban_lines,),
                 (f.acm_certificate,), (f.public_zone,), (f.certbot_function,), (f.certbot_schedule,),
                 (f.certbot_activity,), (f.ssm_certificate, "ssm_cert"), (f.ssm_certificate, "ssm_chain")]
        calls += [(fn, key) for key in topology.services() for fn in (f.stopped_tasks, f.running_tasks)]
        calls += [(f.target_group, key) for key in topology.target_groups()]
        calls += [(f.security_group, e.security_group) for e in topology.endpoints if e.security_group]
        calls += [(fn, front) for front in ("nlb", "alb") for fn in (f.load_balancer, f.front_zones)] + [(f.subnets,)]
        calls += [(f.acm_consumer, c) for c in (("nlb", 993), ("alb", 443), ("cloudfront", f"admin.{sb.control_domain}"),
                                                ("cloudfront", f"www.{sb.control_domain}"))]
        return {f"{fn.__name__}{tuple(args)}": _plain(fn(ctx, *args)) for fn, *args in calls}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_reset_puts_back_the_account_as_seeded(sandbox, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_AGE", 3600.0)  # however slow the machine, every reset below puts back
    taken, seeded = sandbox._snapshots[False], account(sandbox)
    assert seeded["ecs_services()"] and seeded["certbot_function()"], "the facts read the seeded account"
    for name in FAULTS_TRIED:  # one after another: whatever a reset failed to put back would still show at the end
        sandbox.apply(name)
        sandbox.reset()
    after = account(sandbox)
    assert sandbox._snapshots[False] is taken, "put back from the snapshot, not seeded again"
    assert after == seeded, f"not as seeded: {sorted(k for k in seeded if after.get(k) != seeded[k])}"


def test_an_old_snapshot_is_seeded_again(sandbox, monkeypatch):
    before = sandbox._snapshots[False]
    monkeypatch.setattr(snapshot, "MAX_AGE", 0.0)
    sandbox.reset()
    assert sandbox._snapshots[False] is not before and sandbox.seeded.now > before.seeded.now


def test_seeding_in_process_leaves_only_clients_of_the_sandbox(sandbox):
    """The account is seeded through moto's in-process dispatch (no endpoint URL: moto's own); after it, a client
    the sandbox makes (to apply a fault) reaches its moto server, never an AWS URL."""
    with sandbox.aws_env():
        for service in ("ec2", "acm", "logs"):
            assert sandbox.seeded.client(service).meta.endpoint_url == sandbox.endpoint_url


def test_a_copied_weak_index_points_at_the_copies_not_at_the_originals():
    """moto's LambdaStorage indexes its functions by ARN in a WeakValueDictionary, whose own deep copy keeps the
    originals: a snapshot's copy must index its own functions (else another sandbox's start drops the originals and
    DeleteFunction fails), and the stdlib's copy is back afterwards."""

    class Function:
        pass

    original = Function()
    storage = {"functions": {"list": original}, "arns": weakref.WeakValueDictionary({"arn:list": original})}
    (copied,) = snapshot._deepcopy([storage])
    assert copied["functions"]["list"] is not original
    assert copied["arns"]["arn:list"] is copied["functions"]["list"]
    assert weakref.WeakValueDictionary.__deepcopy__ is not snapshot._copy_weak_values


def test_a_flat_record_is_copied_whole_and_the_copy_is_its_own():
    """The account's many small records (a metric datum and its dimensions, a log event) are copied attribute by
    attribute: the copy equals the original, shares none of its mutable parts (a fault that moves the copy's times,
    as certbot-not-run does, leaves the snapshot as seeded), and moto's classes are as they were afterwards."""
    from datetime import datetime, timezone

    from moto.cloudwatch.models import MetricDatum
    from moto.logs.models import LogEvent

    when = datetime(2026, 12, 3, tzinfo=timezone.utc)
    datum = MetricDatum("AWS/Lambda", "Errors", 1.0, [{"Name": "FunctionName", "Value": "list"}], when, "Count")
    event = LogEvent(1, {"timestamp": 2, "message": "[reconfigure] Done."})
    shared = [datum, datum]
    copied_datum, copied_event, (first, second) = snapshot._deepcopy([datum, event, shared])
    assert copied_datum is not datum and vars(copied_datum).keys() == vars(datum).keys()
    assert (copied_datum.value, copied_datum.timestamp, copied_datum.unit) == (1.0, when, "Count")
    assert copied_datum.dimensions is not datum.dimensions and copied_datum.dimensions[0] is not datum.dimensions[0]
    assert [(d.name, d.value) for d in copied_datum.dimensions] == [("FunctionName", "list")]
    assert first is second is not datum, "shared stays shared, as deepcopy keeps it"
    copied_event.timestamp -= 1
    copied_datum.dimensions.clear()
    assert (event.timestamp, len(datum.dimensions)) == (2, 1), "the copy is its own"
    assert vars(copied_event) | {"timestamp": 2} == vars(event)
    assert all("__deepcopy__" not in cls.__dict__ for cls in snapshot._flat_classes())
