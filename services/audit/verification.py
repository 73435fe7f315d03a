"""`alpr audit verify`: stream the whole log and its checkpoints from the database through verify_log."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.db import UnitOfWork, create_engine
from services.audit import repository
from services.audit.ledger.chain import ChainLink
from services.audit.ledger.verify import VerifyReport, verify_log
from services.audit.settings import AuditSettings

_CHUNK = 10_000
_AHEAD = 2  # chunks read ahead of the hashing thread


async def verify_session(session: AsyncSession, public_keys: Sequence[Ed25519PublicKey]) -> dict[str, Any]:
    """Verify the log a session sees; a thread hashes one chunk while the next is read from the database."""
    checkpoints = await repository.list_checkpoints(session)
    loop = asyncio.get_running_loop()
    ahead: asyncio.Queue[list[ChainLink] | None] = asyncio.Queue(maxsize=_AHEAD)

    failed: list[BaseException] = []

    async def read() -> None:
        try:
            async for chunk in repository.iter_link_chunks(session, chunk=_CHUNK):
                await ahead.put(chunk)
        except Exception as exc:
            failed.append(exc)  # raised below, once the hashing thread has been told the log ended
        await ahead.put(None)

    def links() -> Iterator[ChainLink]:
        while (chunk := asyncio.run_coroutine_threadsafe(ahead.get(), loop).result()) is not None:
            yield from chunk

    reader = asyncio.create_task(read())
    try:
        report = await asyncio.to_thread(verify_log, links(), checkpoints, list(public_keys))
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    if failed:
        raise failed[0]
    metrics.AUDIT_VERIFY_OK.set(1 if report.ok else 0)
    return report_dict(report)


def report_dict(report: VerifyReport) -> dict[str, Any]:
    """The report as the CLI prints it and the API returns it."""
    failure = dataclasses.asdict(report.first_failure) if report.first_failure else None
    if failure is not None:
        failure["reason"] = str(failure["reason"])
    return {
        "ok": report.ok,
        "records_checked": report.records_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "first_failure": failure,
    }


async def verify_database(
    database_url: str, *, public_keys: Sequence[Ed25519PublicKey] | None = None, schema: str = "audit"
) -> dict[str, Any]:
    """Check the whole chain and every signed checkpoint; keys from ALPR_AUDIT_* settings when not given."""
    if public_keys is None:
        public_keys = AuditSettings(database_url=database_url).verification_keys()  # type: ignore[arg-type]
    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url, schema=schema, pool_size=1)
    try:
        async with UnitOfWork(engine)() as session:
            return await verify_session(session, public_keys)
    finally:
        await engine.dispose()
