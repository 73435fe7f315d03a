"""Recognizer settings: no database; the weights (reader and detector) ship inside the package."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from libs.common.settings import CommonSettings


class RecognizerSettings(CommonSettings):
    weights_path: Path | None = None  # default: the shipped services/recognizer/weights/crnn.pt
    detector_weights_path: Path | None = None  # default: the shipped services/recognizer/weights/detector.pt
    max_batch: int = Field(default=64, ge=1)
    max_wait_ms: float = Field(default=3.0, ge=0, le=1000)
    # a photograph's pass costs many crops' passes: a smaller batch keeps the first frame's wait short
    detector_max_batch: int = Field(default=8, ge=1)
    detector_max_wait_ms: float = Field(default=3.0, ge=0.0)
    # a street scene holds a few plates; dozens of "plates" is a fault or an attack, and each costs a read
    max_plates_per_frame: int = Field(default=8, ge=1, le=64)
    # One intra-op thread. Measured on the 2-core machine (MODEL_CARD.md, "Speed"): two passive threads wake each
    # other at every layer and every GRU step, so one plate took 16 ms (p50) against 2.8 ms on one thread, and
    # batches of 64 read 620-640 plates/s against 840; the detector at its batch of 8 is level or faster on one.
    # Spinning threads (OMP_WAIT_POLICY=ACTIVE) are faster only while the other core is idle. A recognizer scales
    # by replicas, each on its own core.
    torch_threads: int = Field(default=1, ge=1)
    # The convolutions' arithmetic (engine/reader.py). `auto` is bfloat16 where the CPU multiplies it in hardware
    # (AVX-512 BF16, AMX): about 35% more plates a second, but 2 of the 592 held-out box variants were lost in it
    # (docs/recognizer-experiments.md), so float32 stays the default and bfloat16 an operator's choice.
    # bench/recognizer_precision.py measures what changes; a reading made in bfloat16 names it ("+bf16").
    reader_precision: Literal["auto", "float32", "bfloat16"] = "float32"
    max_image_bytes: int = Field(default=6 * 1024 * 1024, ge=1)
    # engine/crop.py's bound (a 6K frame); above it, a decompression bomb: refused before decoding
    max_image_pixels: int = Field(default=25_000_000, ge=1)

    @property
    def requires_database(self) -> bool:
        return False
