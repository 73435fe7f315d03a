"""BatchConsumer against real JetStream: a failed batch comes back before anything fetched behind it, and a
poison message is set aside in DEADLETTER while the messages around it go through."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from libs.common import consumer as consumer_module
from libs.common import deadletter, metrics
from libs.common.consumer import BatchConsumer, PreparedAhead
from libs.common.streams import DurableConsumer, deadletter_subject

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _consume(
    system, ack_policy: AckPolicy, *, prefetch: bool, fail_batches: int, prepared: list[int] | None = None
) -> tuple[list[int], int]:
    """Publish 60 numbered messages, consume them in batches of 10 failing the first `fail_batches`."""
    bus = system.runtime("gateway").bus
    name = f"TESTCONSUMER{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.consumer.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    durable = DurableConsumer(
        name,
        ConsumerConfig(durable_name="worker", ack_policy=ack_policy, deliver_policy=DeliverPolicy.ALL, ack_wait=30.0),
    )
    await bus.js.add_consumer(name, durable.config)
    for n in range(60):
        await bus.js.publish(f"{subject}.n", str(n).encode())
    handled: list[int] = []
    failures = 0
    done = asyncio.Event()

    async def handler(msgs: list[Msg]) -> None:
        nonlocal failures
        if failures < fail_batches:
            failures += 1
            raise RuntimeError("the database went away")  # nothing of this batch was committed
        handled.extend(int(m.data) for m in msgs)
        if len(set(handled)) == 60:
            done.set()

    def prepare(msgs: list[Msg]) -> None:
        assert prepared is not None
        prepared.extend(int(m.data) for m in msgs)

    consumer = BatchConsumer(
        bus,
        durable,
        handler,
        batch=10,
        prefetch=prefetch,
        ordered=True,
        prepare=prepare if prepared is not None else None,
    )
    consumer.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=20)
        await asyncio.sleep(0.3)  # let the last ack reach the server
        info = await bus.js.consumer_info(name, "worker")
    finally:
        await consumer.stop()
        await bus.js.delete_stream(name)
    return handled, info.num_ack_pending


@pytest.mark.parametrize("ack_policy", [AckPolicy.EXPLICIT, AckPolicy.ALL])
@pytest.mark.parametrize("prefetch", [False, True])
async def test_every_message_is_handled_once_in_order_after_a_failed_batch(system, ack_policy, prefetch) -> None:
    handled, unacked = await _consume(system, ack_policy, prefetch=prefetch, fail_batches=1)
    # the failed first batch is handled again before the batches behind it: stream order holds
    assert handled == list(range(60))
    assert unacked == 0


async def test_acks_let_the_stream_forget_the_batch(system) -> None:
    handled, unacked = await _consume(system, AckPolicy.ALL, prefetch=True, fail_batches=0)
    assert handled == list(range(60))
    assert unacked == 0


async def test_prefetched_batches_are_prepared_before_their_turn(system) -> None:
    prepared: list[int] = []
    handled, unacked = await _consume(system, AckPolicy.ALL, prefetch=True, fail_batches=1, prepared=prepared)
    assert handled == list(range(60))
    # every batch after the first was fetched, and so prepared, while the one before it was handled
    assert prepared and set(prepared) <= set(range(60))
    assert unacked == 0


async def test_a_stopped_consumer_hands_its_batches_back_in_order(system) -> None:
    """A restarted writer gets what its predecessor held first, not after ack_wait behind newer messages."""
    bus = system.runtime("gateway").bus
    name = f"TESTCONSUMER{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.consumer.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    config = ConsumerConfig(
        durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30.0
    )
    durable = DurableConsumer(name, config)
    await bus.js.add_consumer(name, config)
    for n in range(30):
        await bus.js.publish(f"{subject}.n", str(n).encode())
    stuck = asyncio.Event()

    async def hangs(msgs: list[Msg]) -> None:
        stuck.set()
        await asyncio.Event().wait()  # the database never answers; then the pod is stopped

    first = BatchConsumer(bus, durable, hangs, batch=10, prefetch=True, ordered=True)
    first.start()
    try:
        await asyncio.wait_for(stuck.wait(), timeout=10)
        await asyncio.sleep(0.2)  # the prefetched batch arrives too
    finally:
        await first.stop()
    await asyncio.sleep(0.5)  # a pod restart takes longer than the server takes to apply the naks
    handled: list[int] = []
    done = asyncio.Event()

    async def stores(msgs: list[Msg]) -> None:
        handled.extend(int(m.data) for m in msgs)
        if len(handled) >= 30:
            done.set()

    second = BatchConsumer(bus, durable, stores, batch=10, prefetch=True, ordered=True)
    second.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=10)  # well inside ack_wait (30 s)
    finally:
        await second.stop()
        await bus.js.delete_stream(name)
    assert handled == list(range(30))


@pytest.mark.parametrize("gather_s", [0.0, 0.4])
async def test_after_a_short_batch_the_consumer_gathers_what_arrives_meanwhile(system, gather_s) -> None:
    """Single messages arriving a few ms apart: with a gather window they share one batch, without it
    each goes alone (the fetch takes what is there).

    The window opens after message 0 is fetched, so it closes after `published_0 + gather_s`: every message
    stored before then is in the batch fetched after it. Usually all eight are; on a loaded machine the
    publishing can outlast the window, and the later ones go in later batches, which is right too."""
    bus = system.runtime("gateway").bus
    name = f"TESTGATHER{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.gather.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    durable = DurableConsumer(
        name, ConsumerConfig(durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL)
    )
    await bus.js.add_consumer(name, durable.config)
    batches: list[list[int]] = []
    first = asyncio.Event()

    async def handler(msgs: list[Msg]) -> None:
        batches.append([int(m.data) for m in msgs])
        first.set()

    consumer = BatchConsumer(bus, durable, handler, batch=50, prefetch=True, gather_s=gather_s)
    consumer.start()
    stored_at: dict[int, float] = {}  # when the stream's ack came back: stored by then
    try:
        published_0 = time.monotonic()
        await bus.js.publish(f"{subject}.n", b"0")
        await asyncio.wait_for(first.wait(), timeout=10)
        for n in range(1, 9):  # 8 more, 20 ms apart: 160 ms, well inside the 400 ms window
            await bus.js.publish(f"{subject}.n", str(n).encode())
            stored_at[n] = time.monotonic()
            await asyncio.sleep(0.02)
        for _ in range(400):  # 20 s at most: the machine is shared
            if sum(len(b) for b in batches) == 9:
                break
            await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
        await bus.js.delete_stream(name)
    assert [n for b in batches for n in b] == list(range(9))  # each once, in stream order
    if gather_s:
        in_window = [n for n, at in stored_at.items() if at < published_0 + gather_s]
        assert batches[0] == [0]
        # all eight on an idle machine, so then exactly [[0], [1, ..., 8]]
        assert batches[1][: len(in_window)] == in_window, (in_window, batches)
    else:
        assert len(batches) >= 5  # taken as they came, one or two at a time


async def _poison_run(system, *, failure: type[Exception], max_deliver: int, bad: set[int], total: int = 30):
    """Consume `total` numbered messages in batches of 10 on a bounded consumer; `bad` ones always fail."""
    bus = system.runtime("gateway").bus
    name = f"TESTPOISON{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.poison.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    config = ConsumerConfig(
        durable_name="worker",
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        max_deliver=max_deliver,
        backoff=[0.1] * (max_deliver - 1),  # quick: the production schedule is minutes
    )
    durable = DurableConsumer(name, config)
    await bus.js.add_consumer(name, config)
    for n in range(total):
        await bus.js.publish(f"{subject}.n", str(n).encode())
    handled: list[int] = []
    tries: dict[int, int] = {}

    async def handler(msgs: list[Msg]) -> None:
        numbers = [int(m.data) for m in msgs]
        for n in set(numbers) & bad:
            tries[n] = tries.get(n, 0) + 1
        if set(numbers) & bad:
            raise failure("no such thing as this message")
        handled.extend(numbers)

    before = metrics.DEADLETTERED.labels(bus.name, "worker")._value.get()
    consumer = BatchConsumer(bus, durable, handler, batch=10, prefetch=True)
    consumer.start()
    try:
        for _ in range(600):  # 30 s at most: the machine is shared, and a loaded one is slow
            info = await bus.js.consumer_info(name, "worker")
            if len(set(handled)) == total - len(bad) and info.num_ack_pending == 0 and info.num_pending == 0:
                break
            await asyncio.sleep(0.05)
        dead = [await bus.js.get_last_msg("DEADLETTER", deadletter_subject(name, "worker"))] if bad else []
        dead_count = metrics.DEADLETTERED.labels(bus.name, "worker")._value.get() - before
    finally:
        await consumer.stop()
        await bus.js.delete_stream(name)
    return handled, tries, dead, dead_count


class TestPoisonMessages:
    async def test_a_message_that_can_never_succeed_is_dead_lettered_at_once_and_the_rest_go_through(
        self, system
    ) -> None:
        handled, tries, dead, dead_count = await _poison_run(system, failure=ValueError, max_deliver=5, bad={13})
        assert sorted(handled) == [n for n in range(30) if n != 13]
        assert tries[13] == 2  # in its batch, then alone: never again
        assert dead_count == 1
        (letter,) = dead
        assert letter.data == b"13"
        headers = letter.headers or {}
        assert headers[deadletter.ORIGIN_SUBJECT].startswith("test.poison.")
        assert headers[deadletter.ORIGIN_SEQUENCE] == "14"
        assert headers[deadletter.DELIVERIES] == "1"
        assert "ValueError: no such thing" in headers[deadletter.ERROR]

    async def test_an_unexplained_failure_is_retried_with_backoff_then_dead_lettered(self, system) -> None:
        handled, tries, dead, dead_count = await _poison_run(system, failure=RuntimeError, max_deliver=3, bad={4})
        assert sorted(handled) == [n for n in range(30) if n != 4]
        assert dead_count == 1
        assert (dead[0].headers or {})[deadletter.DELIVERIES] == "3"
        # each delivery: in its batch and then alone (the first), alone after that
        assert tries[4] == 4

    async def test_an_outage_spends_no_deliveries_and_nothing_is_dead_lettered(self, system) -> None:
        bus = system.runtime("gateway").bus
        name = f"TESTOUTAGE{uuid.uuid4().hex[:8].upper()}"
        subject = f"test.outage.{name.lower()}"
        await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
        config = ConsumerConfig(
            durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, max_deliver=2
        )
        await bus.js.add_consumer(name, config)
        for n in range(10):
            await bus.js.publish(f"{subject}.n", str(n).encode())
        handled: list[int] = []
        outages = 0

        async def handler(msgs: list[Msg]) -> None:
            nonlocal outages
            if outages < 4:  # more failures than deliveries allowed
                outages += 1
                raise ConnectionRefusedError("PostgreSQL is restarting")
            handled.extend(int(m.data) for m in msgs)

        consumer = BatchConsumer(bus, DurableConsumer(name, config), handler, batch=10)
        consumer.start()
        try:
            for _ in range(200):
                if len(handled) == 10:
                    break
                await asyncio.sleep(0.05)
        finally:
            await consumer.stop()
            await bus.js.delete_stream(name)
        assert handled == list(range(10))  # the whole batch, in order, once the database is back

    async def test_an_unbounded_consumer_never_dead_letters_and_keeps_order(self, system) -> None:
        """The audit writer's kind: a message failing alone is retried in place until it commits."""
        bus = system.runtime("gateway").bus
        name = f"TESTUNBOUNDED{uuid.uuid4().hex[:8].upper()}"
        subject = f"test.unbounded.{name.lower()}"
        await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
        config = ConsumerConfig(
            durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, max_deliver=-1
        )
        await bus.js.add_consumer(name, config)
        for n in range(20):
            await bus.js.publish(f"{subject}.n", str(n).encode())
        handled: list[int] = []
        failures = 0

        async def handler(msgs: list[Msg]) -> None:
            nonlocal failures
            if 5 in [int(m.data) for m in msgs] and failures < 3:
                failures += 1
                raise ValueError("cannot store this one yet")
            handled.extend(int(m.data) for m in msgs)

        consumer = BatchConsumer(bus, DurableConsumer(name, config), handler, batch=10, ordered=True)
        consumer.start()
        try:
            for _ in range(200):
                if len(handled) == 20:
                    break
                await asyncio.sleep(0.05)
        finally:
            await consumer.stop()
            await bus.js.delete_stream(name)
        assert handled == list(range(20))
        with pytest.raises(NotFoundError):
            await bus.js.get_last_msg("DEADLETTER", deadletter_subject(name, "worker"))


