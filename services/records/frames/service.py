"""Frame rules: which reads a photograph's plates become, and what its outcome says (no I/O here).

A frame is a photograph a camera posted with no read of its own (`POST /v1/ingest/image`); the recognizer
finds and reads each plate in it, and each plate becomes a read of vendor `image`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from libs.common.contracts.frames import FrameIn, FrameOutcome, FrameReading, FrameStatus, PlateInFrame
from libs.common.contracts.reads import ReadIn, normalize_plate, plate_is_acceptable, stable_read_id
from libs.common.errors import AlprError
from services.records.lookalike import LookalikeClasses
from services.records.service import ReadRow

VENDOR = "image"  # vendor and vendor format of a read found in a posted photograph: ours, from the image
# a frame's outcome names its plates (personal data, POLICY.md): the row goes after a week, or with its reads
FRAME_ROW_DAYS = 7


@dataclass(frozen=True)
class Outcome:
    """What records stores for a frame, beside its reads (when it has any)."""

    status: FrameOutcome
    read_ids: list[str] = field(default_factory=list)
    plates: list[str] = field(default_factory=list)
    error_code: str | None = None


def frame_read_id(frame_id: str, plate: PlateInFrame) -> str:
    """The read id of a plate found in a frame: from the frame id and the plate's box in whole pixels, so a
    redelivered frame (read again, the same boxes) stores each of its reads once."""
    box = plate.box
    return stable_read_id("frame", frame_id, *(round(v) for v in (box.x, box.y, box.width, box.height)))


def captured_at(frame: FrameIn) -> datetime:
    """The camera's own time when it sent one, else when the gateway took the photograph."""
    return frame.captured_at or frame.received_at


def window_probe(frame: FrameIn) -> ReadIn:
    """The frame as a read without a plate: its time checked by the read's own window rule before any work."""
    return ReadIn(
        read_id=frame.frame_id,
        agency=frame.agency,
        camera_id=frame.camera_id,
        captured_at=captured_at(frame),
        received_at=frame.received_at,
        vendor=VENDOR,
        vendor_format=VENDOR,
    )


def frame_reads(frame: FrameIn, reading: FrameReading, classes: LookalikeClasses) -> list[ReadRow]:
    """A read per plate found, carrying our reading already (the recognizer is not asked again)."""
    rows: dict[str, ReadRow] = {}
    overview = frame.image.model_copy(update={"kind": "overview"})
    for plate in reading.plates:
        read_id = frame_read_id(frame.frame_id, plate)
        if read_id in rows:  # two detections rounding to one box are one plate
            continue
        recognition = plate.recognition
        text = normalize_plate(recognition.plate)
        read = ReadIn(
            read_id=read_id,
            agency=frame.agency,
            camera_id=frame.camera_id,
            captured_at=captured_at(frame),
            received_at=frame.received_at,
            # our reading is the only one there is; a detection read as nothing is kept without a plate
            plate=text if plate_is_acceptable(text) else None,
            plate_raw=recognition.plate or None,
            confidence=recognition.confidence,
            candidates=recognition.candidates,
            latitude=frame.latitude,
            longitude=frame.longitude,
            plate_box=plate.box,
            plate_polygon=plate.polygon,
            images=[overview],
            vendor=VENDOR,
            vendor_format=VENDOR,
        )
        rows[read_id] = ReadRow(read=read, recognition=recognition, recognition_asked=True, classes=classes)
    return list(rows.values())


def read_outcome(rows: list[ReadRow]) -> Outcome:
    """`read` with each read's id and plate, or `no_plate` when the recognizer found none."""
    if not rows:
        return Outcome("no_plate")
    return Outcome("read", read_ids=[r.read.read_id for r in rows], plates=[r.read.plate or "" for r in rows])


def refused_outcome(code: str) -> Outcome:
    """A frame that cannot be read (undecodable, past retention): `failed` with the refusal's stable code."""
    return Outcome("failed", error_code=code)


def is_refusal(err: AlprError) -> bool:
    """The recognizer refused this photograph (a 4xx: undecodable, too large): reading it again cannot help.

    Anything else (silence, overload, its own bug) leaves the frame in the stream to be read again."""
    return 400 <= err.status < 500


def frame_row_cutoff(now: datetime) -> datetime:
    """Frame rows received before this are deleted by the retention job."""
    return now - timedelta(days=FRAME_ROW_DAYS)


def reads_purged_before(cutoff: datetime, unmatched: tuple[datetime, datetime] | None) -> datetime:
    """Reads captured before this may have been purged by the retention run (its cutoff, or B5's cap on
    unmatched reads); later ones are all kept, so only frames captured earlier need their reads looked for."""
    return max(cutoff, unmatched[1]) if unmatched else cutoff


def pending(frame_id: str) -> FrameStatus:
    """A frame records has not stored (yet, or ever: the gateway knows which frames it accepted)."""
    return FrameStatus(frame_id=frame_id, status="pending")
