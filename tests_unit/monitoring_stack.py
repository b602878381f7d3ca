"""The real Prometheus tools for the monitoring proofs: where they are, and Cabalmail's Alertmanager config with
cabal-checks' route snippet (monitoring/alertmanager-route.yml) in it.

Missing tools are a skip with one line, except in CI (``CI=true``), where they are a failure: .ci/run installs
them (Debian's prometheus and prometheus-alertmanager), so a skip there would hide a broken install.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MONITORING = REPO / "monitoring"
INSTALL = "apt-get install -y --no-install-recommends prometheus prometheus-alertmanager"


def require(*names: str) -> str:
    """The path of the first of ``names`` on PATH (Debian calls alertmanager ``prometheus-alertmanager``)."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{names[0]} not installed ({INSTALL})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: CI must have it (.ci/run installs it)")
    pytest.skip(message)


def alertmanager_config(webhook_url: str, secret: str, timing: dict | None = None) -> dict:
    """Cabalmail's alertmanager.yml.tmpl (receivers, severity routes, Bearer secret), cabal-checks' route first."""
    snippet = yaml.safe_load((MONITORING / "alertmanager-route.yml").read_text())

    def receiver(name):
        return {"name": name, "webhook_configs": [{"url": webhook_url, "send_resolved": True, "max_alerts": 10,
                                                   "http_config": {"authorization": {"type": "Bearer",
                                                                                     "credentials": secret}}}]}

    route = {"group_by": ["alertname", "severity"], "group_wait": "30s", "group_interval": "5m",
             "repeat_interval": "24h", "receiver": "alert-sink-warning", **(timing or {}),
             "routes": [*snippet["route"]["routes"],
                        {"matchers": ["severity = critical"], "receiver": "alert-sink-critical", "repeat_interval": "24h"},
                        {"matchers": ["severity = warning"], "receiver": "alert-sink-warning", "repeat_interval": "6h"}]}
    return {"global": {"resolve_timeout": "5m"}, "route": route,
            "receivers": [receiver("alert-sink-critical"), receiver("alert-sink-warning")],
            "inhibit_rules": snippet["inhibit_rules"]}


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
