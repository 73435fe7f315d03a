"""Training: a run governed by its steps is reproducible for its seed; a short time budget governs, and says so."""

from __future__ import annotations

from pathlib import Path

import torch

from services.recognizer.engine.train import train
from services.recognizer.engine.weights import load_weights


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in load_weights(path)[0].state_dict().items()}


def test_a_step_governed_run_is_reproducible_for_its_seed(tmp_path: Path) -> None:
    first = train(tmp_path / "a.pt", data_dir=None, steps=3, seed=5, minutes=60, batch_size=4)
    train(tmp_path / "b.pt", data_dir=None, steps=3, seed=5, minutes=60, batch_size=4)
    assert first["schedule_governed_by"] == "steps" and first["steps"] == 3
    a, b = _tensors(tmp_path / "a.pt"), _tensors(tmp_path / "b.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_time_budget_too_short_for_the_steps_governs_and_is_recorded(tmp_path: Path) -> None:
    notes = train(tmp_path / "c.pt", data_dir=None, steps=400, seed=5, minutes=0.001, batch_size=4)
    assert notes["schedule_governed_by"] == "time" and notes["steps"] < 400
