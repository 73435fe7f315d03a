"""The two-person rule for agreements (C3): an admin proposes, the custodian approves or denies, all recorded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from libs.common.errors import Conflict, Forbidden, InvalidInput
from services.sharing.partners.agreements import Agreement, AgreementStatus, ChangeAction
from services.sharing.partners.eligibility import (
    PartnerAgency,
    normalize_ori,
    validate_partner,
)


class Actor(BaseModel):
    """A person acting on agreements, as the gateway's personnel registry knows them."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    name: str
    roles: frozenset[str]


class AgreementProposal(BaseModel):
    """A proposed creation, change or revocation, waiting for the custodian."""

    model_config = ConfigDict(frozen=True)

    id: str
    action: ChangeAction
    agreement_id: str
    before: Agreement | None
    after: Agreement
    reason: str
    proposed_by: Actor
    proposed_at: AwareDatetime


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """An approved proposal: who proposed and approved it, the before and after, and what to persist."""

    proposal_id: str
    action: ChangeAction
    agreement_id: str
    before: dict[str, Any] | None
    after: dict[str, Any]
    reason: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str
    approved_at: datetime
    agreement: Agreement
    superseded: Agreement | None
    partner: PartnerAgency  # as the custodian was shown it and approved it


def partner_facts(partner: PartnerAgency) -> dict[str, str]:
    """What the custodian is shown of the agency at approval, and what the decision keeps."""
    return {"ori": partner.ori, "name": partner.name, "kind": partner.kind.value, "state": partner.state}


def propose(
    proposer: Actor,
    draft: Agreement,
    *,
    partner: PartnerAgency,
    current: Agreement | None,
    now: datetime,
    reason: str,
) -> AgreementProposal:
    """An admin proposes a new agreement (no current version) or a change to the current one."""
    _require_admin(proposer)
    # Eligibility is checked again: the partner may have been registered under older rules.
    validate_partner(partner.ori, partner.name, partner.kind, partner.state)
    if normalize_ori(draft.partner_ori) != partner.ori:
        raise InvalidInput("The agreement names a different partner", code="partner_mismatch")
    if current is not None and (current.id != draft.id or current.partner_ori != draft.partner_ori):
        raise InvalidInput("A change keeps the agreement id and partner", code="partner_mismatch")
    _require_active(current)
    if draft.expires_at <= now:
        raise InvalidInput("The agreement would already be expired", code="agreement_already_expired")
    _require_digest(draft)
    action = ChangeAction.CREATE if current is None else ChangeAction.CHANGE
    after = draft.model_copy(update={"status": AgreementStatus.PROPOSED, "partner_ori": partner.ori})
    return _proposal(proposer, action, current, after, now=now, reason=reason)


def propose_revocation(proposer: Actor, current: Agreement, *, now: datetime, reason: str) -> AgreementProposal:
    """An admin proposes ending an agreement before its expiry."""
    _require_admin(proposer)
    _require_active(current)
    after = current.model_copy(update={"status": AgreementStatus.REVOKED})
    return _proposal(proposer, ChangeAction.REVOKE, current, after, now=now, reason=reason)


def approve(
    proposal: AgreementProposal,
    approver: Actor,
    *,
    partner: PartnerAgency,
    current: Agreement | None,
    now: datetime,
) -> ChangeRecord:
    """The custodian, who is not the proposer, approves; the result is a new version and its record.

    The partner is checked again under today's rules: it may have been entered under older ones.
    """
    _require_decider(proposal, approver)
    if _version_key(current) != _version_key(proposal.before):
        raise Conflict("The agreement changed since this was proposed", code="proposal_stale")
    after = proposal.after
    partner = validate_partner(partner.ori, partner.name, partner.kind, partner.state)
    if partner.ori != after.partner_ori:
        raise InvalidInput("The agreement names a different partner", code="partner_mismatch")
    if proposal.action is not ChangeAction.REVOKE:
        if after.expires_at <= now:
            raise InvalidInput("The agreement would already be expired", code="agreement_already_expired")
        _require_digest(after)
    status = AgreementStatus.REVOKED if proposal.action is ChangeAction.REVOKE else AgreementStatus.ACTIVE
    version = current.version + 1 if current is not None else 1
    agreement = after.model_copy(update={"status": status, "version": version})
    superseded = None
    if current is not None:
        superseded = current.model_copy(update={"status": AgreementStatus.SUPERSEDED})
    return ChangeRecord(
        proposal_id=proposal.id,
        action=proposal.action,
        agreement_id=agreement.id,
        before=current.model_dump(mode="json") if current is not None else None,
        after=agreement.model_dump(mode="json"),
        reason=proposal.reason,
        proposed_by=proposal.proposed_by.subject,
        proposed_at=proposal.proposed_at,
        approved_by=approver.subject,
        approved_at=now,
        agreement=agreement,
        superseded=superseded,
        partner=partner,
    )


def deny(proposal: AgreementProposal, approver: Actor, *, reason: str) -> str:
    """The custodian, who is not the proposer, denies; nothing changes but the proposal. The reason, trimmed."""
    _require_decider(proposal, approver)
    if not reason.strip():
        raise InvalidInput("A denial says why", code="reason_required")
    return reason.strip()


def _require_decider(proposal: AgreementProposal, approver: Actor) -> None:
    if "custodian" not in approver.roles:
        raise Forbidden("Only the custodian approves agreements", code="approver_not_custodian")
    if approver.subject == proposal.proposed_by.subject:
        raise Forbidden("The proposer cannot approve their own proposal", code="approver_is_proposer")


def _require_admin(proposer: Actor) -> None:
    if "admin" not in proposer.roles:
        raise Forbidden("Only an admin proposes agreement changes", code="proposer_not_admin")


def _require_digest(agreement: Agreement) -> None:
    if agreement.document_sha256 is None:
        raise InvalidInput("The signed document's SHA-256 is required", code="document_digest_required")


def _require_active(current: Agreement | None) -> None:
    # A revoked or superseded version is history; bringing a partner back takes a new agreement.
    if current is not None and current.status is not AgreementStatus.ACTIVE:
        raise Conflict("Only the active version of an agreement can change", code="agreement_not_active")


def _version_key(agreement: Agreement | None) -> tuple[str, int] | None:
    return (agreement.id, agreement.version) if agreement is not None else None


def _proposal(
    proposer: Actor,
    action: ChangeAction,
    before: Agreement | None,
    after: Agreement,
    *,
    now: datetime,
    reason: str,
) -> AgreementProposal:
    if not reason.strip():
        raise InvalidInput("A proposal says why", code="reason_required")
    return AgreementProposal(
        id=str(uuid.uuid4()),
        action=action,
        agreement_id=after.id,
        before=before,
        after=after,
        reason=reason.strip(),
        proposed_by=proposer,
        proposed_at=now,
    )
