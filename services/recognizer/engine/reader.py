"""PlateReader: crops in, plate readings out, batched on the CPU."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from services.recognizer.engine.decoding import combine_members, decode
from services.recognizer.engine.model import PlateCRNN, fuse_for_inference, plate_batch
from services.recognizer.engine.weights import load_weights


@dataclass(frozen=True)
class Reading:
    """What the network read on one plate crop."""

    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[tuple[str, float]] = field(default_factory=list)


SURE = 0.9  # a lead reading this confident is kept without asking the other members (see read_batch)


class PlateReader:
    """Reads plate crops with the shipped CRNN members; safe to call from one thread at a time.

    The last member (the end of training) leads. Where it is unsure, every member reads the plate and
    their candidates are combined (`combine_members`). Where it is sure (`consult_below`), the others could
    overturn it only by preferring another plate by more than 2 x 0.9 - 1 = 0.8 of probability between
    them, so they are not run: most plates then cost one network pass instead of one per member.
    """

    def __init__(self, models: list[PlateCRNN], *, version: str, top_n: int = 10, consult_below: float = SURE) -> None:
        self.models = [fuse_for_inference(model) for model in models]
        self.version = version
        self.top_n = top_n
        self.consult_below = consult_below

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        threads: int | None = 2,
        members: list[int] | None = None,
        consult_below: float = SURE,
    ) -> PlateReader:
        """Load and verify weights (the shipped file unless a path is given), all members unless told which."""
        if threads is not None:
            torch.set_num_threads(threads)
        models, meta = load_weights(path)
        version = str(meta["version"])
        if members is not None:
            if not members or any(not 0 <= i < len(models) for i in members):
                raise ValueError(f"members must be chosen from 0..{len(models) - 1}, not {members}")
            models = [models[i] for i in members]
            version += "[" + ",".join(map(str, members)) + "]"
        return cls(models, version=version, consult_below=consult_below)

    def read_batch(self, images: list[Image.Image]) -> list[Reading]:
        """Read a batch of plate crops: one forward pass of the lead, one of the others over its unsure plates."""
        if not images:
            return []
        *others, lead = self.models
        batch = plate_batch(images).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            decoded = [[decode(probs, top_n=self.top_n)] for probs in lead(batch).exp().numpy()]
            unsure = [i for i, (d,) in enumerate(decoded) if d.confidence < self.consult_below]
            if others and unsure:
                second = batch[unsure].contiguous(memory_format=torch.channels_last)
                for model in others:
                    for i, probs in zip(unsure, model(second).exp().numpy(), strict=True):
                        decoded[i].append(decode(probs, top_n=self.top_n))
        readings = []
        for members in decoded:
            d = combine_members(members, top_n=self.top_n)
            readings.append(Reading(d.plate, d.confidence, d.char_confidences, d.candidates))
        return readings

    def read(self, image: Image.Image) -> Reading:
        """Read a single plate crop."""
        return self.read_batch([image])[0]
