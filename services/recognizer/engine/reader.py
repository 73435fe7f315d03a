"""PlateReader: crops in, plate readings out, batched on the CPU."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from services.recognizer.engine.calibrator import Calibration, PlateEvidence, evidence_of
from services.recognizer.engine.decoding import Decoded, combine_members, decode_batch
from services.recognizer.engine.model import PlateCRNN, fuse_for_inference, plate_batch
from services.recognizer.engine.plate_formats import rerank_for_state
from services.recognizer.engine.weights import load_weights, model_name


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a batch is read. Decoding makes thousands of small tuples
    and dicts, all freed by reference counting when the batch is done (none is in a cycle), but while they live
    they set off collections that walk the whole heap (the networks, the service's objects): 8% of a batch of
    64 (about 7 of 88 ms CPU, the bench's crops). Left as it is where something else has paused it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass(frozen=True)
class Reading:
    """What the network read on one plate crop.

    `confidence` and the candidates' numbers are calibrated probabilities of being right
    (`engine/calibrator.py`), never rising down the candidate list; `char_confidences` stay the network's own
    per-character probabilities. `sure` says the confidence reached the weights' SURE level, chosen so that
    reads that confident were at most 1% wrong.
    """

    plate: str
    confidence: float
    char_confidences: list[float]
    candidates: list[tuple[str, float]] = field(default_factory=list)
    sure: bool = False
    raw_confidence: float = field(default=0.0, compare=False)  # the network's unrounded plate probability
    # each candidate's per-character probabilities, so a re-ranking (the state prior) can report its own
    char_scores: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False, repr=False)
    # what the calibration read of the plate: the inputs `calibrate` fits on
    evidence: PlateEvidence | None = field(default=None, compare=False, repr=False)


PRECISIONS = ("float32", "bfloat16", "auto")


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX-512 BF16 or AMX). Elsewhere oneDNN emulates it,
    slower than float32, so `auto` reads in float32 there."""
    return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def resolve_precision(precision: str) -> str:
    """`float32` or `bfloat16`: what `auto` means on this CPU, or the operator's explicit choice."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision is one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return precision


# a lead reading this confident (raw network probability) is kept without asking the other members
# (see read_batch); a speed rule from the members' bound, not the SURE level, which the calibration sets
CONSULT_BELOW = 0.9


class PlateReader:
    """Reads plate crops with the shipped CRNN members; safe to call from one thread at a time.

    The last member (the end of training) leads. Where it is unsure, every member reads the plate and
    their candidates are combined (`combine_members`). Where it is sure (`consult_below`), the others could
    overturn it only by preferring another plate by more than 2 x 0.9 - 1 = 0.8 of probability between
    them, so they are not run: most plates then cost one network pass instead of one per member.
    """

    def __init__(
        self,
        models: list[PlateCRNN],
        *,
        version: str,
        top_n: int = 10,
        consult_below: float = CONSULT_BELOW,
        calibration: Calibration | None = None,
        precision: str = "float32",
    ) -> None:
        self.precision = resolve_precision(precision)
        self.models = [fuse_for_inference(model, bfloat16=self.precision == "bfloat16") for model in models]
        # a reading names the arithmetic that made it: the same crop can come out a hair different in bfloat16
        self.version = version if self.precision == "float32" else f"{version}+bf16"
        self.top_n = top_n
        self.consult_below = consult_below
        self.calibration = calibration or Calibration()

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        threads: int | None = 2,
        members: list[int] | None = None,
        consult_below: float = CONSULT_BELOW,
        calibrated: bool = True,
        precision: str = "float32",
    ) -> PlateReader:
        """Load and verify weights (the shipped file unless a path is given), all members unless told which.

        `calibrated=False` reports the raw network probabilities (to fit a calibration on them); `precision` is
        the arithmetic of the networks' layers (`auto`: bfloat16 where the CPU has it in hardware)."""
        if threads is not None:
            torch.set_num_threads(threads)
        models, meta = load_weights(path)
        calibration = Calibration.from_meta(meta.get("calibration")) if calibrated and members is None else None
        # the version names the recipe; the fingerprint the very tensors and calibration behind each confidence
        applied = calibration.canonical() if calibration is not None else None
        version = model_name(meta, applied)
        if members is not None:
            if not members or any(not 0 <= i < len(models) for i in members):
                raise ValueError(f"members must be chosen from 0..{len(models) - 1}, not {members}")
            models = [models[i] for i in members]
            version += "[" + ",".join(map(str, members)) + "]"
        return cls(models, version=version, consult_below=consult_below, calibration=calibration, precision=precision)

    def read_batch(self, images: list[Image.Image]) -> list[Reading]:
        """Read a batch of plate crops: one forward pass of the lead, one of the others over its unsure plates."""
        if not images:
            return []
        with _collector_paused():
            return self._read_batch(images)

    def _read_batch(self, images: list[Image.Image]) -> list[Reading]:
        *others, lead = self.models
        batch = plate_batch(images).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            decoded = [[d] for d in decode_batch(self._probabilities(lead, batch), top_n=self.top_n)]
            unsure = [i for i, (d,) in enumerate(decoded) if d.confidence < self.consult_below]
            if others and unsure:
                second = batch[unsure].contiguous(memory_format=torch.channels_last)
                for model in others:
                    for i, d in zip(
                        unsure, decode_batch(self._probabilities(model, second), top_n=self.top_n), strict=True
                    ):
                        decoded[i].append(d)
        return [self._reading(combine_members(members, top_n=self.top_n)) for members in decoded]

    @staticmethod
    def _probabilities(model: PlateCRNN, batch: torch.Tensor) -> np.ndarray:
        """Per-step class probabilities, (N, T, classes), float32 whatever the features' precision."""
        return model(batch).exp().numpy()

    def _reading(self, decoded: Decoded) -> Reading:
        """Calibrate the plate's and candidates' confidences; the candidates keep their order, and one is never
        more confident than a candidate ranked above it (the calibrator weighs other inputs than the score)."""
        if not decoded.scored:
            return Reading(decoded.plate, 0.0, decoded.char_confidences, [], sure=False)
        evidence = evidence_of(decoded)
        candidates, ceiling = [], 1.0
        for text in decoded.scored:
            ceiling = min(ceiling, round(self.calibration.confidence(evidence[text]), 4))
            candidates.append((text, ceiling))
        # the plate's own (a greedy plate past the length limit is not among the candidates)
        plate = evidence[decoded.plate]
        confidence = dict(candidates).get(decoded.plate, round(self.calibration.confidence(plate), 4))
        raw = plate.probability
        return Reading(
            decoded.plate,
            confidence,
            decoded.char_confidences,
            candidates,
            sure=self.calibration.is_sure(confidence),
            raw_confidence=raw,
            char_scores={text: chars for text, (_, chars) in decoded.scored.items()},
            evidence=plate,
        )

    def for_state(self, reading: Reading, state: str | None) -> Reading:
        """The reading with its candidates re-ranked by the vendor's state's serial formats (`plate_formats`).

        Only the order changes: the plate becomes another of the reader's own candidates, with that
        candidate's own confidence, and is sure only if that confidence reaches the SURE level.
        """
        ranked = rerank_for_state(reading.candidates, reading.char_scores, state)
        if ranked is None or ranked.plate == reading.plate:
            return reading
        return replace(
            reading,
            plate=ranked.plate,
            confidence=ranked.confidence,
            char_confidences=ranked.char_confidences,
            candidates=ranked.candidates,
            sure=self.calibration.is_sure(ranked.confidence),
        )

    def read(self, image: Image.Image) -> Reading:
        """Read a single plate crop."""
        return self.read_batch([image])[0]
