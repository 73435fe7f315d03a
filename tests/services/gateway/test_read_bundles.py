"""A batch post's reads travel as bundles per camera: each read stored once, a whole resend seen as duplicates."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from libs.common.contracts.reads import BUNDLE_HEADER, ReadIn
from services.gateway.read_bundles import BUNDLE_BYTES, BUNDLE_READS, read_messages

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _read(i: int, camera: str = "cam-a", **extra) -> ReadIn:  # type: ignore[no-untyped-def]
    return ReadIn(
        read_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bundle-{camera}-{i}")),
        agency="CA0430000",
        camera_id=camera,
        plate=f"BND{i:04d}",
        captured_at=datetime.now(UTC),
        **extra,
    )


async def test_bundles_are_per_camera_bounded_and_named_by_their_reads() -> None:
    reads = [_read(i, "cam-a") for i in range(BUNDLE_READS + 3)] + [_read(i, "cam-b") for i in range(2)]
    messages = read_messages(reads)
    assert [m.count for m in messages] == [BUNDLE_READS, 3, 2]
    assert {m.subject for m in messages[:2]} == {"alpr.reads.ingested.CA0430000.cam-a"}
    first = json.loads(messages[0].payload)
    assert [r["read_id"] for r in first["reads"]] == [r.read_id for r in reads[:BUNDLE_READS]]
    assert messages[0].headers == {BUNDLE_HEADER: str(BUNDLE_READS)}
    # the same reads make the same message ids (a resend is a duplicate); other reads, other ids
    assert [m.msg_id for m in read_messages(reads)] == [m.msg_id for m in messages]
    assert len({m.msg_id for m in messages}) == 3
    # a lone read travels as itself, deduplicated by its own id
    (alone,) = read_messages([reads[0]])
    assert (
        alone.msg_id == reads[0].read_id and alone.headers is None and json.loads(alone.payload)["plate"] == "BND0000"
    )


async def test_a_bundle_stays_under_its_byte_bound() -> None:
    big = {"raw_body": "x" * (BUNDLE_BYTES // 3)}
    messages = read_messages([_read(i, "cam-big", **big) for i in range(7)])
    assert [m.count for m in messages] == [2, 2, 2, 1]
    assert all(len(m.payload) <= BUNDLE_BYTES for m in messages)


async def test_a_batch_post_is_stored_once_and_a_resend_counts_duplicates(system) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC).isoformat()
    batch = [{"plate": f"B{tag}{i:03d}", "captured_at": now, "read_id": f"bundle-{tag}-{i}"} for i in range(120)]
    first = await system.gateway.post("/v1/reads", json={"reads": batch}, headers=system.camera)
    assert first.status_code == 202 and first.json()["accepted"] == 120 and first.json()["duplicates"] == 0
    again = await system.gateway.post("/v1/reads", json={"reads": batch}, headers=system.camera)
    assert again.json()["duplicates"] == 120 and again.json()["read_ids"] == first.json()["read_ids"]
    # an overlapping post is new to the stream, but records still stores each read once
    overlap = await system.gateway.post("/v1/reads", json={"reads": batch[60:] + batch[:10]}, headers=system.camera)
    assert overlap.status_code == 202
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(100):
            count = await conn.fetchval("SELECT count(*) FROM records.reads WHERE plate LIKE $1", f"B{tag}%")
            if count >= 120:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the overlapping post's bundles reach records too
        per_read = await conn.fetch(
            "SELECT plate, count(*) AS n FROM records.reads WHERE plate LIKE $1 GROUP BY plate", f"B{tag}%"
        )
    finally:
        await conn.close()
    assert len(per_read) == 120 and all(r["n"] == 1 for r in per_read)


async def test_single_read_posts_arriving_together_share_a_message_and_are_each_stored_once(system) -> None:  # type: ignore[no-untyped-def]
    js = system.runtime("gateway").bus.js
    tag = uuid.uuid4().hex[:6].upper()
    now = datetime.now(UTC).isoformat()
    posts = [{"plate": f"L{tag}{i:03d}", "captured_at": now, "read_id": f"lone-{tag}-{i}"} for i in range(40)]
    before = (await js.stream_info("READS")).state.messages
    replies = await asyncio.gather(*(system.gateway.post("/v1/reads", json=p, headers=system.camera) for p in posts))
    assert all(r.status_code == 202 and r.json()["accepted"] == 1 for r in replies)
    # each answered only once JetStream held its read: the stream has them all, in fewer messages than posts
    grew = (await js.stream_info("READS")).state.messages - before
    assert 1 <= grew < len(posts)
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(100):
            count = await conn.fetchval("SELECT count(*) FROM records.reads WHERE plate LIKE $1", f"L{tag}%")
            if count >= len(posts):
                break
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    assert count == len(posts)
    # a read posted alone, and again, travels by its own id: the resend is seen as a duplicate
    alone = {"plate": f"L{tag}999", "captured_at": now, "read_id": f"lone-{tag}-alone"}
    first = await system.gateway.post("/v1/reads", json=alone, headers=system.camera)
    again = await system.gateway.post("/v1/reads", json=alone, headers=system.camera)
    assert first.json()["duplicates"] == 0 and again.json()["duplicates"] == 1
