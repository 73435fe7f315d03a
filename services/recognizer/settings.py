"""Recognizer settings: no database; the weights ship inside the package."""

from __future__ import annotations

from pathlib import Path

from libs.common.settings import CommonSettings


class RecognizerSettings(CommonSettings):
    weights_path: Path | None = None  # default: the shipped services/recognizer/weights/crnn.pt
    max_batch: int = 64
    max_wait_ms: float = 3.0
    torch_threads: int = 2
    max_image_bytes: int = 6 * 1024 * 1024

    @property
    def requires_database(self) -> bool:
        return False
