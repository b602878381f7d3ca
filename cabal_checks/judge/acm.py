"""Cert-expiring runbook, the ACM pipeline: the wildcard certificate, its renewal, its DNS, its consumers.

``view`` is the ``acm_certificate`` fact (``shapes.AcmView``: the certificate taken, its leaf when asked for, the
others, why), or None when no certificate ``*.<cd>`` exists.
"""

from __future__ import annotations

import json
from datetime import datetime

from .. import shapes
from ..certs import CertFacts
from ..shapes import AcmConsumer, AcmView, Zone
from ..topology import Endpoint
from ..verdict import Verdict, green, red
from .cert_wire import Served
from .endpoints import first_look

STEP1 = "cert-expiring, ACM step 1 (describe-certificate)"
STEP1_CAA = "cert-expiring, ACM step 1 (RenewalStatusReason CAA_ERROR: CAA records)"
STEP2 = "cert-expiring, ACM step 2 (validation records in the public zone)"
STEP3 = "cert-expiring, ACM step 3 (every consumer uses the current certificate)"
ESC = "cert-expiring, escalation"
ACM_ESCALATION_DAYS = 14
VALIDATION_TTL = 60  # what Terraform gives the validation CNAME
AMAZON_ISSUERS = ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com")
REASONS = {
    "CAA_ERROR": "CAA_ERROR: the CAA records at the apex do not allow Amazon to issue (the runbook's "
                 "DOMAIN_NOT_ALLOWED_BY_CAA is not an ACM value: the API says CAA_ERROR)",
    "DOMAIN_VALIDATION_DENIED": "DOMAIN_VALIDATION_DENIED: the domain's validation was refused",
    "DOMAIN_NOT_ALLOWED": "DOMAIN_NOT_ALLOWED: Amazon will not issue for this domain",
    "INVALID_PUBLIC_DOMAIN": "INVALID_PUBLIC_DOMAIN: the name is not a valid public domain",
    "ADDITIONAL_VERIFICATION_REQUIRED": "ADDITIONAL_VERIFICATION_REQUIRED: Amazon needs more information (AWS Support)",
    "NO_AVAILABLE_CONTACTS": "NO_AVAILABLE_CONTACTS: no contact address for email validation",
}


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def describe_cmd(arn: str) -> str:
    """The runbook's step-1 command, with the real ARN and its region."""
    return (f"aws acm describe-certificate --region {_region(arn)} --certificate-arn {arn} --query "
            "'Certificate.{status:Status,renewalStatus:RenewalSummary.RenewalStatus,"
            "reason:RenewalSummary.RenewalStatusReason,validations:RenewalSummary.DomainValidationOptions}'")


def _absent(domain: str, tag: str, step: str) -> Verdict:
    return red(f"no ACM certificate {domain} found (expected tag Name={tag})", step=step,
               next=[(f"aws acm list-certificates --includes keyTypes=RSA_2048,EC_prime256v1 "
                      f"--query \"CertificateSummaryList[?DomainName=='{domain}']\"")])


def _days(cert: dict, now: datetime) -> float | None:
    return (cert["NotAfter"] - now).total_seconds() / 86400 if cert.get("NotAfter") else None


def _about(view: AcmView, now: datetime) -> list[str]:
    cert = view.cert
    days = _days(cert, now)
    left = f", {days:.1f} days left at {now:%Y-%m-%d %H:%M}Z" if days is not None else ""
    out = [f"{cert['CertificateArn']}: {cert.get('Type', '?')}, NotAfter {cert.get('NotAfter', '?')}{left}",
           f"in use by: {', '.join(cert.get('InUseBy') or []) or 'nothing'}"]
    return out + ([view.why] if view.why else [])


