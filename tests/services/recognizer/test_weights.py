"""Weights files: the shipped one verifies; missing, corrupt or tampered ones are refused clearly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, WeightsInvalid, load_weights


class TestWeights:
    def test_shipped_weights_verify_and_are_small(self) -> None:
        _, meta = load_weights()
        assert meta["version"]
        assert DEFAULT_WEIGHTS.stat().st_size < 20 * 1024 * 1024

    def test_a_reader_names_its_tensors_and_calibration_not_only_the_version(self, tmp_path: Path) -> None:
        """`cli calibrate` rewrites a file in place under the same version, changing what its confidences mean:
        the version a read is stamped with says which tensors and which calibration made it."""
        _, meta = load_weights()
        shipped = PlateReader.load()
        name, _, mark = shipped.version.partition("@")
        assert name == meta["version"] and len(mark) == 12 and int(mark, 16) >= 0
        assert PlateReader.load().version == shipped.version  # the same file, the same name
        recalibrated = altered(tmp_path, lambda blob: blob["calibration"].update(sure_threshold=0.5))
        assert PlateReader.load(recalibrated).version.split("@")[0] == name
        assert PlateReader.load(recalibrated).version != shipped.version

        # one behaviour, one name: the fit's own records, 0 for 0.0, the old temperature format change nothing
        def same_behaviour(blob: dict[str, Any]) -> None:
            blob["calibration"]["fitted_on"] = {"seed": 1}
            blob["calibration"]["bias"] = int(blob["calibration"]["bias"])

        assert blob_of_default()["calibration"]["bias"] == 0 and blob_of_default()["calibration"]["features"] == [
            "log_odds"
        ]  # the shipped file is a temperature, so the old format can spell it too
        assert PlateReader.load(altered(tmp_path, same_behaviour)).version == shipped.version
        weight = blob_of_default()["calibration"]["weights"][0]

        def old_format(blob: dict[str, Any]) -> None:
            sure = blob["calibration"]["sure_threshold"]
            blob["calibration"] = {"temperature": 1.0 / weight, "sure_threshold": sure}

        assert PlateReader.load(altered(tmp_path, old_format)).version == shipped.version
        raw = PlateReader.load(calibrated=False).version  # raw numbers: no calibration applied, another name
        assert raw.split("@")[0] == name and raw != shipped.version
        assert PlateReader.load(members=[0]).version == raw + "[0]"

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
        def tamper(blob: dict[str, Any]) -> None:
            member = blob["members"][-1]
            first = next(iter(member))
            member[first] = member[first] + 1

        with pytest.raises(WeightsInvalid, match="digest"):
            load_weights(altered(tmp_path, tamper))

    def test_other_alphabet_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsInvalid, match="alphabet"):
            load_weights(altered(tmp_path, lambda blob: blob.update(alphabet="0123456789")))

    def test_a_dropped_member_fails_the_digest(self, tmp_path: Path) -> None:
        def drop(blob: dict[str, Any]) -> None:
            assert len(blob["members"]) >= 2
            blob["members"] = blob["members"][:1]

        with pytest.raises(WeightsInvalid, match="digest"):
            load_weights(altered(tmp_path, drop))

    def test_a_file_of_the_one_network_format_is_refused(self, tmp_path: Path) -> None:
        def one_network(blob: dict[str, Any]) -> None:
            blob.update(format="alpr-plate-crnn/1", state_dict=blob.pop("members")[0])

        with pytest.raises(WeightsInvalid, match="not a alpr-plate-crnn/2"):
            load_weights(altered(tmp_path, one_network))

    def test_a_file_without_members_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(WeightsInvalid, match="holds no members"):
            load_weights(altered(tmp_path, lambda blob: blob.update(members=[])))
        with pytest.raises(WeightsInvalid, match="holds no members"):
            load_weights(altered(tmp_path, lambda blob: blob.update(members=["not a state dict"])))

    def test_an_architecture_the_network_does_not_know_is_refused(self, tmp_path: Path) -> None:
        unknown: list[object] = [
            {"width": 32, "hidden": 128, "rectifier": 2},
            {"width": 32, "hidden": 128, "attention": 1},
            {"width": 32, "hidden": 128, "rectifier": True},
            {"width": 32.0, "hidden": 128, "rectifier": 1},
            {"width": 32},
            None,
            "width=32",
        ]
        for arch in unknown:
            with pytest.raises(WeightsInvalid, match="architecture this network does not have"):
                load_weights(altered(tmp_path, lambda blob, arch=arch: blob.update(arch=arch)))
        with pytest.raises(WeightsInvalid, match="architecture this network does not have"):
            load_weights(altered(tmp_path, lambda blob: blob.pop("arch")))

    def test_a_rectifier_declared_but_absent_or_present_but_undeclared_is_refused(self, tmp_path: Path) -> None:
        def flip(blob: dict[str, Any]) -> None:
            blob["arch"]["rectifier"] = 1 - blob["arch"].get("rectifier", 0)

        with pytest.raises(WeightsInvalid, match="does not match the network"):
            load_weights(altered(tmp_path, flip))


def test_the_rectifiers_sampling_grid_is_torchs_affine_grid() -> None:
    """The grid is built by hand for speed; it must be the points `affine_grid` gives for the same maps."""
    from services.recognizer.engine.model import Rectifier

    rectifier = Rectifier().eval()
    crops = torch.randn(7, 1, 32, 128)
    theta = torch.randn(7, 2, 3) * 0.2 + torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    last = rectifier.locate[-1]
    assert isinstance(last, torch.nn.Linear)
    with torch.no_grad():
        mine = rectifier.base @ theta.permute(2, 0, 1).reshape(3, 14)
        grid = mine.view(32 * 128, 7, 2).transpose(0, 1).reshape(7, 32, 128, 2)
        reference = torch.nn.functional.affine_grid(theta, [7, 1, 32, 128], align_corners=False)
        assert torch.allclose(grid, reference, atol=1e-5)
        # and forward uses it: a rectifier whose localiser outputs theta whatever it reads samples by it
        last.weight.zero_()
        last.bias.copy_(theta[0].flatten())
        expected = torch.nn.functional.grid_sample(
            crops, reference[:1].expand(7, -1, -1, -1), padding_mode="border", align_corners=False
        )
        assert torch.allclose(rectifier(crops), expected, atol=1e-4)


def test_a_rectifier_refuses_a_crop_of_another_size_and_passes_an_empty_batch() -> None:
    from services.recognizer.engine.model import Rectifier

    rectifier = Rectifier().eval()
    with pytest.raises(ValueError, match="reads"):
        rectifier(torch.zeros(2, 1, 32, 96))
    assert rectifier(torch.zeros(0, 1, 32, 128)).shape == (0, 1, 32, 128)


def test_an_untrained_rectifier_is_the_identity() -> None:
    """A member given a fresh Rectifier reads exactly as before: rectify-only training starts from the reader."""
    from services.recognizer.engine.model import Rectifier, fuse_for_inference

    member = load_weights()[0][-1]
    member.rectifier = None  # the shipped member's own rectifier is trained
    crops = torch.randn(5, 1, 32, 128)
    with torch.inference_mode():
        plain = fuse_for_inference(member)(crops)
        member.rectifier = Rectifier()
        assert torch.equal(member(crops), plain)


def blob_of_default() -> dict[str, Any]:
    """The shipped weights file's contents."""
    blob: dict[str, Any] = torch.load(DEFAULT_WEIGHTS, weights_only=True)
    return blob


def altered(tmp_path: Path, change: Callable[[dict[str, Any]], object]) -> Path:
    """A copy of the shipped weights file with `change` applied to its contents."""
    blob = torch.load(DEFAULT_WEIGHTS, weights_only=True)
    change(blob)
    path = tmp_path / "crnn.pt"
    torch.save(blob, path)
    return path
