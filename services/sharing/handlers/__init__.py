"""NATS subjects of sharing → service calls, on `alpr.sharing.<action>` in the `sharing` queue group."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from libs.common.bus import Bus
from libs.common.contracts.ledger import LEDGER_LIST_SUBJECT, LedgerQuery
from libs.common.contracts.sharing import (
    AgreementLookup,
    ClientCreate,
    CredentialsRequest,
    DecideRequest,
    Empty,
    PartnerCreate,
    PartnerHotlistPut,
    PartnerSearchRequest,
    ProposalLookup,
    ProposeRequest,
    RevokeRequest,
    TokenRequest,
    sharing_subject,
)
from services.sharing.handlers.agreements import AgreementDesk
from services.sharing.handlers.ledger import LedgerDesk
from services.sharing.handlers.partner import PartnerDesk


async def register(bus: Bus, partners: PartnerDesk, agreements: AgreementDesk, ledger: LedgerDesk) -> None:
    """Answer every sharing subject; errors go back as typed error replies."""
    routes: list[tuple[str, type[BaseModel], Any]] = [
        ("keys", Empty, partners.keys),
        ("token", TokenRequest, partners.token),
        ("search", PartnerSearchRequest, partners.search),
        ("hotlists.get", CredentialsRequest, partners.shareable_hotlists),
        ("hotlists.put", PartnerHotlistPut, partners.partner_hotlist),
        ("partners.create", PartnerCreate, agreements.create_partner),
        ("partners.list", Empty, agreements.list_partners),
        ("agreements.propose", ProposeRequest, agreements.propose),
        ("agreements.revoke", RevokeRequest, agreements.propose_revocation),
        ("agreements.approve", DecideRequest, agreements.approve),
        ("agreements.get", AgreementLookup, agreements.history),
        ("agreements.list", Empty, agreements.list_agreements),
        ("proposals.get", ProposalLookup, agreements.proposal),
        ("proposals.pending", Empty, agreements.pending),
        ("clients.create", ClientCreate, agreements.create_client),
    ]
    for action, model, handler in routes:
        await bus.serve_subject(sharing_subject(action), model, handler, queue="sharing")
    await bus.serve_subject(LEDGER_LIST_SUBJECT, LedgerQuery, ledger.list_entries, queue="sharing")


__all__ = ["AgreementDesk", "LedgerDesk", "PartnerDesk", "register"]
