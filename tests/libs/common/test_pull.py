"""ReadyPull against real JetStream: a fetch returns what is there at once, and a fetch that another pull of
the same consumer stood ahead of (408 Requests Pending) returns its messages as they come, not after its
timeout (nats-py's fetch held them until the batch filled or the timeout ran out)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from libs.common.pull import JS_API, ReadyPull

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def stream(system) -> AsyncIterator[tuple[object, str, str]]:
    """A stream of its own for a test, deleted after it."""
    bus = system.runtime("gateway").bus
    name = f"TESTPULL{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.pull.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    try:
        yield bus, name, subject
    finally:
        await bus.js.delete_stream(name)


def _worker(*, max_ack_pending: int) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name="worker",
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        max_ack_pending=max_ack_pending,
    )


class TestReadyPull:
    async def test_returns_the_messages_there_at_once_and_no_more_than_a_batch(self, stream) -> None:
        bus, name, subject = stream
        await bus.js.add_consumer(name, _worker(max_ack_pending=100))
        for n in range(5):
            await bus.js.publish(f"{subject}.n", str(n).encode())
        pull = await ReadyPull.bind(bus.nc, stream=name, durable="worker")
        try:
            started = time.monotonic()
            first = await pull.fetch(3, timeout=5.0)
            rest = await pull.fetch(50, timeout=5.0)
            took = time.monotonic() - started
            with pytest.raises(TimeoutError):
                await pull.fetch(50, timeout=0.3)
        finally:
            await pull.unsubscribe()
        assert [int(m.data) for m in first] == [0, 1, 2]
        assert [int(m.data) for m in rest] == [3, 4]
        assert took < 1.0  # neither waited for its batch to fill

    async def test_a_fetch_behind_another_pull_returns_its_message_when_it_comes(self, stream) -> None:
        bus, name, subject = stream
        await bus.js.add_consumer(name, _worker(max_ack_pending=1))
        # another replica's pull, waiting for 3 messages: it takes the first, and the second stays pending
        # (one unacknowledged message at most), so a probe finds fewer pending than that pull still wants
        other = await bus.nc.subscribe(bus.nc.new_inbox())
        request = {"batch": 3, "expires": int(0.4 * 1e9)}
        await bus.nc.publish(f"{JS_API}.CONSUMER.MSG.NEXT.{name}.worker", json.dumps(request).encode(), other.subject)
        await bus.nc.flush()
        await bus.js.publish(f"{subject}.n", b"0")
        taken = await other.next_msg(timeout=2)
        await bus.js.publish(f"{subject}.n", b"1")
        pull = await ReadyPull.bind(bus.nc, stream=name, durable="worker")
        try:
            fetch = asyncio.create_task(pull.fetch(50, timeout=4.0))
            await asyncio.sleep(0.6)  # the other pull has expired; its message still holds the one ack slot
            assert not fetch.done()
            acked = time.monotonic()
            await taken.ack()
            got = await fetch
            waited = time.monotonic() - acked
        finally:
            await pull.unsubscribe()
            await other.unsubscribe()
        assert [int(m.data) for m in got] == [1]
        # nats-py's fetch returned here only at its timeout, 3.4 s later, waiting for 49 more
        assert waited < 0.5
