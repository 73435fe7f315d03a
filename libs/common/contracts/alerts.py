"""Alerts: what records publishes on ALERTS and answers on its `ALERT_*` endpoints (declared at the end).

Stream: `alpr.alerts.<agency>` carries one `AlertMessage` per alert, `Nats-Msg-Id` = the alert id.
An alert is one per read and listed plate: `entry` is the primary entry, `entries` every entry listing the plate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, computed_field, model_validator

from libs.common.contracts.audit import RecordedRequest
from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.contracts.reads import Candidate
from libs.common.endpoint import Endpoint

STALE_NOTICE = "stale — do not act"

MatchTypeName = Literal["exact", "lookalike", "wildcard"]
AlertStatus = Literal["pending", "investigate_only", "confirmed", "closed"]
# E3: every alert ends with one of these
DispositionCode = Literal["confirmed", "misread", "wrong_state", "vehicle_mismatch", "stale_hotlist", "not_located"]


class HotlistEntrySnapshot(BaseModel):
    """The entry as it stood when the alert was raised."""

    entry_id: int
    hotlist_id: str
    hotlist_name: str
    source: str
    plate: str
    state: str | None = None
    ncic_record_type: str | None = None
    reason: str | None = None
    case_number: str | None = None
    nic: str | None = None
    ori: str | None = None
    vehicle_year: int | None = None
    make: str | None = None
    model: str | None = None
    style: str | None = None
    colour: str | None = None
    priority: int = 50
    entered_at: datetime
    refreshed_at: datetime
    expires_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def purpose(self) -> Purpose:
        """Why the vehicle is sought: every view of the alert is an access under this purpose (A1)."""
        use = _USE_BY_RECORD_TYPE.get(self.ncic_record_type or "") or _USE_BY_SOURCE.get(self.source, _USE_DEFAULT)
        try:
            return Purpose(
                use=use,
                case_number=self.case_number or self.nic or f"entry {self.entry_id}",
                reason=self.reason or self.hotlist_name,
            )
        except ValidationError:  # an older entry's text that a purpose may not carry: named by its ids instead
            return Purpose(use=use, case_number=f"entry {self.entry_id}", reason=f"hotlist {self.hotlist_id}")


# The policy's use that an entry serves, from its NCIC record type (the first letter of the NIC) or its list's
# source; anything else is a vehicle sought in an investigation (use 1).
_USE_BY_RECORD_TYPE = {
    "A": AuthorizedUse.AT_RISK_MISSING_PERSON,
    "M": AuthorizedUse.AT_RISK_MISSING_PERSON,
    "F": AuthorizedUse.WANTED_SUSPECT,
    "L": AuthorizedUse.WANTED_SUSPECT,
    "W": AuthorizedUse.WANTED_SUSPECT,
    "H": AuthorizedUse.VIOLENT_CRIME_WITNESS_OR_VICTIM,
}
_USE_BY_SOURCE = {
    "ca_doj_felony_vehicle": AuthorizedUse.WANTED_SUSPECT,
    "partner": AuthorizedUse.MULTI_AGENCY_CRIMINAL_INVESTIGATION,
}
_USE_DEFAULT = AuthorizedUse.STOLEN_OR_WANTED_VEHICLE


class ImageRef(BaseModel):
    kind: str
    href: str  # gateway path; fetching it is an audited view


class AlertMessage(BaseModel):
    """E1: everything an officer needs to judge a hit, and E4's stale marking."""

    alert_id: str
    raised_at: datetime
    read_id: str
    captured_at: datetime
    agency: str
    camera_id: str
    latitude: float | None = None
    longitude: float | None = None
    read_plate: str | None = None  # the vendor's text
    read_state: str | None = None
    confidence: float | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    our_plate: str | None = None
    our_confidence: float | None = None
    our_candidates: list[Candidate] = Field(default_factory=list)
    images: list[ImageRef] = Field(default_factory=list)
    match_type: MatchTypeName
    matched_text: str
    matched_origin: str  # vendor, ours, candidate, or correction (an officer's, from the image)
    state_mismatch: bool
    entry: HotlistEntrySnapshot  # the primary entry: highest priority (lowest number), then earliest entered
    # every entry listing the plate, the primary first; each view is recorded under each one's purpose
    entries: list[HotlistEntrySnapshot] = Field(default_factory=list)
    entry_age_s: float  # from the entry's entry into the list to the alert
    list_refreshed_at: datetime | None = None
    stale: bool = False
    notice: str | None = None  # STALE_NOTICE when the list is stale
    # the camera's vehicle clearly differs from the primary entry's (services/records/alerts/vehicle_check.py):
    # a flag for the officer's verification, never an acceptance or a rejection
    vehicle_differs: bool = False
    vehicle_note: str | None = None  # "list says white Toyota sedan, camera saw red Ford pickup"

    @model_validator(mode="after")
    def _entries_hold_the_primary(self) -> AlertMessage:
        # an alert stored before alerts grouped entries names one entry only
        if not self.entries:
            self.entries = [self.entry]
        return self


