"""``lambda:GetAccountSettings`` for the sandbox: moto 5.2.5 has no such route, so lambda-throttles step 3 (the
account near its concurrency limit) could only ever be a skip there. This adds the route and an answer with AWS's
default limit (``ACCOUNT_LIMIT``, 1000 concurrent executions); the fault ``lambda-near-account-limit`` raises
``ConcurrentExecutions`` towards it. Plain moto (the unit tests' in-process mock) keeps answering nothing: the
live test's skip ("account limit unknown") is proven there."""

from __future__ import annotations

import json

ACCOUNT_LIMIT = 1000
ROUTE = r"{0}/(?P<api_version>[^/]+)/account-settings/?$"


def _get_account_settings(self):
    return 200, {}, json.dumps({"AccountLimit": {"ConcurrentExecutions": ACCOUNT_LIMIT,
                                                 "UnreservedConcurrentExecutions": ACCOUNT_LIMIT,
                                                 "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000,
                                                 "CodeSizeZipped": 52428800},
                                "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0}})


def install() -> None:
    """Idempotent; before moto's server builds its Lambda app."""
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    if ROUTE not in urls.url_paths:
        urls.url_paths[ROUTE] = LambdaResponse.dispatch
    LambdaResponse.get_account_settings = _get_account_settings  # type: ignore[attr-defined]
