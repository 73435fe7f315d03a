"""MicroBatcher: concurrent submits share forward passes, answers reach the right caller, failures propagate."""

from __future__ import annotations

import asyncio
import threading

import pytest
from PIL import Image

from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.reader import Reading


class EchoReader:
    """Reads each image's width as the plate; records batch sizes and the thread it ran on."""

    def __init__(self, *, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.fail = fail

    def read_batch(self, images: list[Image.Image]) -> list[Reading]:
        self.batches.append(len(images))
        self.threads.add(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("model exploded")
        return [Reading(str(im.width), 1.0, [1.0]) for im in images]


def crops(n: int) -> list[Image.Image]:
    return [Image.new("L", (10 + i, 5)) for i in range(n)]


class TestMicroBatcher:
    async def test_concurrent_requests_share_a_batch_and_get_their_own_answer(self) -> None:
        reader = EchoReader()
        batcher = MicroBatcher(reader, max_batch=64, max_wait_ms=20)
        readings = await asyncio.gather(*(batcher.submit(c) for c in crops(10)))
        await batcher.close()
        assert [r.plate for r in readings] == [str(10 + i) for i in range(10)]
        assert reader.batches == [10]
        assert threading.main_thread().name not in reader.threads

    async def test_batches_never_exceed_max_batch(self) -> None:
        reader = EchoReader()
        batcher = MicroBatcher(reader, max_batch=4, max_wait_ms=20)
        readings = await asyncio.gather(*(batcher.submit(c) for c in crops(10)))
        await batcher.close()
        assert len(readings) == 10
        assert max(reader.batches) <= 4
        assert sum(reader.batches) == 10

    async def test_a_lone_request_waits_only_max_wait(self) -> None:
        batcher = MicroBatcher(EchoReader(), max_batch=64, max_wait_ms=3)
        reading = await asyncio.wait_for(batcher.submit(crops(1)[0]), timeout=1.0)
        await batcher.close()
        assert reading.plate == "10"

    async def test_a_failed_batch_fails_its_callers_and_the_batcher_goes_on(self) -> None:
        reader = EchoReader(fail=True)
        batcher = MicroBatcher(reader, max_batch=8, max_wait_ms=5)
        with pytest.raises(RuntimeError, match="exploded"):
            await batcher.submit(crops(1)[0])
        reader.fail = False
        assert (await batcher.submit(crops(1)[0])).plate == "10"
        await batcher.close()