class Verification(BaseModel):
    """E2: what the officer saw, character by character, against the image and the vehicle."""

    verification_id: str
    officer_sub: str
    verified_at: datetime
    plate_seen: str
    state_seen: str | None
    vehicle_matches: bool
    other_source_checked: bool
    character_mismatches: list[int]  # 0-based positions where the officer's plate differs
    state_agrees: bool
    outcome: Literal["confirmed", "investigate_only"]
    # why the outcome is investigate_only (no_image, lookalike_match, stale_list, character_mismatch, ...)
    reasons: list[str] = Field(default_factory=list)
    image_view_id: str | None = None  # the officer's view of the image this check relied on
    notes: str | None = None


class Reopening(BaseModel):
    """A supervisor's return of an investigate-only alert to pending, with the reason."""

    reopening_id: str
    supervisor_sub: str
    reopened_at: datetime
    reason: str


class Alert(AlertMessage):
    status: AlertStatus = "pending"
    disposition: DispositionCode | None = None
    disposed_at: datetime | None = None
    disposed_by: str | None = None
    verifications: list[Verification] = Field(default_factory=list)
    reopenings: list[Reopening] = Field(default_factory=list)


class AlertQuery(BaseModel):
    status: AlertStatus | None = None
    since: datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)


class AlertPage(BaseModel):
    alerts: list[Alert]


class AlertLookup(BaseModel):
    alert_id: str


class VerificationIn(RecordedRequest):
    """The officer's check: the plate as read from the image, the state seen, the vehicle description."""

    alert_id: str
    officer_sub: str
    plate_seen: str = Field(min_length=1, max_length=15)
    state_seen: str | None = Field(default=None, max_length=3)
    vehicle_matches: bool
    other_source_checked: bool = False
    notes: str | None = Field(default=None, max_length=2000)


class AlertImageViewed(BaseModel):
    """The gateway tells records of an officer's look at an alert's image, once its records are persisted."""

    alert_id: str
    officer_sub: str
    event_ids: list[str] = Field(min_length=1, max_length=100)  # the image_view records, the primary entry's first
    image_kind: str


class ImageViewStored(BaseModel):
    view_id: str


class ReopeningIn(RecordedRequest):
    """A supervisor sends an investigate-only alert back to pending; the reason is kept and recorded."""

    alert_id: str
    supervisor_sub: str
    reason: str = Field(min_length=1, max_length=2000)


class DispositionIn(RecordedRequest):
    alert_id: str
    officer_sub: str
    code: DispositionCode
    notes: str | None = Field(default=None, max_length=2000)


class FiguresQuery(BaseModel):
    since: datetime | None = None


class AlertFigures(BaseModel):
    """Counts for the accuracy figures: alerts by match type and by disposition, misreads among them."""

    alerts: int
    by_match_type: dict[str, int]
    by_disposition: dict[str, int]
    misreads: int
    pending: int


# records answers these in queue group `records`; the gateway asks
ALERT_LIST = Endpoint("alpr.records.alerts.list", AlertQuery, AlertPage, queue="records")
ALERT_GET = Endpoint("alpr.records.alerts.get", AlertLookup, Alert, queue="records")
ALERT_IMAGE_VIEWED = Endpoint("alpr.records.alerts.image_viewed", AlertImageViewed, ImageViewStored, queue="records")
ALERT_VERIFY = Endpoint("alpr.records.alerts.verify", VerificationIn, Alert, queue="records")
ALERT_REOPEN = Endpoint("alpr.records.alerts.reopen", ReopeningIn, Alert, queue="records")
ALERT_DISPOSE = Endpoint("alpr.records.alerts.dispose", DispositionIn, Alert, queue="records")
ALERT_FIGURES = Endpoint("alpr.records.alerts.figures", FiguresQuery, AlertFigures, queue="records")
