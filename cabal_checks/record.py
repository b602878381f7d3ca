"""One record per test of a run: what every renderer reads, and the diagnosis's roles on it.

A ``Record`` is made once per test, by the collector (``fixtures/collector.py``), from the test's reports; the
diagnosis (``judge/diagnosis.py``) is computed once from the records and ``with_roles`` marks each red as the
``cause`` of its finding or a ``consequence`` (of which cause). The terminal, the markdown report, JUnit,
results.json, the metrics, the exporter, the notifier and the certificate table all read records and nothing
else. Its first nine fields are results.json's original keys, in their order; the rest were added after.
Plain Python, no pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .judge.diagnosis import Diagnosis, Outcome
from .runbooks import STEPS

STATUSES = ("green", "red", "cant_tell", "not_applicable")
ROLES = ("cause", "consequence")  # of a red; "" for anything else
STEP_OF_TEST: dict = {}  # a test two runbooks' steps list (lambda-errors step 1 is lambda-5xx-spike step 2) is the
for _step in STEPS:  # first one's: its runbook's report and the diagnosis place it there
    for _test in _step.tests:
        STEP_OF_TEST.setdefault(_test, _step)


@dataclass(frozen=True)
class Record:
    check: str  # the live test function
    target: str  # its parameter id ("" when unparametrized)
    runbook: str
    step: str  # runbooks.STEPS key ("pf-2"); "" for a test of no runbook step
    step_title: str
    status: str  # one of STATUSES
    summary: str  # the verdict's summary line (or the can't-tell / skip reason)
    next: str  # the first ``next:`` command ("" when none)
    severity: str  # "warning" (tests marked warning: the 21-day tier) or "critical"
    evidence: tuple[str, ...] = ()  # every ``seen:`` line of the verdict
    commands: tuple[str, ...] = ()  # every ``next:`` command of the verdict (``next`` is the first)
    probes: tuple[str, ...] = ()  # probe markers: the probes whose runbook path includes the test
    pipeline: str = ""  # acm | letsencrypt: the certificate pipeline the test belongs to
    facts: tuple[tuple[str, str], ...] = ()  # the verdict's short key/values (the cert table's columns, tls_verify...)
    role: str = ""  # a red's role in the diagnosis: cause | consequence
    cause: str = ""  # a red's probable cause, as a test id (its own for a cause)

    @property
    def test_id(self) -> str:
        return f"{self.check}[{self.target}]" if self.target else self.check

    def fact(self, key: str, default: str = "") -> str:
        return next((v for k, v in self.facts if k == key), default)

    def outcome(self) -> Outcome:
        """What the diagnosis needs of this record."""
        return Outcome(test_id=self.test_id, status=self.status, step=self.step, probes=self.probes,
                       pipeline=self.pipeline, summary=self.summary, evidence=self.evidence[0] if self.evidence else "",
                       next=self.next, cert_failure=bool(self.fact("tls_verify")))

    def to_json(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict) -> Record:
        """A record from ``to_json`` (or from an older results file, which has only the first nine keys)."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        for key in ("evidence", "commands", "probes"):
            kw[key] = tuple(kw.get(key) or ())
        kw["facts"] = tuple((str(k), str(v)) for k, v in kw.get("facts") or ())
        return cls(**kw)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def split_name(name: str) -> tuple[str, str]:
    """``test_x[imaps://h:993]`` -> ``("test_x", "imaps://h:993")``."""
    check, _, rest = name.partition("[")
    return check, rest[:-1] if rest.endswith("]") else rest


def make(name: str, status: str, summary: str, next_: str = "", warning: bool = False, **more) -> Record:
    """A record of test id ``name``, its runbook and step looked up (``more``: any later field)."""
    check, target = split_name(name)
    step = STEP_OF_TEST.get(check)
    commands = more.pop("commands", (next_,) if next_ else ())
    return Record(check, target, step.runbook if step else "other", step.key if step else "",
                  step.title if step else "", status, summary, next_, "warning" if warning else "critical",
                  commands=tuple(commands), **more)


def judged(records) -> list[Record]:
    """The records the diagnosis reads: tests of a runbook step."""
    return [r for r in records if r.step]


def with_roles(records: list[Record], diagnosis: Diagnosis | None) -> list[Record]:
    """The records with each red's role and cause from the diagnosis (in the same order)."""
    roles: dict[str, tuple[str, str]] = {}
    for finding in diagnosis.findings if diagnosis else ():
        cause = finding.cause.test_id
        roles[cause] = ("cause", cause)
        for o in finding.consequences:
            roles.setdefault(o.test_id, ("consequence", cause))
    return [replace(r, role=roles[r.test_id][0], cause=roles[r.test_id][1]) if r.status == "red" and r.test_id in roles
            else r for r in records]