class TestSetAsideTwice:
    async def test_a_message_whose_ack_timer_runs_out_while_it_fails_is_kept_and_counted_once(
        self, system, monkeypatch
    ) -> None:
        """Its last delivery outlives its ack timer (the back-off sets it): JetStream's max-deliveries advisory
        sets it aside while the consumer does too. One dead letter, one count."""
        bus = system.runtime("gateway").bus
        name = f"TESTTWICE{uuid.uuid4().hex[:8].upper()}"
        subject = f"test.twice.{name.lower()}"
        durable_name = f"worker{uuid.uuid4().hex[:6]}"  # a counter series of its own
        await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
        # the back-off is the ack timer of each delivery: 0.1 s, far shorter than the failing handler
        config = ConsumerConfig(
            durable_name=durable_name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            max_deliver=2,
            backoff=[0.1],
        )
        await bus.js.add_consumer(name, config)
        await bus.js.publish(f"{subject}.n", b"poison")
        set_aside: list[str] = []

        async def counted(*args: Any, **kwargs: Any) -> None:
            await deadletter.dead_letter(*args, **kwargs)
            set_aside.append(str(kwargs["error"]))

        # a spy that calls through: both paths (the failure and the advisory) go to the real stream
        monkeypatch.setattr(consumer_module, "dead_letter", counted)

        async def handler(msgs: list[Msg]) -> None:
            await asyncio.sleep(1.0)  # slower than the ack timer on every delivery
            raise RuntimeError("no such thing as this message")

        before = metrics.DEADLETTERED.labels(bus.name, durable_name)._value.get()
        # prefetching: the pull waiting beside the handler is what lets JetStream find the delivery spent
        consumer = BatchConsumer(bus, DurableConsumer(name, config), handler, batch=10, prefetch=True)
        consumer.start()
        try:
            for _ in range(600):  # 30 s at most: the machine is shared
                if len(set_aside) >= 2:
                    break
                await asyncio.sleep(0.05)
            count = metrics.DEADLETTERED.labels(bus.name, durable_name)._value.get() - before
            info = await bus.js.stream_info("DEADLETTER", subjects_filter=deadletter_subject(name, durable_name))
        finally:
            await consumer.stop()
            await bus.js.delete_stream(name)
        assert len(set_aside) == 2, set_aside  # the race happened: set aside by the consumer and the advisory
        assert any("never answered" in e for e in set_aside)
        assert info.state.subjects == {deadletter_subject(name, durable_name): 1}
        assert count == 1


