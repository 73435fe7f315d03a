"""BatchPublisher against real JetStream: every message stored once, every refusal seen, nothing reported early."""

from __future__ import annotations

import uuid

import pytest
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from libs.common.batch_publish import BatchPublisher, Outgoing
from libs.common.errors import Unavailable

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _stream(bus, **config) -> tuple[str, str]:
    name = f"TESTBATCH{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.batch.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY, **config))
    return name, subject


async def test_a_batch_is_stored_once_and_a_resend_counts_duplicates(system) -> None:
    bus = system.runtime("gateway").bus
    name, subject = await _stream(bus)
    publisher = BatchPublisher(bus.nc)
    messages = [Outgoing(f"{subject}.cam{i % 7}", f"read {i}".encode(), f"id-{name}-{i}") for i in range(300)]
    try:
        assert await publisher.publish(messages, {}) == 0
        assert (await bus.js.stream_info(name)).state.messages == 300
        # a camera resends the same post: JetStream keeps one copy, and says so for each
        assert await publisher.publish([*messages[:200], Outgoing(f"{subject}.x", b"new", f"id-{name}-new")], {}) == 200
        assert (await bus.js.stream_info(name)).state.messages == 301
        stored = await bus.js.get_msg(name, seq=1)
        assert stored.data == b"read 0" and stored.headers["Nats-Msg-Id"] == f"id-{name}-0"
    finally:
        await bus.js.delete_stream(name)


async def test_a_subject_no_stream_takes_fails_the_whole_batch(system) -> None:
    bus = system.runtime("gateway").bus
    name, subject = await _stream(bus)
    publisher = BatchPublisher(bus.nc, attempts=2, timeout_s=0.5)
    good = [Outgoing(f"{subject}.a", b"kept", f"id-{name}-{i}") for i in range(5)]
    stray = Outgoing(f"nostream.{name.lower()}", b"lost", f"id-{name}-stray")
    try:
        with pytest.raises(Unavailable) as caught:
            await publisher.publish([*good, stray], {})
        assert caught.value.code == "bus_unavailable"
        # the messages that were acked stay stored once, however often the batch was tried
        assert (await bus.js.stream_info(name)).state.messages == 5
    finally:
        await bus.js.delete_stream(name)


async def test_a_stream_that_refuses_a_message_fails_the_batch(system) -> None:
    bus = system.runtime("gateway").bus
    name, subject = await _stream(bus, max_msgs=3, discard=DiscardPolicy.NEW)
    publisher = BatchPublisher(bus.nc, attempts=2, timeout_s=0.5)
    try:
        with pytest.raises(Unavailable) as caught:
            await publisher.publish([Outgoing(f"{subject}.a", b"r", f"id-{name}-{i}") for i in range(5)], {})
        assert "refused" in caught.value.details["reason"]
        assert (await bus.js.stream_info(name)).state.messages == 3
    finally:
        await bus.js.delete_stream(name)
