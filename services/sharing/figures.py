"""The transparency page's sharing facts: shares with partners per month, and the partners in force by name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from libs.common.bus import Bus
from libs.common.contracts.transparency import (
    SHARING_MONTHLY,
    SHARING_PARTNERS_PUBLIC,
    MonthlyFigures,
    MonthlyQuery,
    PublicPartner,
    PublicPartners,
    PublicPartnersQuery,
)
from libs.common.db import UnitOfWork
from libs.common.monthly_figures import monthly_counts
from services.sharing import repository
from services.sharing.models import AgreementRow, PartnerRow
from services.sharing.partners.agreements import is_in_force
from services.sharing.service import agreement_of


def partners_in_force(
    agreements: Sequence[AgreementRow], partners: Sequence[PartnerRow], now: datetime
) -> list[PublicPartner]:
    """Each agency with an agreement in force now, with that agreement's dates; the agency only, no person."""
    names = {p.ori: p.name for p in partners}
    listed = [
        PublicPartner(
            name=names[row.partner_ori],
            ori=row.partner_ori,
            agreement_starts=row.effective_from,
            agreement_ends=row.expires_at,
        )
        for row in agreements
        if row.partner_ori in names and is_in_force(agreement_of(row), now)
    ]
    return sorted(listed, key=lambda p: (p.name, p.agreement_starts))


class FigureHandlers:
    """Answers the public sharing subjects; what they carry is public by the policy's commitment."""

    def __init__(self, uow: UnitOfWork, bus: Bus) -> None:
        self.uow = uow
        self.bus = bus

    async def register(self) -> None:
        await self.bus.serve(SHARING_MONTHLY, self.monthly)
        await self.bus.serve(SHARING_PARTNERS_PUBLIC, self.partners)

    async def monthly(self, query: MonthlyQuery) -> MonthlyFigures:
        async with self.uow() as session:
            return MonthlyFigures(counts=await monthly_counts(session, since=query.since))

    async def partners(self, _: PublicPartnersQuery) -> PublicPartners:
        async with self.uow() as session:
            agreements = await repository.list_current_agreements(session)
            partners = await repository.list_partners(session)
        return PublicPartners(partners=partners_in_force(agreements, partners, datetime.now(UTC)))