class TestAMessageNeverAnswered:
    async def test_one_whose_consumer_died_at_every_delivery_is_kept_from_the_advisory(self, system) -> None:
        """A message that kills its consumer each time never fails, it only times out: JetStream gives up on
        it after max_deliver and says so in an advisory, from which the consumer keeps it."""
        bus = system.runtime("gateway").bus
        name = f"TESTNEVER{uuid.uuid4().hex[:8].upper()}"
        subject = f"test.never.{name.lower()}"
        await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
        config = ConsumerConfig(
            durable_name="worker",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=0.5,
            max_deliver=2,
        )
        await bus.js.add_consumer(name, config)
        await bus.js.publish(f"{subject}.n", b"kills its consumer")
        dying = await bus.js.pull_subscribe_bind(durable="worker", stream=name)
        for _ in range(2):  # delivered, then the process dies before it answers
            assert len(await dying.fetch(1, timeout=2)) == 1
            await asyncio.sleep(0.7)
        await dying.unsubscribe()
        await bus.js.publish(f"{subject}.n", b"after")
        handled: list[bytes] = []

        async def handler(msgs: list[Msg]) -> None:
            handled.extend(m.data for m in msgs)

        consumer = BatchConsumer(bus, DurableConsumer(name, config), handler, batch=10)
        consumer.start()
        letter = None
        try:
            for _ in range(200):
                try:
                    letter = await bus.js.get_last_msg("DEADLETTER", deadletter_subject(name, "worker"))
                except NotFoundError:
                    await asyncio.sleep(0.05)
                    continue
                if handled:
                    break
                await asyncio.sleep(0.05)
        finally:
            await consumer.stop()
            await bus.js.delete_stream(name)
        assert handled == [b"after"]
        assert letter is not None and letter.data == b"kills its consumer"
        assert "never answered" in (letter.headers or {})[deadletter.ERROR]


