"""Fitting the shipped calibration: read crops the hold-out never lends, fit T and SURE, store them in the weights.

The calibration set never touches the 74 held-out photos (`engine/holdout.txt`), so the figures the model
card reports on them stay a test. It holds:
- the non-held-out photos' plates, each cropped with the labelled box and seven moved boxes (the moves of
  `bench/recognizer_box_sensitivity.py`), as a vendor's box differs from ours;
- fresh synthetic crops from the training generator under a seed no training run uses.
Real crops count only for weights that did not train on those photos (`calibrate(data_dir=...)`): the
shipped members did, and read 99.9% of them right. The card says how well the fit transfers, on the hold-out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from libs.common.contracts.reads import Box
from libs.common.errors import InvalidInput
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.calibration import (
    Calibration,
    at_or_above,
    choose_sure_threshold,
    expected_calibration_error,
    fit_temperature,
)
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import holdout_names, read_labels
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.weights import WeightsInvalid, load_weights

CALIBRATION_SEED = 20261206  # no training run draws from this stream (training seeds are small integers)
# (x, y) moved per side, as shares of the box: the labelled box, then looser and tighter ones
BOX_MOVES = ((0.0, 0.0), (0.03, 0.0), (0.06, 0.0), (-0.03, 0.0), (0.0, 0.05), (0.0, 0.10), (0.0, -0.05), (0.06, 0.10))


@dataclass(frozen=True)
class CalibrationSet:
    crops: list[Image.Image]
    truths: list[str]
    real: int
    synthetic: int


def calibration_set(data_dir: Path | None, *, synthetic: int, seed: int = CALIBRATION_SEED) -> CalibrationSet:
    """The real non-held-out crops under every box move (none without `data_dir`), plus `synthetic` fresh ones."""
    crops: list[Image.Image] = []
    truths: list[str] = []
    if data_dir is not None:
        held_out = holdout_names()
        for row in read_labels(data_dir / "labels.tsv"):
            if row.image in held_out:
                continue  # the test photos never calibrate
            photo = (data_dir / "images" / row.image).read_bytes()
            x, y, w, h = row.box
            for dx, dy in BOX_MOVES:
                box = Box(x=x - w * dx, y=y - h * dy, width=w * (1 + 2 * dx), height=h * (1 + 2 * dy))
                try:
                    crops.append(crop_plate(photo, box=box))
                except InvalidInput:
                    continue  # a plate at the photo's edge: that move would leave the frame
                truths.append(row.plate)
    real = len(crops)
    rng = random.Random(seed)
    for _ in range(synthetic):
        plate = render_plate(rng, size=(160, 80))
        crops.append(synthetic_crop(rng, plate.image))
        truths.append(plate.plate)
    return CalibrationSet(crops, truths, real, len(crops) - real)


def raw_readings(weights: Path | None, crops: list[Image.Image], truths: list[str]) -> tuple[list[float], list[bool]]:
    """The network's uncalibrated plate probabilities and whether each read was right (O = 0)."""
    reader = PlateReader.load(weights, calibrated=False)
    confidences: list[float] = []
    correct: list[bool] = []
    for i in range(0, len(crops), 128):
        for reading, truth in zip(reader.read_batch(crops[i : i + 128]), truths[i : i + 128], strict=True):
            confidences.append(reading.raw_confidence)
            correct.append(fold_plate(reading.plate) == fold_plate(truth))
    return confidences, correct


def fit(confidences: list[float], correct: list[bool]) -> tuple[Calibration, dict[str, Any]]:
    """Fit T on the raw probabilities, then the SURE level on the calibrated ones; report both on this set."""
    temperature = fit_temperature(confidences, correct)
    calibrated = [Calibration(temperature).apply(p) for p in confidences]
    threshold = choose_sure_threshold(calibrated, correct)
    sure = at_or_above(calibrated, correct, threshold)
    figures = {
        "reads": len(confidences),
        "accuracy": round(sum(correct) / max(len(correct), 1), 4),
        "ece_raw": round(expected_calibration_error(confidences, correct), 4),
        "ece_calibrated": round(expected_calibration_error(calibrated, correct), 4),
        "sure_reads": sure.reads,
        "sure_wrong": sure.wrong,
        "sure_coverage": round(sure.coverage, 4),
    }
    return Calibration(temperature, threshold), figures


def store_calibration(path: Path, calibration: Calibration, fitted_on: dict[str, Any]) -> None:
    """Write the calibration into the weights file's metadata; the members and their digest are untouched."""
    load_weights(path)  # refuse to touch a file that does not verify
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict):
        raise WeightsInvalid(f"{path} is not a weights file", path=str(path))
    blob["calibration"] = {**calibration.as_meta(), "fitted_on": fitted_on}
    torch.save(blob, path)


DEFAULT_SYNTHETIC = 6000


def calibrate(weights: Path, *, data_dir: Path | None, synthetic: int = DEFAULT_SYNTHETIC) -> dict[str, Any]:
    """Fit and store the calibration of the weights at `weights`; returns what was fitted and on what.

    Give `data_dir` only for weights trained without its non-held-out photos: the shipped members trained on
    them and read 99.9% of their crops right, which would teach the calibration that the network is never
    wrong when sure (measured: 1,179 of 1,182 crops at ≥ 0.9, none wrong).
    """
    data = calibration_set(data_dir, synthetic=synthetic)
    confidences, correct = raw_readings(weights, data.crops, data.truths)
    calibration, figures = fit(confidences, correct)
    fitted_on = {
        "real_crops": data.real,
        "synthetic_crops": data.synthetic,
        "seed": CALIBRATION_SEED,
        **figures,
    }
    store_calibration(weights, calibration, fitted_on)
    return {**calibration.as_meta(), "fitted_on": fitted_on}
