"""API Gateway: the ids of the REST APIs of one name (the access-log group is named after the id).

A plain lookup. ``GetRestApis`` is IAM's ``apigateway:GET`` on ``/restapis``; the policy denies the same action on
``/apikeys`` (API key values are secrets), and nothing here reads them.
"""

from __future__ import annotations

from .reader import AwsReader


def rest_api_ids(aws: AwsReader, name: str) -> tuple[str, ...]:
    """The ids of the REST APIs named ``name`` (``cabal_gateway``), all pages; usually one."""
    return tuple(sorted(a["id"] for a in aws.pages("apigateway", "get_rest_apis", "items") if a.get("name") == name))
