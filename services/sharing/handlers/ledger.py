"""`alpr.sharing.ledger.list`: the share ledger (C4) as the custodian and the auditors read it.

The gateway has checked the reader's role and records the read before it answers; this only reads.
"""

from __future__ import annotations

from libs.common.contracts.ledger import LedgerEntry, LedgerPage, LedgerQuery
from libs.common.db import UnitOfWork
from services.sharing import repository


class LedgerDesk:
    """One read-only unit of work per page of the ledger."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def list_entries(self, request: LedgerQuery) -> LedgerPage:
        """A page of entries, newest first; `next_before_id` is set when older entries may follow."""
        async with self.uow() as session:
            rows = await repository.list_ledger(
                session,
                agreement_id=request.agreement_id,
                partner_ori=request.partner_ori,
                since=request.since,
                until=request.until,
                before_id=request.before_id,
                limit=request.limit + 1,
            )
        more = len(rows) > request.limit
        entries = [
            LedgerEntry(**{**row, "result_ids": list(row["result_ids"])}, result_count=len(row["result_ids"]))
            for row in rows[: request.limit]
        ]
        return LedgerPage(entries=entries, next_before_id=entries[-1].id if more else None)
