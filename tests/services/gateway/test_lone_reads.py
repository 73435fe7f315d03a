"""Single-read posts bundled while an earlier ack is awaited (LoneReads): no read is answered 202 unless the
stream acknowledged the message carrying it, a failed bundle fails every post waiting on it, agencies never
share a message, a post that goes away does not strand the others, and records stores a read once however
many bundles bring it."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from libs.common.batch_publish import Outgoing
from libs.common.contracts.reads import BUNDLE_HEADER, ReadIn
from libs.common.errors import Unavailable
from libs.common.telemetry import add_span_processor
from services.gateway.read_bundles import BUNDLE_BYTES, BUNDLE_READS, BUNDLES_IN_FLIGHT, LoneReads

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class _Connection:
    max_payload: int = 32 << 20


@dataclass
class HeldBus:
    """The bus as LoneReads sees it, each publish held until the test acks or refuses it: JetStream's ack
    timing decides which posts share a bundle, and the test needs to decide it."""

    nc: _Connection = field(default_factory=_Connection)
    sent: list[list[Outgoing]] = field(default_factory=list)
    answers: list[asyncio.Future[int]] = field(default_factory=list)

    async def publish_durable_many(self, messages: list[Outgoing]) -> int:
        self.sent.append(list(messages))
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        return await answer

    async def published(self, count: int) -> None:
        """Wait until `count` publishes have been made."""
        for _ in range(200):
            if len(self.sent) >= count:
                return
            await asyncio.sleep(0)
        raise AssertionError(f"{len(self.sent)} publishes, expected {count}")


def _read(plate: str, agency: str = "CA0430000", camera: str = "cam-a") -> ReadIn:
    return ReadIn(
        read_id=str(uuid.uuid4()), agency=agency, camera_id=camera, plate=plate, captured_at=datetime.now(UTC)
    )


def _ids(message: Outgoing) -> list[str]:
    if message.headers and BUNDLE_HEADER in message.headers:
        return [r["read_id"] for r in json.loads(message.payload)["reads"]]
    return [json.loads(message.payload)["read_id"]]


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


class TestBundling:
    async def test_posts_arriving_during_an_ack_go_together_and_each_answers_after_its_own_ack(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        later = [_read(f"B{i}", camera=f"cam-{i % 2}") for i in range(3)]
        waiting = [asyncio.create_task(lone.publish(r)) for r in later]
        await _settle()
        assert len(bus.sent) == 1 and not any(t.done() for t in waiting)
        bus.answers[0].set_result(0)
        assert await first == 0
        await bus.published(2)
        (bundle,) = bus.sent[1]
        assert _ids(bundle) == [r.read_id for r in later]
        # reads of two cameras of one agency travel on the agency's subject
        assert bundle.subject == "alpr.reads.ingested.CA0430000"
        await _settle()
        assert not any(t.done() for t in waiting)  # nothing answered before the bundle's ack
        bus.answers[1].set_result(0)
        assert await asyncio.gather(*waiting) == [0, 0, 0]

    async def test_agencies_never_share_a_message_nor_wait_on_each_other(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1", agency="CA0430000")))
        await bus.published(1)
        other = asyncio.create_task(lone.publish(_read("O1", agency="CA0010000")))
        await bus.published(2)  # another agency's read goes at once, not behind the first agency's ack
        queued = [asyncio.create_task(lone.publish(_read(f"A{i}", agency="CA0430000"))) for i in (2, 3)]
        queued_other = asyncio.create_task(lone.publish(_read("O2", agency="CA0010000")))
        await _settle()
        bus.answers[1].set_result(0)
        assert await other == 0
        await bus.published(3)
        assert bus.sent[2][0].subject.split(".")[3] == "CA0010000" and len(_ids(bus.sent[2][0])) == 1
        bus.answers[2].set_result(0)
        assert await queued_other == 0
        bus.answers[0].set_result(0)
        await first
        await bus.published(4)
        assert {m.subject.split(".")[3] for m in bus.sent[3]} == {"CA0430000"} and len(_ids(bus.sent[3][0])) == 2
        bus.answers[3].set_result(0)
        assert await asyncio.gather(*queued) == [0, 0]

    async def test_a_full_bundle_goes_without_waiting_on_an_earlier_ack_up_to_a_bound(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        # reads with images: a few fill a bundle's bytes; they must not go one ack after another
        heavy = [_read(f"H{i}").model_copy(update={"raw_body": "x" * (BUNDLE_BYTES // 3)}) for i in range(6)]
        posts = [asyncio.create_task(lone.publish(r)) for r in heavy]
        await bus.published(3)  # two full bundles sent while the first post still waits on its ack
        assert [len(_ids(m[0])) for m in bus.sent[1:]] == [2, 2]
        many = [asyncio.create_task(lone.publish(_read(f"M{i}"))) for i in range(BUNDLE_READS * BUNDLES_IN_FLIGHT)]
        await _settle()
        assert len(bus.sent) == BUNDLES_IN_FLIGHT  # bounded: the rest waits for an ack
        everyone = [first, *posts, *many]
        acked = 0
        for _ in range(100):  # each ack lets the next bundle go
            while acked < len(bus.answers):
                bus.answers[acked].set_result(0)
                acked += 1
            await _settle()
            if all(t.done() for t in everyone):
                break
        assert await asyncio.gather(*everyone) == [0] * len(everyone)
        sent = [read_id for batch in bus.sent for m in batch for read_id in _ids(m)]
        assert len(sent) == 1 + len(heavy) + len(many) == len(set(sent))


GAP_S = 0.08


async def _first_sent() -> tuple[HeldBus, LoneReads, asyncio.Task[int]]:
    """A bus the test holds, LoneReads with the gap, and a quiet agency's first read, sent at once."""
    bus = HeldBus()
    lone = LoneReads(bus, gap_s=GAP_S)  # type: ignore[arg-type]
    first = asyncio.create_task(lone.publish(_read("A1")))
    await bus.published(1)
    return bus, lone, first


