"""Recognition: decode the image, crop the plate (or find the plates), read in a micro-batch, answer the contract."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from PIL import Image

from libs.common.contracts.frames import FrameReading, PlateInFrame, ReadFrameRequest
from libs.common.contracts.reads import Candidate
from libs.common.contracts.recognition import Recognition, RecognizeRequest
from libs.common.errors import InvalidInput, Unavailable
from libs.common.images import PILLOW_FORMATS
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.crop import MAX_IMAGE_PIXELS, crop_plate
from services.recognizer.engine.plate_formats import normalise_state
from services.recognizer.engine.reader import Reading
from services.recognizer.frames import FoundPlate, PlateFinder, decode_frame, image_bytes
from services.recognizer.plate_choice import FoundReading, choose

StatePrior = Callable[[Reading, str | None], Reading]


class Recognizer:
    """Turns a request into a reading; bad images are typed errors, never timeouts."""

    def __init__(
        self,
        batcher: MicroBatcher[Reading],
        *,
        version: str,
        max_image_bytes: int,
        finder: PlateFinder | None = None,
        max_image_pixels: int = MAX_IMAGE_PIXELS,
        state_prior: StatePrior | None = None,
    ) -> None:
        self.batcher = batcher
        self.version = version
        self.max_image_bytes = max_image_bytes
        self.max_image_pixels = max_image_pixels
        self._finder = finder  # None: a reader alone (bench/recognizer_throughput.py), no plate finding
        self.state_prior = state_prior  # PlateReader.for_state: re-ranks candidates by the vendor's state

    async def recognize(self, request: RecognizeRequest) -> Recognition:
        """Read the plate of a crop, of a box or polygon in a photograph, or (`find_plate`) found in it."""
        started = time.perf_counter()
        raw = image_bytes(request.image_b64)
        state = normalise_state(request.state)  # checked before the work, as every input
        if request.find_plate and request.box is None and request.polygon is None:
            return await self._find_and_read(raw, state, request.plate_hint, started)
        crop = crop_plate(
            raw,
            box=request.box,
            polygon=request.polygon,
            max_bytes=self.max_image_bytes,
            max_pixels=self.max_image_pixels,
            formats=PILLOW_FORMATS,  # a crop comes from the same cameras as a photograph: WebP too
        )
        reading = await self.batcher.submit(crop)
        if self.state_prior is not None:
            reading = self.state_prior(reading, state)
        return self._recognition(reading, started)

    async def read_frame(self, request: ReadFrameRequest) -> FrameReading:
        """Every plate of a photograph, best detection first; none found is an empty list, not an error."""
        started = time.perf_counter()
        raw = image_bytes(request.image_b64)
        state = normalise_state(request.state)
        image = await self._decoded(raw)
        found = await self.finder.find(image, state=state)
        elapsed = (time.perf_counter() - started) * 1000
        return FrameReading(
            plates=[
                PlateInFrame(
                    box=plate.box,
                    polygon=plate.polygon,
                    detection_score=plate.detection_score,
                    recognition=self._recognition(plate.reading, started),
                )
                for plate in found
            ],
            width=image.width,
            height=image.height,
            detector_version=self.finder.version,
            elapsed_ms=elapsed,
        )

    async def _find_and_read(self, raw: bytes, state: str | None, hint: str | None, started: float) -> Recognition:
        """A scene read's second opinion: the found plate nearest the vendor's text, else the surest."""
        image = await self._decoded(raw)
        # the vendor already says a plate is there: an unsure reading of it is still a second opinion
        found = await self.finder.find(image, state=state, plates_only=False)
        if not found:
            raise InvalidInput("no plate was found in the image", code="no_plate_found")
        plate: FoundPlate = found[
            choose([FoundReading(f.reading.plate, f.reading.confidence, f.detection_score) for f in found], hint)
        ]
        recognition = self._recognition(plate.reading, started)
        return recognition.model_copy(
            update={"found_box": plate.box, "found_polygon": plate.polygon, "detection_score": plate.detection_score}
        )

    @property
    def finder(self) -> PlateFinder:
        """The detector's side; a recognizer built without one refuses to find plates, typed."""
        if self._finder is None:
            raise Unavailable("this recognizer has no plate detector", code="detector_unavailable")
        return self._finder

    async def _decoded(self, raw: bytes) -> Image.Image:
        # a whole photograph takes milliseconds (a 6K one, a second) to decode: off the loop, beside inference
        return await asyncio.to_thread(
            decode_frame, raw, max_bytes=self.max_image_bytes, max_pixels=self.max_image_pixels
        )

    def _recognition(self, reading: Reading, started: float) -> Recognition:
        return Recognition(
            plate=reading.plate,
            confidence=reading.confidence,
            char_confidences=list(reading.char_confidences),
            candidates=[Candidate(plate=p, confidence=c) for p, c in reading.candidates],
            model_version=self.version,
            sure=reading.sure,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
