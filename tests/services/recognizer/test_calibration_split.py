"""The calibration split: 40 real photos kept out of training so the confidence can be fitted on plates the
members never saw; the hold-out stays the test, and weights that saw the split cannot be calibrated on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from libs.common.contracts.reads import Box
from libs.common.errors import InvalidInput
from services.recognizer.engine.calibrate import calibrate, calibration_set
from services.recognizer.engine.dataset import (
    BOX_MOVES,
    CALIBRATION_SPLIT_COUNT,
    HOLDOUT_COUNT,
    LabelledPlate,
    calibration_split_names,
    choose_split,
    holdout_names,
    read_labels,
)
from services.recognizer.engine.train import train
from services.recognizer.engine.weights import load_weights

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "plates-openalpr-us"
needs_photos = pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data/plates-openalpr-us beside the repo")


@needs_photos
class TestTheSplitsFollowTheirRule:
    def test_the_shipped_lists_are_the_rule_applied_to_the_photos(self) -> None:
        names = [r.image for r in read_labels(DATA / "labels.tsv")]
        assert holdout_names() == set(choose_split(names, 0, HOLDOUT_COUNT))
        assert calibration_split_names() == set(choose_split(names, HOLDOUT_COUNT, CALIBRATION_SPLIT_COUNT))
        assert len(calibration_split_names()) == 40 and not calibration_split_names() & holdout_names()

    def test_the_calibration_set_holds_only_the_split_each_box_sharp_and_far(self) -> None:
        data = calibration_set(DATA, synthetic=0)
        # 40 photos, up to 8 boxes each (a move that leaves the frame is skipped), each sharp and far
        assert 0 < data.real <= 40 * 8 * 2 and data.real % 2 == 0
        plates = {r.plate for r in read_labels(DATA / "labels.tsv") if r.image in calibration_split_names()}
        assert set(data.truths) <= plates


@needs_photos
class TestTrainingKeepsTheSplitOut:
    def test_training_leaves_out_the_hold_out_and_the_split_and_says_so(self, tmp_path: Path) -> None:
        notes = train(tmp_path / "w.pt", data_dir=DATA, steps=2, seed=1, minutes=60, batch_size=4, snapshots=1)
        assert notes["real_train_crops"] == 222 - 74 - 40
        assert notes["calibration_split_held_out"] is True

    def test_weights_that_saw_the_split_neither_calibrate_on_it_nor_seed_a_run_that_holds_it_out(
        self, tmp_path: Path
    ) -> None:
        weights = tmp_path / "saw.pt"  # as crnn-us-2.2 was trained: on every non-held-out photo
        notes = train(weights, data_dir=DATA, steps=1, seed=1, batch_size=4, snapshots=1, hold_calibration_split=False)
        assert notes["real_train_crops"] == 222 - 74 and load_weights(weights)[1]["notes"] == notes
        with pytest.raises(InvalidInput) as calibrating:
            calibrate(weights, data_dir=DATA, synthetic=0)
        assert calibrating.value.code == "recognizer_calibration_split_seen"
        with pytest.raises(InvalidInput) as seeding:
            train(tmp_path / "x.pt", data_dir=DATA, steps=1, seed=1, minutes=60, batch_size=4, init=weights)
        assert seeding.value.code == "recognizer_init_saw_calibration_split"


class TestBoxMoves:
    def test_the_labelled_box_comes_first_and_a_move_widens_each_side_alike(self) -> None:
        row = LabelledPlate("a.jpg", (100.0, 50.0, 80.0, 40.0), "ABC123")
        assert BOX_MOVES[0] == (0.0, 0.0)
        assert row.moved(0.0, 0.0) == Box(x=100.0, y=50.0, width=80.0, height=40.0)
        wider = row.moved(0.06, 0.10)  # 4.8 px a side out horizontally, 4 px vertically
        assert (wider.x, wider.y, wider.width, wider.height) == pytest.approx((95.2, 46.0, 89.6, 48.0))
        tighter = row.moved(-0.03, 0.0)
        assert tighter.x + tighter.width / 2 == pytest.approx(140.0)  # the centre stays
        assert tighter.width == pytest.approx(75.2)