async def _all_acked_then_idle(bus: HeldBus, lone: LoneReads, posts: list[asyncio.Task[int]]) -> None:
    """Ack whatever is sent until every post answers 0; then, a gap later, the agency holds nothing."""
    for _ in range(400):
        for answer in bus.answers:
            if not answer.done():
                answer.set_result(0)
        await asyncio.sleep(0.005)
        if all(t.done() for t in posts):
            break
    assert await asyncio.gather(*posts) == [0] * len(posts)
    await asyncio.sleep(GAP_S * 1.5)  # any gap's wake-up finds nothing queued: the agency goes idle
    assert lone._in_flight == {} and lone._queued == {} and lone._gap_pending == set()


class TestGap:
    async def test_a_bundle_waits_out_the_gap_gathering_later_posts_and_answers_after_its_ack(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus, gap_s=GAP_S)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        started = loop.time()
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)  # the agency was quiet: its first read goes at once
        early = [asyncio.create_task(lone.publish(_read(f"E{i}"))) for i in range(2)]
        await _settle()
        bus.answers[0].set_result(0)  # the ack comes well inside the gap
        assert await first == 0
        await asyncio.sleep(GAP_S / 4)
        late = [asyncio.create_task(lone.publish(_read(f"L{i}"))) for i in range(2)]
        await _settle()
        assert len(bus.sent) == 1 and not any(t.done() for t in early + late)
        await bus_published_within(bus, 2, GAP_S * 10)
        assert loop.time() - started >= GAP_S  # not before the gap since the first went
        (bundle,) = bus.sent[1]
        assert len(_ids(bundle)) == 4  # the posts of the gap share one message
        await _settle()
        assert not any(t.done() for t in early + late)  # nothing answered before the bundle's ack
        bus.answers[1].set_result(0)
        assert await asyncio.gather(*early, *late) == [0] * 4

    async def test_a_full_bundle_goes_at_once_and_a_quiet_agency_is_not_held(self) -> None:
        bus, lone, first = await _first_sent()
        almost = [asyncio.create_task(lone.publish(_read(f"F{i}"))) for i in range(BUNDLE_READS - 1)]
        await _settle()
        bus.answers[0].set_result(0)
        await first
        await _settle()
        assert len(bus.sent) == 1  # under the gap and not full: held
        last = asyncio.create_task(lone.publish(_read("F-last")))
        await bus.published(2)  # full: goes without waiting out the gap
        assert len(_ids(bus.sent[1][0])) == BUNDLE_READS
        bus.answers[1].set_result(0)
        assert await asyncio.gather(*almost, last) == [0] * BUNDLE_READS
        await asyncio.sleep(GAP_S * 1.5)  # the gap's wake-up finds nothing queued: the agency goes idle
        assert lone._in_flight == {} and lone._queued == {}
        again = asyncio.create_task(lone.publish(_read("Q1")))
        await bus.published(3)  # a quiet agency's read goes at once
        bus.answers[2].set_result(0)
        assert await again == 0

    async def test_a_bundle_failing_after_its_gap_fails_its_posts_and_the_agency_recovers(self) -> None:
        bus, lone, first = await _first_sent()
        held = [asyncio.create_task(lone.publish(_read(f"B{i}"))) for i in range(3)]
        await _settle()
        bus.answers[0].set_result(0)
        await first
        await bus_published_within(bus, 2, GAP_S * 10)
        await _refused_then_recovers(bus, lone, held, refused=1)

    async def test_a_bundle_full_by_its_bytes_goes_as_a_slot_comes_back_without_waiting_out_the_gap(self) -> None:
        # found in review: the gap's test counted reads, not bytes, so once an agency's BUNDLES_IN_FLIGHT were
        # taken, reads with images (two fill a bundle) waited out the gap at every ack instead of going at once
        bus, lone, first = await _first_sent()
        loop = asyncio.get_running_loop()
        heavy = [
            _read(f"H{i}").model_copy(update={"raw_body": "x" * (BUNDLE_BYTES // 3)})
            for i in range(4 * BUNDLES_IN_FLIGHT)
        ]
        posts = [asyncio.create_task(lone.publish(r)) for r in heavy]
        await bus.published(BUNDLES_IN_FLIGHT)
        await _settle()
        assert len(bus.sent) == BUNDLES_IN_FLIGHT  # every slot taken, more than a bundle's bytes queued
        acked_at = loop.time()
        bus.answers[0].set_result(0)
        assert await first == 0
        await bus.published(BUNDLES_IN_FLIGHT + 1)
        assert loop.time() - acked_at < GAP_S and len(_ids(bus.sent[-1][0])) == 2
        await _all_acked_then_idle(bus, lone, posts)

    async def test_acks_coming_back_within_the_gap_leave_their_slots_free_for_a_full_bundle(self) -> None:
        # found in review: each slot coming back within the gap set a wake-up of its own and stayed taken, so
        # with every slot waiting idle on the gap a full bundle waited it out too (49.6 ms of a 50 ms gap)
        bus, lone, first = await _first_sent()
        loop = asyncio.get_running_loop()
        early = [asyncio.create_task(lone.publish(_read(f"E{i}"))) for i in range(BUNDLE_READS * 7 + 10)]
        await bus.published(BUNDLES_IN_FLIGHT)
        for answer in bus.answers:
            answer.set_result(0)
        await _settle()
        assert len(bus.sent) == BUNDLES_IN_FLIGHT  # ten queued, not full: they wait out the gap
        late = [asyncio.create_task(lone.publish(_read(f"L{i}"))) for i in range(BUNDLE_READS)]
        started = loop.time()
        await bus.published(BUNDLES_IN_FLIGHT + 1)  # full: goes on a slot that came back
        assert loop.time() - started < GAP_S and len(_ids(bus.sent[-1][0])) == BUNDLE_READS
        posts = [first, *early, *late]
        await _all_acked_then_idle(bus, lone, posts)


async def _refused_then_recovers(bus: HeldBus, lone: LoneReads, posts: list[Any], *, refused: int) -> None:
    """The stream refuses publish `refused`: every post in `posts` answers a retryable 503, and the agency is idle
    again, so the next post goes at once and is answered by its own ack."""
    bus.answers[refused].set_exception(
        Unavailable("the read stream did not acknowledge; retry", code="bus_unavailable")
    )
    outcomes = await asyncio.gather(*posts, return_exceptions=True)
    assert all(isinstance(o, Unavailable) and o.status == 503 for o in outcomes), outcomes
    again = asyncio.create_task(lone.publish(_read("D1")))
    await bus.published(refused + 2)
    bus.answers[refused + 1].set_result(0)
    assert await again == 0


async def bus_published_within(bus: HeldBus, count: int, seconds: float) -> None:
    """Wait, in real time, until `count` publishes have been made."""
    deadline = asyncio.get_running_loop().time() + seconds
    while len(bus.sent) < count:
        assert asyncio.get_running_loop().time() < deadline, f"{len(bus.sent)} publishes, expected {count}"
        await asyncio.sleep(0.005)


class TestFailure:
    async def test_a_bundle_the_stream_does_not_ack_fails_every_post_in_it_and_behind_it(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        bundled = [asyncio.create_task(lone.publish(_read(f"B{i}"))) for i in range(3)]
        await _settle()
        bus.answers[0].set_result(0)
        await first
        await bus.published(2)
        behind = [asyncio.create_task(lone.publish(_read(f"C{i}"))) for i in range(2)]
        await _settle()
        await _refused_then_recovers(bus, lone, [*bundled, *behind], refused=1)

    async def test_the_first_posts_failure_fails_those_queued_behind_it(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        queued = [asyncio.create_task(lone.publish(_read(f"B{i}"))) for i in range(2)]
        await _settle()
        bus.answers[0].set_exception(Unavailable("no ack", code="bus_unavailable"))
        outcomes = await asyncio.gather(first, *queued, return_exceptions=True)
        assert all(isinstance(o, Unavailable) for o in outcomes), outcomes

    async def test_a_post_that_goes_away_while_waiting_leaves_the_others_answered(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        gone, stays = (asyncio.create_task(lone.publish(_read(p))) for p in ("G1", "S1"))
        await _settle()
        gone.cancel()
        await _settle()
        bus.answers[0].set_result(0)
        await first
        await bus.published(2)
        bus.answers[1].set_result(0)
        assert await stays == 0 and gone.cancelled()

    async def test_a_bundle_cut_short_by_shutdown_answers_its_posts_with_a_retryable_error(self) -> None:
        bus = HeldBus()
        lone = LoneReads(bus)  # type: ignore[arg-type]
        first = asyncio.create_task(lone.publish(_read("A1")))
        await bus.published(1)
        waiting = [asyncio.create_task(lone.publish(_read(f"B{i}"))) for i in range(2)]
        await _settle()
        bus.answers[0].set_result(0)
        await first
        await bus.published(2)
        for task in list(lone._tasks):
            task.cancel()  # the process stopping under the bundle's publish
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        # the posts were not cancelled themselves: each gets the one envelope's 503, not a dropped 500
        assert all(isinstance(o, Unavailable) and o.code == "bus_unavailable" for o in outcomes), outcomes


async def _count(system: Any, plate_like: str, at_least: int) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        for _ in range(200):
            rows = await conn.fetch(
                "SELECT read_id::text, count(*) AS n FROM records.reads WHERE plate LIKE $1 GROUP BY read_id",
                plate_like,
            )
            if sum(r["n"] for r in rows) >= at_least:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a second copy, if any, has time to arrive
        return await conn.fetch(
            "SELECT read_id::text, count(*) AS n FROM records.reads WHERE plate LIKE $1 GROUP BY read_id", plate_like
        )
    finally:
        await conn.close()


class TestStoredOnce:
    async def test_a_read_resent_after_travelling_in_a_bundle_is_stored_once(self, system: Any) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        now = datetime.now(UTC).isoformat()
        posts = [{"plate": f"R{tag}{i:02d}", "captured_at": now, "read_id": f"resend-{tag}-{i}"} for i in range(12)]
        replies = await asyncio.gather(
            *(system.gateway.post("/v1/reads", json=p, headers=system.camera) for p in posts)
        )
        assert all(r.status_code == 202 for r in replies)
        again = await asyncio.gather(*(system.gateway.post("/v1/reads", json=p, headers=system.camera) for p in posts))
        assert all(r.status_code == 202 for r in again)
        assert [r.json()["read_ids"] for r in again] == [r.json()["read_ids"] for r in replies]
        rows = await _count(system, f"R{tag}%", len(posts))
        assert len(rows) == len(posts) and all(r["n"] == 1 for r in rows)

    async def test_one_read_posted_twice_at_once_is_stored_once_even_in_one_bundle(self, system: Any) -> None:
        tag = uuid.uuid4().hex[:6].upper()
        now = datetime.now(UTC).isoformat()
        lead = {"plate": f"T{tag}00", "captured_at": now, "read_id": f"twice-{tag}-lead"}
        twice = {"plate": f"T{tag}01", "captured_at": now, "read_id": f"twice-{tag}"}
        replies = await asyncio.gather(
            *(system.gateway.post("/v1/reads", json=p, headers=system.camera) for p in (lead, twice, twice))
        )
        assert all(r.status_code == 202 for r in replies), [r.text for r in replies]
        rows = await _count(system, f"T{tag}%", 2)
        assert sorted(r["n"] for r in rows) == [1, 1]


class TestTracing:
    async def test_a_bundle_is_traced_apart_and_linked_to_each_post_it_carries(self, system: Any) -> None:
        exporter = InMemorySpanExporter()
        add_span_processor(SimpleSpanProcessor(exporter))
        tag = uuid.uuid4().hex[:6].upper()
        now = datetime.now(UTC).isoformat()
        posts = [{"plate": f"K{tag}{i:02d}", "captured_at": now, "read_id": f"traced-{tag}-{i}"} for i in range(12)]
        exporter.clear()
        replies = await asyncio.gather(
            *(system.gateway.post("/v1/reads", json=p, headers=system.camera) for p in posts)
        )
        assert all(r.status_code == 202 for r in replies)
        spans = exporter.get_finished_spans()
        servers = [s for s in spans if s.name == "POST /v1/reads"]
        publishes = [s for s in spans if s.name == "publish READS"]
        assert len(servers) == len(posts) and len(publishes) < len(posts)  # some went in bundles
        for server in servers:
            # each post's read is published under exactly one span: its own child, or a bundle linking to it
            carried = [p for p in publishes if p.parent and p.parent.span_id == server.context.span_id]
            carried += [p for p in publishes if any(k.context.span_id == server.context.span_id for k in p.links)]
            assert len(carried) == 1, server.name
        # a bundle belongs to no one post's trace
        assert all(p.parent is None for p in publishes if p.links)
