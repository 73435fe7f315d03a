"""`alpr migrate`'s JetStream declarations: the dead-letter stream, and bounds that reach existing durables."""

from __future__ import annotations

import dataclasses

import pytest

from libs.common.migrations import apply_streams
from libs.common.streams import (
    AGENCY_ALERTS,
    ALERTS,
    AUDIT,
    AUDIT_EVENTS,
    AUDIT_WRITER,
    DEAD_LETTERS,
    DEADLETTER,
    READS,
    READS_INGESTED,
    RECORDS_READS,
    alerts_subject,
    audit_subject,
    deadletter_subject,
    reads_subject,
)

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


class TestSubjectFamilies:
    """Each stream captures exactly its declared family, and the builders stay inside it, byte for byte."""

    async def test_each_stream_captures_its_family(self) -> None:
        for family, config in (
            (READS_INGESTED, READS),
            (AUDIT_EVENTS, AUDIT),
            (AGENCY_ALERTS, ALERTS),
            (DEAD_LETTERS, DEADLETTER),
        ):
            assert (config.name, config.subjects) == (family.stream, [family.pattern])
        assert RECORDS_READS.stream == READS_INGESTED.stream and AUDIT_WRITER.stream == AUDIT_EVENTS.stream

    async def test_builders_keep_the_wire_subjects(self) -> None:
        # the wire protocol: NATS permissions (deploy/k8s/base/nats/nats.conf) and ARCHITECTURE.md name these
        assert reads_subject("CA0430000", "cam-a") == "alpr.reads.ingested.CA0430000.cam-a"
        assert audit_subject("search") == "alpr.audit.event.search"
        assert alerts_subject("CA0430000") == "alpr.alerts.CA0430000"
        assert deadletter_subject("READS", "records-reads") == "alpr.deadletter.READS.records-reads"

    @pytest.mark.parametrize("camera", ["cam.*", "cam >", "", "a.b.c", "cam\tx", "*"])
    async def test_a_hostile_token_cannot_leave_its_family(self, camera: str) -> None:
        subject = reads_subject("CA0430000", camera)
        tokens = subject.split(".")
        assert subject.startswith(READS_INGESTED.prefix + ".") and len(tokens) == 5
        assert all(t and t not in ("*", ">") and " " not in t for t in tokens)

    async def test_a_family_refuses_a_wildcard_token(self) -> None:
        for token in ("*", ">", "a.b", "", "a b"):
            with pytest.raises(ValueError):
                AGENCY_ALERTS.of(token)
