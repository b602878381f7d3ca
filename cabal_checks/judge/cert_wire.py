"""Cert-expiring runbook, on the wire: days left of what each endpoint really serves; chain and name.

The alerts fire on ``probe_ssl_earliest_cert_expiry``: the earliest NotAfter in the presented chain,
measured on a live handshake. So the leaf is judged at both tiers, and so is any certificate of the
chain that expires before it. Days are fractional: NotAfter has whole seconds, so "+5 days" is 4.99.
"""

from __future__ import annotations

from datetime import datetime

from ..certs import Served
from ..names import RUNBOOK_SAYS
from ..topology import Endpoint
from ..verdict import Verdict, green, red
from .endpoints import first_look

WARNING_DAYS = 21
CRITICAL_DAYS = 7
ALERTS = {WARNING_DAYS: "BlackboxTLSCertExpiringSoonWarning", CRITICAL_DAYS: "BlackboxTLSCertExpiringSoonCritical"}
TIER_NAMES = {WARNING_DAYS: "warning", CRITICAL_DAYS: "critical"}
STEP = "cert-expiring, which pipeline (days left on the wire)"
STEP_CHAIN = "cert-expiring, which pipeline (chain and name on the wire)"
PIPELINES = {"acm": "ACM *.<cd> (AWS managed renewal, DNS validation)",
             "letsencrypt": "Let's Encrypt *.<cd> (cabal-certbot-renewal Lambda -> SSM -> task start)"}


def _when(days: float) -> str:
    return f"{days:.1f} days left" if days >= 0 else f"EXPIRED {-days:.1f} days ago"


def pipeline_next(pipeline: str, names: dict, domain: str) -> list[str]:
    """Where the runbook goes next for a certificate of this pipeline, with the real names."""
    if pipeline == "acm":
        pick = (f"aws acm list-certificates --includes keyTypes=RSA_2048,EC_prime256v1 --query "
                f"\"CertificateSummaryList[?DomainName=='*.{domain}'].CertificateArn | [0]\" --output text")
        return [(f"aws acm describe-certificate --certificate-arn \"$({pick})\" --query 'Certificate.{{status:Status,"
                 "renewalStatus:RenewalSummary.RenewalStatus,reason:RenewalSummary.RenewalStatusReason,"
                 "validations:RenewalSummary.DomainValidationOptions}'"),
                f"pytest -m acm --control-domain {domain}  # the ACM pipeline's steps"]
    return [(f"aws logs tail {names['certbot_log_group']} --since 7d  # the runbook's "
             f"{RUNBOOK_SAYS['certbot_log_group']} does not exist"),
            (f"aws scheduler get-schedule --name {names['certbot_schedule']} --group-name "
             f"{names['certbot_schedule_group']} --query '{{state:State,expression:ScheduleExpression}}'"),
            f"pytest -m letsencrypt --control-domain {domain}  # the Let's Encrypt pipeline's steps"]


def days_left(ep: Endpoint, s: Served, now: datetime, tier: int, names: dict, domain: str) -> Verdict:
    """The leaf the endpoint serves has at least ``tier`` days left at ``now``."""
    leaf = s.leaf
    days = leaf.days_left(now)
    facts = (("cert_table", TIER_NAMES[tier]), ("endpoint", ep.spec), ("pipeline", ep.cert), ("serial", leaf.serial),
             ("not_after", f"{leaf.not_after:%Y-%m-%d %H:%M}Z"), ("days_left", f"{days:.1f}"))
    if days >= tier:
        return green(f"{ep.spec}: {_when(days)} (>= {tier})", leaf.short(), step=STEP, facts=facts)
    return red(f"{ep.spec} serves a certificate with {_when(days)} (< {tier}: {ALERTS[tier]})",
               leaf.short(), f"issuer {leaf.issuer}", f"judged at {now:%Y-%m-%d %H:%M}Z",
               f"pipeline: {PIPELINES[ep.cert]}", step=STEP,
               next=[first_look(ep), *pipeline_next(ep.cert, names, domain)], facts=facts)


def chain_earliest(ep: Endpoint, s: Served, now: datetime, tier: int, names: dict, domain: str) -> Verdict:
    """No certificate of the presented chain that expires before the leaf has fewer than ``tier`` days left."""
    leaf = s.leaf
    earlier = [c for c in s.chain[1:] if c.not_after < leaf.not_after]
    if not earlier:
        return green(f"{ep.spec}: no certificate of the presented chain ({len(s.chain)}) expires before the leaf",
                     step=STEP)
    first = min(earlier, key=lambda c: c.not_after)
    days = first.days_left(now)
    if days >= tier:
        return green(f"{ep.spec}: earliest NotAfter in the chain is {first.subject}'s, {_when(days)} (>= {tier})",
                     first.short(), step=STEP)
    if ep.cert == "letsencrypt":
        fix = [(f"aws ssm get-parameter --name {names['ssm_chain']} --query "
                "'Parameter.{version:Version,modified:LastModifiedDate}'  # the chain the container sends")]
    else:
        fix = [("the ACM front sends the chain AWS issued with the certificate: a renewed or re-requested "
                "certificate brings a current one (pytest -m acm)")]
    return red(f"{ep.spec} presents {first.subject} with {_when(days)} (< {tier}: {ALERTS[tier]}) although the leaf "
               f"has {_when(leaf.days_left(now))}",
               first.short(), "probe_ssl_earliest_cert_expiry is the earliest NotAfter in the presented chain, "
               "so the alert fires on this stale intermediate, not on the leaf", step=STEP,
               next=[first_look(ep) + " -showcerts", *fix])


def chain_verifies(ep: Endpoint, s: Served) -> Verdict:
    """The presented chain verifies to a trusted root for the public name (also when a private name is dialled)."""
    dialled = f" (dialled {ep.host})" if ep.verify_name != ep.host else ""
    if s.verified:
        return green(f"{ep.spec}: chain verifies to a trusted root for {ep.verify_name}{dialled}",
                     s.leaf.short(), step=STEP_CHAIN)
    return red(f"{ep.spec}: the presented chain does not verify for {ep.verify_name}{dialled}",
               s.verify_error or "not verified", *_diagnose(ep, s), *(f"presented: {c.short()}" for c in s.chain),
               step=STEP_CHAIN, next=[first_look(ep) + " -showcerts"])


def _diagnose(ep: Endpoint, s: Served) -> list[str]:
    why = s.verify_error.lower()
    out = []
    if not s.leaf.covers(ep.verify_name):
        out.append(f"wrong name: the leaf names {', '.join(s.leaf.names) or 'nothing'}, not {ep.verify_name}")
    if "self-signed" in why or "self signed" in why:
        out.append("self-signed: the chain ends in a certificate no trusted root vouches for")
    if "unable to get local issuer" in why and len(s.chain) == 1:
        also = " (the container appends the chain it read from SSM at start)" if ep.cert == "letsencrypt" else ""
        out.append(f"missing intermediate: only the leaf is presented{also}, or its issuer "
                   f"{s.leaf.issuer} is not a trusted CA")
    if "expired" in why:
        out.append("a certificate of the chain has expired")
    return out
