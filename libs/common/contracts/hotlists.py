"""Hotlists between the gateway (or sharing) and records: lists, entries, imports and partner exchange.

Endpoints (request/reply, queue group `records`, declared at the end): `HOTLIST_*`, for the gateway, and
`HOTLIST_SHAREABLE` and `HOTLIST_PARTNER_UPSERT` for sharing.
Every records replica follows changes on core NATS `alpr.hotlists.changed` (`HotlistChanged`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from libs.common.contracts.audit import RecordedRequest
from libs.common.endpoint import Endpoint

HOTLISTS_CHANGED = "alpr.hotlists.changed"

HotlistSourceName = Literal[
    "ca_doj_stolen_vehicle", "ca_doj_felony_vehicle", "ca_doj_stolen_plate", "ncic", "partner", "manual"
]
ImportFormat = Literal["ncic_fixed", "ncic_comma", "ca_doj_clew", "genetec", "csv"]


class VehicleFields(BaseModel):
    """What a list says about the vehicle and the record, beyond plate and state."""

    ncic_record_type: str | None = Field(default=None, max_length=1)
    reason: str | None = Field(default=None, max_length=1000)
    case_number: str | None = Field(default=None, max_length=64)
    nic: str | None = Field(default=None, max_length=16)
    ori: str | None = Field(default=None, max_length=16)
    vehicle_year: int | None = Field(default=None, ge=1900, le=2100)
    make: str | None = Field(default=None, max_length=32)
    model: str | None = Field(default=None, max_length=32)
    style: str | None = Field(default=None, max_length=32)
    colour: str | None = Field(default=None, max_length=32)
    priority: int = Field(default=50, ge=0, le=100)  # 0 is the highest


class HotlistSummary(BaseModel):
    hotlist_id: str
    name: str
    source: HotlistSourceName
    description: str | None = None
    shareable: bool = False
    partner_ori: str | None = None
    agreement_id: str | None = None
    created_at: datetime
    refreshed_at: datetime | None = None  # the last full import or partner refresh
    stale: bool = False  # E4: a fed list not refreshed within 24 hours
    active_entries: int = 0


class HotlistCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "SJPD stolen vehicles", "source": "manual", "description": None, "shareable": True}]
        },
    )

    name: str = Field(min_length=1, max_length=120)
    source: HotlistSourceName
    description: str | None = Field(default=None, max_length=1000)
    shareable: bool = False  # whether partners under an agreement may receive its entries


class HotlistCreateRequest(HotlistCreate, RecordedRequest):
    """A new list as the gateway asks records for it, with the change's access record."""


class HotlistListQuery(BaseModel):
    """Asks for every list; it carries nothing."""


class HotlistLookup(BaseModel):
    hotlist_id: str


class HotlistPage(BaseModel):
    hotlists: list[HotlistSummary]


class HotlistEntry(VehicleFields):
    """A stored entry as records reports it."""

    entry_id: int
    hotlist_id: str
    source: HotlistSourceName
    plate: str
    state: str | None = None
    entered_at: datetime
    refreshed_at: datetime
    expires_at: datetime


class EntryQuery(BaseModel):
    hotlist_id: str
    plate: str | None = Field(default=None, max_length=15)
    include_expired: bool = False
    limit: int = Field(default=100, ge=1, le=1000)
    after_entry_id: int | None = None


class EntryPage(BaseModel):
    entries: list[HotlistEntry]
    next_after: int | None = None


class ManualEntryAdded(HotlistEntry):
    """A typed-in entry as stored, and whether its requested expiry was cut to the 30-day ceiling (B4)."""

    expiry_clamped: bool = False
    requested_expires_at: datetime | None = None  # as asked, when it was asked


class ManualEntryIn(VehicleFields, RecordedRequest):
    """An entry an admin types in; its expiry is capped at 30 days from entry (B4)."""

    hotlist_id: str
    plate: str = Field(min_length=1, max_length=15)
    state: str | None = Field(default=None, max_length=3)
    expires_at: datetime | None = None
    entered_by: str  # the person's subject, kept with the entry


class EntryLookup(RecordedRequest):
    hotlist_id: str
    entry_id: int


class EntryRemoved(BaseModel):
    hotlist_id: str
    entry_id: int
    plate: str


class HotlistImportPart(BaseModel):
    """A leading part of a file too large for one message; parts are joined, in order, by the import."""

    upload_id: str = Field(min_length=1, max_length=64)
    hotlist_id: str
    part: int = Field(ge=0)
    content_b64: str = Field(min_length=1)


class ImportPartReceived(BaseModel):
    upload_id: str
    part: int
    bytes: int


