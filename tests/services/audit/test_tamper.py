"""Tampering as a superuser would, triggers disabled: verify names the exact record each time.

The tampering runs on a copy of the log in a scratch schema of the same database (same table,
same triggers), so the live log other tests share stays intact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from libs.common.contracts.audit import EventType
from libs.common.db import UnitOfWork, create_engine
from services.audit.verification import verify_database
from tests.utils.access_log import LOG_COLUMNS, copy_log, full_event, public_key, record

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(system, admin_db) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """A copy of the access log and its checkpoints, with the append-only triggers of the original."""
    schema = await copy_log(system, admin_db, "tamper_", records=6)
    await admin_db.execute(
        f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {schema}.access_records "
        "FOR EACH ROW EXECUTE FUNCTION audit.refuse_change()"
    )
    try:
        yield schema
    finally:
        await admin_db.execute(f"DROP SCHEMA {schema} CASCADE")


async def verify(system: Any, schema: str) -> dict[str, Any]:
    return await verify_database(system.stack.pg.admin_dsn, public_keys=[public_key(system)], schema=schema)


async def middle(admin_db: Any, schema: str) -> tuple[int, str]:
    """A record well inside the log, before the last checkpoint."""
    size = await admin_db.fetchval(f"SELECT max(tree_size) FROM {schema}.checkpoints")
    row = await admin_db.fetchrow(f"SELECT seq, event_id FROM {schema}.access_records WHERE seq = $1", size - 3)
    return row["seq"], row["event_id"]


class TestTamperingIsNamed:
    async def test_the_untouched_copy_verifies(self, system, scratch) -> None:
        report = await verify(system, scratch)
        assert report["ok"], report
        assert report["checkpoints_checked"] >= 1
        assert report["records_checked"] >= 6

    async def test_the_triggers_refuse_even_the_superuser_until_disabled(self, admin_db, scratch) -> None:
        with pytest.raises(Exception, match="append-only"):
            await admin_db.execute(f"DELETE FROM {scratch}.access_records WHERE seq = 1")

    async def test_a_changed_record_is_named(self, system, admin_db, scratch) -> None:
        seq, event_id = await middle(admin_db, scratch)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
        await admin_db.execute(
            f"UPDATE {scratch}.access_records SET payload = replace(payload, '8ABC123', '8ABC124') WHERE seq = $1", seq
        )
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records ENABLE TRIGGER USER")
        report = await verify(system, scratch)
        assert not report["ok"]
        assert report["first_failure"]["seq"] == seq
        assert report["first_failure"]["event_id"] == event_id
        assert report["first_failure"]["reason"] == "hash_mismatch"

    async def test_a_deleted_record_is_named(self, system, admin_db, scratch) -> None:
        seq, _ = await middle(admin_db, scratch)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
        await admin_db.execute(f"DELETE FROM {scratch}.access_records WHERE seq = $1", seq)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records ENABLE TRIGGER USER")
        report = await verify(system, scratch)
        assert not report["ok"]
        assert report["first_failure"]["seq"] == seq
        assert report["first_failure"]["reason"] == "missing_record"

    async def test_two_reordered_records_are_named(self, system, admin_db, scratch) -> None:
        seq, _ = await middle(admin_db, scratch)
        moved = await admin_db.fetchval(f"SELECT event_id FROM {scratch}.access_records WHERE seq = $1", seq + 1)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
        async with admin_db.transaction():
            await admin_db.execute(f"UPDATE {scratch}.access_records SET seq = -1 WHERE seq = $1", seq)
            await admin_db.execute(f"UPDATE {scratch}.access_records SET seq = $1 WHERE seq = $2", seq, seq + 1)
            await admin_db.execute(f"UPDATE {scratch}.access_records SET seq = $1 WHERE seq = -1", seq + 1)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records ENABLE TRIGGER USER")
        report = await verify(system, scratch)
        assert not report["ok"]
        # the record now standing at `seq` is the one moved there from seq + 1
        assert report["first_failure"]["seq"] == seq
        assert report["first_failure"]["event_id"] == moved

    async def test_a_forged_checkpoint_is_named(self, system, admin_db, scratch) -> None:
        size = await admin_db.fetchval(f"SELECT max(tree_size) FROM {scratch}.checkpoints")
        await admin_db.execute(
            f"UPDATE {scratch}.checkpoints SET root_hash = repeat('ab', 32) WHERE tree_size = $1", size
        )
        report = await verify(system, scratch)
        assert not report["ok"]
        assert report["first_failure"]["seq"] == size
        assert report["first_failure"]["reason"] == "bad_signature"


class TestTheEndOfTheLog:
    async def test_records_cut_after_the_last_checkpoint_are_named_by_the_stream(
        self, system, admin_db, scratch
    ) -> None:
        signed = await admin_db.fetchval(f"SELECT max(tree_size) FROM {scratch}.checkpoints")
        for _ in range(3):
            await record(system, full_event(EventType.SEARCH))
        # the three new records, copied into the scratch log without a checkpoint over them
        await admin_db.execute(
            f"INSERT INTO {scratch}.access_records ({LOG_COLUMNS}) SELECT {LOG_COLUMNS} FROM audit.access_records "
            f"WHERE seq > (SELECT max(seq) FROM {scratch}.access_records)"
        )
        last = await admin_db.fetchval(f"SELECT max(seq) FROM {scratch}.access_records")
        assert last >= signed + 3
        cut = await admin_db.fetch(
            f"SELECT seq, event_id FROM {scratch}.access_records WHERE seq > $1 ORDER BY seq", last - 2
        )
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records DISABLE TRIGGER USER")
        await admin_db.execute(f"DELETE FROM {scratch}.access_records WHERE seq > $1", last - 2)
        await admin_db.execute(f"ALTER TABLE {scratch}.access_records ENABLE TRIGGER USER")
        await _writer_acked(system)
        # the chain and the checkpoints alone cannot see a cut past the last checkpoint ...
        assert (await verify(system, scratch))["ok"]
        # ... the AUDIT stream, whose messages the writer acknowledged only once stored, does
        report = await verify_database(
            system.stack.pg.admin_dsn, public_keys=[public_key(system)], schema=scratch, nats_url=system.stack.nats.url
        )
        assert not report["ok"]
        assert report["first_failure"]["reason"] == "missing_record"
        assert report["first_failure"]["event_id"] == cut[0]["event_id"]
        assert report["first_failure"]["seq"] == cut[0]["seq"]
        assert report["stream_events_checked"] >= 3

    async def test_an_unreadable_stream_leaves_the_end_unchecked_and_says_so(self, system, scratch) -> None:
        from services.audit.verification import verify_session

        class DownStream:
            async def consumer_info(self, *args: Any) -> None:
                raise TimeoutError("nats: timeout")

        engine = create_engine(
            system.stack.pg.admin_dsn.replace("postgresql://", "postgresql+asyncpg://"), schema=scratch
        )
        try:
            async with UnitOfWork(engine)() as session:
                report = await verify_session(session, [public_key(system)], witness=DownStream())  # type: ignore[arg-type]
        finally:
            await engine.dispose()
        assert report["ok"] and report["stream_events_checked"] is None
        assert "could not be read" in report["stream_error"]

    async def test_the_cli_names_an_unreachable_bus(self, system) -> None:
        import asyncio
        import os
        import sys

        env = {**os.environ, "ALPR_DATABASE_URL": system.stack.pg.admin_dsn}
        env["ALPR_AUDIT_SIGNING_KEY"] = system.stack.audit_signing_key()
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "services.cli.main", "audit", "verify", "--nats-url", "nats://127.0.0.1:1"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 1  # the work failed (2 is a usage error)
        assert b"--no-stream" in err


async def _writer_acked(system: Any) -> None:
    """Wait until the audit writer's acknowledgements of what it stored reached the stream."""
    import asyncio

    from libs.common.streams import AUDIT_WRITER

    js = system.runtime("audit").bus.js
    for _ in range(50):
        info = await js.consumer_info(AUDIT_WRITER.stream, AUDIT_WRITER.config.durable_name or "")
        if info.num_ack_pending == 0:
            return
        await asyncio.sleep(0.05)


