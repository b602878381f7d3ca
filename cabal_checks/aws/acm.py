"""ACM: the control domain's wildcard certificate, its tags, and its public PEM."""

from __future__ import annotations

from .reader import AwsReader, NotFound

# list_certificates returns only RSA_2048 certificates unless asked for the other key types.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]


def certificates_named(aws: AwsReader, domain_name: str) -> list[dict]:
    """Summaries of every certificate whose DomainName is ``domain_name`` (``*.<cd>``), any status."""
    summaries = aws.pages("acm", "list_certificates", "CertificateSummaryList", Includes={"keyTypes": KEY_TYPES})
    return [s for s in summaries if s.get("DomainName", "").lower() == domain_name.lower()]


def describe(aws: AwsReader, arn: str) -> dict | None:
    try:
        return aws.call("acm", "describe_certificate", CertificateArn=arn)["Certificate"]
    except NotFound:
        return None


def tags(aws: AwsReader, arn: str) -> dict[str, str]:
    try:
        out = aws.call("acm", "list_tags_for_certificate", CertificateArn=arn)
    except NotFound:
        return {}
    return {t["Key"]: t.get("Value", "") for t in out.get("Tags", [])}


def certificate_pem(aws: AwsReader, arn: str) -> str | None:
    """The certificate's public PEM (``get_certificate``: no key material); None when not issued."""
    try:
        return aws.call("acm", "get_certificate", CertificateArn=arn).get("Certificate")
    except NotFound:
        return None
