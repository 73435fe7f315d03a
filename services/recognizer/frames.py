"""Finding the plates of a photograph: decode it, detect, cut each plate out straightened, read each crop.

How each plate is cut out and read (which crops, how their readings join) is `detector/reading.py`'s rule.
Detection and reading each go through a micro-batcher, so concurrent photographs share forward passes; both
batchers run on one inference thread (`app.py`), so a detector pass and a reader pass never fight for the
two cores. The reader answers per crop, so one photograph's plates are read in one batch with whatever
other crops arrive meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image

from libs.common.contracts.reads import Box, Point
from libs.common.errors import InvalidInput
from libs.common.images import PILLOW_FORMATS
from services.recognizer.detector.reading import SHIPPED, ReadingRule, inside
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.crop import MAX_IMAGE_PIXELS, decode_image
from services.recognizer.engine.reader import Reading

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from services.recognizer.detector import Detection, PlateDetector
    from services.recognizer.engine.reader import PlateReader
    from services.recognizer.settings import RecognizerSettings


StatePrior = Callable[[Reading, str | None], Reading]

# A detection becomes a plate (and so a stored read, matched against the hotlists) only when what it reads
# looks like one. The detector also fires on signs, badges and lights (DETECTOR_CARD.md: 24 of the 27 other
# detections on the held-out photos were not plates) and the reader then reads text such as `GAU9X` off a
# CAUTION sign or `6`, `G`, `III1` off a grille. Both bounds are a policy, not tuned on any photo:
MIN_PLATE_CHARS = 2  # a one-character vanity plate exists, but far more single characters are not plates
READ_FLOOR = 0.5  # calibrated: a reading under it is more likely wrong than right, not a read to store


@dataclass(frozen=True)
class FoundPlate:
    """A plate the detector found (in the photograph's pixels, inside its frame) and what it reads."""

    box: Box
    polygon: list[Point]  # TL, TR, BR, BL
    detection_score: float
    reading: Reading


class DetectionPass:
    """The detector in the shape a micro-batcher runs: a batch of photographs in, their detections out."""

    def __init__(self, detector: PlateDetector) -> None:
        self.detector = detector

    def read_batch(self, images: list[Image.Image]) -> list[list[Detection]]:
        return self.detector.detect_batch(images)


def image_bytes(image_b64: str) -> bytes:
    """The bytes of a base64 image, or `image_undecodable`."""
    try:
        return base64.b64decode(image_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("the image is not valid base64", code="image_undecodable") from exc


def decode_frame(raw: bytes, *, max_bytes: int, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """A photograph (JPEG, PNG or WebP) as RGB; over `max_pixels` it is refused before any pixel is decoded."""
    return decode_image(raw, max_bytes=max_bytes, max_pixels=max_pixels, formats=PILLOW_FORMATS)


def is_plate_reading(reading: Reading) -> bool:
    """Whether a detection's reading is a plate worth a read: long enough and more likely right than wrong."""
    return len(reading.plate) >= MIN_PLATE_CHARS and reading.confidence >= READ_FLOOR


@dataclass(frozen=True)
class LocatedPlate:
    """A detection inside the frame, with the crops its reading rule reads."""

    box: Box
    polygon: list[Point]  # TL, TR, BR, BL
    detection_score: float
    crops: list[Image.Image]


def located_plates(image: Image.Image, detections: Sequence[Detection], rule: ReadingRule) -> list[LocatedPlate]:
    """Every detection best first with its crops; one that cannot be cut anywhere is dropped."""
    located = []
    for detection in sorted(detections, key=lambda d: d.score, reverse=True):
        x, y, w, h = detection.box
        crops = rule.crops(image, detection.polygon) if w >= 1 and h >= 1 else []
        if crops:
            score = min(max(float(detection.score), 0.0), 1.0)
            box = Box(x=x, y=y, width=w, height=h)
            located.append(LocatedPlate(box, inside(image, detection.polygon), score, crops))
    return located


def kept_plates(
    located: Sequence[LocatedPlate],
    readings: Sequence[Reading],
    *,
    rule: ReadingRule,
    max_plates: int,
    plates_only: bool,
    prior: Callable[[Reading], Reading] | None = None,
) -> list[FoundPlate]:
    """Each plate's crops' readings (`readings`, in the order of `located`'s crops) joined into one, the state
    prior applied, plates whose reading is not a plate's dropped (`plates_only`), then at most `max_plates`."""
    found: list[FoundPlate] = []
    at = 0
    for plate in located:
        reading = rule.joined(readings[at : at + len(plate.crops)])
        at += len(plate.crops)
        if prior is not None:
            reading = prior(reading)
        if plates_only and not is_plate_reading(reading):
            continue
        if len(found) < max_plates:
            found.append(FoundPlate(plate.box, plate.polygon, plate.detection_score, reading))
    return found


class PlateFinder:
    """Finds every plate of a photograph and reads each, best detection first, at most `max_plates`.

    The one path from a photograph to its plates: the service, `alpr recognizer eval-frames` and
    `bench/detector_throughput.py` all find plates through it.
    """

    def __init__(
        self,
        detections: MicroBatcher[list[Detection]],
        readings: MicroBatcher[Reading],
        *,
        version: str,
        max_plates: int,
        state_prior: StatePrior | None = None,
        rule: ReadingRule = SHIPPED,
    ) -> None:
        self.detections = detections
        self.readings = readings
        self.version = version  # the detector's
        self.max_plates = max_plates
        self.state_prior = state_prior  # PlateReader.for_state, as for a crop
        self.rule = rule  # how a found plate is cut out and read (detector/reading.py)

    async def close(self) -> None:
        """Stop both batchers (the readings one too, where RECOGNIZE shares it: the finder owns it)."""
        await self.detections.close()
        await self.readings.close()

    async def find(self, image: Image.Image, *, state: str | None = None, plates_only: bool = True) -> list[FoundPlate]:
        """Detect, cut and read every plate; an empty list when there is none. A detection whose reading is
        not a plate's (`is_plate_reading`) is dropped unless `plates_only` is false: it would be a stored read of
        a sign or a badge. A vendor's scene read (`find_plate`) keeps them: the vendor says a plate is there.
        The cap counts plates kept, so a badge read first never crowds out a plate."""
        located = located_plates(image, await self.detections.submit(image), self.rule)
        readings = await asyncio.gather(*(self.readings.submit(crop) for plate in located for crop in plate.crops))
        prior = self.state_prior
        return kept_plates(
            located,
            readings,
            rule=self.rule,
            max_plates=self.max_plates,
            plates_only=plates_only,
            prior=None if prior is None else (lambda reading: prior(reading, state)),
        )


def service_finder(
    detector: PlateDetector,
    reader: PlateReader,
    settings: RecognizerSettings,
    executor: ThreadPoolExecutor,
    *,
    detector_batch: int | None = None,
    detector_wait_ms: float | None = None,
    rule: ReadingRule = SHIPPED,
) -> PlateFinder:
    """The finder as the recognizer builds it, its reading batcher (`.readings`) shared with RECOGNIZE.

    The service, `eval-frames` and the benches build it here, so they find plates the same way; an eval or a
    bench may only change how many frames the detector batches and how long it waits for them.
    """
    batch = settings.detector_max_batch if detector_batch is None else detector_batch
    wait = settings.detector_max_wait_ms if detector_wait_ms is None else detector_wait_ms
    detections = MicroBatcher(DetectionPass(detector), max_batch=batch, max_wait_ms=wait, executor=executor)
    readings = MicroBatcher(reader, max_batch=settings.max_batch, max_wait_ms=settings.max_wait_ms, executor=executor)
    return PlateFinder(
        detections,
        readings,
        version=detector.version,
        max_plates=settings.max_plates_per_frame,
        state_prior=reader.for_state,
        rule=rule,
    )
