"""Frame rules (services/records/frames/service.py): the reads a photograph's plates become, and its outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from libs.common.contracts.frames import FrameIn, FrameReading, PlateInFrame
from libs.common.contracts.reads import Box, Candidate, Point, ReadImage
from libs.common.contracts.recognition import Recognition
from libs.common.errors import InvalidInput, PayloadTooLarge, Unavailable
from services.records.frames.service import (
    frame_read_id,
    frame_reads,
    is_refusal,
    read_outcome,
    reads_purged_before,
    refused_outcome,
)
from services.records.lookalike import DEFAULT_LOOKALIKES

RECEIVED = datetime(2026, 12, 6, 17, 0, tzinfo=UTC)


def frame(**update: object) -> FrameIn:
    body: dict[str, object] = {
        "frame_id": "f-1",
        "agency": "CA0430000",
        "camera_id": "cam-9",
        "received_at": RECEIVED,
        "latitude": 37.3,
        "longitude": -121.9,
        "image": ReadImage(kind="vehicle", content_type="image/jpeg", data_b64="/9j/AA=="),
    }
    return FrameIn.model_validate({**body, **update})


def plate(text: str, x: float = 100.0, y: float = 200.0) -> PlateInFrame:
    recognition = Recognition(
        plate=text,
        confidence=0.87,
        char_confidences=[0.9] * len(text),
        candidates=[Candidate(plate=text, confidence=0.87)],
        model_version="crnn-t",
        elapsed_ms=3.0,
    )
    box = Box(x=x, y=y, width=88.0, height=44.0)
    corners = [Point(x=x, y=y), Point(x=x + 88, y=y), Point(x=x + 88, y=y + 44), Point(x=x, y=y + 44)]
    return PlateInFrame(box=box, polygon=corners, detection_score=0.8, recognition=recognition)


def reading(*plates: PlateInFrame) -> FrameReading:
    return FrameReading(plates=list(plates), width=1280, height=720, detector_version="det-t", elapsed_ms=9.0)


class TestFrameReadId:
    def test_the_same_frame_and_box_give_the_same_id(self) -> None:
        assert frame_read_id("f-1", plate("7ABC123")) == frame_read_id("f-1", plate("8ABC123", x=100.3))

    def test_another_frame_or_another_box_gives_another_id(self) -> None:
        one = frame_read_id("f-1", plate("7ABC123"))
        assert frame_read_id("f-2", plate("7ABC123")) != one
        assert frame_read_id("f-1", plate("7ABC123", x=400)) != one


class TestFrameReads:
    def test_each_plate_is_a_read_of_vendor_image_carrying_our_reading(self) -> None:
        rows = frame_reads(frame(), reading(plate("7abc-123"), plate("5XYZ789", x=700)), DEFAULT_LOOKALIKES)
        assert [r.read.plate for r in rows] == ["7ABC123", "5XYZ789"]
        first = rows[0]
        read = first.read
        assert (read.vendor, read.vendor_format) == ("image", "image")
        assert (read.agency, read.camera_id) == ("CA0430000", "cam-9")
        assert read.captured_at == RECEIVED and read.received_at == RECEIVED  # no camera time: when received
        assert (read.latitude, read.longitude, read.confidence) == (37.3, -121.9, 0.87)
        assert read.plate_box == Box(x=100.0, y=200.0, width=88.0, height=44.0) and len(read.plate_polygon or []) == 4
        assert [i.kind for i in read.images] == ["overview"]  # the whole photograph, whatever it was sent as
        assert first.recognition is not None and first.recognition_asked  # not sent to the recognizer again

    def test_the_cameras_own_time_is_the_capture_time(self) -> None:
        taken = RECEIVED - timedelta(seconds=4)
        [row] = frame_reads(frame(captured_at=taken), reading(plate("7ABC123")), DEFAULT_LOOKALIKES)
        assert row.read.captured_at == taken

    def test_a_plate_read_as_nothing_is_kept_without_a_plate(self) -> None:
        [row] = frame_reads(frame(), reading(plate("")), DEFAULT_LOOKALIKES)
        assert row.read.plate is None and row.read.plate_box is not None

    def test_two_detections_of_one_box_are_one_read(self) -> None:
        rows = frame_reads(frame(), reading(plate("7ABC123"), plate("7ABC128", x=100.2)), DEFAULT_LOOKALIKES)
        assert len(rows) == 1


class TestOutcome:
    def test_reads_found_is_read_with_ids_and_plates_in_order(self) -> None:
        rows = frame_reads(frame(), reading(plate("7ABC123"), plate("", x=600)), DEFAULT_LOOKALIKES)
        outcome = read_outcome(rows)
        assert outcome.status == "read" and outcome.plates == ["7ABC123", ""]
        assert outcome.read_ids == [r.read.read_id for r in rows]

    def test_nothing_found_is_no_plate(self) -> None:
        assert read_outcome([]).status == "no_plate"

    def test_a_refusal_is_failed_with_its_code(self) -> None:
        outcome = refused_outcome("image_undecodable")
        assert (outcome.status, outcome.error_code) == ("failed", "image_undecodable")

    def test_only_the_recognizers_4xx_is_a_refusal(self) -> None:
        assert is_refusal(InvalidInput("x", code="image_undecodable"))
        assert is_refusal(PayloadTooLarge("x"))
        assert not is_refusal(Unavailable("x", code="service_timeout"))


class TestReadsPurgedBefore:
    def test_the_later_of_the_cutoff_and_b5s_cap(self) -> None:
        cutoff = RECEIVED - timedelta(days=356)
        assert reads_purged_before(cutoff, None) == cutoff
        capped = RECEIVED - timedelta(days=59)
        assert reads_purged_before(cutoff, (cutoff, capped)) == capped
