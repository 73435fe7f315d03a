"""Each photograph records takes off FRAMES is counted once by its outcome (alpr_frames_read_total), after its
commit: read, no_plate or failed, exported by records' /metrics. Budget: three frames through the running
recognizer, well under a minute."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from libs.common import metrics
from tests.services.records.frames.test_frame_flow import consumed
from tests.utils.frames import ONE_PLATE, Frames, blank_frame, photo

pytestmark = pytest.mark.asyncio(loop_scope="session")


def counted(outcome: str) -> float:
    return float(metrics.FRAMES_READ.labels(outcome)._value.get())


async def exported(system: Any) -> dict[str, float]:
    transport = httpx.ASGITransport(app=system.apps["records"])
    async with httpx.AsyncClient(transport=transport, base_url="http://records") as client:
        text = (await client.get("/metrics")).text
    [family] = [f for f in text_string_to_metric_families(text) if f.name == "alpr_frames_read"]
    return {s.labels["outcome"]: s.value for s in family.samples}


class TestFramesCountedByOutcome:
    async def test_each_outcome_counts_its_frame_once(self, system: Any, frames: Frames) -> None:
        for body, status in ((blank_frame(), "no_plate"), (b"\xff\xd8 no photograph \xff\xd9", "failed")):
            before = counted(status)
            frame = await frames.post(body)
            assert (await frames.outcome(frame)).status == status
            assert counted(status) == before + 1
        before = counted("read")
        frame = await frames.post(photo(ONE_PLATE))
        first = await frames.outcome(frame)
        assert first.status == "read" and counted("read") == before + 1
        # the same frame again (a resend past the duplicate window) is done already: not counted again
        await frames.post(photo(ONE_PLATE), frame_id=frame.frame_id, msg_id=f"again-{frame.frame_id}")
        await consumed(system)
        assert counted("read") == before + 1

    async def test_records_exports_every_outcome_from_start_up(self, system: Any) -> None:
        if "records" not in system.apps:
            pytest.skip("records not started in this run")
        samples = await exported(system)
        assert set(samples) == {"read", "no_plate", "failed"}
        assert samples["read"] == counted("read")
