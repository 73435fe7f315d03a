"""The detector's weights file: one state dict, its architecture and version, and a SHA-256 over the tensors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from libs.common.errors import AlprError
from services.recognizer.detector.frame import CANVAS
from services.recognizer.detector.model import STRIDE, PlateCenterNet
from services.recognizer.engine.weights import state_digest  # the reader's digest: one way to seal tensors

FORMAT = "alpr-plate-detector/1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "detector.pt"


class DetectorWeightsInvalid(AlprError):
    """Plate finding cannot start: the detector's weights are missing, corrupt or made for other code."""

    status = 503
    code = "detector_weights_invalid"


def save_weights(
    path: Path, model: PlateCenterNet, *, version: str, arch: dict[str, int], notes: dict[str, Any]
) -> None:
    """Write the state dict with the input canvas, stride, architecture, version, notes and digest."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "version": version,
        "canvas": list(CANVAS),
        "stride": STRIDE,
        "arch": arch,
        "notes": notes,
        "digest": state_digest(state),
        "state": state,
    }
    torch.save(blob, path)


def load_weights(path: Path | None = None) -> tuple[PlateCenterNet, dict[str, Any]]:
    """The network from a weights file (the shipped one unless a path is given), refusing any that fails a check."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise DetectorWeightsInvalid(f"detector weights not found at {path}", path=str(path))
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged archive
        raise DetectorWeightsInvalid(f"detector weights at {path} are unreadable: {exc}", path=str(path)) from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise DetectorWeightsInvalid(f"{path} is not a {FORMAT} weights file", path=str(path))
    if blob.get("canvas") != list(CANVAS) or blob.get("stride") != STRIDE:
        raise DetectorWeightsInvalid(f"{path} was trained for another input size or stride", path=str(path))
    state = blob.get("state")
    if not isinstance(state, dict) or state_digest(state) != blob.get("digest"):
        raise DetectorWeightsInvalid(f"detector weights at {path} fail their digest check", path=str(path))
    try:
        model = PlateCenterNet(**blob["arch"])
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as exc:
        raise DetectorWeightsInvalid(f"{path} does not match the network: {exc}", path=str(path)) from exc
    return model.eval(), {k: v for k, v in blob.items() if k != "state"}
