"""The public sharing facts: partners in force by name, and shares counted with the ledger entry itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.sharing.figures import partners_in_force
from services.sharing.models import AgreementRow, PartnerRow

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


def agreement(ori: str, *, status: str = "active", starts: int = -30, ends: int = 300, id_: str = "") -> AgreementRow:
    return AgreementRow(
        id=id_ or f"IAA-{ori}",
        version=1,
        partner_ori=ori,
        document_ref="contracts/iaa.pdf",
        effective_from=NOW + timedelta(days=starts),
        expires_at=NOW + timedelta(days=ends),
        scopes=["reads:search"],
        allowed_uses=["stolen_or_wanted_vehicle"],
        max_lookback_days=30,
        status=status,
    )


def partner(ori: str, name: str) -> PartnerRow:
    return PartnerRow(ori=ori, name=name, kind="ca_local_agency", created_by="test")


class TestPartnersInForce:
    def test_only_agreements_in_force_now_name_their_agency(self) -> None:
        partners = [partner(f"CA04{n}0000", name) for n, name in enumerate("ABCDE")]
        agreements = [
            agreement("CA0400000"),
            agreement("CA0410000", status="revoked"),
            agreement("CA0420000", ends=-1),  # expired yesterday
            agreement("CA0430000", starts=2),  # not yet in force
            agreement("CA0490000"),  # no such partner row: never shown without a name
        ]
        listed = partners_in_force(agreements, partners, NOW)
        assert [(p.name, p.ori) for p in listed] == [("A", "CA0400000")]
        assert listed[0].agreement_starts == NOW - timedelta(days=30)
        assert listed[0].agreement_ends == NOW + timedelta(days=300)

    def test_two_agreements_of_one_agency_are_both_listed_in_name_order(self) -> None:
        partners = [partner("CA0410000", "Santa Clara County Sheriff"), partner("CA0400000", "Alameda County")]
        agreements = [
            agreement("CA0410000", id_="one"),
            agreement("CA0410000", id_="two", starts=-5),
            agreement("CA0400000"),
        ]
        names = [p.name for p in partners_in_force(agreements, partners, NOW)]
        assert names == ["Alameda County", "Santa Clara County Sheriff", "Santa Clara County Sheriff"]


@pytest.mark.asyncio(loop_scope="session")
class TestSharesCounted:
    async def test_a_ledger_entry_counts_in_its_transaction_and_a_rollback_takes_the_count_back(self, system) -> None:
        month = datetime.now(UTC).date().replace(day=1)
        sql = "SELECT coalesce(sum(n), 0) FROM sharing.monthly_figures WHERE month = $1 AND figure = 'partner_shares'"
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            before = await conn.fetchval(sql, month)
            tx = conn.transaction()
            await tx.start()
            empty = json.dumps({})
            await conn.execute(
                "INSERT INTO sharing.share_ledger (agreement_id, partner_ori, requester, on_behalf_of, purpose, query, "
                "result_ids) SELECT 'DEV-IAA-1', 'CA0410000', $1, $1, $1, $1, '{}' FROM generate_series(1, 3)",
                empty,
            )
            assert await conn.fetchval(sql, month) == before + 3  # one statement, three shares
            await tx.rollback()
            assert await conn.fetchval(sql, month) == before
        finally:
            await conn.close()

    async def test_the_service_role_reads_the_counters_but_cannot_write_them(self, system) -> None:
        dsn = system.stack.pg.url_for("alpr_sharing").replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn, server_settings={"search_path": "sharing"})
        try:
            await conn.fetch("SELECT * FROM monthly_figures")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("UPDATE monthly_figures SET n = n + 1")
        finally:
            await conn.close()
