"""One run's context: settings, the AWS reader and the gatherer. Facts are functions of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws.reader import AwsReader
from .config import Settings
from .gather import Gatherer
from .verdict import CantTell, NotApplicable


@dataclass(eq=False)  # identity hash and equality: facts are memoized on (fn, ctx, args)
class Context:
    settings: Settings
    aws: AwsReader = None  # type: ignore[assignment]
    gatherer: Gatherer = field(default_factory=Gatherer)
    vpc_endpoints: tuple = ()  # the endpoints the run compares from inside the VPC, probed there in one batch
    early: tuple = ()  # (kind, fn, args) of the facts started before discovery (facts/early.py), as a record

    def __post_init__(self):
        if self.aws is None:
            self.aws = AwsReader(self.settings.region, self.settings.aws_timeout, self.settings.logs_rate)

    def name(self, key: str) -> str:
        return self.settings.names[key]

    def budget(self, kind: str) -> float:
        """Safety-net deadline of one fact. Probes end by themselves at probe_timeout (the /list probe may
        first mint a token); in-VPC probes also pay for reaching the host and end at probe_timeout + 2
        there; AWS facts end at aws_timeout."""
        s = self.settings
        if kind == "wire":  # the /list probe may first mint its token (an AWS call)
            return s.probe_timeout + 1.0 + (s.aws_timeout if s.probe_username else 0.0)
        return s.probe_timeout + 5.0 if kind == "vpc" else s.aws_timeout

    def start(self, kind: str, fn, *args):
        return self.gatherer.start(self.budget(kind), fn, self, *args)

    def get(self, kind: str, fn, *args):
        return self.gatherer.get(self.budget(kind), fn, self, *args)

    def maybe(self, kind: str, fn, *args):
        """The fact, or None when it cannot be had (for optional evidence in a red message)."""
        try:
            return self.get(kind, fn, *args)
        except (CantTell, NotApplicable):
            return None