def issued(view: AcmView | None, domain: str, tag: str, now: datetime) -> Verdict:
    """The certificate's Status is ISSUED."""
    if view is None:
        return _absent(domain, tag, STEP1)
    cert = view.cert
    status = cert.get("Status")
    if status == "ISSUED":
        return green(f"{domain} is ISSUED", *_about(view, now), step=STEP1)
    return red(f"{domain} is {status}, not ISSUED", *_about(view, now), step=STEP1,
               next=[describe_cmd(cert["CertificateArn"])])


def renewal_eligible(view: AcmView | None, domain: str, tag: str, now: datetime) -> Verdict:
    """RenewalEligibility is ELIGIBLE: ACM will renew the certificate by itself."""
    if view is None:
        return _absent(domain, tag, STEP1)
    cert = view.cert
    eligibility = cert.get("RenewalEligibility", "not reported")
    if eligibility == "ELIGIBLE":
        return green(f"{domain}: RenewalEligibility ELIGIBLE", *_about(view, now), step=STEP1)
    why = []
    if cert.get("Type") == "IMPORTED":
        why.append("it is IMPORTED: ACM never renews an imported certificate")
    if not cert.get("InUseBy"):
        why.append("it is not in use by any resource: ACM renews only certificates in use")
    return red(f"{domain}: RenewalEligibility {eligibility}: ACM will not renew it", *why, *_about(view, now),
               step=STEP1, next=[describe_cmd(cert["CertificateArn"])])


def _validations(options: list[dict]) -> list[str]:
    return [f"validation {o.get('DomainName')}: {o.get('ValidationStatus', '?')}"
            + (f" ({o['ResourceRecord']['Name']} CNAME {o['ResourceRecord']['Value']})" if o.get("ResourceRecord") else "")
            for o in options]


def renewal_not_stuck(view: AcmView | None, domain: str, tag: str, now: datetime) -> Verdict:
    """RenewalSummary is not FAILED and not stuck in PENDING_VALIDATION (PENDING_AUTO_RENEWAL, SUCCESS are fine)."""
    if view is None:
        return _absent(domain, tag, STEP1)
    cert = view.cert
    summary = cert.get("RenewalSummary")
    if not summary:
        return green(f"{domain}: no renewal under way (no RenewalSummary)", *_about(view, now), step=STEP1)
    status, reason = summary.get("RenewalStatus"), summary.get("RenewalStatusReason", "")
    updated = summary.get("UpdatedAt")
    seen = [f"RenewalStatus {status}" + (f", RenewalStatusReason {reason}" if reason else "")
            + (f", updated {updated}" if updated else ""), *_validations(summary.get("DomainValidationOptions", []))]
    next_ = [describe_cmd(cert["CertificateArn"]),
             "compare every validation CNAME with the public zone (test_acm_validation_records_present)"]
    if status == "FAILED":
        explained = REASONS.get(reason, f"{reason or 'no RenewalStatusReason given'}")
        return red(f"ACM renewal of {domain} FAILED: {explained}", *seen, *_about(view, now), step=STEP1, next=next_)
    if status == "PENDING_VALIDATION":  # DNS validation with the CNAME in place renews without stopping here
        since = f" for {(now - updated).total_seconds() / 3600:.0f} h" if updated else ""
        return red(f"ACM renewal of {domain} is stuck in PENDING_VALIDATION{since}",
                   *seen, "ACM could not validate by itself: a missing or altered validation CNAME keeps it here, "
                   "then FAILED", *_about(view, now), step=STEP1, next=next_)
    return green(f"{domain}: renewal {status}", *seen, *_about(view, now), step=STEP1)


# --- step 2: DNS -----------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return name.strip().rstrip(".").lower()


def validation_records(cert: dict) -> list[tuple[str, str]]:
    """Every (Name, Value) validation CNAME of the certificate and of its renewal, each once."""
    options = list(cert.get("DomainValidationOptions") or [])
    options += (cert.get("RenewalSummary") or {}).get("DomainValidationOptions") or []
    found: dict[str, tuple[str, str]] = {}
    for o in options:
        rr = o.get("ResourceRecord")
        if rr and rr.get("Type", "CNAME") == "CNAME":
            found.setdefault(_norm(rr["Name"]), (rr["Name"], rr["Value"]))
    return list(found.values())


