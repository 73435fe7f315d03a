"""Micro-batching: gather concurrent requests for a few milliseconds and run them in one forward pass."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, Protocol, TypeVar

from PIL import Image

T = TypeVar("T")


class BatchReader(Protocol[T]):
    def read_batch(self, images: list[Image.Image]) -> list[T]: ...


# T: the plate reader's `Reading`, or the detector's list of detections per photograph
class MicroBatcher(Generic[T]):
    """Collects `submit` calls up to `max_batch` or `max_wait_ms`, then reads them off the event loop."""

    def __init__(
        self,
        reader: BatchReader[T],
        *,
        max_batch: int = 64,
        max_wait_ms: float = 3.0,
        executor: ThreadPoolExecutor | None = None,
    ) -> None:
        self.reader = reader
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: asyncio.Queue[tuple[Image.Image, asyncio.Future[T]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        # one thread: torch already uses every core it is given, and the model is not re-entrant; batchers of
        # two models share one (`executor`) so their passes take turns on the cores instead of fighting
        self._owns_executor = executor is None
        self._executor = executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="plate-reader")

    async def submit(self, image: Image.Image) -> T:
        """Read one plate crop, sharing a forward pass with whatever else arrives meanwhile."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._queue.put((image, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            live = [(image, future) for image, future in batch if not future.cancelled()]
            if not live:
                continue
            try:
                readings = await loop.run_in_executor(self._executor, self.reader.read_batch, [i for i, _ in live])
            except Exception as exc:  # one failed batch fails its callers, not the batcher
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), reading in zip(live, readings, strict=True):
                if not future.done():
                    future.set_result(reading)

    async def close(self) -> None:
        """Stop the collecting task, and the inference thread unless it was lent (`executor`)."""
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        if self._owns_executor:
            self._executor.shutdown(wait=True)
