"""Judging: pure functions from gathered facts to a ``Verdict``. No I/O here."""