class TestStopping:
    async def test_stop_lets_the_batch_in_hand_commit_and_acks_it_then_fetches_no_more(self, system) -> None:
        bus = system.runtime("gateway").bus
        name = f"TESTSTOP{uuid.uuid4().hex[:8].upper()}"
        subject = f"test.stop.{name.lower()}"
        await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
        config = ConsumerConfig(
            durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, ack_wait=30.0
        )
        await bus.js.add_consumer(name, config)
        for n in range(30):
            await bus.js.publish(f"{subject}.n", str(n).encode())
        committed: list[int] = []
        in_handler = asyncio.Event()

        async def slow_commit(msgs: list[Msg]) -> None:
            in_handler.set()
            await asyncio.sleep(0.5)  # the transaction is still open when the stop comes
            committed.extend(int(m.data) for m in msgs)

        consumer = BatchConsumer(bus, DurableConsumer(name, config), slow_commit, batch=10, prefetch=True)
        consumer.start()
        try:
            await asyncio.wait_for(in_handler.wait(), timeout=10)
            await consumer.stop()
            info = await bus.js.consumer_info(name, "worker")
            # the prefetched batch was handed back: the next consumer gets it now, not after ack_wait
            next_one = await bus.js.pull_subscribe_bind(durable="worker", stream=name)
            [first] = await next_one.fetch(1, timeout=5)
        finally:
            await bus.js.delete_stream(name)
        assert committed == list(range(10))  # the batch in hand committed and was acked; nothing after it
        assert info.ack_floor.stream_seq == 10
        assert int(first.data) == 10


