"""PlateReader: crops in, plate readings out, batched on the CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from services.recognizer.engine.decoding import decode
from services.recognizer.engine.model import PlateCRNN, fuse_for_inference, plate_batch
from services.recognizer.engine.weights import load_weights


@dataclass(frozen=True)
class Reading:
    """What the network read on one plate crop."""

    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[tuple[str, float]] = field(default_factory=list)


class PlateReader:
    """Reads plate crops with the shipped CRNN; safe to call from one thread at a time."""

    def __init__(self, model: PlateCRNN, *, version: str, top_n: int = 10) -> None:
        self.model = fuse_for_inference(model)
        self.version = version
        self.top_n = top_n

    @classmethod
    def load(cls, path: Path | None = None, *, threads: int | None = 2) -> PlateReader:
        """Load and verify weights (the shipped file unless a path is given)."""
        if threads is not None:
            torch.set_num_threads(threads)
        model, meta = load_weights(path)
        return cls(model, version=str(meta["version"]))

    def read_batch(self, images: list[Image.Image]) -> list[Reading]:
        """Read a batch of plate crops in one forward pass."""
        if not images:
            return []
        batch = plate_batch(images).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            probs = self.model(batch).exp().numpy()
        readings = []
        for frame_probs in probs:
            d = decode(frame_probs, top_n=self.top_n)
            readings.append(Reading(d.plate, d.confidence, d.char_confidences, d.candidates))
        return readings

    def read(self, image: Image.Image) -> Reading:
        """Read a single plate crop."""
        return self.read_batch([image])[0]
