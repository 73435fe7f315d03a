"""Hotlists: officers read lists, admins change them; every change is audited before it is answered.

A change carries its access record to records, which commits the change only once the record is persisted.
A look at a list's entries (plates, reasons, case numbers) is an access, recorded before it is answered (A1):
who checked whether a plate is wanted is on the record as a search is.
"""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import ConfigDict, Field
from starlette.datastructures import UploadFile

from libs.common.audit_trail import CHANGE_TIMEOUT_S
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.contracts.hotlists import (
    HOTLIST_ADD_ENTRY,
    HOTLIST_CREATE,
    HOTLIST_ENTRIES,
    HOTLIST_GET,
    HOTLIST_IMPORT,
    HOTLIST_IMPORT_PART,
    HOTLIST_LIST,
    HOTLIST_REMOVE_ENTRY,
    EntryLookup,
    EntryPage,
    EntryQuery,
    EntryRemoved,
    HotlistCreate,
    HotlistCreateRequest,
    HotlistImport,
    HotlistImportPart,
    HotlistListQuery,
    HotlistLookup,
    HotlistPage,
    HotlistSummary,
    ImportFormat,
    ImportResult,
    ManualEntryAdded,
    ManualEntryIn,
    VehicleFields,
)
from libs.common.errors import InvalidInput, PayloadTooLarge
from libs.common.validation import AwareInstant, Line
from services.gateway.api.deps import AuditDep, StateDep, require
from services.gateway.service import Principal, actor_of

router = APIRouter(tags=["hotlists"])

HotlistReader = Annotated[Principal, require("hotlists:read")]
HotlistWriter = Annotated[Principal, require("hotlists:write")]

MAX_FILE_BYTES = 256 * 2**20  # a full state extract of a million records is about 70 MiB
PART_BYTES = 4 * 2**20  # NATS carries 8 MB messages; a part travels base64-encoded


class ManualEntryBody(VehicleFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plate": "7ABC123",
                    "state": "CA",
                    "reason": "Stolen at knifepoint on Story Rd",
                    "case_number": "SJ-2026-004211",
                    "make": "HOND",
                    "model": "CIV",
                    "colour": "BLK",
                }
            ]
        },
    )

    plate: Line = Field(min_length=1, max_length=15, examples=["7ABC123"])
    state: Line | None = Field(default=None, max_length=3, examples=["CA"])
    expires_at: AwareInstant | None = Field(
        default=None, description="At most 30 days after entry; 30 days if absent; a later one is cut and reported"
    )


@router.get("/v1/hotlists", response_model=HotlistPage)
async def list_hotlists(principal: HotlistReader, rt: StateDep) -> HotlistPage:
    """Every list with its active entry count, last refresh and E4 staleness."""
    return await rt.bus.call(HOTLIST_LIST, HotlistListQuery())


@router.get("/v1/hotlists/{hotlist_id}", response_model=HotlistSummary)
async def get_hotlist(hotlist_id: str, principal: HotlistReader, rt: StateDep) -> HotlistSummary:
    return await rt.bus.call(HOTLIST_GET, HotlistLookup(hotlist_id=hotlist_id))


@router.get("/v1/hotlists/{hotlist_id}/entries", response_model=EntryPage)
async def list_entries(
    hotlist_id: str,
    principal: HotlistReader,
    request: Request,
    rt: StateDep,
    audit: AuditDep,
    plate: str | None = None,
    include_expired: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: int | None = None,
) -> EntryPage:
    """A page of a list's entries; answered only once its access record is persisted (no record, no data)."""
    query = EntryQuery(
        hotlist_id=hotlist_id, plate=plate, include_expired=include_expired, limit=limit, after_entry_id=after
    )
    page = await rt.bus.call(HOTLIST_ENTRIES, query)
    asked = {"hotlist_id": hotlist_id, "plate": plate, "include_expired": include_expired, "after": after}
    viewed = AuditEvent(
        event_type=EventType.HOTLIST_VIEW,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        query={k: v for k, v in asked.items() if v is not None},
        result_count=len(page.entries),
        result_ids=[str(entry.entry_id) for entry in page.entries],
        details={"route": "hotlist_entries", "action": "view"},
    )
    await rt.tally.record_and_count(audit, viewed)
    return page


@router.post("/v1/hotlists", response_model=HotlistSummary, status_code=201)
async def create_hotlist(
    body: HotlistCreate, principal: HotlistWriter, request: Request, rt: StateDep
) -> HotlistSummary:
    """A new list (not a partner's: those arrive through sharing)."""
    record = _record(principal, request, "create_list", body.model_dump(mode="json"))
    asked = HotlistCreateRequest(**body.model_dump(), audit=record)
    return await rt.bus.call(HOTLIST_CREATE, asked, timeout=CHANGE_TIMEOUT_S)


