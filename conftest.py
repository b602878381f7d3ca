"""cabal-checks: the Cabalmail on-call runbooks as pytest tests. See README.md."""

pytest_plugins = ["fixtures.options", "fixtures.facts", "fixtures.report", "fixtures.collector", "fixtures.cert_table",
                  "fixtures.runbook_report", "fixtures.alert",
                  "fixtures.diagnosis", "fixtures.results"]
