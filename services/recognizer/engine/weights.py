"""The weights file: one state dict per ensemble member, with the metadata needed to check it fits this code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from libs.common.errors import AlprError
from services.recognizer.engine.model import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, PlateCRNN

FORMAT = "alpr-plate-crnn/2"  # /2: a list of members (/1 held one state dict)
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "crnn.pt"


class WeightsInvalid(AlprError):
    """The recognizer cannot start: its weights file is missing, corrupt or made for other code."""

    status = 503
    code = "recognizer_weights_invalid"


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor in key order, so a flipped byte is caught even inside a valid zip."""
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def members_digest(states: list[dict[str, torch.Tensor]]) -> str:
    """One digest over every member in order, so a swapped, dropped or altered member is caught."""
    return hashlib.sha256("".join(state_digest(state) for state in states).encode()).hexdigest()


def fingerprint(digest: str, calibration: dict[str, Any] | None = None) -> str:
    """12 hex digits naming the exact tensors and the calibration a reading used (`Calibration.canonical`).

    A version names a recipe, and one file is recalibrated in place under the same version (`cli calibrate`),
    which changes what its confidences mean; a read stamped `version@fingerprint` says which of them made it.
    Code and load options (a `--consult-below` in eval) are not in it: the release and the command say those.
    """
    canonical = json.dumps(calibration, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{digest}\n{canonical}".encode()).hexdigest()[:12]


def model_name(meta: dict[str, Any], calibration: dict[str, Any] | None = None) -> str:
    """The name a reading is stamped with: the file's version @ the fingerprint of its tensors and calibration."""
    return f"{meta['version']}@{fingerprint(str(meta['digest']), calibration)}"


def save_weights(
    path: Path, models: list[PlateCRNN], *, version: str, arch: dict[str, int], notes: dict[str, Any]
) -> None:
    """Write the members' state dicts with their alphabet, input size, architecture, version and digest."""
    states = [{k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()} for model in models]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "format": FORMAT,
            "version": version,
            "alphabet": ALPHABET,
            "input_size": [INPUT_HEIGHT, INPUT_WIDTH],
            "arch": arch,
            "notes": notes,
            "digest": members_digest(states),
            "members": states,
        },
        path,
    )


def load_weights(path: Path | None = None) -> tuple[list[PlateCRNN], dict[str, Any]]:
    """Build each member's network from a weights file, refusing any file that does not verify."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise WeightsInvalid(f"recognizer weights not found at {path}", path=str(path))
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged archive
        raise WeightsInvalid(f"recognizer weights at {path} are unreadable: {exc}", path=str(path)) from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise WeightsInvalid(f"{path} is not a {FORMAT} weights file", path=str(path))
    if blob.get("alphabet") != ALPHABET or blob.get("input_size") != [INPUT_HEIGHT, INPUT_WIDTH]:
        raise WeightsInvalid(f"{path} was trained for another alphabet or input size", path=str(path))
    states = blob.get("members")
    if not isinstance(states, list) or not states or not all(isinstance(state, dict) for state in states):
        raise WeightsInvalid(f"{path} holds no members", path=str(path))
    if members_digest(states) != blob.get("digest"):
        raise WeightsInvalid(f"recognizer weights at {path} fail their digest check", path=str(path))
    arch = blob.get("arch")
    if not isinstance(arch, dict) or not _known_arch(arch):
        raise WeightsInvalid(f"{path} declares an architecture this network does not have: {arch!r}", path=str(path))
    models = []
    for state in states:
        try:
            model = PlateCRNN(**arch)
            model.load_state_dict(state, strict=True)
        except (RuntimeError, ValueError) as exc:  # the declared design is known (_known_arch)
            raise WeightsInvalid(f"{path} does not match the network: {exc}", path=str(path)) from exc
        models.append(model.eval())
    meta = {k: v for k, v in blob.items() if k != "members"}
    return models, meta


def _known_arch(arch: dict[str, Any]) -> bool:
    """width and hidden, and optionally rectifier (0 or 1), each a plain positive int (not a bool or a float)."""
    if not {"width", "hidden"} <= arch.keys() <= {"width", "hidden", "rectifier"}:
        return False
    if not all(type(value) is int for value in arch.values()):
        return False
    return arch["width"] > 0 and arch["hidden"] > 0 and arch.get("rectifier", 0) in (0, 1)
