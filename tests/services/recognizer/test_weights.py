"""Weights files: the shipped one verifies; missing, corrupt or tampered ones are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, WeightsInvalid, load_weights


class TestWeights:
    def test_shipped_weights_verify_and_are_small(self) -> None:
        _, meta = load_weights()
        assert meta["version"]
        assert DEFAULT_WEIGHTS.stat().st_size < 20 * 1024 * 1024

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsInvalid, match="not found"):
            PlateReader.load(tmp_path / "absent.pt")

    def test_corrupt_file(self, tmp_path: Path) -> None:
        broken = tmp_path / "crnn.pt"
        broken.write_bytes(DEFAULT_WEIGHTS.read_bytes()[:5000])
        with pytest.raises(WeightsInvalid, match="unreadable") as err:
            PlateReader.load(broken)
        assert err.value.code == "recognizer_weights_invalid"

    def test_tampered_tensor_fails_the_digest(self, tmp_path: Path) -> None:
        blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
        member = blob["members"][-1]
        first = next(iter(member))
        member[first] = member[first] + 1
        tampered = tmp_path / "crnn.pt"
        torch.save(blob, tampered)
        with pytest.raises(WeightsInvalid, match="digest"):
            load_weights(tampered)

    def test_other_alphabet_is_refused(self, tmp_path: Path) -> None:
        blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
        blob["alphabet"] = "0123456789"
        other = tmp_path / "crnn.pt"
        torch.save(blob, other)
        with pytest.raises(WeightsInvalid, match="alphabet"):
            load_weights(other)

    def test_a_dropped_member_fails_the_digest(self, tmp_path: Path) -> None:
        blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
        assert len(blob["members"]) >= 2
        blob["members"] = blob["members"][:1]
        dropped = tmp_path / "crnn.pt"
        torch.save(blob, dropped)
        with pytest.raises(WeightsInvalid, match="digest"):
            load_weights(dropped)

    def test_a_file_of_the_one_network_format_is_refused(self, tmp_path: Path) -> None:
        blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
        blob["format"] = "alpr-plate-crnn/1"
        blob["state_dict"] = blob.pop("members")[0]
        old = tmp_path / "crnn.pt"
        torch.save(blob, old)
        with pytest.raises(WeightsInvalid, match="not a alpr-plate-crnn/2"):
            load_weights(old)