class HotlistImport(RecordedRequest):
    """A file to import: `replace` swaps the whole list atomically, `add` and `remove` apply a delta.

    With `upload_id`, the parts sent before (`alpr.records.hotlists.import_part`) come first, then this content.
    """

    hotlist_id: str
    content_b64: str = Field(min_length=1)
    upload_id: str | None = None
    format: ImportFormat | None = None  # detected from the content when absent
    mode: Literal["replace", "add", "remove"] = "replace"
    time_zone: str = "America/Los_Angeles"  # dates without a zone in the file


class RefusedLine(BaseModel):
    line_no: int
    code: str
    message: str
    text: str = ""


class ImportResult(BaseModel):
    hotlist_id: str
    format: ImportFormat | None
    mode: Literal["replace", "add", "remove"]
    accepted_lines: list[int]
    refused: list[RefusedLine]
    skipped_lines: list[int] = Field(default_factory=list)  # headers and footers
    expiries_clamped: list[int] = Field(default_factory=list)  # manual-list lines whose expiry was cut to 30 days
    added: int = 0
    refreshed: int = 0
    removed: int = 0
    applied: bool = True  # False when an incomplete file was refused as a replacement


class HotlistChanged(BaseModel):
    """Core NATS notice that a list changed; replicas read the changes from the database."""

    hotlist_id: str
    change_seq: int


class ShareableQuery(BaseModel):
    """What sharing asks for: our shareable entries, all of them or those changed since a time."""

    since: datetime | None = None


class ShareableEntry(VehicleFields):
    plate: str
    state: str | None = None
    source: HotlistSourceName
    entered_at: datetime
    refreshed_at: datetime
    expires_at: datetime


class ShareableList(BaseModel):
    """Our active shareable entries; `refreshed_at` is the oldest refresh of the lists they come from."""

    agency: str
    generated_at: datetime
    refreshed_at: datetime | None
    entries: list[ShareableEntry]


# Every entry on a partner's list raises alerts for our officers, so their wildcards are held tighter than
# our own lists' (3 known characters, no count): four known characters make a pattern match about one
# standard California plate in 10,000 rather than one in 1,000, and 25 such patterns (witness partials
# are a handful at a time) flag at most about 0.25% of reads and cost 25 regex tests a read, where
# `*000`…`*999` flagged every plate.
PARTNER_WILDCARD_MIN_KNOWN = 4
PARTNER_WILDCARDS_MAX = 25


class PartnerEntryIn(VehicleFields):
    """One entry of a partner agency's list; it expires 24 hours after `refreshed_at` (C5)."""

    model_config = ConfigDict(extra="forbid")  # a partner's misspelt field is refused, not dropped

    plate: str = Field(min_length=1, max_length=15)
    state: str | None = Field(default=None, max_length=3)
    refreshed_at: datetime
    entered_at: datetime | None = None


class PartnerUpsert(RecordedRequest):
    """A partner's whole list, replacing what records held for that partner."""

    partner_ori: str = Field(min_length=1, max_length=16)
    agreement_id: str = Field(min_length=1, max_length=64)
    partner_name: str | None = None
    entries: list[PartnerEntryIn]


class RefusedEntry(BaseModel):
    index: int
    code: str
    message: str


class PartnerUpsertReply(BaseModel):
    hotlist_id: str
    accepted: int
    refused: list[RefusedEntry]
    added: int
    refreshed: int
    removed: int


# records answers these in queue group `records`: the gateway asks for lists, entries and imports,
# sharing for what partners may receive and to store a partner's list
HOTLIST_LIST = Endpoint("alpr.records.hotlists.list", HotlistListQuery, HotlistPage, queue="records")
HOTLIST_GET = Endpoint("alpr.records.hotlists.get", HotlistLookup, HotlistSummary, queue="records")
HOTLIST_CREATE = Endpoint("alpr.records.hotlists.create", HotlistCreateRequest, HotlistSummary, queue="records")
HOTLIST_ENTRIES = Endpoint("alpr.records.hotlists.entries", EntryQuery, EntryPage, queue="records")
HOTLIST_ADD_ENTRY = Endpoint("alpr.records.hotlists.add_entry", ManualEntryIn, ManualEntryAdded, queue="records")
HOTLIST_REMOVE_ENTRY = Endpoint("alpr.records.hotlists.remove_entry", EntryLookup, EntryRemoved, queue="records")
HOTLIST_IMPORT_PART = Endpoint(
    "alpr.records.hotlists.import_part", HotlistImportPart, ImportPartReceived, queue="records"
)
HOTLIST_IMPORT = Endpoint("alpr.records.hotlists.import", HotlistImport, ImportResult, queue="records")
HOTLIST_SHAREABLE = Endpoint("alpr.records.hotlists.shareable", ShareableQuery, ShareableList, queue="records")
HOTLIST_PARTNER_UPSERT = Endpoint(
    "alpr.records.hotlists.partner_upsert", PartnerUpsert, PartnerUpsertReply, queue="records"
)
