"""cabal-checks: the Cabalmail on-call runbooks as pytest tests. See README.md."""

import gc

# No garbage collection while the plugins import boto3, botocore and cryptography: what they build lives for the whole
# run, and walking it cost a run 0.3-0.4 s of CPU for nothing (fixtures/facts.py freezes it and turns collection back on).
gc.disable()

pytest_plugins = ["fixtures.options", "fixtures.facts", "fixtures.report", "fixtures.collector", "fixtures.cert_table",
                  "fixtures.runbook_report", "fixtures.alert",
                  "fixtures.diagnosis", "fixtures.results"]
