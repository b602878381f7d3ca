"""Lambda: the account's functions, a function's reserved concurrency, the account's concurrency limit.

Plain lookups. ``ListFunctions`` answers each function's configuration (as ``GetFunctionConfiguration`` does: never
``GetFunction``, whose answer carries a pre-signed URL to the code).
"""

from __future__ import annotations

from .reader import AwsReader, NotFound


def functions(aws: AwsReader) -> list[dict]:
    """Every function of the region, all pages."""
    return aws.pages("lambda", "list_functions", "Functions")


def reserved_concurrency(aws: AwsReader, name: str) -> int | None:
    """The function's reserved concurrency, None when it sets none (or no longer exists)."""
    try:
        out = aws.call("lambda", "get_function_concurrency", FunctionName=name)
    except NotFound:
        return None
    return out.get("ReservedConcurrentExecutions")


def account_limit(aws: AwsReader) -> int | None:
    """The account's concurrent-executions limit (``GetAccountSettings``), None when AWS does not say."""
    out = aws.call("lambda", "get_account_settings")
    return (out.get("AccountLimit") or {}).get("ConcurrentExecutions")
