"""Fitting the shipped calibration: read crops the hold-out never lends, fit T and SURE, store them in the weights.

The calibration set never touches the 74 held-out photos (`engine/holdout.txt`), so the figures the model
card reports on them stay a test. It holds:
- the calibration split's plates (`engine/calibration_split.txt`, 40 photos training leaves out), each
  cropped with the labelled box and seven moved boxes (the moves of `bench/recognizer_box_sensitivity.py`),
  as a vendor's box differs from ours, and with the same boxes blurred and shrunk as a far camera sees them;
- fresh synthetic crops from the training generator under a seed no training run uses.
Real crops count only for weights whose notes say the split was held out of training (`calibrate(data_dir=...)`
refuses others): `crnn-us-2.2` trained on those photos and read 99.9% of them right, which would teach the
calibration that a sure read is never wrong. The temperature is fitted on the real crops alone where there
are any, because the network is over-confident on real plates and not on synthetic ones; the SURE level is
chosen on real and synthetic together, so it rests on enough reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageFilter

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
from services.recognizer.engine.dataset import calibration_split_names, holdout_names, read_labels
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


def far_camera(crop: Image.Image) -> Image.Image:
    """The crop as a farther, softer camera would see it: half the pixels, then a slight blur."""
    small = crop.resize((max(1, crop.width // 2), max(1, crop.height // 2)), Image.Resampling.BILINEAR)
    return small.filter(ImageFilter.GaussianBlur(0.6))


def calibration_set(data_dir: Path | None, *, synthetic: int, seed: int = CALIBRATION_SEED) -> CalibrationSet:
    """The calibration split's crops under every box move, sharp and far (none without `data_dir`),
    plus `synthetic` fresh synthetic ones."""
    crops: list[Image.Image] = []
    truths: list[str] = []
    if data_dir is not None:
        split = calibration_split_names() - holdout_names()  # the test photos never calibrate
        for row in read_labels(data_dir / "labels.tsv"):
            if row.image not in split:
                continue
            photo = (data_dir / "images" / row.image).read_bytes()
            x, y, w, h = row.box
            for dx, dy in BOX_MOVES:
                box = Box(x=x - w * dx, y=y - h * dy, width=w * (1 + 2 * dx), height=h * (1 + 2 * dy))
                try:
                    crop = crop_plate(photo, box=box)
                except InvalidInput:
                    continue  # a plate at the photo's edge: that move would leave the frame
                crops += [crop, far_camera(crop)]
                truths += [row.plate, row.plate]
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


def fit(confidences: list[float], correct: list[bool], *, real: int = 0) -> tuple[Calibration, dict[str, Any]]:
    """Fit T on the raw probabilities (of the first `real` reads alone where there are any: real plates are
    where the network is over-confident), then the SURE level on all the calibrated ones; report both."""
    fit_on = slice(0, real) if real else slice(None)
    temperature = fit_temperature(confidences[fit_on], correct[fit_on])
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

    `data_dir` adds the calibration split's photos, for weights trained without them (their notes say so);
    `crnn-us-2.2` trained on them and read 99.9% of its training crops right, which would teach the
    calibration that the network is never wrong when sure (measured: 1,179 of 1,182 crops at ≥ 0.9, none wrong).
    """
    if data_dir is not None and not load_weights(weights)[1].get("notes", {}).get("calibration_split_held_out"):
        raise InvalidInput(
            f"{weights} trained on the calibration split's photos: calibrate it on synthetic crops only",
            code="recognizer_calibration_split_seen",
        )
    data = calibration_set(data_dir, synthetic=synthetic)
    confidences, correct = raw_readings(weights, data.crops, data.truths)
    calibration, figures = fit(confidences, correct, real=data.real)
    if data.real:
        real_cal = [calibration.apply(p) for p in confidences[: data.real]]
        figures["real_reads"] = data.real
        figures["real_accuracy"] = round(sum(correct[: data.real]) / data.real, 4)
        figures["real_ece_calibrated"] = round(expected_calibration_error(real_cal, correct[: data.real]), 4)
    fitted_on = {
        "real_crops": data.real,
        "synthetic_crops": data.synthetic,
        "seed": CALIBRATION_SEED,
        **figures,
    }
    store_calibration(weights, calibration, fitted_on)
    return {**calibration.as_meta(), "fitted_on": fitted_on}