class TestVerifyTheLiveLog:
    async def test_the_live_log_verifies_and_sets_the_metric(self, system) -> None:
        from libs.common import metrics

        report = await verify(system, "audit")
        assert report["ok"], report
        assert metrics.AUDIT_VERIFY_OK.value == 1

    async def test_the_cli_verifies_and_fails_on_a_foreign_key(self, system) -> None:
        import asyncio
        import base64
        import json
        import os
        import sys

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        async def cli(signing_key: str, *options: str) -> tuple[int, dict[str, Any]]:
            env = {**os.environ, "ALPR_DATABASE_URL": system.stack.pg.admin_dsn, "ALPR_AUDIT_SIGNING_KEY": signing_key}
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli.main",
                "audit",
                "verify",
                *options,
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, _ = await proc.communicate()
            return proc.returncode or 0, json.loads(out)

        await system.runtime("audit").writer.checkpoint_tick(force=True)
        code, report = await cli(system.stack.audit_signing_key())
        assert code == 0 and report["ok"] is True
        assert report["records_checked"] > 0 and report["checkpoints_checked"] > 0
        key_file = system.stack.data_dir / "audit-signing.key"
        code, report = await cli("", "--signing-key-file", str(key_file), "--nats-url", system.stack.nats.url)
        assert code == 0 and report["ok"] is True, report
        assert report["stream_events_checked"] > 0
        foreign = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
        code, report = await cli(foreign)
        assert code == 1 and report["ok"] is False
        assert report["first_failure"]["reason"] == "bad_signature"

    async def test_the_cli_refuses_to_run_without_a_key(self, system) -> None:
        import asyncio
        import os
        import sys

        env = {k: v for k, v in os.environ.items() if not k.startswith("ALPR_AUDIT_")}
        env["ALPR_DATABASE_URL"] = system.stack.pg.admin_dsn
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli.main", "audit", "verify", env=env, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        assert proc.returncode == 2
        assert b"no checkpoint key" in err
