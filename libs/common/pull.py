"""A JetStream pull that returns as soon as any message is there, even when other pulls wait on the consumer.

nats-py's `fetch` first asks with `no_wait` and `expires`: the server answers the moment it has messages. But
when another pull request of the same consumer is waiting (a second pipeline, a second replica) and a message
is pending for it, the server refuses that probe with `408 Requests Pending`, and `fetch` then falls back to
a plain pull that holds what it gets until the whole batch is there or the timeout runs out: at 200 single
reads a second, a fetch of 50 held its first read ~250 ms, the p99 of post→committed (bench/ingest.py). Here
a refused probe waits in line only briefly; every other answer ends the fetch at once. Built on core NATS
(an inbox and JetStream's documented `CONSUMER.MSG.NEXT` request), so no private client state.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.errors import APIError

JS_API = "$JS.API"
# after a 408 Requests Pending, a plain pull this long: the pending messages go to the pull ahead of it, and
# what arrives next comes here within this bound, not after a whole batch or the full timeout
CONTENDED_WAIT_S = 0.01
EXPIRY_SLACK_S = 0.05  # the server's own 408 at expiry comes before the client gives up on it
# once messages came, this long without another ends the fetch even before the server's 404: a pull whose
# delivery waited on max_ack_pending got no 404 after its messages; what still comes is the next fetch's
TRAILING_S = 0.005
_HEARTBEAT, _NO_MESSAGES, _TIMEOUT = "100", "404", "408"


class ReadyPull:
    """Pulls batches from one durable consumer into its own inbox; `fetch` as nats-py's, without the hold."""

    def __init__(self, nc: Client, subject: str) -> None:
        self._nc = nc
        self._subject = subject
        self._inbox: Subscription | None = None
        # what the inbox got, messages and status answers in order; a callback, not next_msg, so a batch of
        # 50 costs no task per message
        self._arrived: deque[Msg] = deque()
        self._wake = asyncio.Event()

    @classmethod
    async def bind(cls, nc: Client, *, stream: str, durable: str) -> ReadyPull:
        """A pull on an existing durable consumer (created beforehand, as streams.py's are)."""
        pull = cls(nc, f"{JS_API}.CONSUMER.MSG.NEXT.{stream}.{durable}")
        pull._inbox = await nc.subscribe(nc.new_inbox(), cb=pull._arrive)
        return pull

    async def unsubscribe(self) -> None:
        if self._inbox is not None:
            await self._inbox.unsubscribe()

    async def fetch(self, batch: int, *, timeout: float) -> list[Msg]:
        """Up to `batch` messages, returned once those there are delivered; TimeoutError if none in `timeout`."""
        assert self._inbox is not None, "bind() first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        msgs = self._left_over(batch)  # delivered to an earlier pull after its fetch had returned
        if msgs:
            return msgs
        contended = False
        while (left := deadline - loop.time()) > 0.002:
            # one-shot (no_wait with expires): the server waits for the first message, sends those there, then 404
            request: dict[str, object] = {"batch": batch, "expires": int(min(left, CONTENDED_WAIT_S) * 1e9)}
            if not contended:
                request.update(expires=int(left * 1e9), no_wait=True)
            await self._nc.publish(self._subject, json.dumps(request).encode(), reply=self._inbox.subject)
            contended = False
            while (msg := await self._next(self._until(msgs, deadline + EXPIRY_SLACK_S))) is not None:
                status = msg.headers.get("Status") if msg.headers else None
                if status is None:
                    msgs.append(msg)
                    if len(msgs) == batch:
                        return msgs
                elif status == _HEARTBEAT:
                    continue
                elif msgs:
                    return msgs  # the 404 (or 408) that ends a pull after its messages
                elif status == _TIMEOUT and "Pending" in (msg.headers or {}).get("Description", ""):
                    contended = True  # another pull is ahead: wait in line a moment, not until a batch fills
                    break
                elif status in (_NO_MESSAGES, _TIMEOUT):
                    break  # an earlier pull's end, or ours expired: ask again while time is left
                else:
                    raise APIError.from_msg(msg)
            else:
                if msgs:
                    return msgs
                break
        raise TimeoutError

    def take_left_over(self) -> list[Msg]:
        """Messages delivered here and not yet fetched (a stopping consumer hands them back)."""
        return self._left_over(len(self._arrived))

    @staticmethod
    def _until(msgs: list[Msg], deadline: float) -> float:
        return min(deadline, asyncio.get_running_loop().time() + TRAILING_S) if msgs else deadline

    async def _arrive(self, msg: Msg) -> None:
        self._arrived.append(msg)
        self._wake.set()

    async def _next(self, until: float) -> Msg | None:
        """The inbox's next answer, or None at `until`."""
        loop = asyncio.get_running_loop()
        while not self._arrived:
            self._wake.clear()
            left = until - loop.time()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                return None
        return self._arrived.popleft()

    def _left_over(self, batch: int) -> list[Msg]:
        """Messages already here, up to `batch`; status answers of earlier pulls are dropped."""
        msgs: list[Msg] = []
        while self._arrived and len(msgs) < batch:
            msg = self._arrived.popleft()
            if not (msg.headers and "Status" in msg.headers):
                msgs.append(msg)
        return msgs
