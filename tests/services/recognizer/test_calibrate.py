"""`recognizer calibrate`: the temperature and SURE level written into a weights file, which still verifies."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from services.recognizer.engine.calibrate import calibrate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.weights import DEFAULT_WEIGHTS, load_weights


class TestCalibrate:
    def test_writes_temperature_and_sure_level_into_the_weights_and_keeps_them_verifiable(self, tmp_path: Path) -> None:
        weights = tmp_path / "crnn.pt"
        shutil.copy(DEFAULT_WEIGHTS, weights)
        fitted = calibrate(weights, data_dir=None, synthetic=40)
        _, meta = load_weights(weights)  # the digest still verifies
        assert meta["calibration"]["temperature"] == fitted["temperature"] > 0
        assert meta["calibration"]["fitted_on"]["synthetic_crops"] == 40
        assert meta["calibration"]["fitted_on"]["real_crops"] == 0
        # 40 reads are too few to show 1%: nothing is called sure, and the reader says so
        assert fitted["sure_threshold"] == 1.0
        reader = PlateReader.load(weights)
        assert reader.calibration.temperature == fitted["temperature"]
        assert not any(r.sure for r in reader.read_batch([render_plate(random.Random(1)).image]))

    def test_the_shipped_weights_carry_a_calibration_fitted_off_the_hold_out(self) -> None:
        _, meta = load_weights()
        fitted_on = meta["calibration"]["fitted_on"]
        assert fitted_on["synthetic_crops"] >= 1000 and fitted_on["sure_reads"] >= 200
        assert fitted_on["sure_wrong"] <= 0.01 * fitted_on["sure_reads"]
        assert 0.0 < meta["calibration"]["sure_threshold"] < 1.0
