"""Corrections (G3): a person who checked the image corrects a misread; a new version, audited.

"Checked the image" is on the record, not taken on trust: the correction names the access record of this
person's look at this read's image (`X-Image-View-Id` of `GET /v1/reads/{id}/image`, or of
`GET /v1/alerts/{id}/image` for the alert's read), or it is refused. Without that, anyone allowed to correct
could move a sighting onto any plate without having seen the vehicle.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionReply, CorrectionRequest
from libs.common.errors import Forbidden, InvalidInput
from libs.common.validation import Line
from services.gateway.api.deps import StateDep, require
from services.gateway.api.own_records import own_record_naming
from services.gateway.service import Principal, actor_of
from services.gateway.state import GatewayState

router = APIRouter(tags=["reads"])

Corrector = Annotated[Principal, require("reads:correct")]
MIN_REASON = 20


class CorrectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: Line = Field(min_length=1, max_length=15, examples=["8ABC128"])
    state: Line | None = Field(default=None, max_length=3, examples=["CA"])
    reason: str = Field(max_length=2000, examples=["Image shows the last character is 8, the reader gave B"])
    image_view_id: Line = Field(
        max_length=64,
        description="X-Image-View-Id of your look at this read's image (GET /v1/reads/{read_id}/image, or the "
        "alert's image for the alert's read)",
        examples=["0b6f3c1e-3d0e-4e43-9d57-2f4f0f7f6a11"],
    )


@router.post("/v1/reads/{read_id}/corrections", status_code=201, response_model=CorrectionReply)
async def correct_read(
    read_id: str, body: CorrectionBody, principal: Corrector, request: Request, rt: StateDep
) -> CorrectionReply:
    """A new version of the read with the corrected plate; the original stays, linked by `supersedes`."""
    if len(body.reason.strip()) < MIN_REASON:
        raise InvalidInput(f"say what the image shows, in at least {MIN_REASON} characters", code="reason_too_short")
    await _check_image_view(rt, principal, read_id, body.image_view_id)
    record = AuditEvent(
        event_type=EventType.READ_CORRECTION,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"reason": body.reason, "image_view_id": body.image_view_id},
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


async def _check_image_view(rt: GatewayState, principal: Principal, read_id: str, view_id: str) -> None:
    """The named record is this person's view of this read's image; anything else (no such record, another
    person's, another read's, a search) is refused alike, fail closed."""
    if await own_record_naming(rt, principal, view_id, read_id, EventType.IMAGE_VIEW) is None:
        raise Forbidden("look at this read's image before correcting it", code="image_not_viewed")
