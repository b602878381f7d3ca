"""One run's context: settings, the AWS reader and the gatherer. Facts are functions of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws.reader import AwsReader
from .config import Settings
from .gather import Gatherer


@dataclass
class Context:
    settings: Settings
    aws: AwsReader = None  # type: ignore[assignment]
    gatherer: Gatherer = field(default_factory=Gatherer)

    def __post_init__(self):
        if self.aws is None:
            self.aws = AwsReader(self.settings.region, self.settings.aws_timeout)

    def name(self, key: str) -> str:
        return self.settings.names[key]

    def budget(self, kind: str) -> float:
        """Deadline of one fact: wire facts end by themselves at probe_timeout; in-VPC probes also pay for
        reaching the host (process start, ssh) and end at probe_timeout + 2 there; AWS facts at aws_timeout."""
        extra = {"wire": 1.0, "vpc": 5.0}
        return self.settings.probe_timeout + extra[kind] if kind in extra else self.settings.aws_timeout

    def start(self, kind: str, fn, *args):
        return self.gatherer.start(self.budget(kind), fn, self, *args)

    def get(self, kind: str, fn, *args):
        return self.gatherer.get(self.budget(kind), fn, self, *args)

    def maybe(self, kind: str, fn, *args):
        """The fact, or None when it cannot be had (for optional evidence in a red message)."""
        from .verdict import CantTell, NotApplicable

        try:
            return self.get(kind, fn, *args)
        except (CantTell, NotApplicable):
            return None

    def __hash__(self) -> int:  # facts are memoized on (fn, ctx, args)
        return id(self)

    def __eq__(self, other) -> bool:
        return self is other
