"""Facts of the cert-expiring runbook, the ACM pipeline: the wildcard certificate and each of its consumers."""

from __future__ import annotations

from ..aws import acm, cloudfront
from ..certs import pem_facts
from ..context import Context
from ..gather import concurrently
from ..shapes import AcmConsumer, AcmView
from ..verdict import CantTell
from .load_balancers import front_listeners


def acm_certificate(ctx: Context, leaf: bool = True) -> AcmView | None:
    """The ACM wildcard ``*.<cd>``: the one taken (describe), its leaf's facts (``leaf``: only the check comparing it
    with what is served reads them, so a denied acm:GetCertificate blinds no other), the others, and why.

    Two may coexist briefly (create_before_destroy): prefer the one tagged Name=<acm_tag_name>, then
    the one in use, then the newest ISSUED; ``why`` says which was taken and why.
    """
    domain = f"*.{ctx.settings.control_domain}"
    summaries = acm.certificates_named(ctx.aws, domain)
    # The PEM of every certificate the listing says is ISSUED comes with its description and tags, not after the
    # choice: one round trip less, for one request per extra issued copy (usually none).
    def pem_ahead(summary):
        if leaf and summary.get("Status") == "ISSUED":
            try:
                acm.certificate_pem(ctx.aws, summary["CertificateArn"])
            except CantTell:  # matters only for the chosen one, whose fetch below raises it again (memoized)
                pass

    looks = concurrently(*(f for s in summaries for f in (
        lambda a=s["CertificateArn"]: acm.describe(ctx.aws, a), lambda a=s["CertificateArn"]: acm.tags(ctx.aws, a),
        lambda s=s: pem_ahead(s))))
    found = [(desc, tags) for desc, tags in zip(looks[::3], looks[1::3], strict=True) if desc is not None]
    if not found:
        return None
    tag = ctx.name("acm_tag_name")
    tagged = [d for d, t in found if t.get("Name") == tag]
    pool = sorted(tagged or [d for d, _ in found], key=_acm_rank, reverse=True)
    chosen = pool[0]
    pem = acm.certificate_pem(ctx.aws, chosen["CertificateArn"]) if leaf and chosen.get("Status") == "ISSUED" else None
    others = [d for d, _ in found if d is not chosen]
    return AcmView(chosen, facts_of_pem(pem), tuple(others), _acm_why(chosen, others, tag, bool(tagged)), domain)


def _acm_rank(desc: dict) -> tuple:
    when = desc.get("NotAfter") or desc.get("IssuedAt") or desc.get("CreatedAt")
    return (bool(desc.get("InUseBy")), desc.get("Status") == "ISSUED", str(when or ""))


def _acm_why(chosen: dict, others: list[dict], tag: str, tagged: bool) -> str:
    untagged = "" if tagged else f"; none carries tag Name={tag}"
    if not others:
        return f"the only certificate named {chosen['DomainName']}{untagged}"
    reason = (f"in use by {len(chosen['InUseBy'])} resource(s)" if chosen.get("InUseBy")
              else "the newest ISSUED" if chosen.get("Status") == "ISSUED" else "the newest")
    rest = ", ".join(f"{d['CertificateArn']} ({d.get('Status')}, in use by {len(d.get('InUseBy') or [])})"
                     for d in others)
    return f"{len(others) + 1} certificates named {chosen['DomainName']}: took {chosen['CertificateArn']}, " \
           f"{reason}; also {rest}{untagged}"


def facts_of_pem(pem: str | None):
    if not pem:
        return None
    try:
        return pem_facts(pem)[0]
    except ValueError:
        return None


def acm_consumer(ctx: Context, consumer: tuple) -> AcmConsumer:
    """Which certificate ARN a consumer of the ACM certificate presents: ``(front, port)`` for a listener of the
    NLB or the ALB, ``("cloudfront", alias)`` for the distribution that carries that alias.

    ``arn_cert`` describes the ARN it presents (its days left when it is not the current one); ``problem`` says why
    no ARN could be read.
    """
    front, where = consumer
    out = _cloudfront_consumer(ctx, where) if front == "cloudfront" else _listener_consumer(ctx, front, where)
    if out["arn"]:
        out["arn_cert"] = acm.describe(ctx.aws, out["arn"])
    return AcmConsumer(**out)


def _listener_consumer(ctx: Context, front: str, port: int) -> dict:
    lb_name = ctx.name(front)
    out = {"front": front, "name": f"{lb_name}:{port}", "port": port, "arn": None, "problem": "",
           "lb_arn": None, "listener_arn": None, "resource_arn": None}
    lb = front_listeners(ctx, front)
    if lb is None:
        return {**out, "problem": f"load balancer {lb_name} not found"}
    out["lb_arn"] = out["resource_arn"] = lb.lb["LoadBalancerArn"]
    listener = next((li for li in lb.listeners if li["Port"] == port), None)
    if listener is None:
        return {**out, "problem": f"{lb_name} has no listener on port {port}"}
    certs = listener.get("Certificates") or []
    out["listener_arn"] = listener["ListenerArn"]
    if not certs:
        return {**out, "problem": f"{lb_name} listener {port}/{listener.get('Protocol')} has no certificate"}
    return {**out, "arn": certs[0]["CertificateArn"]}


def _cloudfront_consumer(ctx: Context, alias: str) -> dict:
    """The distribution that carries ``alias``, found among all of the account's (not listed anywhere)."""
    out = {"front": "cloudfront", "alias": alias, "name": f"CloudFront alias {alias}", "arn": None, "problem": "",
           "distribution_id": None, "resource_arn": None}
    dist = next((d for d in cloudfront.distributions(ctx.aws) if alias in cloudfront.aliases(d)), None)
    if dist is None:
        return {**out, "problem": f"no CloudFront distribution carries the alias {alias}"}
    dist_id = dist["Id"]
    out.update(distribution_id=dist_id, resource_arn=dist.get("ARN"), name=f"CloudFront distribution {dist_id} ({alias})")
    viewer = dist.get("ViewerCertificate") or {}
    arn = viewer.get("ACMCertificateArn")
    if not arn:
        source = viewer.get("CertificateSource") or ("cloudfront" if viewer.get("CloudFrontDefaultCertificate") else "?")
        return {**out, "problem": f"CloudFront distribution {dist_id} ({alias}) presents no ACM certificate "
                                  f"(ViewerCertificate source: {source})"}
    return {**out, "arn": arn}

