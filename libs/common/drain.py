"""Draining: from SIGTERM until the process stops, readiness fails, long streams say goodbye, and consumers
stop fetching, while requests already in flight finish."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

log = logging.getLogger(__name__)


class Drain:
    """One service's drain state; `begin_all` (the signal handler's call) starts every drain of the process."""

    _all: weakref.WeakSet[Drain] = weakref.WeakSet()

    def __init__(self) -> None:
        self._event = asyncio.Event()
        Drain._all.add(self)

    @property
    def started(self) -> bool:
        return self._event.is_set()

    def begin(self) -> None:
        if not self._event.is_set():
            self._event.set()

    async def wait(self) -> None:
        """Return once draining has begun (an SSE stream waits on it beside its next message)."""
        await self._event.wait()

    async def unless_draining(self, step: Awaitable[T]) -> T | None:
        """`step`'s result, or None as soon as draining begins (the step is then cancelled): a long stream
        waiting for its next message says goodbye at once instead of being cut at shutdown."""
        task = asyncio.ensure_future(step)
        if self.started:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return None
        drained = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({task, drained}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            drained.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    @classmethod
    def begin_all(cls) -> None:
        """Start draining every service of this process (one in a pod; several in tests)."""
        for drain in list(cls._all):
            drain.begin()
        log.info("draining: readiness now fails; in-flight requests finish")
