"""Sharing tables as SQLModel classes; constraints live in migrations/."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TEXT
from sqlmodel import Field, SQLModel


def _when(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class PartnerRow(SQLModel, table=True):
    """A California public agency that may hold agreements."""

    __tablename__ = "partners"

    ori: str = Field(primary_key=True)
    name: str
    kind: str
    state: str = "CA"
    created_by: str
    created_at: datetime | None = _when(nullable=True)


class AgreementRow(SQLModel, table=True):
    """One version of an agreement; the live version is the one not superseded."""

    __tablename__ = "agreements"

    id: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    partner_ori: str
    document_ref: str
    document_sha256: str | None = None  # None only on versions made before digests were kept
    effective_from: datetime = _when()
    expires_at: datetime = _when()
    scopes: list[str] = Field(sa_column=Column(ARRAY(TEXT), nullable=False))
    allowed_uses: list[str] = Field(sa_column=Column(ARRAY(TEXT), nullable=False))
    max_lookback_days: int
    status: str
    case_number_pattern: str | None = None  # the partner's format; None: the department's


class ProposalRow(SQLModel, table=True):
    """A proposed creation, change or revocation, and the custodian's decision (approval or denial) once given."""

    __tablename__ = "agreement_proposals"

    id: str = Field(primary_key=True)
    action: str
    agreement_id: str
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB(none_as_null=True)))
    after: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    reason: str
    proposed_by: str
    proposed_by_actor: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # the partner as shown when proposed, then as the custodian approved it
    partner: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB(none_as_null=True)))
    proposed_at: datetime = _when()
    status: str = "pending"
    approved_by: str | None = None
    approved_at: datetime | None = _when(nullable=True)
    denied_by: str | None = None
    denied_at: datetime | None = _when(nullable=True)
    decision_reason: str | None = None  # the custodian's why, for an approval or a denial


class ClientRow(SQLModel, table=True):
    """A partner's OAuth client, bound to one agreement; secrets only as hashes."""

    __tablename__ = "oauth_clients"

    client_id: str = Field(primary_key=True)
    agreement_id: str
    auth_method: str
    secret_hash: str | None = None
    public_jwk: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB(none_as_null=True)))
    active: bool = True
    created_by: str


class LedgerRow(SQLModel, table=True):
    """One partner request and what it was given (C4)."""

    __tablename__ = "share_ledger"

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: str
    agreement_version: int | None = None
    partner_ori: str
    client_id: str | None = None
    action: str = "search"
    requester: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    on_behalf_of: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    purpose: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    query: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    result_ids: list[str] = Field(sa_column=Column(ARRAY(TEXT), nullable=False))
