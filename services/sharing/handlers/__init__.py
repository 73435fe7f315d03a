"""Sharing's route table: each endpoint it answers (libs/common/contracts) → the desk method that answers it."""

from __future__ import annotations

from typing import Any

from libs.common.bus import Bus
from libs.common.contracts import sharing as contract
from libs.common.contracts.ledger import LEDGER_LIST
from libs.common.endpoint import Endpoint
from services.sharing.handlers.agreements import AgreementDesk
from services.sharing.handlers.ledger import LedgerDesk
from services.sharing.handlers.partner import PartnerDesk


def routes(
    partners: PartnerDesk, agreements: AgreementDesk, ledger: LedgerDesk
) -> list[tuple[Endpoint[Any, Any], Any]]:
    """Every request/reply endpoint of sharing with its handler."""
    return [
        (contract.KEYS, partners.keys),
        (contract.TOKEN, partners.token),
        (contract.PARTNER_SEARCH, partners.search),
        (contract.SHAREABLE_HOTLISTS, partners.shareable_hotlists),
        (contract.PARTNER_HOTLIST_PUT, partners.partner_hotlist),
        (contract.PARTNER_CREATE, agreements.create_partner),
        (contract.PARTNER_LIST, agreements.list_partners),
        (contract.AGREEMENT_PROPOSE, agreements.propose),
        (contract.AGREEMENT_REVOKE, agreements.propose_revocation),
        (contract.PROPOSAL_DECIDE, agreements.approve),
        (contract.AGREEMENT_HISTORY, agreements.history),
        (contract.AGREEMENT_LIST, agreements.list_agreements),
        (contract.HOTLIST_WRITERS, agreements.hotlist_writers),
        (contract.PROPOSAL_GET, agreements.proposal),
        (contract.PROPOSALS_PENDING, agreements.pending),
        (contract.CLIENT_CREATE, agreements.create_client),
        (LEDGER_LIST, ledger.list_entries),
    ]


async def register(bus: Bus, partners: PartnerDesk, agreements: AgreementDesk, ledger: LedgerDesk) -> None:
    """Answer every sharing endpoint; errors go back as typed error replies."""
    for endpoint, handler in routes(partners, agreements, ledger):
        await bus.serve(endpoint, handler)


__all__ = ["AgreementDesk", "LedgerDesk", "PartnerDesk", "register", "routes"]
