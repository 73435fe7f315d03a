"""`recognizer calibrate`: the temperature and SURE level written into a weights file, which still verifies."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from services.recognizer.engine.calibrate import calibrate, fit, store_calibration
from services.recognizer.engine.calibration_choice import Readings
from services.recognizer.engine.calibrator import Calibration, CalibrationInvalid, PlateEvidence
from services.recognizer.engine.cli import eval_main
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.uncertainty import wilson_interval
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, load_weights
from tests.services.recognizer.test_evaluate import crop_folder


class TestCalibrate:
    def test_writes_temperature_and_sure_level_into_the_weights_and_keeps_them_verifiable(self, tmp_path: Path) -> None:
        weights = tmp_path / "crnn.pt"
        shutil.copy(DEFAULT_WEIGHTS, weights)
        fitted = calibrate(weights, data_dir=None, synthetic=40)
        _, meta = load_weights(weights)  # the digest still verifies
        # no real crops: a temperature, fitted on the synthetic ones
        assert meta["calibration"]["features"] == fitted["features"] == ["log_odds"]
        assert meta["calibration"]["weights"] == fitted["weights"] and fitted["weights"][0] > 0
        assert meta["calibration"]["fitted_on"]["sure_basis"] == "synthetic"
        assert meta["calibration"]["fitted_on"]["synthetic_crops"] == 40
        assert meta["calibration"]["fitted_on"]["real_crops"] == 0
        # 40 reads are too few to show 1%: nothing is called sure, and the reader says so
        assert fitted["sure_threshold"] == 1.0
        reader = PlateReader.load(weights)
        assert reader.calibration == Calibration.from_meta(meta["calibration"])
        assert not any(r.sure for r in reader.read_batch([render_plate(random.Random(1)).image]))

    def test_the_shipped_weights_carry_a_calibration_fitted_off_the_hold_out(self) -> None:
        _, meta = load_weights()
        fitted_on = meta["calibration"]["fitted_on"]
        assert fitted_on["synthetic_crops"] >= 1000 and fitted_on["sure_reads"] >= 200
        assert fitted_on["sure_wrong"] <= 0.01 * fitted_on["sure_reads"]
        assert 0.0 < meta["calibration"]["sure_threshold"] < 1.0


MARGIN = Calibration(("log_odds", "margin", "length"), (0.7, 3.0, -0.05), -1.5, 0.8)


class TestCalibratedReading:
    """A calibrator with several inputs, stored in a weights file, is what the reader and eval report."""

    def weights_with(self, tmp_path: Path, calibration: Calibration) -> Path:
        weights = tmp_path / "crnn.pt"
        shutil.copy(DEFAULT_WEIGHTS, weights)
        store_calibration(weights, calibration, {"real_crops": 0})
        return weights

    def test_the_reader_reports_the_stored_calibrator(self, tmp_path: Path) -> None:
        reader = PlateReader.load(self.weights_with(tmp_path, MARGIN))
        assert reader.calibration == MARGIN
        rng = random.Random(3)
        for reading in reader.read_batch([render_plate(rng).image for _ in range(12)]):
            assert reading.evidence is not None
            assert reading.confidence == round(MARGIN.confidence(reading.evidence), 4)
            assert reading.sure == (reading.confidence >= 0.8)
            assert reading.candidates[0] == (reading.plate, reading.confidence)
            scores = [c for _, c in reading.candidates]
            assert scores == sorted(scores, reverse=True)  # never more confident further down

    def test_eval_scores_with_it(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        weights = self.weights_with(tmp_path, MARGIN)
        folder = crop_folder(tmp_path, 8, seed=9)
        report = eval_main(folder, folder / "labels.tsv", weights=weights)
        assert "confidence from: log_odds+margin+length, SURE at 0.8000" in capsys.readouterr().out
        readings = PlateReader.load(weights).read_batch(
            [Image.open(folder / f"crop{i:02d}.png").convert("L") for i in range(8)]
        )
        assert report["sure"]["reads"] == sum(r.sure for r in readings)
        assert report["high_confidence"]["reads"] == sum(r.confidence >= 0.9 for r in readings)

    def test_a_malformed_stored_calibration_stops_the_reader_typed(self, tmp_path: Path) -> None:
        weights = self.weights_with(tmp_path, MARGIN)
        blob = torch.load(weights, weights_only=True)
        blob["calibration"]["weights"][0] = -0.7  # confidence would fall as the probability rises
        torch.save(blob, weights)
        load_weights(weights)  # the members still verify: it is the calibration that is refused
        with pytest.raises(CalibrationInvalid) as err:
            PlateReader.load(weights)
        assert err.value.code == "recognizer_calibration_invalid" and err.value.status == 503


class TestFitOnRealReads:
    def test_sure_is_set_out_of_fold_and_its_wrong_share_carries_an_interval_by_photo(self) -> None:
        """40 photos of 16 reads, 12 of them confident and right, except that one photo is misread on four
        of its confident crops (as a plate the network cannot see is misread on several box moves)."""
        rng = random.Random(4)
        photos = [f"p{i:02d}.jpg" for i in range(40) for _ in range(16)]
        evidence: list[PlateEvidence | None] = []
        correct = []
        for i, photo in enumerate(photos):
            confident = i % 4 != 0
            p = rng.uniform(0.97, 0.9999) if confident else rng.uniform(0.3, 0.9)
            evidence.append(PlateEvidence(p, 1.0, 0.9, 7, 1.0))
            misread = photo == "p17.jpg" and confident and i % 16 < 6
            correct.append(not misread and (confident or rng.random() < p))
        calibration, figures = fit(Readings(evidence, correct), Readings([], []), photos)
        assert calibration.sure_threshold < 1.0 and figures["sure_basis"] == "real out-of-fold"
        low, high = figures["real_sure_wrong_95_by_photo"]
        assert figures["real_sure_wrong"] >= 1  # the misread photo is among the sure reads
        assert 0 <= low < figures["real_sure_wrong"] / figures["real_sure_reads"] < high
        # its wrong reads are one photo's: the interval is far wider than that of as many independent reads
        independent = wilson_interval(figures["real_sure_wrong"], figures["real_sure_reads"])
        assert high - low > 1.5 * (independent[1] - independent[0])
