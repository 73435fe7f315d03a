"""`recognizer eval` on any labelled folder of crops: accuracy, confidence honesty and the figures it prints."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from libs.common.errors import InvalidInput
from services.cli.main import main as alpr
from services.recognizer.engine.augment import synthetic_crop
from services.recognizer.engine.cli import eval_main, main
from services.recognizer.engine.model import fold_plate
from services.recognizer.engine.reader import PlateReader
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.uncertainty import ece_if_calibrated, wilson_interval


def crop_folder(root: Path, count: int, *, seed: int) -> Path:
    """Synthetic plate crops as PNG files with a labels.tsv whose boxes cover each whole image."""
    rng = random.Random(seed)
    lines = ["image\tx\ty\tw\th\tplate"]
    for i in range(count):
        plate = render_plate(rng, size=(160, 80))
        crop = synthetic_crop(rng, plate.image)
        name = f"crop{i:02d}.png"
        crop.save(root / name)
        lines.append(f"{name}\t0\t0\t{crop.width}\t{crop.height}\t{plate.plate}")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root


class TestEvalOnCrops:
    def test_prints_every_figure_and_they_agree_with_the_readings(
        self, tmp_path: Path, reader: PlateReader, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = crop_folder(tmp_path, 16, seed=7)
        report = eval_main(folder, folder / "labels.tsv", weights=None)
        out = capsys.readouterr().out
        for line in ("exact-plate accuracy", "in top-10", "character error rate", "confidence >= 0.9", "coverage"):
            assert line in out
        assert "expected calibration error" in out and "reliability" in out
        assert report["subset"] == "all" and report["plates"] == 16  # crops are not the shared photos

        # the same crops read directly: the report's figures are these readings' figures
        rows = (folder / "labels.tsv").read_text().splitlines()[1:]
        crops = [Image.open(folder / row.split("\t")[0]).convert("L") for row in rows]
        truths = [row.split("\t")[-1] for row in rows]
        readings = reader.read_batch(crops)
        right = [fold_plate(r.plate) == fold_plate(t) for r, t in zip(readings, truths, strict=True)]
        high = [ok for r, ok in zip(readings, right, strict=True) if r.confidence >= 0.9]
        assert report["exact_accuracy"] == round(sum(right) / 16, 4)
        assert report["high_confidence"]["reads"] == len(high)
        assert report["high_confidence"]["wrong"] == high.count(False)
        assert report["high_confidence"]["coverage"] == round(len(high) / 16, 4)
        assert sum(row["reads"] for row in report["reliability"]) == 16
        # every share comes with its 95% interval, of these readings, and the ECE with its floor
        low, high_end = wilson_interval(sum(right), 16)
        assert report["exact_accuracy_95"] == [round(low, 4), round(high_end, 4)]
        low, high_end = wilson_interval(high.count(False), len(high))
        assert report["high_confidence"]["wrong_share_95"] == [round(low, 4), round(high_end, 4)]
        floor = ece_if_calibrated([r.confidence for r in readings])
        assert report["ece_if_calibrated"] == {"mean": round(floor.mean, 4), "p95": round(floor.p95, 4), "draws": 1000}
        assert "95% interval" in out and "a perfectly calibrated model would show" in out
        assert "at least 381 such reads with none wrong" in out
        # and every read itself, so a figure can be recomputed from the report alone
        assert [o["truth"] for o in report["outcomes"]] == [fold_plate(t) for t in truths]
        assert [o["read"] == o["truth"] for o in report["outcomes"]] == right
        assert [o["confidence"] for o in report["outcomes"]] == [round(r.confidence, 6) for r in readings]

    def test_the_command_line_takes_a_folder_and_its_labels(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = crop_folder(tmp_path, 4, seed=8)
        main(["eval", str(folder), str(folder / "labels.tsv"), "--json"])
        out = capsys.readouterr().out
        assert '"high_confidence"' in out and "plates: 4" in out


class TestLabelsAreCheckedAtTheDoor:
    HEADER = "image\tx\ty\tw\th\tplate"

    @pytest.mark.parametrize(
        ("body", "says"),
        [
            ("image\tx\ty\tplate\na.png\t0\t0\tABC", "no column w, h"),
            (f"{HEADER}\na.png\tleft\t0\t10\t10\tABC", "line 2: x, y, w and h are numbers"),
            (f"{HEADER}\na.png\t0\t0\t10\t10\tABC\nb.png\t0\t0\t0\t10\tABC", "line 3: a box has a finite place"),
            (f"{HEADER}\na.png\t0\t0\tnan\t10\tABC", "line 2: a box has a finite place"),
            (f"{HEADER}\na.png\t0\t0\t10\t10\tABC-123", "line 2: a plate is letters and digits only"),
            (f"{HEADER}\na.png\t0\t0\t10\t10\t", "line 2: a plate is letters and digits only"),
            (f"{HEADER}\n../../etc/passwd\t0\t0\t10\t10\tABC", "the image is a file name in the images folder"),
            (f"{HEADER}\na\x00.png\t0\t0\t10\t10\tABC", "the image is a file name in the images folder"),  # NUL
            (f"{HEADER}\na.png\t0\t0\t10\t10\tＡBC", "a plate is letters and digits only"),  # a full-width A
            (f"{HEADER}\na.png\t0\t0", "line 2: x, y, w and h are numbers"),  # a short row
            (f"{HEADER}\n\na.png\t0\t0\t10\t10\tABC\nb.png\t0\t0\t10\t10\t#", "line 4: a plate is"),  # blank line
            ("image\tx\ty\tw\th\tplate\n\udcff.png\t0\t0\t10\t10\tABC", "not a tab-separated text file"),
        ],
    )
    def test_a_bad_labels_file_is_one_line_with_its_code_and_line(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, says: str
    ) -> None:
        (tmp_path / "labels.tsv").write_bytes((body + "\n").encode("utf-8", "surrogateescape"))  # \udcff: a raw 0xff
        with pytest.raises(SystemExit) as stop:
            alpr(["recognizer", "eval", str(tmp_path), str(tmp_path / "labels.tsv")])
        assert stop.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("alpr recognizer eval: refused (labels_invalid): ") and says in err
        assert len(err.splitlines()) == 1  # no traceback

    def test_no_plates_to_score_is_refused_not_a_report_of_nothing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (tmp_path / "labels.tsv").write_text(self.HEADER + "\n")
        with pytest.raises(SystemExit) as stop:
            alpr(["recognizer", "eval", str(tmp_path), str(tmp_path / "labels.tsv")])
        assert stop.value.code == 2 and "refused (labels_empty)" in capsys.readouterr().err
        with pytest.raises(InvalidInput):  # the same refusal, typed, for a caller of the function
            eval_main(tmp_path, tmp_path / "labels.tsv", weights=None)

    def test_weights_that_do_not_load_fail_typed_not_with_a_traceback(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        folder = crop_folder(tmp_path, 1, seed=3)
        (tmp_path / "w.pt").write_bytes(b"not a weights file")
        with pytest.raises(SystemExit) as stop:
            alpr(["recognizer", "eval", str(folder), str(folder / "labels.tsv"), "--weights", str(tmp_path / "w.pt")])
        assert stop.value.code == 1  # the work failed (503), not the operator's input refused
        err = capsys.readouterr().err
        assert err.startswith("alpr recognizer eval: failed (recognizer_weights_invalid): ") and "Traceback" not in err

    def test_a_missing_labels_file_is_named_as_missing_not_unreachable(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as stop:
            alpr(["recognizer", "eval", str(tmp_path), str(tmp_path / "nope.tsv")])
        assert stop.value.code == 2
        missing = tmp_path / "nope.tsv"
        assert capsys.readouterr().err.strip() == f"alpr recognizer eval: no such file or folder: {missing}"
