"""One shape for every two-person decision (broad-search approvals, holds, agreements, activation).

`{"decision": "approve" | "deny", "reason": "…"}`. The shapes the routes took before (`{"decision": "grant"}`,
`{"approve": true}`, no body at all) are accepted for one release and answered with a `Deprecation` header and
a `Warning` naming the new shape; a body that mixes the two, or is neither, is a 422 naming the field.
Each route declares which old shape it accepted; this module is the only place that reads any of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from libs.common.validation import Note, load_json

NEW_SHAPE = '{"decision": "approve" | "deny", "reason": "..."}'
# RFC 9745 Deprecation; the Warning (RFC 7234 299) names what to send instead, for clients that log it
DEPRECATION_HEADERS = {
    "Deprecation": "true",
    "Warning": '299 - "deprecated decision shape; send ' + NEW_SHAPE.replace('"', '\\"') + '"',
}
OldShape = Literal["grant_or_refuse", "approve_flag", "no_body"]


class DecisionBody(BaseModel):
    """A supervisor's or the custodian's decision on a two-person step, and why."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"decision": "approve", "reason": "Robbery case SJ-2026-004211 confirmed with the detective"}]
        },
    )

    decision: Literal["approve", "deny"]
    reason: Note = Field(min_length=1, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a decision says why")
        return value.strip()


class _GrantOrRefuse(BaseModel):
    """Broad-search approvals before: `{"decision": "grant" | "refuse", "note": "…"}`."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["grant", "refuse"]
    note: Note = Field(default="", max_length=1000)


class _ApproveFlag(BaseModel):
    """Holds before: `{"approve": true | false}`."""

    model_config = ConfigDict(extra="forbid")

    approve: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """A parsed decision; `reason` is None only when an old shape carried none."""

    approve: bool
    reason: str | None
    deprecated: bool = False

    @property
    def word(self) -> str:
        return "approve" if self.approve else "deny"

    def record(self) -> dict[str, Any]:
        """What the decision's audit record keeps of it."""
        return {"decision": self.word, "reason": self.reason, **({"deprecated_shape": True} if self.deprecated else {})}


def parse_decision(raw: bytes, old: OldShape) -> Decision:
    """The decision a body carries, in the new shape or the route's old one; a 422 naming the field otherwise."""
    if not raw.strip():
        if old == "no_body":
            return Decision(approve=True, reason=None, deprecated=True)
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": f"send {NEW_SHAPE}"}])
    document = load_json(raw)
    try:
        body = DecisionBody.model_validate(document)
    except ValidationError as err:
        if not _looks_old(document, old):
            raise _refusal(err) from None
        return _old_decision(document, old)
    return Decision(approve=body.decision == "approve", reason=body.reason)


def _looks_old(document: Any, old: OldShape) -> bool:
    """Read in the old shape only a body with its marks and none of the new shape's: a mix is refused."""
    if old == "no_body" or not isinstance(document, dict) or "reason" in document:
        return False
    if old == "approve_flag":
        return "approve" in document and "decision" not in document
    said = document.get("decision")
    return said in ("grant", "refuse") or ("note" in document and said not in ("approve", "deny"))


def _old_decision(document: Any, old: OldShape) -> Decision:
    try:
        if old == "grant_or_refuse":
            grant = _GrantOrRefuse.model_validate(document)
            return Decision(grant.decision == "grant", grant.note.strip() or None, deprecated=True)
        flag = _ApproveFlag.model_validate(document)
    except ValidationError as err:
        raise _refusal(err) from None
    return Decision(flag.approve, None, deprecated=True)


def _refusal(err: ValidationError) -> RequestValidationError:
    """The house 422 (`fields` names each one, `body.<field>`), as for any other request body."""
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False, include_context=False)]
    )


def decision_of(old: OldShape) -> Callable[[Request, Response], Awaitable[Decision]]:
    """A dependency reading the route's decision; an old shape is answered with the deprecation headers."""

    async def read(request: Request, response: Response) -> Decision:
        decision = parse_decision(await request.body(), old)
        if decision.deprecated:
            response.headers.update(DEPRECATION_HEADERS)
        return decision

    return read


def decision_body(*, required: bool = True) -> dict[str, Any]:
    """The OpenAPI request body of a decision route: the new shape only (the old ones are on their way out)."""
    schema = DecisionBody.model_json_schema()
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


GrantOrDecision = Annotated[Decision, Depends(decision_of("grant_or_refuse"))]
FlagOrDecision = Annotated[Decision, Depends(decision_of("approve_flag"))]
NoBodyOrDecision = Annotated[Decision, Depends(decision_of("no_body"))]
