"""Inter-agency agreements: their terms, their status over time, and what a partner search may cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, model_validator

from libs.common.case_numbers import pattern_problem
from libs.common.contracts.purpose import AuthorizedUse
from libs.common.errors import Forbidden, InvalidInput

# Retention is at most 365 days, so no agreement can reach further back than that.
MAX_LOOKBACK_DAYS = 365


class Scope(StrEnum):
    READS_SEARCH = "reads:search"
    HOTLISTS_READ = "hotlists:read"
    HOTLISTS_WRITE = "hotlists:write"


class AgreementStatus(StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class ChangeAction(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    REVOKE = "revoke"


class Agreement(BaseModel):
    """One version of an inter-agency agreement; a change makes a new version and supersedes the old."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    version: int = Field(default=1, ge=1)
    partner_ori: str = Field(pattern=r"^[A-Z]{2}[A-Z0-9]{7}$")
    document_ref: str = Field(min_length=1, max_length=256)
    # SHA-256 of the signed document, so the custodian approves the text both chiefs signed (C3); None
    # only on versions made before digests were kept, which no new proposal may copy.
    document_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    effective_from: AwareDatetime
    expires_at: AwareDatetime
    scopes: frozenset[Scope] = Field(min_length=1)
    allowed_uses: frozenset[AuthorizedUse] = Field(min_length=1)
    max_lookback_days: int = Field(ge=1, le=MAX_LOOKBACK_DAYS)
    status: AgreementStatus = AgreementStatus.PROPOSED
    # the partner agency's case-number format; None means the department's (ALPR_CASE_NUMBER_PATTERN)
    case_number_pattern: str | None = None

    @model_validator(mode="after")
    def _check_dates(self) -> Agreement:
        if self.expires_at <= self.effective_from:
            raise ValueError("expires_at must come after effective_from")
        return self

    @model_validator(mode="after")
    def _usable_case_number_pattern(self) -> Agreement:
        problem = self.case_number_pattern is not None and pattern_problem(self.case_number_pattern)
        if problem:
            raise ValueError(f"case_number_pattern: {problem}")
        return self

    @field_serializer("scopes", "allowed_uses")
    def _sorted(self, values: frozenset[str]) -> list[str]:
        return sorted(values)


@dataclass(frozen=True, slots=True)
class SearchWindow:
    """The time range a partner search may cover, after the agreement has narrowed it."""

    since: datetime
    until: datetime
    narrowed: bool


def is_in_force(agreement: Agreement, now: datetime) -> bool:
    """Whether the agreement is approved, not revoked or superseded, and within its dates."""
    return agreement.status is AgreementStatus.ACTIVE and agreement.effective_from <= now < agreement.expires_at


def effective_status(agreement: Agreement, now: datetime) -> AgreementStatus:
    """The status as of now: an active agreement past its expiry reads as expired."""
    if agreement.status is AgreementStatus.ACTIVE and now >= agreement.expires_at:
        return AgreementStatus.EXPIRED
    return agreement.status


def authorize_partner_search(
    agreement: Agreement,
    *,
    scope: Scope | str,
    use: AuthorizedUse | str,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
    token_scopes: frozenset[str] | None = None,
) -> SearchWindow:
    """Refuse what the agreement does not allow; narrow the window to its look-back and to now."""
    if not is_in_force(agreement, now):
        raise Forbidden("The agreement is not in force", code="agreement_inactive")
    if scope not in agreement.scopes or (token_scopes is not None and scope not in token_scopes):
        raise Forbidden(f"The agreement does not grant {scope}", code="scope_not_granted")
    if use not in agreement.allowed_uses:
        raise Forbidden(f"The agreement does not allow the use {use}", code="use_not_allowed")
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput("Times must carry a time zone", code="naive_datetime")
    earliest = now - timedelta(days=agreement.max_lookback_days)
    start = max(since, earliest) if since is not None else earliest
    end = min(until, now) if until is not None else now
    # until defaults to now: a window starting in the future finds nothing, and is refused before it is counted
    if since is not None and since > end:
        raise InvalidInput("since comes after until (or after now)", code="invalid_window", field="since")
    if end < earliest:
        raise Forbidden("The window lies beyond the agreement's look-back", code="lookback_exceeded")
    return SearchWindow(since=start, until=end, narrowed=(start, end) != (since, until))
