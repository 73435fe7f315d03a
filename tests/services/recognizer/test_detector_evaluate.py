"""eval-frames' matching rules: the labelled plate is found at IoU >= 0.5, every other detection is listed."""

from __future__ import annotations

from PIL import Image

from services.recognizer.detector import Detection
from services.recognizer.detector.evaluate import score_photo
from services.recognizer.detector.targets import box_quad
from services.recognizer.engine.dataset import LabelledPlate
from services.recognizer.engine.reader import PlateReader


def detection(x: float, y: float, w: float, h: float, score: float) -> Detection:
    return Detection(box=(x, y, w, h), polygon=box_quad(x, y, w, h), score=score)


def frame() -> Image.Image:
    return Image.new("RGB", (640, 480), (90, 90, 90))


def test_the_best_overlap_is_the_plate_and_the_rest_are_others(reader: PlateReader) -> None:
    row = LabelledPlate("a.jpg", (100, 100, 80, 40), "ABC123")
    near = detection(104, 102, 80, 40, 0.9)  # IoU about 0.8
    elsewhere = detection(400, 300, 60, 30, 0.5)
    result = score_photo(row, frame(), [elsewhere, near], reader)
    assert result.found and result.best_iou > 0.7
    assert [d for d, _ in result.others] == [elsewhere]
    assert len(result.reads) == 2 and not result.read_exactly  # a grey frame reads no ABC123


def test_a_loose_box_is_not_a_find(reader: PlateReader) -> None:
    row = LabelledPlate("a.jpg", (100, 100, 80, 40), "ABC123")
    loose = detection(80, 80, 160, 80, 0.9)  # the plate inside, IoU 0.25
    result = score_photo(row, frame(), [loose], reader)
    assert not result.found and result.best_iou == 0.25
    assert [d for d, _ in result.others] == [loose]


def test_no_detections(reader: PlateReader) -> None:
    result = score_photo(LabelledPlate("a.jpg", (100, 100, 80, 40), "ABC123"), frame(), [], reader)
    assert not result.found and result.best_iou == 0.0 and result.others == [] and not result.read_exactly


def test_the_threshold_rule_keeps_recall_then_steps_back() -> None:
    from services.recognizer.detector.choose import choose

    # ten photos: at 0.45 one plate is lost (allowed), at 0.50 two (not): the rule takes 0.45, less a step
    plates = [0.42, 0.47] + [0.9] * 8
    assert choose(plates, [0.25, 0.5], 10) == 0.40
    assert choose([0.0] + [0.21] * 9, [], 10) == 0.20  # never below the lowest candidate