class TestPreparedAhead:
    """The prepared form of a prefetched batch is handed over with that batch only, and only once."""

    async def test_the_very_batch_takes_its_prepared_form_once(self) -> None:
        ahead: PreparedAhead[str] = PreparedAhead()
        batch: list[Msg] = [Msg(None, subject="s", data=b"1")]  # type: ignore[arg-type]
        ahead.keep(batch, "parsed")
        assert ahead.take(batch) == "parsed"
        assert ahead.take(batch) is None

    async def test_a_split_batch_is_prepared_again_and_the_next_batch_keeps_its_form(self) -> None:
        ahead: PreparedAhead[str] = PreparedAhead()
        current: list[Msg] = [Msg(None, subject="s", data=b"1")]  # type: ignore[arg-type]
        following: list[Msg] = [Msg(None, subject="s", data=b"2")]  # type: ignore[arg-type]
        ahead.keep(following, "next")
        # the current batch failed and is handled a message at a time: new lists, equal contents
        assert ahead.take(list(current)) is None
        assert ahead.take([current[0]]) is None
        assert ahead.take(list(following)) is None
        assert ahead.take(following) == "next"


async def test_a_batch_stuck_in_its_handler_is_reported_with_where_it_waits(
    system, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that never returns is logged with its chain of awaits, so the hang can be found afterwards."""
    monkeypatch.setattr(consumer_module, "STUCK_AFTER_S", 0.4)
    bus = system.runtime("gateway").bus
    name = f"TESTCONSUMER{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.consumer.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    config = ConsumerConfig(durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL)
    await bus.js.add_consumer(name, config)
    for n in range(3):
        await bus.js.publish(f"{subject}.n", str(n).encode())
    never = asyncio.Event()

    async def waits_on_the_database(msgs: list[Msg]) -> None:
        await never.wait()

    stuck = BatchConsumer(bus, DurableConsumer(name, config), waits_on_the_database, batch=10)
    caplog.set_level("WARNING", logger="libs.common.consumer")
    stuck.start()
    try:
        for _ in range(50):
            if any("in its handler" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.1)
    finally:
        await stuck.stop(grace_s=0.1)
        await bus.js.delete_stream(name)
    [said] = [r.getMessage() for r in caplog.records if "in its handler" in r.getMessage()][:1]
    assert "a batch of 3 in worker" in said
    assert "in waits_on_the_database" in said and "in wait" in said  # down to the await that hangs


async def _consumer_stream(bus: Any) -> tuple[str, str, ConsumerConfig]:
    name = f"TESTCONSUMER{uuid.uuid4().hex[:8].upper()}"
    subject = f"test.consumer.{name.lower()}"
    await bus.js.add_stream(StreamConfig(name=name, subjects=[f"{subject}.>"], storage=StorageType.MEMORY))
    config = ConsumerConfig(durable_name="worker", ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL)
    await bus.js.add_consumer(name, config)
    return name, subject, config


async def _until(condition: Callable[[], bool], tries: int = 80) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.1)


async def test_a_cancellation_from_inside_the_handler_fails_the_batch_not_the_loop(
    system, caplog: pytest.LogCaptureFixture
) -> None:
    """A future the handler awaits, cancelled by its owner (a driver dropping its waiters as the connection
    goes), raised CancelledError through the loop and ended it: nothing fetched any more and nothing said so.
    Now the batch fails like any outage and is handled again; a stop still cancels."""
    bus = system.runtime("gateway").bus
    name, subject, config = await _consumer_stream(bus)
    await bus.js.publish(f"{subject}.n", b"0")
    handled: list[bytes] = []

    async def cancelled_inside_once(msgs: list[Msg]) -> None:
        if not handled:
            handled.append(b"")
            waiter = asyncio.get_running_loop().create_future()
            waiter.cancel()  # its owner cancels it, not the consumer's stop
            await waiter
        handled.extend(m.data for m in msgs)

    caplog.set_level("WARNING", logger="libs.common.consumer")
    worker = BatchConsumer(bus, DurableConsumer(name, config), cancelled_inside_once, batch=10)
    worker.start()
    try:
        await _until(lambda: b"0" in handled)
        assert worker._task is not None and not worker._task.done()  # the same loop goes on
    finally:
        await worker.stop(grace_s=0.1)
        await bus.js.delete_stream(name)
    assert handled == [b"", b"0"]
    assert any("cancelled from inside" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "ended unasked" in r.getMessage()]


async def test_a_consumer_loop_that_ends_unasked_is_logged_and_started_again(
    system, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop that ends with no stop asked (an error outside the handler) is said at error level and started
    again, so the consumer fetches again; a stopped one says nothing and stays stopped, and one cancelled
    without a stop (a process shutting down) stays stopped too."""
    monkeypatch.setattr(consumer_module, "RESTART_AFTER_S", 0.1)
    bus = system.runtime("gateway").bus
    name, subject, config = await _consumer_stream(bus)
    caplog.set_level("ERROR", logger="libs.common.consumer")
    handled: list[bytes] = []

    async def handle(msgs: list[Msg]) -> None:
        handled.extend(m.data for m in msgs)

    try:
        stopped = BatchConsumer(bus, DurableConsumer(name, config), handle, batch=10)
        stopped.start()
        await asyncio.sleep(0.2)
        await stopped.stop(grace_s=0.1)
        await asyncio.sleep(0.3)
        assert stopped._task is not None and stopped._task.done()
        assert not [r for r in caplog.records if "ended unasked" in r.getMessage()]

        shut = BatchConsumer(bus, DurableConsumer(name, config), handle, batch=10)
        shut.start()
        await asyncio.sleep(0.2)
        first = shut._task
        assert first is not None
        first.cancel()
        await asyncio.sleep(0.4)
        assert shut._task is first and first.cancelled()  # not started again
        await shut.stop(grace_s=0.1)
        assert not [r for r in caplog.records if "ended unasked" in r.getMessage()]

        worker = BatchConsumer(bus, DurableConsumer(name, config), handle, batch=10)
        settle = worker._settle
        broken = [True]

        async def breaks_once(msgs: list[Msg], ahead: Any) -> None:
            if broken.pop() if broken else False:
                raise RuntimeError("a bug outside the handler")
            await settle(msgs, ahead)

        monkeypatch.setattr(worker, "_settle", breaks_once)
        restarts = metrics.CONSUMER_RESTARTS.labels(bus.name, "worker")._value.get()
        await bus.js.publish(f"{subject}.n", b"1")
        worker.start()
        try:
            await _until(lambda: b"1" in handled)
            assert metrics.CONSUMER_RESTARTS.labels(bus.name, "worker")._value.get() == restarts + 1  # the alert's
        finally:
            await worker.stop(grace_s=0.1)
    finally:
        await bus.js.delete_stream(name)
    assert handled == [b"1"]  # handed back by the ended loop's finally, handled once by the next
    [said] = [r.getMessage() for r in caplog.records if "ended unasked" in r.getMessage()]
    assert said == (
        "the consumer loop of worker ended unasked (RuntimeError('a bug outside the handler')); "
        "starting it again in 0.1 s"
    )
