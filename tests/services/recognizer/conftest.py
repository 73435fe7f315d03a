"""Fixtures of the recognizer tests: the shipped reader and the shared labelled photos, when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.recognizer.engine.reader import PlateReader

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def reader() -> PlateReader:
    return PlateReader.load()


@pytest.fixture(scope="session")
def plates_dir() -> Path:
    shared = Path(os.environ.get("ALPR_SHARED_DIR", REPO.parent / "shared"))
    data = shared / "data" / "plates-openalpr-us"
    if not (data / "labels.tsv").is_file():
        pytest.skip(f"shared plate photos not found under {shared}")
    return data
