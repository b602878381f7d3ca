"""What the scheduled run and the exporter check: the monitor a deployment without its monitoring module lacks.

Every runbook's alert condition or heartbeat re-evaluated from AWS (``-m condition``: the stand-in for Prometheus +
Healthchecks, issue #16), plus every check that is not a runbook family's step: the probes, the certificates
(probe-failure, cert-expiring, the certbot heartbeat as the Let's Encrypt pipeline) and the deployment's shape. The
families' other steps run on demand (``--alert``, ``-m <runbook>``), when a condition is red.

``python -m cabal_checks.monitor`` prints the expression (verify.yml runs it so, the exporter uses it by default).
"""

from __future__ import annotations

import sys

from .runbook_catalog import FAMILIES

SELECTION = f"condition or probe_failure or cert_expiring or not ({' or '.join(FAMILIES)})"


def pytest_args(args: list[str]) -> list[str]:
    """The suite's arguments with ``-m SELECTION`` unless they choose their own (``-m``/``--markexpr``)."""
    own = any(a == "-m" or a.startswith(("-m", "--markexpr")) for a in args)
    return args if own else ["-m", SELECTION, *args]


if __name__ == "__main__":
    sys.stdout.write(SELECTION + "\n")
