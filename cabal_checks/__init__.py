"""cabal-checks: the Cabalmail on-call runbooks as facts to gather and steps to judge.

This package never imports pytest. It gathers facts (``wire`` for endpoints, ``aws`` for the
account), judges them (``judge``) and knows the deployment as data (``names``, ``topology``).
"""
