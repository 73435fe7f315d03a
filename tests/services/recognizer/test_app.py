"""Recognizer start-up: a missing or tampered detector file stops it, as a bad reader file does; its torch threads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from services.recognizer.app import create_app
from services.recognizer.detector.weights import DEFAULT_WEIGHTS, DetectorWeightsInvalid
from services.recognizer.settings import RecognizerSettings

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def start(detector: Path) -> None:
    app = create_app(RecognizerSettings(environment="test", detector_weights_path=detector))
    async with app.router.lifespan_context(app):
        pytest.fail("the recognizer started without a sound detector")


class TestStartUp:
    async def test_a_missing_detector_file_stops_start_up(self, tmp_path: Path) -> None:
        with pytest.raises(DetectorWeightsInvalid, match="not found"):
            await start(tmp_path / "detector.pt")

    async def test_a_tampered_detector_file_stops_start_up(self, tmp_path: Path) -> None:
        tampered = tmp_path / "detector.pt"
        shutil.copy(DEFAULT_WEIGHTS, tampered)
        blob = torch.load(tampered, map_location="cpu", weights_only=True)
        first = next(iter(blob["state"]))
        blob["state"][first] = blob["state"][first] + 0.01  # the digest stays the shipped one
        torch.save(blob, tampered)
        with pytest.raises(DetectorWeightsInvalid, match="digest"):
            await start(tampered)


class TestTorchThreads:
    async def test_the_service_reads_on_one_torch_thread_unless_told(self) -> None:
        # two passive OpenMP threads read a plate about six times slower on this 2-core machine (settings.py)
        assert RecognizerSettings(environment="test").torch_threads == 1

    async def test_fewer_than_one_thread_is_refused_at_start(self) -> None:
        with pytest.raises(ValueError, match="torch_threads"):
            RecognizerSettings(environment="test", torch_threads=0)
