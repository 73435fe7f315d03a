"""All SQL of sharing: partners, agreement versions and proposals, clients, assertions, the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.sharing.models import AgreementRow, ClientRow, LedgerRow, PartnerRow, ProposalRow
from services.sharing.oauth.client_assertion import CLOCK_LEEWAY


async def save(session: AsyncSession, row: Any) -> None:
    session.add(row)
    await session.flush()


async def get_partner(session: AsyncSession, *, ori: str) -> PartnerRow | None:
    return await session.get(PartnerRow, ori)


async def list_partners(session: AsyncSession) -> list[PartnerRow]:
    return list((await session.exec(select(PartnerRow).order_by(col(PartnerRow.ori)))).all())


async def current_agreement(
    session: AsyncSession, *, agreement_id: str, for_update: bool = False
) -> AgreementRow | None:
    """The live version (active or revoked) of an agreement; superseded versions are history."""
    query = select(AgreementRow).where(col(AgreementRow.id) == agreement_id, col(AgreementRow.status) != "superseded")
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def agreement_versions(session: AsyncSession, *, agreement_id: str) -> list[AgreementRow]:
    query = select(AgreementRow).where(col(AgreementRow.id) == agreement_id)
    return list((await session.exec(query.order_by(col(AgreementRow.version)))).all())


async def list_current_agreements(session: AsyncSession) -> list[AgreementRow]:
    query = select(AgreementRow).where(col(AgreementRow.status) != "superseded")
    return list((await session.exec(query.order_by(col(AgreementRow.id)))).all())


async def supersede(session: AsyncSession, *, agreement_id: str, version: int) -> None:
    """Mark a version as history before its successor is inserted (one live version per id)."""
    await session.execute(
        text("UPDATE agreements SET status = 'superseded' WHERE id = :id AND version = :version"),
        {"id": agreement_id, "version": version},
    )


async def get_proposal(session: AsyncSession, *, proposal_id: str, for_update: bool = False) -> ProposalRow | None:
    query = select(ProposalRow).where(col(ProposalRow.id) == proposal_id)
    if for_update:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def pending_proposals(session: AsyncSession) -> list[ProposalRow]:
    query = select(ProposalRow).where(col(ProposalRow.status) == "pending")
    return list((await session.exec(query.order_by(col(ProposalRow.proposed_at)))).all())


async def proposals_for(session: AsyncSession, *, agreement_id: str) -> list[ProposalRow]:
    query = select(ProposalRow).where(col(ProposalRow.agreement_id) == agreement_id)
    return list((await session.exec(query.order_by(col(ProposalRow.proposed_at)))).all())


async def get_client(session: AsyncSession, *, client_id: str) -> ClientRow | None:
    return await session.get(ClientRow, client_id)


async def use_assertion(
    session: AsyncSession, *, client_id: str, jti: str, expires_at: datetime, now: datetime
) -> bool:
    """Record an assertion's jti; False if it was already used (a replay). Lapsed jtis are dropped."""
    # an assertion is accepted until exp + the leeway: its jti is kept as long, or a replay then would pass
    lapsed = now - CLOCK_LEEWAY
    await session.execute(text("DELETE FROM used_assertions WHERE expires_at < :lapsed"), {"lapsed": lapsed})
    inserted = await session.execute(
        text(
            "INSERT INTO used_assertions (client_id, jti, expires_at) VALUES (:client_id, :jti, :expires_at) "
            "ON CONFLICT DO NOTHING RETURNING jti"
        ),
        {"client_id": client_id, "jti": jti, "expires_at": expires_at},
    )
    return inserted.first() is not None


async def record_share(session: AsyncSession, *, entry: LedgerRow) -> int:
    """Append one partner request to the share ledger; returns its id."""
    session.add(entry)
    await session.flush()
    assert entry.id is not None
    return entry.id


async def list_ledger(
    session: AsyncSession,
    *,
    agreement_id: str | None,
    partner_ori: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Ledger entries newest first (by id, the order they were written), each filter applied when named."""
    rows = await session.execute(
        text(
            "SELECT id, at, agreement_id, agreement_version, partner_ori, client_id, action, requester, "
            "on_behalf_of, purpose, query, result_ids FROM share_ledger "
            "WHERE (CAST(:agreement AS text) IS NULL OR agreement_id = :agreement) "
            "AND (CAST(:ori AS text) IS NULL OR partner_ori = :ori) "
            "AND (CAST(:since AS timestamptz) IS NULL OR at >= :since) "
            "AND (CAST(:until AS timestamptz) IS NULL OR at < :until) "
            "AND (CAST(:before AS bigint) IS NULL OR id < :before) "
            "ORDER BY id DESC LIMIT :limit"
        ),
        {
            "agreement": agreement_id,
            "ori": partner_ori,
            "since": since,
            "until": until,
            "before": before_id,
            "limit": limit,
        },
    )
    return [dict(r._mapping) for r in rows]
