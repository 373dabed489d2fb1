"""Subject and stream naming.

Events: ``<owner>.evt.<name>.v<N>``; commands: ``<owner>.cmd.<name>.v<N>``. One JetStream
stream per owning service holds ``<owner>.>``. Dead letters go to
``dlq.<consuming service>.<subject>`` (the consumer's name is in a header)
in the DLQ stream. Re-publish requests are core NATS (not stored) on ``_rf.republish.<owner>``.
A deployment namespace, when set, prefixes every subject and stream name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["OWNERS", "Namespace", "command_subject", "event_subject", "owner_of"]

OWNERS = ("claims", "funds", "logistics", "notify")
_LOGICAL = re.compile(r"^(claims|funds|logistics|notify)\.(evt|cmd)\.[a-z0-9_]+\.v[1-9][0-9]*$")


def event_subject(owner: str, name: str, version: int) -> str:
    return _checked(f"{owner}.evt.{name}.v{version}")


def command_subject(owner: str, name: str, version: int) -> str:
    return _checked(f"{owner}.cmd.{name}.v{version}")


def _checked(subject: str) -> str:
    if not _LOGICAL.match(subject):
        raise ValueError(f"not a ruralfund subject: {subject!r}")
    return subject


def owner_of(subject: str) -> str:
    return subject.split(".", 1)[0]


@dataclass(frozen=True)
class Namespace:
    prefix: str = ""

    def subject(self, logical: str) -> str:
        return f"{self.prefix}.{logical}" if self.prefix else logical

    def logical(self, physical: str) -> str:
        if self.prefix and physical.startswith(self.prefix + "."):
            return physical[len(self.prefix) + 1 :]
        return physical

    def stream(self, owner: str) -> str:
        name = owner.upper()
        return f"{self.prefix.upper()}_{name}" if self.prefix else f"RURALFUND_{name}"

    def stream_subjects(self, owner: str) -> list[str]:
        return [self.subject(f"{owner}.>")]

    @property
    def dlq_stream(self) -> str:
        return self.stream("dlq")

    def dlq_subject(self, consumer: str, logical: str) -> str:
        return self.subject(f"dlq.{consumer}.{logical}")

    def republish_subject(self, owner: str) -> str:
        return self.subject(f"_rf.republish.{owner}")

    def durable(self, consumer: str) -> str:
        return consumer.replace(".", "_")