def upsert_cmd(zone_id: str, records: list[tuple[str, str, int]], rtype: str = "CNAME") -> str:
    """The exact ``change-resource-record-sets`` UPSERT that writes ``records`` (name, value, ttl)."""
    changes = [{"Action": "UPSERT", "ResourceRecordSet": {"Name": n, "Type": rtype, "TTL": ttl,
                                                          "ResourceRecords": [{"Value": v}]}}
               for n, v, ttl in records]
    batch = json.dumps({"Changes": changes}, separators=(",", ":"))
    return f"aws route53 change-resource-record-sets --hosted-zone-id {zone_id} --change-batch '{batch}'"


def validation_records_present(view: AcmView | None, zone: Zone | None, domain: str, tag: str) -> Verdict:
    """Every validation CNAME exists in the public zone with the same value (trailing dot and case aside)."""
    if view is None:
        return _absent(domain, tag, STEP2)
    cert = view.cert
    wanted = validation_records(cert)
    apex = domain.removeprefix("*.")
    if not wanted:
        methods = sorted({o.get("ValidationMethod", "?") for o in cert.get("DomainValidationOptions") or []})
        return red(f"{domain} lists no DNS validation record: ACM cannot renew it by DNS",
                   f"Type {cert.get('Type')}, validation "
                   f"{', '.join(methods) or 'none'}",
                   step=STEP2, next=[describe_cmd(cert["CertificateArn"])])
    if zone is None:
        return red(f"no public hosted zone {apex}: the validation records have nowhere to live", step=STEP2,
                   next=[f"aws route53 list-hosted-zones-by-name --dns-name {apex}"])
    zone_id = zone.id
    bad, lines = [], []
    for name, value in wanted:
        have = [shapes.target_of(r) for r in shapes.find(zone.records, name, types=("CNAME",))]
        if _norm(value) in have:
            lines.append(f"present: {name} CNAME {value}")
            continue
        bad.append((name, value, VALIDATION_TTL))
        lines.append(f"missing: {name} CNAME {value}" if not have else
                     f"wrong: {name} CNAME {', '.join(have)}, want {value}")
    if not bad:
        return green(f"{len(wanted)} validation record(s) of {domain} present in zone {zone_id}", *lines, step=STEP2)
    return red(f"{len(bad)} of {len(wanted)} ACM validation record(s) of {domain} missing or wrong in the public "
               f"zone {zone_id}", *lines, "until they are back ACM cannot validate: renewal sits in "
               "PENDING_VALIDATION, then FAILED", step=STEP2,
               next=[upsert_cmd(zone_id, bad), describe_cmd(cert["CertificateArn"])])


KNOWN_CAA_TAGS = ("issue", "issuewild", "iodef", "issuemail", "issuevmc")


def caa_issuers(zone: Zone, apex: str) -> tuple[dict[str, set[str]], list[dict]]:
    """``{"issue": {...}, "issuewild": {...}}`` from the apex CAA records, and the records. A critical record
    (flag 128) with a tag a CA does not know forbids every CA to issue (RFC 8659 section 4.1): ``{"critical": {...}}``."""
    records = shapes.find(zone.records, apex, types=("CAA",))
    tags: dict[str, set[str]] = {}
    for r in records:
        for rr in r.get("ResourceRecords", []):
            parts = rr["Value"].split(None, 2)
            if len(parts) == 3:
                flags, tag = parts[0], parts[1].lower()
                issuer = parts[2].strip().strip('"').split(";")[0].strip().lower()
                tags.setdefault(tag, set()).add(issuer)
                if flags.isdigit() and int(flags) & 128 and tag not in KNOWN_CAA_TAGS:
                    tags.setdefault("critical", set()).add(tag)
    return tags, records


