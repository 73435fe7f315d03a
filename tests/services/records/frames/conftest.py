"""Fixtures for the frames tests: a poster of frames on the running system (tests/utils/frames.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils.frames import Frames


@pytest.fixture
def frames(system: Any) -> Frames:
    return Frames(system)
