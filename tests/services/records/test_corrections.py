"""A correction adds the read's next version: the reply names it, and an old version refuses a second one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from libs.common.contracts.holds import CORRECTION_CREATE, CorrectionRequest
from libs.common.errors import Conflict, NotFound

pytestmark = pytest.mark.asyncio(loop_scope="session")


BY = {"reason": "The image shows an 8 where the reader gave a B", "corrected_by": "officer-1"}


def plate() -> str:
    return "C" + uuid.uuid4().hex[:6].upper()


class TestCorrectionEndpoint:
    async def test_the_reply_is_the_new_version_and_an_old_one_names_the_newest(
        self, system: Any, store_reads: Any
    ) -> None:
        (read,) = await store_reads([{"plate": plate(), "captured_at": datetime.now(UTC)}])
        bus = system.runtime("gateway").bus
        fixed = plate()
        reply = await bus.call(
            CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=fixed, state="nv", **BY)
        )
        assert (reply.supersedes, reply.version, reply.plate, reply.state) == (read.read_id, 2, fixed, "NV")
        assert reply.read_id != read.read_id
        with pytest.raises(Conflict) as refused:
            await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=read.read_id, plate=plate(), **BY))
        assert refused.value.code == "read_superseded" and refused.value.details["newest"] == reply.read_id

    async def test_an_unknown_read_cannot_be_corrected(self, system: Any) -> None:
        bus = system.runtime("gateway").bus
        with pytest.raises(NotFound) as refused:
            await bus.call(CORRECTION_CREATE, CorrectionRequest(read_id=str(uuid.uuid4()), plate=plate(), **BY))
        assert refused.value.code == "read_not_found"
