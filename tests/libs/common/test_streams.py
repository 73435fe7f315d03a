"""`alpr migrate`'s JetStream declarations: the dead-letter stream, and bounds that reach existing durables."""

from __future__ import annotations

import dataclasses

import pytest

from libs.common.migrations import apply_streams
from libs.common.streams import AUDIT_WRITER, DEADLETTER, RECORDS_READS

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestApplyStreams:
    async def test_a_durable_declared_before_its_bounds_is_bounded_in_place(self, system) -> None:
        js = system.runtime("gateway").bus.js
        # records-reads as it stood before issue #21: redelivered forever
        await js.add_consumer(
            RECORDS_READS.stream, dataclasses.replace(RECORDS_READS.config, max_deliver=-1, backoff=None)
        )
        before = await js.consumer_info(RECORDS_READS.stream, "records-reads")
        assert before.config.max_deliver == -1

        applied = await apply_streams(js)

        info = await js.consumer_info(RECORDS_READS.stream, "records-reads")
        assert info.config.max_deliver == RECORDS_READS.config.max_deliver
        assert info.config.backoff == RECORDS_READS.config.backoff
        assert info.config.ack_wait == RECORDS_READS.config.ack_wait  # the backoff's first step is the ack wait
        assert info.delivered.stream_seq == before.delivered.stream_seq  # updated, not recreated
        assert f"stream {DEADLETTER.name}" in applied

    async def test_the_audit_writer_is_never_bounded(self, system) -> None:
        info = await system.runtime("gateway").bus.js.consumer_info(AUDIT_WRITER.stream, "audit-writer")
        assert info.config.max_deliver in (-1, None)
