"""Fixtures for the hotlist tests: the shared sample files and an import batch."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.importers import ImportBatch

REPO = Path(__file__).resolve().parents[4]
RECEIVED_AT = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def hotlist_samples() -> Path:
    """The sample hotlist files of FORMATS.md §0."""
    shared = Path(os.environ.get("ALPR_SHARED_DIR", REPO.parent / "shared"))
    folder = shared / "samples" / "hotlists"
    if not folder.is_dir():
        pytest.skip(f"no hotlist samples at {folder} (set ALPR_SHARED_DIR)")
    return folder


@pytest.fixture
def ncic_batch() -> ImportBatch:
    """A state feed import received at RECEIVED_AT."""
    return ImportBatch(HotlistSource.NCIC, RECEIVED_AT)
