"""Fitting the shipped calibration: read crops the hold-out never lends, choose and fit the calibrator and
the SURE level, store them in the weights.

The calibration set never touches the 74 held-out photos (`engine/holdout.txt`), so the figures the model
card reports on them stay a test. It holds:
- the calibration split's plates (`engine/calibration_split.txt`, 40 photos training leaves out), each
  cropped with the labelled box and seven moved boxes (the moves of `bench/recognizer_box_sensitivity.py`),
  as a vendor's box differs from ours, and with the same boxes blurred and shrunk as a far camera sees them;
- fresh synthetic crops from the training generator under a seed no training run uses.
Real crops count only for weights whose notes say the split was held out of training (`calibrate(data_dir=...)`
refuses others): `crnn-us-2.2` trained on those photos and read 99.9% of them right, which would teach the
calibration that a sure read is never wrong. With real crops, the calibrator is chosen among the candidates
of `engine/calibration_choice.py` by cross-validation over the split's photos, and SURE is set on the
chosen one's out-of-fold confidences of the real crops. Without them (synthetic only), a temperature is
fitted and SURE set on the synthetic reads, as before.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageFilter

from libs.common.errors import InvalidInput
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.calibration import (
    at_or_above,
    choose_sure_threshold,
    expected_calibration_error,
    fit_temperature,
)
from services.recognizer.engine.calibration_choice import (
    Readings,
    candidates,
    choose,
    confidences,
    cross_validate,
    fit_candidate,
    photo_folds,
)
from services.recognizer.engine.calibrator import Calibration, PlateEvidence
from services.recognizer.engine.crop import crop_plate
from services.recognizer.engine.dataset import BOX_MOVES, calibration_split_names, holdout_names, read_labels
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.uncertainty import grouped_share_interval
from services.recognizer.engine.weights import WeightsInvalid, load_weights

CALIBRATION_SEED = 20261206  # no training run draws from this stream (training seeds are small integers)


@dataclass(frozen=True)
class CalibrationSet:
    crops: list[Image.Image]
    truths: list[str]
    photos: list[str]  # each real crop's photo (its fold in the cross-validation); synthetic crops last
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
    photos: list[str] = []
    if data_dir is not None:
        split = calibration_split_names() - holdout_names()  # the test photos never calibrate
        for row in read_labels(data_dir / "labels.tsv"):
            if row.image not in split:
                continue
            photo = (data_dir / "images" / row.image).read_bytes()
            for dx, dy in BOX_MOVES:
                try:
                    crop = crop_plate(photo, box=row.moved(dx, dy))
                except InvalidInput:
                    continue  # a plate at the photo's edge: that move would leave the frame
                crops += [crop, far_camera(crop)]
                truths += [row.plate, row.plate]
                photos += [row.image, row.image]
    real = len(crops)
    rng = random.Random(seed)
    for _ in range(synthetic):
        plate = render_plate(rng, size=(160, 80))
        crops.append(synthetic_crop(rng, plate.image))
        truths.append(plate.plate)
    return CalibrationSet(crops, truths, photos, real, len(crops) - real)


def read_evidence(weights: Path | None, crops: list[Image.Image], truths: list[str]) -> Readings:
    """What the reader knows of each plate it read (the calibrator's inputs), and whether it was right (O = 0)."""
    reader = PlateReader.load(weights, calibrated=False)
    evidence: list[PlateEvidence | None] = []
    correct: list[bool] = []
    for i in range(0, len(crops), 128):
        for reading, truth in zip(reader.read_batch(crops[i : i + 128]), truths[i : i + 128], strict=True):
            evidence.append(reading.evidence)
            correct.append(fold_plate(reading.plate) == fold_plate(truth))
    return Readings(evidence, correct)


def fit(real: Readings, synthetic: Readings, photos: list[str]) -> tuple[Calibration, dict[str, Any]]:
    """Choose and fit the calibrator and its SURE level; report the cross-validation and the fit.

    With real reads: every candidate cross-validated by photo, the rule's choice fitted on all of them, SURE
    on its out-of-fold confidences of the real reads (over at least 200 of them), else on those and the
    synthetic reads. Without: a temperature and SURE on the synthetic reads."""
    figures: dict[str, Any] = {}
    if real.correct:
        folds = photo_folds(photos)
        results = [cross_validate(c, real, folds, synthetic) for c in candidates()]
        chosen = choose(results)
        calibration = fit_candidate(chosen.candidate, real, synthetic)
        basis, scored, correct = "real out-of-fold", list(chosen.out_of_fold), real.correct
        threshold = choose_sure_threshold(scored, correct)
        if threshold == 1.0:
            basis = "real out-of-fold and synthetic"
            scored += confidences(calibration, synthetic.evidence)
            correct = real.correct + synthetic.correct
            threshold = choose_sure_threshold(scored, correct)
        figures["chosen"] = chosen.candidate.name
        # what SURE means on real plates, whichever reads chose it: the out-of-fold estimate
        real_sure = at_or_above(list(chosen.out_of_fold), real.correct, threshold)
        figures["real_sure_reads"], figures["real_sure_wrong"] = real_sure.reads, real_sure.wrong
        # how far that share can be trusted: a photo's 16 crops are not 16 independent plates
        sure_reads = [p >= threshold for p in chosen.out_of_fold]
        wrong = [not ok for ok in real.correct]
        figures["real_sure_wrong_95_by_photo"] = [
            round(end, 4) for end in grouped_share_interval(photos, wrong, sure_reads)
        ]
        figures["cross_validation"] = [r.as_row() for r in results]
        figures["real_reads"] = len(real.correct)
        figures["real_accuracy"] = round(sum(real.correct) / len(real.correct), 4)
        figures["real_ece_calibrated"] = round(
            expected_calibration_error(confidences(calibration, real.evidence), real.correct), 4
        )
    else:
        evidence, ok = synthetic.fittable()
        calibration = Calibration.of_temperature(fit_temperature([e.probability for e in evidence], ok))
        basis, scored, correct = "synthetic", confidences(calibration, synthetic.evidence), synthetic.correct
        threshold = choose_sure_threshold(scored, correct)
    sure = at_or_above(scored, correct, threshold)
    every = real.evidence + synthetic.evidence
    every_correct = real.correct + synthetic.correct
    raw = [0.0 if e is None else e.probability for e in every]
    figures |= {
        "reads": len(every),
        "accuracy": round(sum(every_correct) / max(len(every), 1), 4),
        "ece_raw": round(expected_calibration_error(raw, every_correct), 4),
        "ece_calibrated": round(expected_calibration_error(confidences(calibration, every), every_correct), 4),
        "sure_basis": basis,
        "sure_reads": sure.reads,
        "sure_wrong": sure.wrong,
        "sure_coverage": round(sure.coverage, 4),
    }
    return calibration.with_sure(threshold), figures


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
    readings = read_evidence(weights, data.crops, data.truths)
    real = readings.subset([i < data.real for i in range(len(data.crops))])
    generated = readings.subset([i >= data.real for i in range(len(data.crops))])
    calibration, figures = fit(real, generated, data.photos[: data.real])
    fitted_on = {
        "real_crops": data.real,
        "synthetic_crops": data.synthetic,
        "seed": CALIBRATION_SEED,
        **figures,
    }
    store_calibration(weights, calibration, fitted_on)
    return {**calibration.as_meta(), "fitted_on": fitted_on}
