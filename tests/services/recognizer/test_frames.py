"""frames: a photograph decoded within its bounds, each found plate cut out and read (real detector and reader).

Also the scenes the frame tests share: a synthetic plate on a plain background, and two shared photos'
plate regions pasted side by side into one 1280x720 frame.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image, ImageDraw

from libs.common.contracts.reads import Box, Point
from libs.common.errors import InvalidInput, PayloadTooLarge
from services.recognizer.detector import PlateDetector
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.reader import PlateReader, Reading
from services.recognizer.engine.synth import render_plate
from services.recognizer.frames import DetectionPass, PlateFinder, decode_frame, is_plate_reading, plate_crop
from services.recognizer.plate_choice import distance

FRAME = (1280, 720)
HOLDOUT = Path(__file__).resolve().parents[3] / "services" / "recognizer" / "engine" / "holdout.txt"


@dataclass(frozen=True)
class Plate:
    """Where a plate is in a test frame, and what it says."""

    box: tuple[float, float, float, float]
    text: str


def encoded(image: Image.Image, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": 92} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def as_tuple(box: Box) -> tuple[float, float, float, float]:
    return (box.x, box.y, box.width, box.height)


def blank_frame() -> Image.Image:
    return Image.new("RGB", FRAME, (118, 124, 130))


def synthetic_scene(seed: int = 11) -> tuple[Image.Image, Plate]:
    """One large clear rendered plate on a car-coloured panel in a plain 1280x720 frame."""
    rendered = render_plate(random.Random(seed), size=(220, 110))
    frame = blank_frame()
    ImageDraw.Draw(frame).rectangle((400, 250, 880, 520), fill=(40, 44, 52))  # a bumper around the plate
    x, y = 530, 330
    frame.paste(rendered.image, (x, y))
    return frame, Plate((x, y, 220, 110), rendered.plate)


def labelled_rows(plates_dir: Path, count: int) -> list[tuple[str, tuple[float, float, float, float], str]]:
    """The first `count` training photos (not held out) with a plate at least 80 px wide, in name order."""
    held_out = set(HOLDOUT.read_text().split())
    rows = []
    for line in sorted((plates_dir / "labels.tsv").read_text().splitlines()[1:]):
        name, x, y, w, h, plate = line.split("\t")
        if name not in held_out and int(w) >= 80:
            rows.append((name, (float(x), float(y), float(w), float(h)), plate))
    return rows[:count]


def two_plate_frame(plates_dir: Path) -> tuple[Image.Image, list[Plate]]:
    """Two photos' plate regions (the plate with its car around it) pasted left and right into one frame."""
    frame = blank_frame()
    plates = []
    for slot, (name, (x, y, w, h), text) in enumerate(labelled_rows(plates_dir, 2)):
        photo = Image.open(plates_dir / "images" / name).convert("RGB")
        left, top = max(0, int(x - 1.2 * w)), max(0, int(y - 2.5 * h))
        region = photo.crop((left, top, min(photo.width, int(x + 2.2 * w)), min(photo.height, int(y + 3.5 * h))))
        at = (40 + slot * 640, 80)
        frame.paste(region, at)
        plates.append(Plate((x - left + at[0], y - top + at[1], w, h), text))
    return frame, plates


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes declaring ten gigapixels: refused before a pixel is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


class TestDecodeFrame:
    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
    def test_a_camera_photograph_decodes_to_rgb_at_its_size(self, fmt: str) -> None:
        image = decode_frame(encoded(synthetic_scene()[0], fmt), max_bytes=8 << 20)
        assert image.mode == "RGB" and image.size == FRAME

    @pytest.mark.parametrize(
        "raw",
        [
            b"not an image at all",
            encoded(blank_frame())[:2000],  # cut short in its scan data
            encoded(blank_frame(), "GIF"),  # a real image, not a camera's format
            encoded(blank_frame(), "BMP"),
        ],
    )
    def test_what_is_not_a_jpeg_png_or_webp_is_undecodable(self, raw: bytes) -> None:
        with pytest.raises(InvalidInput) as caught:
            decode_frame(raw, max_bytes=8 << 20)
        assert caught.value.code == "image_undecodable"

    def test_a_decompression_bomb_is_refused_not_decoded(self) -> None:
        for bomb in (bomb_png(), bomb_png(6000, 6000)):
            with pytest.raises(PayloadTooLarge) as caught:
                decode_frame(bomb, max_bytes=8 << 20, max_pixels=25_000_000)
            assert caught.value.code == "image_too_large" and caught.value.status == 413

    def test_bytes_over_the_bound_are_refused_before_decoding(self) -> None:
        with pytest.raises(PayloadTooLarge):
            decode_frame(encoded(blank_frame(), "PNG"), max_bytes=1000)


class TestPlateCrop:
    def test_the_polygon_straightens_the_plate(self) -> None:
        image = Image.new("RGB", (200, 100), "white")
        quad = [Point(x=20, y=30), Point(x=120, y=20), Point(x=122, y=70), Point(x=22, y=80)]
        crop = plate_crop(image, Box(x=20, y=20, width=102, height=60), quad)
        assert crop is not None and crop.size == (100, 50)  # the tilted sides, not the 102x60 box

    def test_a_degenerate_polygon_falls_back_to_the_box_and_neither_is_none(self) -> None:
        image = Image.new("RGB", (200, 100), "white")
        flat = [Point(x=20, y=30), Point(x=120, y=30), Point(x=120, y=30.5), Point(x=20, y=30.5)]
        crop = plate_crop(image, Box(x=20, y=20, width=100, height=40), flat)
        assert crop is not None and crop.size == (100, 40)
        assert plate_crop(image, Box(x=20, y=20, width=0.2, height=0.2), flat) is None


@pytest_asyncio.fixture(loop_scope="session")
async def finder(reader: PlateReader) -> AsyncIterator[PlateFinder]:
    detector = PlateDetector.load()
    detections = MicroBatcher(DetectionPass(detector), max_batch=8, max_wait_ms=3)
    readings = MicroBatcher(reader, max_batch=64, max_wait_ms=3)
    yield PlateFinder(detections, readings, version=detector.version, max_plates=8, state_prior=reader.for_state)
    await detections.close()
    await readings.close()


class TestPlateFinder:
    """Budget: a few frames through the shipped detector and reader, well under ten seconds."""

    pytestmark = pytest.mark.asyncio(loop_scope="session")

    async def test_a_large_clear_plate_is_found_where_it_is_and_read(self, finder: PlateFinder) -> None:
        frame, plate = synthetic_scene()
        found = await finder.find(frame)
        assert found, "no plate found in a frame with one large clear plate"
        best = max(found, key=lambda f: iou(as_tuple(f.box), plate.box))
        assert iou(as_tuple(best.box), plate.box) >= 0.5
        assert len(best.polygon) == 4 and 0.0 < best.detection_score <= 1.0
        assert distance(best.reading.plate, plate.text) <= 1

    async def test_a_blank_frame_has_no_plate(self, finder: PlateFinder) -> None:
        assert await finder.find(blank_frame()) == []

    async def test_two_plates_in_one_frame_are_both_found_best_first(self, finder: PlateFinder, plates_dir) -> None:  # type: ignore[no-untyped-def]
        frame, plates = two_plate_frame(plates_dir)
        found = await finder.find(frame)
        for plate in plates:
            assert any(iou(as_tuple(f.box), plate.box) >= 0.5 for f in found), f"{plate.text} not found"
        scores = [f.detection_score for f in found]
        assert scores == sorted(scores, reverse=True)

    async def test_no_more_plates_than_the_cap(self, finder: PlateFinder, plates_dir) -> None:  # type: ignore[no-untyped-def]
        frame, _ = two_plate_frame(plates_dir)
        uncapped = await finder.find(frame)
        assert len(uncapped) >= 2
        finder_of_one = PlateFinder(finder.detections, finder.readings, version=finder.version, max_plates=1)
        found = await finder_of_one.find(frame)
        assert len(found) == 1 and found[0].detection_score == uncapped[0].detection_score


class TestWhatCountsAsAPlate:
    """A detection's reading is stored as a read only when it looks like a plate (frames.is_plate_reading)."""

    @pytest.mark.parametrize(
        ("plate", "confidence", "kept"),
        [
            ("7ABC123", 0.97, True),
            ("AB", 0.8, True),  # two characters: the shortest plate kept
            ("G", 0.99, False),  # a single character off a grille or a badge, however sure
            ("GAU9X", 0.31, False),  # text off a CAUTION sign: more likely wrong than right
            ("6TRJ244", 0.5, True),  # at the floor
            ("6TRJ244", 0.49, False),
        ],
    )
    def test_short_or_unsure_readings_are_not_plates(self, plate: str, confidence: float, kept: bool) -> None:
        reading = Reading(plate=plate, confidence=confidence, char_confidences=[confidence] * len(plate))
        assert is_plate_reading(reading) is kept
