"""cabal-checks: the Cabalmail on-call runbooks as pytest tests. See README.md."""

pytest_plugins = ["fixtures.options", "fixtures.facts", "fixtures.report"]
