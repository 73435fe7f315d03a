"""A reply that is not its endpoint's reply model is a typed error of the one family, never a bare
ValidationError: records' recognition step catches AlprError only, so a bare one made a read with an image
fail its store, halve its batch as poison and end in DEADLETTER instead of stored (a read answered 202 lost).

A recognizer whose model gives a NaN confidence answers it as JSON null (pydantic writes NaN so), which is
not a float: that is the reply these tests send."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from libs.common.bus import Bus
from libs.common.contracts.reads import ReadImage, ReadIn
from libs.common.contracts.recognition import RECOGNIZE, RecognizeRequest
from libs.common.deadletter import is_permanent, is_transient
from libs.common.errors import AlprError
from services.records.flows import recognize_reads
from services.records.service import ReadRow
from tests.utils.image_samples import png

# what the recognizer sends for a reading whose per-character confidences came out NaN
NAN_REPLY = {
    "plate": "7ABC123",
    "confidence": 0.9,
    "char_confidences": [None, 0.9],
    "candidates": [],
    "model_version": "crnn-test",
    "elapsed_ms": 2.0,
}


class AnsweringNats:
    """The part of a NATS client a request uses, answering every request with one body."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def jetstream(self, **_: Any) -> None:
        return None

    async def request(self, subject: str, data: bytes, **_: Any) -> SimpleNamespace:
        return SimpleNamespace(headers=None, data=json.dumps(self.body).encode())


def bus_answering(body: dict[str, Any]) -> Bus:
    return Bus(AnsweringNats(body), name="records")  # type: ignore[arg-type]


async def test_a_reply_that_is_not_the_endpoint_model_is_a_typed_error() -> None:
    with pytest.raises(AlprError) as raised:
        await bus_answering(NAN_REPLY).call(RECOGNIZE, RecognizeRequest(image_b64="AA=="))
    assert raised.value.code == "invalid_reply"
    # neither an outage to retry nor the message's own fault: the caller decides what a bad answer costs
    assert not is_transient(raised.value) and not is_permanent(raised.value)


async def test_a_read_whose_recognizer_answers_badly_is_kept_flagged_without_our_reading() -> None:
    read = ReadIn(
        read_id=str(uuid.uuid4()),
        agency="CA0430000",
        camera_id="cam-bad-reply",
        captured_at=datetime.now(UTC),
        plate="7ABC123",
        images=[ReadImage(kind="plate", content_type="image/png", data_b64=base64.b64encode(png()).decode())],
    )
    row = ReadRow(read=read)
    await recognize_reads(bus_answering(NAN_REPLY), [row], timeout=1.0)
    assert row.recognition is None
    assert row.extra_flags == ["recognizer_invalid_reply"]


async def test_a_valid_reply_is_the_endpoint_model() -> None:
    reply = await bus_answering({**NAN_REPLY, "char_confidences": [0.8, 0.9]}).call(
        RECOGNIZE, RecognizeRequest(image_b64="AA==")
    )
    assert reply.char_confidences == [0.8, 0.9] and reply.plate == "7ABC123"
