"""Many JetStream publishes, their acks awaited together: a batch post's reads in one go, not one request each.

`js.publish` is a request per message: its own future, timer and wait, about half the gateway's work on a
batch post. Here every message of a batch goes out with a reply subject under one shared inbox; one
callback counts the acks and one future waits for the whole batch. Messages carry `Nats-Msg-Id`, so
publishing again what may already be stored (a retry after a lost ack) stores nothing twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.aio.msg import Msg

from libs.common.errors import Unavailable


@dataclass(frozen=True, slots=True)
class Outgoing:
    subject: str
    payload: bytes
    msg_id: str
    headers: dict[str, str] | None = None
    count: int = 1  # how many items the message carries: a duplicate counts them all


@dataclass
class _Batch:
    waiting: set[int]
    counts: list[int]
    duplicates: int = 0
    failed: dict[int, str] = field(default_factory=dict)
    done: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, index: int, error: str | None, duplicate: bool) -> None:
        if index not in self.waiting:
            return  # a late ack of an earlier attempt's copy
        self.waiting.discard(index)
        if error is not None:
            self.failed[index] = error
        elif duplicate:
            self.duplicates += self.counts[index]
        if not self.waiting and not self.done.done():
            self.done.set_result(None)


class BatchPublisher:
    """Publishes batches to JetStream over one connection and waits for every ack; owned by a Bus."""

    def __init__(self, nc: Client, *, attempts: int = 3, timeout_s: float = 2.0) -> None:
        self._nc = nc
        self._attempts = attempts
        self._timeout = timeout_s
        self._prefix = ""
        self._batches: dict[int, _Batch] = {}
        self._numbers = itertools.count(1)
        self._ready = asyncio.Lock()

    async def publish(self, messages: Sequence[Outgoing], headers: dict[str, str]) -> int:
        """Publish all, wait until JetStream holds each; returns how many items it already had (duplicates).

        A message the stream refuses or does not ack in time is published again, a bounded number of
        times; then the whole call fails with Unavailable (the caller's client retries the post).
        """
        if not messages:
            return 0
        await self._subscribe()
        pending = list(range(len(messages)))
        duplicates = 0
        last = "no acknowledgement"
        for attempt in range(self._attempts):
            number = next(self._numbers)
            batch = self._batches[number] = _Batch(waiting=set(pending), counts=[m.count for m in messages])
            try:
                for i in pending:
                    message = messages[i]
                    await self._nc.publish(
                        message.subject,
                        message.payload,
                        reply=f"{self._prefix}.{number}.{i}",
                        headers={**headers, **(message.headers or {}), "Nats-Msg-Id": message.msg_id},
                    )
                await asyncio.wait_for(asyncio.shield(batch.done), self._timeout)
            except Exception as exc:  # a timeout, or nats.errors.* (disconnected, draining, buffer full)
                last = f"{type(exc).__name__}: {exc}"
            finally:
                del self._batches[number]
            duplicates += batch.duplicates
            if batch.failed:
                last = next(iter(batch.failed.values()))
            pending = sorted(batch.waiting | set(batch.failed))
            if not pending:
                return duplicates
            await asyncio.sleep(0.05 * (2**attempt))
        raise Unavailable("the message bus did not acknowledge", code="bus_unavailable", reason=last)

    async def _subscribe(self) -> None:
        if self._prefix:
            return
        async with self._ready:
            if not self._prefix:
                prefix = self._nc.new_inbox()
                await self._nc.subscribe(f"{prefix}.>", cb=self._on_ack)
                self._prefix = prefix

    async def _on_ack(self, msg: Msg) -> None:
        _, _, tail = msg.subject.rpartition(self._prefix + ".")
        number, _, index = tail.partition(".")
        batch = self._batches.get(int(number)) if number.isdigit() else None
        if batch is None or not index.isdigit():
            return
        batch.settle(int(index), *_read_ack(msg))


def _read_ack(msg: Msg) -> tuple[str | None, bool]:
    """(error, duplicate) of a JetStream publish ack; "no responders" (no stream takes it) is an error."""
    status = (msg.headers or {}).get("Status")
    if status:
        return f"status {status}", False
    try:
        ack = json.loads(msg.data)
    except ValueError:
        return "an unreadable acknowledgement", False
    if not isinstance(ack, dict) or "error" in ack or "seq" not in ack:
        return f"refused: {ack.get('error') if isinstance(ack, dict) else ack}", False
    return None, bool(ack.get("duplicate"))