@router.post("/v1/hotlists/{hotlist_id}/entries", response_model=ManualEntryAdded, status_code=201)
async def add_entry(
    hotlist_id: str,
    body: ManualEntryBody,
    principal: HotlistWriter,
    request: Request,
    rt: StateDep,
) -> ManualEntryAdded:
    """A manual entry; it expires within 30 days (B4): a later expiry asked for is cut, and the answer says so
    (`expiry_clamped`, with `requested_expires_at` beside the `expires_at` it got)."""
    entry_in = ManualEntryIn.model_validate(
        {
            **body.model_dump(),
            "hotlist_id": hotlist_id,
            "entered_by": principal.person.sub,
            "audit": _record(principal, request, "add_entry", {}),
        }
    )
    return await rt.bus.call(HOTLIST_ADD_ENTRY, entry_in, timeout=CHANGE_TIMEOUT_S)


@router.delete("/v1/hotlists/{hotlist_id}/entries/{entry_id}", response_model=EntryRemoved)
async def remove_entry(
    hotlist_id: str, entry_id: int, principal: HotlistWriter, request: Request, rt: StateDep
) -> EntryRemoved:
    record = _record(principal, request, "remove_entry", {})
    lookup = EntryLookup(hotlist_id=hotlist_id, entry_id=entry_id, audit=record)
    return await rt.bus.call(HOTLIST_REMOVE_ENTRY, lookup, timeout=CHANGE_TIMEOUT_S)


_FILE_BODY = {
    "required": True,
    "content": {
        "text/plain": {"schema": {"type": "string"}, "example": "plate,state,reason\n7ABC123,CA,stolen\n"},
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
            "example": {"file": "VEHEXTRT.txt"},
        },
    },
}


@router.post(
    "/v1/hotlists/{hotlist_id}/imports", response_model=ImportResult, openapi_extra={"requestBody": _FILE_BODY}
)
async def import_file(
    hotlist_id: str,
    principal: HotlistWriter,
    request: Request,
    rt: StateDep,
    mode: Literal["replace", "add", "remove"] = "replace",
    fmt: Annotated[ImportFormat | None, Query(alias="format")] = None,
    time_zone: str = "America/Los_Angeles",
) -> ImportResult:
    """Upload an NCIC, CA DOJ CLEW, Genetec or CSV file (raw body or multipart `file`)."""
    content = await _file_of(request)
    *leading, last = _parts(content)
    upload_id = str(uuid.uuid4()) if leading else None
    for number, part in enumerate(leading):
        chunk = HotlistImportPart(
            upload_id=upload_id or "", hotlist_id=hotlist_id, part=number, content_b64=base64.b64encode(part).decode()
        )
        await rt.bus.call(HOTLIST_IMPORT_PART, chunk, timeout=30.0)
    command = HotlistImport(
        hotlist_id=hotlist_id,
        content_b64=base64.b64encode(last).decode(),
        upload_id=upload_id,
        format=fmt,
        mode=mode,
        time_zone=time_zone,
        audit=_record(principal, request, "import", {"mode": mode, "bytes": len(content)}),
    )
    return await rt.bus.call(HOTLIST_IMPORT, command, timeout=600.0)


def _parts(content: bytes) -> list[bytes]:
    """The file cut after a line end into parts of at most PART_BYTES, so each fits one message."""
    parts = []
    while len(content) > PART_BYTES:
        cut = content.rfind(b"\n", 0, PART_BYTES) + 1 or PART_BYTES
        parts.append(content[:cut])
        content = content[cut:]
    return [*parts, content] if content else parts


async def _file_of(request: Request) -> bytes:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("send the list as the multipart field `file`", code="hotlist_file_missing")
        content = await upload.read()
    else:
        content = await request.body()
    if not content:
        raise InvalidInput("the file is empty", code="hotlist_file_missing")
    if len(content) > MAX_FILE_BYTES:
        raise PayloadTooLarge("a hotlist file may be 256 MiB at most", code="hotlist_file_too_large")
    return content


def _record(principal: Principal, request: Request, action: str, details: dict[str, Any]) -> AuditEvent:
    """HOTLIST_CHANGE with who and what was asked; records adds the list, the plate and what changed."""
    return AuditEvent(
        event_type=EventType.HOTLIST_CHANGE,
        actor=actor_of(principal),
        client_address=request.client.host if request.client else None,
        details={"action": action, **details},
    )
