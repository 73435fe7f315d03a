"""Staff requests over NATS: partners, agreement proposals and their decisions (C3), OAuth clients.

Each change commits only once its access record (built by the gateway, completed here) is persisted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts.sharing import (
    REVOKED_SUBJECT,
    AgreementHistory,
    AgreementList,
    AgreementLookup,
    ClientCreate,
    ClientView,
    DecideRequest,
    Empty,
    HotlistWriter,
    HotlistWriters,
    PartnerCreate,
    PartnerList,
    PartnerView,
    ProposalList,
    ProposalLookup,
    ProposalView,
    ProposeRequest,
    Revoked,
    RevokeRequest,
)
from libs.common.errors import Conflict, InvalidInput, NotFound
from services.sharing import repository
from services.sharing.models import ClientRow, PartnerRow
from services.sharing.oauth.client_assertion import validate_client_jwk
from services.sharing.oauth.client_secrets import hash_client_secret, new_client_secret
from services.sharing.partners.agreements import AgreementStatus, Scope, is_in_force
from services.sharing.partners.approvals import approve, deny, partner_facts, propose, propose_revocation
from services.sharing.partners.eligibility import PartnerAgency, validate_partner
from services.sharing.service import (
    actor_of,
    agreement_of,
    agreement_row,
    agreement_view,
    draft_of,
    new_client_id,
    partner_of,
    partner_view,
    proposal_of,
    proposal_row,
    proposal_view,
    require_role,
)


class AgreementDesk:
    """An admin enters partners and proposes; the custodian approves; every version is kept."""

    def __init__(self, changes: ChangeRecorder, bus: Bus) -> None:
        self.changes = changes
        self.uow = changes.uow
        self.bus = bus

    async def create_partner(self, request: PartnerCreate) -> PartnerView:
        """Enter a partner agency; the model refuses anything but a California public agency (C1, C7)."""
        require_role(request.actor, "admin")
        given = request.partner
        agency = validate_partner(given.ori, given.name, given.kind, given.state)
        async with self.changes(request.audit) as change:
            session = change.session
            if await repository.get_partner(session, ori=agency.ori) is not None:
                raise Conflict("This partner is already entered", code="partner_exists")
            row = PartnerRow(
                ori=agency.ori,
                name=agency.name,
                kind=agency.kind.value,
                state=agency.state,
                created_by=request.actor.sub,
                created_at=datetime.now(UTC),
            )
            await repository.save(session, row)
            view = partner_view(row)
            change.complete(details=_result(view))
        return view

    async def list_partners(self, _: Empty) -> PartnerList:
        async with self.uow() as session:
            return PartnerList(partners=[partner_view(r) for r in await repository.list_partners(session)])

    async def propose(self, request: ProposeRequest) -> ProposalView:
        """A new agreement, or a change to the live version of an existing one."""
        now = datetime.now(UTC)
        draft = draft_of(request.terms)
        async with self.changes(request.audit) as change:
            session = change.session
            partner = await repository.get_partner(session, ori=draft.partner_ori)
            if partner is None:
                raise NotFound("No such partner; enter the partner first", code="partner_not_found")
            current = None
            if request.terms.id is not None:
                row = await repository.current_agreement(session, agreement_id=request.terms.id)
                current = agreement_of(row) if row is not None else None
            agency = partner_of(partner)
            proposal = propose(
                actor_of(request.actor), draft, partner=agency, current=current, now=now, reason=request.reason
            )
            stored = proposal_row(proposal, agency)
            await repository.save(session, stored)
            view = proposal_view(stored)
            change.complete(details=_result(view))
        return view

    async def propose_revocation(self, request: RevokeRequest) -> ProposalView:
        """Ending an agreement early takes the same two people as making it."""
        async with self.changes(request.audit) as change:
            session = change.session
            row = await repository.current_agreement(session, agreement_id=request.agreement_id)
            if row is None:
                raise NotFound("No such agreement", code="agreement_not_found")
            partner = await _partner(session, row.partner_ori)
            proposal = propose_revocation(
                actor_of(request.actor), agreement_of(row), now=datetime.now(UTC), reason=request.reason
            )
            stored = proposal_row(proposal, partner)
            await repository.save(session, stored)
            view = proposal_view(stored)
            change.complete(details=_result(view))
        return view

    async def approve(self, request: DecideRequest) -> ProposalView:
        """The custodian decides; on approval the old version is superseded and the new one takes effect now."""
        now = datetime.now(UTC)
        async with self.changes(request.audit) as change:
            session = change.session
            stored = await repository.get_proposal(session, proposal_id=request.proposal_id, for_update=True)
            if stored is None:
                raise NotFound("No such proposal", code="proposal_not_found")
            if stored.status != "pending":
                raise Conflict("This proposal was already decided", code="proposal_decided")
            if not request.approve:
                reason = deny(proposal_of(stored), actor_of(request.actor), reason=request.reason or "")
                stored.status, stored.denied_by, stored.denied_at = "denied", request.actor.sub, now
                stored.decision_reason = reason
                await repository.save(session, stored)
                view = proposal_view(stored)
                change.complete(details=_result(view))
                return view
            row = await repository.current_agreement(session, agreement_id=stored.agreement_id, for_update=True)
            current = agreement_of(row) if row is not None else None
            proposal = proposal_of(stored)
            partner = await _partner(session, proposal.after.partner_ori)
            record = approve(proposal, actor_of(request.actor), partner=partner, current=current, now=now)
            if record.superseded is not None:
                await repository.supersede(
                    session, agreement_id=record.superseded.id, version=record.superseded.version
                )
            await repository.save(session, agreement_row(record.agreement))
            stored.status, stored.approved_by, stored.approved_at = "approved", record.approved_by, now
            stored.decision_reason = request.reason
            stored.before, stored.after = record.before, record.after
            stored.partner = partner_facts(record.partner)
            await repository.save(session, stored)
            view = proposal_view(stored)
            change.complete(details=_result(view))
        wrote = record.superseded is not None and Scope.HOTLISTS_WRITE in record.superseded.scopes
        if record.agreement.status is AgreementStatus.REVOKED or (
            wrote and Scope.HOTLISTS_WRITE not in record.agreement.scopes
        ):
            # Sharing refuses the agreement's tokens from the commit on; the notice is for caches elsewhere, and
            # tells records to withdraw the partner's list now (an agreement that no longer lets it write one too)
            notice = Revoked(agreement_id=record.agreement.id, at=now)
            await self.bus.nc.publish(REVOKED_SUBJECT, notice.model_dump_json().encode())
        return view

    async def history(self, request: AgreementLookup) -> AgreementHistory:
        """Every version of an agreement and every proposal made about it."""
        now = datetime.now(UTC)
        async with self.uow() as session:
            versions = await repository.agreement_versions(session, agreement_id=request.agreement_id)
            proposals = await repository.proposals_for(session, agreement_id=request.agreement_id)
        if not versions and not proposals:
            raise NotFound("No such agreement", code="agreement_not_found")
        return AgreementHistory(
            versions=[agreement_view(agreement_of(v), now) for v in versions],
            proposals=[proposal_view(p) for p in proposals],
        )

    async def proposal(self, request: ProposalLookup) -> ProposalView:
        """One proposal as the custodian decides on it: the agency's kind and ORI, the document's digest."""
        async with self.uow() as session:
            stored = await repository.get_proposal(session, proposal_id=request.proposal_id)
        if stored is None:
            raise NotFound("No such proposal", code="proposal_not_found")
        return proposal_view(stored)

    async def pending(self, _: Empty) -> ProposalList:
        """The proposals waiting for the custodian."""
        async with self.uow() as session:
            return ProposalList(proposals=[proposal_view(p) for p in await repository.pending_proposals(session)])

    async def list_agreements(self, _: Empty) -> AgreementList:
        now = datetime.now(UTC)
        async with self.uow() as session:
            rows = await repository.list_current_agreements(session)
        return AgreementList(agreements=[agreement_view(agreement_of(r), now) for r in rows])

    async def hotlist_writers(self, _: Empty) -> HotlistWriters:
        """The agreements in force now that grant `hotlists:write`: a partner's list stands only under one."""
        now = datetime.now(UTC)
        async with self.uow() as session:
            rows = await repository.list_current_agreements(session)
        agreements = [agreement_of(r) for r in rows]
        return HotlistWriters(
            as_of=now,
            writers=[
                HotlistWriter(agreement_id=a.id, partner_ori=a.partner_ori)
                for a in agreements
                if is_in_force(a, now) and Scope.HOTLISTS_WRITE in a.scopes
            ],
        )

    async def create_client(self, request: ClientCreate) -> ClientView:
        """An OAuth client for an agreement in force; a secret is shown once and kept only as a hash."""
        require_role(request.actor, "admin")
        now = datetime.now(UTC)
        secret = None
        public_jwk = None
        if request.auth_method == "client_secret_basic":
            secret = new_client_secret()
        elif request.public_jwk is None:
            raise InvalidInput("private_key_jwt needs the client's public JWK", code="public_jwk_required")
        else:
            try:
                public_jwk = validate_client_jwk(request.public_jwk)
            except ValueError as err:
                raise InvalidInput(str(err), code="invalid_public_jwk") from None
        # scrypt is slow on purpose: hashed off the event loop.
        secret_hash = await asyncio.to_thread(hash_client_secret, secret) if secret is not None else None
        async with self.changes(request.audit) as change:
            session = change.session
            row = await repository.current_agreement(session, agreement_id=request.agreement_id)
            if row is None or not is_in_force(agreement_of(row), now):
                raise Conflict("Clients are registered only under an agreement in force", code="agreement_inactive")
            client = ClientRow(
                client_id=new_client_id(),
                agreement_id=request.agreement_id,
                auth_method=request.auth_method,
                secret_hash=secret_hash,
                public_jwk=public_jwk,
                created_by=request.actor.sub,
            )
            await repository.save(session, client)
            view = ClientView(
                client_id=client.client_id,
                agreement_id=client.agreement_id,
                auth_method=client.auth_method,
                active=True,
                client_secret=secret,
            )
            change.complete(details=_result(view))
        return view


async def _partner(session: AsyncSession, ori: str) -> PartnerAgency:
    """The partner as entered, checked again under today's eligibility rules."""
    row = await repository.get_partner(session, ori=ori)
    if row is None:
        raise NotFound("No such partner; enter the partner first", code="partner_not_found")
    return partner_of(row)


def _result(view: BaseModel) -> dict[str, Any]:
    """A change's outcome as its record keeps it; a client's secret is never in the log."""
    return {"result": view.model_dump(mode="json", exclude={"client_secret"})}
