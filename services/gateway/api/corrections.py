"""Corrections (G3): a person who checked the image corrects a misread; a new version, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionReply, CorrectionRequest
from libs.common.errors import InvalidInput
from libs.common.validation import Line
from services.gateway.api.deps import StateDep, require
from services.gateway.service import Principal, actor_of

router = APIRouter(tags=["reads"])

Corrector = Annotated[Principal, require("reads:correct")]
MIN_REASON = 20


class CorrectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: Line = Field(min_length=1, max_length=15, examples=["8ABC128"])
    state: Line | None = Field(default=None, max_length=3, examples=["CA"])
    reason: str = Field(max_length=2000, examples=["Image shows the last character is 8, the reader gave B"])


@router.post("/v1/reads/{read_id}/corrections", status_code=201, response_model=CorrectionReply)
async def correct_read(
    read_id: str, body: CorrectionBody, principal: Corrector, request: Request, rt: StateDep
) -> CorrectionReply:
    """A new version of the read with the corrected plate; the original stays, linked by `supersedes`."""
    if len(body.reason.strip()) < MIN_REASON:
        raise InvalidInput(f"say what the image shows, in at least {MIN_REASON} characters", code="reason_too_short")
    record = AuditEvent(
        event_type=EventType.READ_CORRECTION,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"reason": body.reason},
    )
    correction = CorrectionRequest(
        read_id=read_id,
        plate=body.plate,
        state=body.state,
        reason=body.reason,
        corrected_by=principal.person.sub,
        audit=record,
    )
    # records commits the new version only once this record is persisted
    return await rt.bus.call(CORRECTION_CREATE, correction, timeout=CHANGE_TIMEOUT_S)
