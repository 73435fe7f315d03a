"""A hotlist entry as imported or entered, and the expiry every entry must carry (B4, C5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from libs.common.contracts.search import MIN_KNOWN_PARTIAL, known_characters
from libs.common.errors import InvalidInput

WILDCARDS = frozenset("*?")
_ENTRY_PLATE = re.compile(r"^[A-Z0-9*?]{1,15}$")
_STATE = re.compile(r"^[A-Z]{2,3}$")

EntryId = int | str  # the id a stored entry is indexed and reported under

MANUAL_TTL_CEILING = timedelta(days=30)  # B4: a manual entry lives 30 days at most
PARTNER_TTL = timedelta(hours=24)  # C5: partner entries lapse 24 h after their last refresh


class HotlistSource(StrEnum):
    CA_DOJ_STOLEN_VEHICLE = "ca_doj_stolen_vehicle"
    CA_DOJ_FELONY_VEHICLE = "ca_doj_felony_vehicle"
    CA_DOJ_STOLEN_PLATE = "ca_doj_stolen_plate"
    NCIC = "ncic"
    PARTNER = "partner"
    MANUAL = "manual"


@dataclass(frozen=True)
class ExpiryPolicy:
    """How long entries live; settings may shorten the requirement ceilings, never lift or unset them."""

    manual_ttl: timedelta = MANUAL_TTL_CEILING
    # State feeds are full extracts refreshed daily; a feed that stops for a week lapses rather than
    # hitting forever (E4 flags the list as stale after 24 h long before that).
    feed_ttl: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.manual_ttl <= MANUAL_TTL_CEILING:
            raise InvalidInput("manual entries must expire within 30 days", code="bad_manual_ttl")
        if self.feed_ttl <= timedelta(0):
            raise InvalidInput("feed entries must expire", code="bad_feed_ttl")


DEFAULT_EXPIRY_POLICY = ExpiryPolicy()


def compute_expiry(
    source: HotlistSource,
    *,
    entered_at: datetime,
    refreshed_at: datetime,
    requested: datetime | None = None,
    policy: ExpiryPolicy = DEFAULT_EXPIRY_POLICY,
) -> datetime:
    """The expiry of an entry: the requested one, capped by the rule of its source; never unset."""
    if source is HotlistSource.MANUAL:
        cap = entered_at + policy.manual_ttl
    elif source is HotlistSource.PARTNER:
        cap = refreshed_at + PARTNER_TTL
    else:
        cap = refreshed_at + policy.feed_ttl
    return cap if requested is None else min(requested, cap)


class HotlistEntryIn(BaseModel):
    """One plate on a hotlist; `plate` is normalized and may hold wildcards (`*` any run, `?` one)."""

    model_config = ConfigDict(frozen=True)

    source: HotlistSource
    plate: str
    state: str | None = None  # two-letter issuing state or province, upper-case
    ncic_record_type: str | None = Field(default=None, max_length=1)
    reason: str | None = Field(default=None, max_length=1000)
    case_number: str | None = None
    nic: str | None = None
    ori: str | None = None
    vehicle_year: int | None = Field(default=None, ge=1900, le=2100)
    make: str | None = None
    model: str | None = None
    style: str | None = None
    colour: str | None = None
    priority: int = Field(default=50, ge=0, le=100)  # Genetec convention: 0 is the highest
    entered_at: datetime
    refreshed_at: datetime
    expires_at: datetime
    # what the admin or the file asked for, kept (never stored) so a cut to the ceiling is reported (B4)
    requested_expires_at: datetime | None = None

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        if not _ENTRY_PLATE.match(value) or set(value) <= WILDCARDS:
            raise ValueError("plate must be 1-15 of A-Z, 0-9, * and ? with at least one character")
        # the partial-search minimum: `7*` would match every plate that starts with a 7
        if not WILDCARDS.isdisjoint(value) and known_characters(value) < MIN_KNOWN_PARTIAL:
            raise PydanticCustomError(
                "wildcard_too_short",
                "a wildcard plate needs at least {known} known characters",
                {"known": MIN_KNOWN_PARTIAL},
            )
        return value

    @field_validator("state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        if value is not None and not _STATE.match(value):
            raise ValueError("state must be an upper-case region code")
        return value

    @field_validator("entered_at", "refreshed_at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times must carry a time zone")
        return value

    @model_validator(mode="after")
    def _within_source_ceiling(self) -> HotlistEntryIn:
        if self.source is HotlistSource.MANUAL and self.expires_at > self.entered_at + MANUAL_TTL_CEILING:
            raise ValueError("a manual entry expires within 30 days of entry")
        if self.source is HotlistSource.PARTNER and self.expires_at > self.refreshed_at + PARTNER_TTL:
            raise ValueError("a partner entry expires within 24 hours of its refresh")
        return self

    @property
    def expiry_clamped(self) -> bool:
        """Whether the expiry asked for was later than the source's rule allows, so it was cut."""
        return self.requested_expires_at is not None and self.expires_at < self.requested_expires_at

    @property
    def is_wildcard(self) -> bool:
        """Whether the plate is a pattern rather than a full plate."""
        return not WILDCARDS.isdisjoint(self.plate)
