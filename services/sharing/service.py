"""Sharing rules over the pure core: rows to agreements and back, and whether a token still stands."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from pydantic import ValidationError

from libs.common.contracts.sharing import (
    AgreementTerms,
    AgreementView,
    PartnerCredentials,
    PartnerView,
    ProposalView,
    StaffActor,
)
from libs.common.errors import Forbidden, InvalidInput, Unauthenticated
from services.sharing.models import AgreementRow, ClientRow, PartnerRow, ProposalRow
from services.sharing.oauth.client_auth import OAuthClient
from services.sharing.partners.agreements import Agreement, Scope, effective_status, is_in_force
from services.sharing.partners.approvals import Actor, AgreementProposal, partner_facts
from services.sharing.partners.eligibility import PartnerAgency, validate_partner

# One answer for every token that does not stand, so a partner learns nothing from which check failed.
TOKEN_REFUSED = "The access token is not valid"


def token_refused() -> Unauthenticated:
    """The uniform refusal of a partner token (RFC 6750 `invalid_token`)."""
    return Unauthenticated(TOKEN_REFUSED, code="invalid_token")


def actor_of(staff: StaffActor) -> Actor:
    return Actor(subject=staff.sub, name=staff.name, roles=frozenset(staff.roles))


def require_role(staff: StaffActor, role: str) -> None:
    """Sharing checks the role again: the gateway's permission check is not the only guard."""
    if role not in staff.roles:
        raise Forbidden(f"Only the {role} may do this", code=f"not_{role}")


def partner_of(row: PartnerRow) -> PartnerAgency:
    return validate_partner(row.ori, row.name, row.kind, row.state)


def partner_view(row: PartnerRow) -> PartnerView:
    assert row.created_at is not None
    return PartnerView(ori=row.ori, name=row.name, kind=row.kind, created_by=row.created_by, created_at=row.created_at)


def agreement_of(row: AgreementRow) -> Agreement:
    """The stored version as the validated agreement the rules take (the row's columns are its fields)."""
    return Agreement.model_validate(row.model_dump())


def agreement_row(agreement: Agreement) -> AgreementRow:
    """The agreement as the row that stores it (scopes and uses sorted)."""
    return AgreementRow(**agreement.model_dump())


def agreement_view(agreement: Agreement, now: datetime) -> AgreementView:
    body = agreement.model_dump(mode="json")
    return AgreementView.model_validate({**body, "status": effective_status(agreement, now).value})


def draft_of(terms: AgreementTerms) -> Agreement:
    """The proposed agreement; a new one gets an id of its own."""
    try:
        return Agreement(
            id=terms.id or f"IAA-{uuid.uuid4().hex[:12].upper()}",
            partner_ori=terms.partner_ori.strip().upper(),
            document_ref=terms.document_ref,
            document_sha256=terms.document_sha256,
            effective_from=terms.effective_from,
            expires_at=terms.expires_at,
            scopes=frozenset(terms.scopes),  # type: ignore[arg-type]
            allowed_uses=frozenset(terms.allowed_uses),  # type: ignore[arg-type]
            max_lookback_days=terms.max_lookback_days,
            case_number_pattern=terms.case_number_pattern,
        )
    except ValidationError as err:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in err.errors()})
        raise InvalidInput("The agreement's terms are not valid", code="invalid_agreement", fields=fields) from None


def proposal_row(proposal: AgreementProposal, partner: PartnerAgency) -> ProposalRow:
    return ProposalRow(
        id=proposal.id,
        action=proposal.action.value,
        agreement_id=proposal.agreement_id,
        before=proposal.before.model_dump(mode="json") if proposal.before else None,
        after=proposal.after.model_dump(mode="json"),
        reason=proposal.reason,
        proposed_by=proposal.proposed_by.subject,
        proposed_by_actor=proposal.proposed_by.model_dump(mode="json"),
        proposed_at=proposal.proposed_at,
        partner=partner_facts(partner),
    )


def proposal_of(row: ProposalRow) -> AgreementProposal:
    return AgreementProposal.model_validate(
        {
            "id": row.id,
            "action": row.action,
            "agreement_id": row.agreement_id,
            "before": row.before,
            "after": row.after,
            "reason": row.reason,
            "proposed_by": row.proposed_by_actor,
            "proposed_at": row.proposed_at,
        }
    )


def proposal_view(row: ProposalRow) -> ProposalView:
    """A proposal with what the custodian decides on: the agency's kind and ORI, the document and its digest."""
    document = {"document_ref": row.after.get("document_ref"), "document_sha256": row.after.get("document_sha256")}
    return ProposalView.model_validate({**row.model_dump(), **document})


def client_of(row: ClientRow | None) -> OAuthClient | None:
    if row is None:
        return None
    return OAuthClient.model_validate(
        row.model_dump(include={"client_id", "agreement_id", "auth_method", "secret_hash", "public_jwk", "active"})
    )


def new_client_id() -> str:
    return f"cl-{secrets.token_hex(8)}"


def standing_agreement(
    credentials: PartnerCredentials, client: ClientRow | None, row: AgreementRow | None, now: datetime
) -> Agreement:
    """The agreement a token names, if the token still stands: client active and agreement in force."""
    if client is None or not client.active or client.agreement_id != credentials.agreement_id or row is None:
        raise token_refused()
    agreement = agreement_of(row)
    if not is_in_force(agreement, now):
        raise token_refused()
    return agreement


def require_scope(agreement: Agreement, credentials: PartnerCredentials, scope: Scope) -> None:
    """Both the agreement and the token must grant the scope."""
    if scope not in agreement.scopes or scope.value not in credentials.scopes:
        raise Forbidden(f"The agreement does not grant {scope.value}", code="scope_not_granted")