def caa_allows(zone: Zone | None, domain: str, issuers: tuple[str, ...], who: str, step: str) -> Verdict:
    """If the apex publishes CAA records, they let ``issuers`` issue the wildcard ``domain``."""
    apex = domain.removeprefix("*.")
    if zone is None:
        return red(f"no public hosted zone {apex}", step=step,
                   next=[f"aws route53 list-hosted-zones-by-name --dns-name {apex}"])
    tags, records = caa_issuers(zone, apex)
    if not records:
        return green(f"no CAA record at {apex}: every CA may issue {domain}", step=step)
    # RFC 8659: for a wildcard, issuewild governs when present, issue otherwise.
    tag = "issuewild" if "issuewild" in tags else "issue"
    listed = sorted(tags.get(tag, set()))
    seen = [f"CAA {rr['Value']}" for r in records for rr in r.get("ResourceRecords", [])]
    if tags.get("critical"):
        return red(f"CAA at {apex} forbids every CA to issue {domain}: a critical record (flag 128) with an unknown "
                   f"tag ({', '.join(sorted(tags['critical']))})", *seen, "RFC 8659 section 4.1: a CA must not issue "
                   "when it does not understand a critical property", step=step,
                   next=[f"aws route53 list-resource-record-sets --hosted-zone-id {zone.id} "
                         f"--query \"ResourceRecordSets[?Type=='CAA']\"  # drop the flag or the record"])
    if any(i in listed for i in issuers):
        return green(f"CAA at {apex} lets {who} issue {domain} ({tag}: {', '.join(listed)})", *seen, step=step)
    zone_id = zone.id
    values = [rr["Value"] for r in records for rr in r.get("ResourceRecords", [])] + [f'0 {tag} "{issuers[0]}"']
    ttl = records[0].get("TTL", 300)
    batch = json.dumps({"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": f"{apex}.", "Type": "CAA", "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}}]},
        separators=(",", ":"))
    return red(f"CAA at {apex} does not let {who} issue {domain}: {tag} lists {', '.join(listed) or 'no issuer'}",
               *seen, f"{who} needs one of {', '.join(issuers)} in {tag}", step=step,
               next=[(f"aws route53 change-resource-record-sets --hosted-zone-id {zone_id} --change-batch '{batch}'"
                      "  # or add it to the DNS stack's CAA records and re-apply")])


def caa_allows_amazon(zone: Zone | None, domain: str) -> Verdict:
    return caa_allows(zone, domain, AMAZON_ISSUERS, "Amazon (ACM)", STEP1_CAA)


# --- step 3: consumers -----------------------------------------------------------------------------


def consumer_look(consumer: AcmConsumer, names: dict) -> str:
    if consumer.front == "cloudfront":
        if consumer.distribution_id:
            return (f"aws cloudfront get-distribution-config --id {consumer.distribution_id} "
                    "--query DistributionConfig.ViewerCertificate")
        alias = consumer.alias
        return (f"aws cloudfront list-distributions --query \"DistributionList.Items[?contains(Aliases.Items || `[]`, "
                f"'{alias}')].{{id:Id,cert:ViewerCertificate.ACMCertificateArn}}\"")
    lb = consumer.lb_arn or f"$(aws elbv2 describe-load-balancers --names {names[consumer.front]} " \
                                   "--query 'LoadBalancers[0].LoadBalancerArn' --output text)"
    return f"aws elbv2 describe-listeners --load-balancer-arn {lb} --query 'Listeners[].{{port:Port,certs:Certificates}}'"


def _in_use(consumer: AcmConsumer, cert: dict) -> str:
    """ACM's own view, as a cross-check: does InUseBy list this consumer's resource?"""
    if not consumer.resource_arn:
        return ""
    listed = consumer.resource_arn in (cert.get("InUseBy") or [])
    return f"ACM InUseBy of {cert['CertificateArn']} {'lists' if listed else 'does not list'} {consumer.resource_arn}"


def _own_certificate(cert: dict, consumer: AcmConsumer, domain: str, days: float | None) -> bool:
    """Another certificate that is not a copy of the wildcard, is ISSUED with days left and covers the alias: the
    consumer is not pinned to an old ARN, it has a certificate of its own."""
    names = {n.lower() for n in [cert.get("DomainName") or "", *(cert.get("SubjectAlternativeNames") or [])]}
    alias = consumer.alias
    covers = bool(alias) and (alias in names or f"*.{alias.split('.', 1)[-1]}" in names)
    return (cert.get("DomainName", "").lower() != domain.lower() and cert.get("Status") == "ISSUED"
            and days is not None and days > 0 and covers)


def consumer_uses_certificate(consumer: AcmConsumer, view: AcmView | None, domain: str, tag: str, names: dict,
                              now: datetime | None = None) -> Verdict:
    """A listener (NLB 993, ALB 443) or a CloudFront distribution found by its alias presents the current
    certificate; one on another certificate is named with its alias, the ARN it uses and that ARN's days left."""
    if view is None:
        return _absent(domain, tag, STEP3)
    look = consumer_look(consumer, names)
    if consumer.problem:
        return red(f"{consumer.name}: {consumer.problem}", step=STEP3,
                   next=[look, "re-apply the infra stack (terraform apply)"])
    current = view.cert["CertificateArn"]
    cross = [x for x in (_in_use(consumer, view.cert),) if x]
    if consumer.arn == current:
        return green(f"{consumer.name} uses the current certificate {current}", *cross, step=STEP3)
    other = consumer.arn_cert
    days = _days(other, now) if other and now else None
    if other and _own_certificate(other, consumer, domain, days):  # e.g. a staging site under <cd> with its own
        return green(f"{consumer.name} uses its own certificate {consumer.arn} ({other.get('DomainName')}, "
                     f"{days:.1f} days left), not the wildcard {domain}", *cross, step=STEP3)
    about = (f"{consumer.arn}: {other.get('DomainName')} {other.get('Status')}"
             + (f", {days:.1f} days left" if days is not None else "") if other
             else f"{consumer.arn}: not found in this account's ACM (another region or account?)")
    fix = (f"aws elbv2 modify-listener --listener-arn {consumer.listener_arn} --certificates CertificateArn={current}"
           "  # one-off; terraform apply is the lasting fix" if consumer.listener_arn else
           "update the distribution's ViewerCertificate.ACMCertificateArn (terraform apply does it)")
    return red(f"{consumer.name} is pinned to an old ARN: it presents {consumer.arn}, not the current "
               f"certificate {current}", about, view.why or f"current: {domain} {view.cert.get('Status')}",
               *cross, step=STEP3, next=[look, ("re-apply the infra stack (terraform apply) so every consumer takes "
                                               "the current certificate"), fix])


def no_consumer_on_old(view: AcmView | None, domain: str, tag: str, now: datetime) -> Verdict:
    """ACM's own cross-check of step 3: no other certificate named ``domain`` is in use (its InUseBy is empty), so
    no consumer, found by the suite or not (an API Gateway domain, a load balancer of another name), is pinned to an
    old ARN. Leftover certificates nobody uses are fine."""
    if view is None:
        return _absent(domain, tag, STEP3)
    current = view.cert["CertificateArn"]
    pinned = [(d, user) for d in view.others for user in d.get("InUseBy") or []]
    if not pinned:
        return green(f"no other certificate {domain} is in use (ACM InUseBy); {len(view.others)} unused leftover(s)",
                     step=STEP3)
    lines = [f"{user} uses {d['CertificateArn']} ({d.get('Status')}"
             + (f", {_days(d, now):.1f} days left)" if d.get("NotAfter") else ")") for d, user in pinned]
    return red(f"{len(pinned)} resource(s) still use an old certificate {domain}, not the current {current} "
               "(ACM InUseBy)", *lines, step=STEP3,
               next=[describe_cmd(pinned[0][0]["CertificateArn"]).split(" --query")[0] + " --query Certificate.InUseBy",
                     "re-apply the infra stack (terraform apply) so every consumer takes the current certificate"])


def served_is_acm(ep: Endpoint, s: Served, view: AcmView | None, domain: str, tag: str, names: dict) -> Verdict:
    """What the endpoint serves IS the ACM certificate (same SHA-256 fingerprint, or serial)."""
    if view is None:
        return _absent(domain, tag, STEP3)
    cert, acm_leaf = view.cert, view.leaf
    if acm_leaf is None:
        return red(f"{domain} is {cert.get('Status')}: ACM has no issued certificate to compare {ep.spec} with",
                   step=STEP3, next=[describe_cmd(cert["CertificateArn"])])
    if _same(s.leaf, acm_leaf):
        return green(f"{ep.spec} serves the ACM certificate {cert['CertificateArn']}", s.leaf.short(), step=STEP3)
    if not ep.probe and s.verified and domain.lower() not in {n.lower() for n in s.leaf.names}:
        return green(f"{ep.spec} (a site found by its alias) serves a certificate of its own, valid for its name, "
                     f"not the wildcard {domain}", s.leaf.short(), step=STEP3)
    return red(f"{ep.spec} does not serve the ACM certificate {cert['CertificateArn']}",
               f"served: {s.leaf.short()}", f"ACM:    {acm_leaf.short()}",
               f"the {ep.front} is pinned to an old ARN (test_acm_consumer_uses_certificate), or serves a certificate "
               "from elsewhere", step=STEP3,
               next=[first_look(ep), consumer_look(AcmConsumer(ep.front, ep.spec, alias=ep.host), names),
                     "re-apply the infra stack (terraform apply) so the front takes the current certificate"])


def _same(a: CertFacts, b: CertFacts) -> bool:
    return a.sha256 == b.sha256 or a.serial.lstrip("0") == b.serial.lstrip("0")


# --- escalation ------------------------------------------------------------------------------------


def escalation(view: AcmView | None, domain: str, tag: str, now: datetime) -> Verdict:
    """At 14 days or more left, the disruptive re-request is not needed."""
    if view is None:
        return _absent(domain, tag, ESC)
    cert = view.cert
    days = _days(cert, now)
    if days is None:
        return red(f"{domain} has no NotAfter ({cert.get('Status')}): it was never issued", *_about(view, now),
                   step=ESC, next=[describe_cmd(cert["CertificateArn"])])
    if days >= ACM_ESCALATION_DAYS:
        return green(f"{domain}: {days:.1f} days left, not below the {ACM_ESCALATION_DAYS}-day escalation threshold",
                     step=ESC)
    summary = cert.get("RenewalSummary") or {}
    state = " ".join(x for x in (summary.get("RenewalStatus"), summary.get("RenewalStatusReason")) if x) or "none under way"
    left = f"{days:.1f} days left" if days >= 0 else f"EXPIRED {-days:.1f} days ago"
    return red(f"{domain} has {left} (< {ACM_ESCALATION_DAYS}) and ACM has not renewed it "
               f"(renewal: {state}): escalate", *_about(view, now),
               "DISRUPTIVE: this issues a NEW ARN; CloudFront, the ALB 443 listener and the NLB listener must all be "
               "moved to it (terraform apply), and live traffic is disrupted during the cutover. Do not do it lightly.",
               step=ESC,
               next=[f"aws acm request-certificate --domain-name '{domain}' --validation-method DNS",
                     ("then publish its validation CNAME (describe-certificate), wait for ISSUED, and move every "
                      "consumer to the new ARN")])
