"""The shipped detector finds a clear plate and nothing on a blank frame; `alpr recognizer eval-frames` scores.

Budget: about 20 s (the shipped detector and reader load once; four frames and a two-photo folder).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from services.cli.main import main as alpr
from services.recognizer.detector import Detection, PlateDetector
from services.recognizer.detector.cli import eval_frames_main
from services.recognizer.detector.reading import CANDIDATES
from services.recognizer.detector.targets import iou
from services.recognizer.engine.synth import render_plate
from services.recognizer.engine.uncertainty import wilson_interval


@pytest.fixture(scope="module")
def detector() -> PlateDetector:
    return PlateDetector.load(threads=2)


def street_frame(seed: int, box: tuple[int, int, int, int]) -> tuple[Image.Image, str]:
    """A 1280x720 frame: a road, a car's rear and one clear rendered plate at `box` (x, y, w, h)."""
    rng = random.Random(seed)
    frame = Image.new("RGB", (1280, 720), (150, 155, 160))
    draw = ImageDraw.Draw(frame)
    draw.rectangle((0, 450, 1280, 720), fill=(70, 70, 75))
    x, y, w, h = box
    draw.rounded_rectangle((x - w, y - 2 * h, x + 2 * w, y + 2 * h), radius=30, fill=(120, 20, 25))
    plate = render_plate(rng, size=(w, h))
    frame.paste(plate.image.convert("RGB"), (x, y))
    return frame, plate.plate


class TestShippedDetector:
    @pytest.mark.parametrize(("seed", "box"), [(1, (560, 380, 160, 80)), (2, (200, 300, 100, 50))])
    def test_finds_the_one_clear_plate(
        self, detector: PlateDetector, seed: int, box: tuple[int, int, int, int]
    ) -> None:
        frame, _ = street_frame(seed, box)
        found = detector.detect(frame)
        assert found, "no plate found"
        best = max(found, key=lambda d: iou(d.box, box))
        assert iou(best.box, box) >= 0.5, best
        assert isinstance(best, Detection) and len(best.polygon) == 4 and 0 < best.score <= 1
        assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)

    def test_a_blank_frame_has_no_plate(self, detector: PlateDetector) -> None:
        assert detector.detect(Image.new("RGB", (1280, 720), (128, 128, 128))) == []
        assert detector.detect_batch([Image.new("RGB", (640, 480), (20, 20, 20))]) == [[]]
        assert detector.detect_batch([]) == []


class TestEvalFrames:
    def test_prints_its_figures_on_a_labelled_folder(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        images = tmp_path / "images"
        images.mkdir()
        rows = ["image\tx\ty\tw\th\tplate"]
        for seed, box in ((3, (560, 380, 180, 90)), (4, (300, 250, 140, 70))):
            frame, plate = street_frame(seed, box)
            frame.save(images / f"frame{seed}.jpg", quality=92)
            rows.append("\t".join([f"frame{seed}.jpg", *map(str, box), plate]))
        (tmp_path / "labels.tsv").write_text("\n".join(rows) + "\n")
        alpr(["recognizer", "eval-frames", str(images), str(tmp_path / "labels.tsv"), "--all"])
        printed = capsys.readouterr().out
        assert "all photos: 2" in printed
        assert "recall of the labelled plate at IoU >= 0.5: 100.0%" in printed
        assert "other detections per photo:" in printed and "end-to-end exact plate" in printed
        report = eval_frames_main(images, tmp_path / "labels.tsv", split="all")
        read = sum(1 for line in capsys.readouterr().out.splitlines() if line.startswith("  misread:"))
        assert report["end_to_end_exact_count"] == 2 - read  # found both: each photo is read or misread
        low, high = wilson_interval(report["end_to_end_exact_count"], 2)
        assert report["end_to_end_exact_95"] == [round(low, 4), round(high, 4)]
        assert f"({report['end_to_end_exact_count']}/2; 95% interval {low:.1%}–{high:.1%})" in printed
        labels = str(tmp_path / "labels.tsv")
        alpr(["recognizer", "eval-frames", str(images), labels, "--split", "calibration", "--rules"])
        table = capsys.readouterr().out.split("reading rules")[1].splitlines()[1:]
        assert len(table) == len(CANDIDATES) and sum("<- shipped" in line for line in table) == 1
        with pytest.raises(SystemExit):  # candidates are never scored on the held-out photos
            alpr(["recognizer", "eval-frames", str(images), labels, "--rules"])
