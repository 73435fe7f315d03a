"""Typed corridors between services: a request/reply subject with the models it carries, and a stream subject family.

Each `Endpoint` is declared once, in `libs/common/contracts/`, next to the models it carries. Callers use
`bus.call(endpoint, body)` and handlers `bus.serve(endpoint, handler)`; no call site names a subject string,
so a typo is an import error and "find references" on an endpoint shows its callers and its handler together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

Req = TypeVar("Req", bound=BaseModel)
Rep = TypeVar("Rep", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[Req, Rep]):
    """One request/reply subject: what is sent, what comes back, and the queue group that answers it."""

    subject: str
    request: type[Req]
    reply: type[Rep]
    queue: str

    def __post_init__(self) -> None:
        # a wildcard would let one handler answer for many subjects and hide which one a caller meant
        if not self.subject or any(token in ("*", ">", "") for token in self.subject.split(".")):
            raise ValueError(f"an endpoint's subject is one concrete subject: {self.subject!r}")


@dataclass(frozen=True, slots=True)
class StreamSubject:
    """A JetStream subject family: `<prefix>.<token>` for one stream; `pattern` is what consumers filter on."""

    stream: str
    prefix: str

    @property
    def pattern(self) -> str:
        return f"{self.prefix}.>"

    def of(self, *tokens: str) -> str:
        """The concrete subject for these tokens (an agency, a camera…); a token is never empty nor a wildcard."""
        for token in tokens:
            if not token or any(c in token for c in ".*> \t\r\n"):
                raise ValueError(f"not a subject token: {token!r}")
        return ".".join((self.prefix, *tokens))
