"""CloudFront: every distribution's summary (aliases, viewer certificate), in one paginated call."""

from __future__ import annotations

from .reader import AwsReader


def distributions(aws: AwsReader) -> list[dict]:
    """Every distribution's summary; shared by discovery (the aliases) and the ACM consumer checks."""
    return aws.pages("cloudfront", "list_distributions", "DistributionList.Items")


def aliases(dist: dict) -> set[str]:
    """The distribution's aliases, lower case, without a trailing dot."""
    return {a.lower().rstrip(".") for a in (dist.get("Aliases") or {}).get("Items") or []}
