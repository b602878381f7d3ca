"""Parametrize the live tests from the configured topology (fixtures/params.py)."""

from fixtures.params import KNOWN, cases


def pytest_generate_tests(metafunc):
    for argname in KNOWN:
        if argname in metafunc.fixturenames:
            metafunc.parametrize(argname, cases(metafunc.config.cabal_settings, argname))
