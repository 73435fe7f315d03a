"""Recognition: decode and crop the image, read it in a micro-batch, answer in the contract's shape."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable

from libs.common.contracts.reads import Candidate
from libs.common.contracts.recognition import Recognition, RecognizeRequest
from libs.common.errors import InvalidInput
from services.recognizer.engine.batcher import MicroBatcher
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.plate_formats import normalise_state
from services.recognizer.engine.reader import Reading

StatePrior = Callable[[Reading, str | None], Reading]


class Recognizer:
    """Turns a request into a reading; bad images are typed errors, never timeouts."""

    def __init__(
        self, batcher: MicroBatcher, *, version: str, max_image_bytes: int, state_prior: StatePrior | None = None
    ) -> None:
        self.batcher = batcher
        self.version = version
        self.max_image_bytes = max_image_bytes
        self.state_prior = state_prior  # PlateReader.for_state: re-ranks candidates by the vendor's state

    async def recognize(self, request: RecognizeRequest) -> Recognition:
        started = time.perf_counter()
        try:
            raw = base64.b64decode(request.image_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("the image is not valid base64", code="image_undecodable") from exc
        state = normalise_state(request.state)  # checked before the work, as every input
        crop = crop_plate(raw, box=request.box, polygon=request.polygon, max_bytes=self.max_image_bytes)
        reading = await self.batcher.submit(crop)
        if self.state_prior is not None:
            reading = self.state_prior(reading, state)
        return Recognition(
            plate=reading.plate,
            confidence=reading.confidence,
            char_confidences=list(reading.char_confidences),
            candidates=[Candidate(plate=p, confidence=c) for p, c in reading.candidates],
            model_version=self.version,
            sure=reading.sure,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )
