"""A judgement of one runbook step: green or red, with evidence, the step, and the next command."""

from __future__ import annotations

from dataclasses import dataclass


class CantTell(Exception):
    """The step cannot be judged (no credentials, AccessDenied, throttled, unreachable AWS API...).

    Never a red step: the pytest glue turns it into an ERROR (or a skip) with this one line.
    """


class NotApplicable(Exception):
    """The step does not apply here (no --vpc-host, no token, topology without this resource): a skip."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    summary: str
    evidence: tuple[str, ...] = ()
    step: str = ""  # "probe-failure, step 2" / "cert-expiring, escalation"
    next: tuple[str, ...] = ()  # commands the operator runs next, real names filled in
    facts: tuple[tuple[str, str], ...] = ()  # short key/values for JUnit properties and the report

    def render(self) -> str:
        lines = [self.summary]
        lines += [f"  seen: {e}" for e in self.evidence]
        if self.step:
            lines.append(f"  runbook: {self.step}")
        lines += [f"  next: {n}" for n in self.next]
        return "\n".join(lines)


def green(summary: str, *evidence: str, step: str = "", facts=()) -> Verdict:
    return Verdict(True, summary, tuple(evidence), step, (), tuple(facts))


def red(summary: str, *evidence: str, step: str, next=(), facts=()) -> Verdict:
    return Verdict(False, summary, tuple(evidence), step, tuple(next), tuple(facts))
