"""PlateDetector: camera frames in, plate boxes and four-point polygons out, batched on the CPU."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from services.recognizer.detector.frame import letterbox
from services.recognizer.detector.model import fuse_for_inference
from services.recognizer.detector.targets import Quad, RawDetection, box_of, decode
from services.recognizer.detector.weights import load_weights
from services.recognizer.engine.weights import model_name

MIN_SIDE = 2.0  # pixels: a narrower detection cannot be cropped, let alone read


@dataclass(frozen=True)
class Detection:
    """One plate found in a frame, in that frame's pixels."""

    box: tuple[float, float, float, float]  # x, y, width, height in the input image's pixels
    polygon: Quad  # the plate's corners TL, TR, BR, BL; the reading margin is the reader's (`reading.py`)
    score: float  # 0..1


def to_frame(raw: RawDetection, scale: float, size: tuple[int, int]) -> Detection | None:
    """A detection mapped from input pixels back to the frame's, clipped to the frame; None if nothing is left."""
    width, height = size
    tl, tr, br, bl = (
        (min(max(x / scale, 0.0), float(width)), min(max(y / scale, 0.0), float(height))) for x, y in raw.polygon
    )
    polygon: Quad = (tl, tr, br, bl)
    box = box_of(polygon)
    if box[2] < MIN_SIDE or box[3] < MIN_SIDE:
        return None
    return Detection(box=box, polygon=polygon, score=min(max(raw.score, 0.0), 1.0))


class PlateDetector:
    """Finds plates with the shipped detector; safe to call from one thread at a time."""

    def __init__(self, model: torch.nn.Module, *, version: str) -> None:
        self.model = fuse_for_inference(model.eval())  # type: ignore[arg-type]
        self.version = version

    @classmethod
    def load(cls, path: Path | None = None, *, threads: int | None = None) -> PlateDetector:
        """Load and verify weights (the shipped file unless a path is given); `threads` sets torch's CPU threads."""
        if threads is not None:
            torch.set_num_threads(threads)
        model, meta = load_weights(path)
        # version@fingerprint, as the reader's: one version can name several files (a retraining, a copy)
        return cls(model, version=model_name(meta))

    def detect(self, image: Image.Image) -> list[Detection]:
        """The plates in one frame, best first."""
        return self.detect_batch([image])[0]

    def detect_batch(self, images: list[Image.Image]) -> list[list[Detection]]:
        """The plates in each frame, best first: one network pass for the batch."""
        if not images:
            return []
        inputs = [letterbox(image) for image in images]
        batch = torch.from_numpy(np.stack([array for array, _ in inputs])[:, None])
        with torch.inference_mode():
            outputs = self.model(batch)
        found = []
        for image, (_, scale), output in zip(images, inputs, outputs, strict=True):
            mapped = (to_frame(raw, scale, image.size) for raw in decode(output))
            found.append(sorted((d for d in mapped if d is not None), key=lambda d: -d.score))
        return found
