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

from libs.common.contracts.reads import Box
from libs.common.errors import InvalidInput, PayloadTooLarge
from services.recognizer.detector import Detection, PlateDetector
from services.recognizer.detector.reading import CANDIDATES, SHIPPED, PlateCut, joined
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.reader import PlateReader, Reading
from services.recognizer.engine.synth import render_plate
from services.recognizer.frames import (
    DetectionPass,
    PlateFinder,
    decode_frame,
    is_plate_reading,
    kept_plates,
    located_plates,
)
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


class TestPlateCut:
    """How a found plate is cut out for the reader (detector/reading.py)."""

    def test_the_polygon_straightens_the_plate(self) -> None:
        image = Image.new("RGB", (200, 100), "white")
        quad = ((20.0, 30.0), (120.0, 20.0), (122.0, 70.0), (22.0, 80.0))
        crop = PlateCut(True, 0.0, 0.0).cut(image, quad)
        assert crop is not None and crop.size == (100, 50)  # the tilted sides, not the 102x60 box

    def test_the_margin_grows_the_plate_about_its_centre(self) -> None:
        image = Image.new("RGB", (400, 200), "white")
        quad = ((100.0, 50.0), (200.0, 50.0), (200.0, 100.0), (100.0, 100.0))
        polygon = PlateCut(True, 0.2, 0.4).cut(image, quad)
        box = PlateCut(False, 0.2, 0.4).cut(image, quad)
        assert polygon is not None and polygon.size == (120, 70)
        assert box is not None and box.size == (120, 70)

    def test_a_plate_at_the_frame_edge_is_cut_inside_the_frame(self) -> None:
        image = Image.new("RGB", (200, 100), "white")
        quad = ((150.0, 60.0), (200.0, 60.0), (200.0, 100.0), (150.0, 100.0))
        crop = PlateCut(True, 0.5, 0.5).cut(image, quad)
        assert crop is not None and crop.size == (62, 50)  # grown to the left and up only

    def test_a_degenerate_polygon_falls_back_to_the_box_and_neither_is_none(self) -> None:
        image = Image.new("RGB", (200, 100), "white")
        thin = ((20.0, 30.0), (120.0, 30.0), (120.0, 31.0), (20.0, 31.0))  # too thin to straighten, a box still
        crop = PlateCut(True, 0.0, 0.0).cut(image, thin)
        assert crop is not None and crop.size == (100, 1)
        flat = ((20.0, 30.0), (120.0, 30.0), (120.0, 30.5), (20.0, 30.5))  # half a pixel high: nothing to read
        assert PlateCut(True, 0.0, 0.0).cut(image, flat) is None


def reading(plate: str, confidence: float, candidates: list[tuple[str, float]] | None = None) -> Reading:
    chars = [confidence] * len(plate)
    listed = candidates or [(plate, confidence)]
    return Reading(
        plate=plate,
        confidence=confidence,
        char_confidences=chars,
        candidates=listed,
        sure=confidence >= 0.9,
        char_scores={text: (p,) * len(text) for text, p in listed},
    )


class TestJoinedReadings:
    def test_the_mean_lets_two_crops_agreeing_outvote_one_sure_one(self) -> None:
        crops = [
            reading("7ABC123", 0.6, [("7ABC123", 0.6), ("7ABC128", 0.3)]),
            reading("7ABC123", 0.55, [("7ABC123", 0.55), ("7ABC128", 0.4)]),
            reading("7ABC128", 0.95, [("7ABC128", 0.95)]),
        ]
        joined_reading = joined(crops, "mean")
        assert joined_reading.plate == "7ABC128"  # (0.3 + 0.4 + 0.95) / 3 = 0.55 against 0.383
        assert joined_reading.confidence == pytest.approx(0.55)
        assert not joined_reading.sure  # not every crop read it surely
        assert [text for text, _ in joined_reading.candidates] == ["7ABC128", "7ABC123"]
        assert len(joined_reading.char_confidences) == 7

    def test_surest_takes_the_crop_read_most_confidently(self) -> None:
        crops = [reading("7ABC123", 0.6), reading("7ABC128", 0.95)]
        assert joined(crops, "surest") == crops[1]

    def test_one_crop_is_its_own_reading_and_none_reads_nothing(self) -> None:
        one = reading("AB12", 0.7)
        assert joined([one], "mean") == one
        assert joined([], "mean").plate == ""

    def test_every_candidate_rule_has_a_name_and_one_is_shipped(self) -> None:
        names = [rule.name for rule in CANDIDATES]
        assert len(set(names)) == len(names) and SHIPPED in CANDIDATES


def detection_at(x: float, score: float) -> Detection:
    box = (x, 100.0, 80.0, 40.0)
    return Detection(box=box, polygon=((x, 100.0), (x + 80, 100.0), (x + 80, 140.0), (x, 140.0)), score=score)


class TestKeptPlates:
    """Which found plates the service answers: filter first, then the cap (frames.kept_plates)."""

    def test_the_cap_counts_plates_kept_not_detections(self) -> None:
        image = blank_frame()
        one_cut = CANDIDATES[0]
        located = located_plates(image, [detection_at(x, s) for x, s in ((100, 0.9), (300, 0.8), (500, 0.7))], one_cut)
        readings = [reading("G", 0.99), reading("7ABC123", 0.9), reading("8XYZ987", 0.8)]  # the best reads a badge
        kept = kept_plates(located, readings, rule=one_cut, max_plates=1, plates_only=True)
        assert [p.reading.plate for p in kept] == ["7ABC123"]
        every = kept_plates(located, readings, rule=one_cut, max_plates=8, plates_only=False)
        assert [p.reading.plate for p in every] == ["G", "7ABC123", "8XYZ987"]

    def test_located_plates_are_best_first_with_one_crop_per_cut(self) -> None:
        rule = CANDIDATES[6]
        located = located_plates(blank_frame(), [detection_at(100, 0.5), detection_at(400, 0.9)], rule)
        assert [p.detection_score for p in located] == [0.9, 0.5]
        assert all(len(p.crops) == len(rule.cuts) for p in located)
        assert located[0].box.x == 400 and len(located[0].polygon) == 4

    def test_each_plate_joins_its_own_crops_readings(self) -> None:
        rule = CANDIDATES[7]  # two cuts, joined by the mean (the shipped rule joins two by the surest)
        located = located_plates(blank_frame(), [detection_at(100, 0.9), detection_at(400, 0.8)], rule)
        readings = [reading("AAA111", 0.8), reading("AAA111", 0.7), reading("BBB222", 0.6), reading("BBB222", 0.8)]
        kept = kept_plates(located, readings, rule=rule, max_plates=8, plates_only=True)
        assert [(p.reading.plate, p.reading.confidence) for p in kept] == [("AAA111", 0.75), ("BBB222", 0.7)]


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
