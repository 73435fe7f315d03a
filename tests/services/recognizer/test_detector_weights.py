"""Detector training writes a loadable weights file; missing, corrupt or tampered files are refused (503)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from services.recognizer.detector import PlateDetector
from services.recognizer.detector.train import detection_loss, train
from services.recognizer.detector.weights import DEFAULT_WEIGHTS, DetectorWeightsInvalid, load_weights


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A few training steps on generated scenes (about 10 s)."""
    out = tmp_path_factory.mktemp("detector") / "detector.pt"
    notes = train(out, data_dir=None, steps=4, minutes=2, batch_size=4, version="centernet-test")
    return out, notes


class TestTraining:
    def test_a_few_steps_write_a_loadable_file(self, trained: tuple[Path, dict[str, object]]) -> None:
        out, notes = trained
        assert notes["steps"] == 4 and notes["schedule_governed_by"] == "steps"
        detector = PlateDetector.load(out)
        name, _, mark = detector.version.partition("@")  # the version, and which file of it
        assert name == "centernet-test" and len(mark) == 12
        found = detector.detect_batch([Image.new("RGB", (1280, 720)), Image.new("RGB", (640, 480))])
        assert len(found) == 2

    def test_the_loss_falls_when_the_output_matches_the_targets(self) -> None:
        from services.recognizer.detector.targets import box_quad, encode

        target = {k: torch.from_numpy(v)[None] for k, v in encode([box_quad(40, 40, 60, 30)], (48, 80)).items()}
        centres = torch.where(target["heatmap"] == 1, 20.0, -20.0)  # sure of the centres, sure of the rest
        perfect = torch.cat([centres, target["offset"], target["corners"]], dim=1)
        wrong = torch.zeros_like(perfect)
        assert detection_loss(perfect, target)[0] < 0.01 < detection_loss(wrong, target)[0]


class TestWeightsFile:
    def test_shipped_weights_verify_and_are_small(self) -> None:
        _, meta = load_weights()
        assert meta["version"] and DEFAULT_WEIGHTS.stat().st_size < 20 * 1024 * 1024

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(DetectorWeightsInvalid, match="not found") as err:
            PlateDetector.load(tmp_path / "absent.pt")
        assert err.value.code == "detector_weights_invalid" and err.value.status == 503

    def test_corrupt_file(self, tmp_path: Path, trained: tuple[Path, dict[str, object]]) -> None:
        broken = tmp_path / "detector.pt"
        broken.write_bytes(trained[0].read_bytes()[:3000])
        with pytest.raises(DetectorWeightsInvalid, match="unreadable"):
            PlateDetector.load(broken)

    def test_tampered_tensor_fails_the_digest(self, tmp_path: Path, trained: tuple[Path, dict[str, object]]) -> None:
        blob = torch.load(trained[0], weights_only=True)
        first = next(iter(blob["state"]))
        blob["state"][first] = blob["state"][first] + 1e-3
        torch.save(blob, tmp_path / "tampered.pt")
        with pytest.raises(DetectorWeightsInvalid, match="digest"):
            PlateDetector.load(tmp_path / "tampered.pt")

    def test_another_format_is_refused(self, tmp_path: Path, trained: tuple[Path, dict[str, object]]) -> None:
        blob = torch.load(trained[0], weights_only=True)
        blob["canvas"] = [320, 320]
        torch.save(blob, tmp_path / "other.pt")
        with pytest.raises(DetectorWeightsInvalid, match="input size"):
            PlateDetector.load(tmp_path / "other.pt")


def test_the_alpr_command_defaults_are_the_trainers() -> None:
    from services.cli.tools import DETECTOR_MINUTES, DETECTOR_STEPS
    from services.recognizer.detector.train import DEFAULT_MINUTES, DEFAULT_STEPS

    assert (DETECTOR_STEPS, DETECTOR_MINUTES) == (DEFAULT_STEPS, DEFAULT_MINUTES)
