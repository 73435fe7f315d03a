"""eval-frames' matching rules: the labelled plate is found at IoU >= 0.5, every other detection is listed, and a
photo is read only when a plate the service keeps reads its plate."""

from __future__ import annotations

from libs.common.contracts.reads import Box
from services.recognizer.detector import Detection
from services.recognizer.detector.evaluate import score_photo
from services.recognizer.detector.targets import box_quad
from services.recognizer.engine.dataset import LabelledPlate
from services.recognizer.engine.reader import Reading
from services.recognizer.frames import FoundPlate

ROW = LabelledPlate("a.jpg", (100, 100, 80, 40), "ABC123")


def detection(x: float, y: float, w: float, h: float, score: float) -> Detection:
    return Detection(box=(x, y, w, h), polygon=box_quad(x, y, w, h), score=score)


def found(d: Detection, plate: str, candidates: list[tuple[str, float]]) -> FoundPlate:
    x, y, w, h = d.box
    reading = Reading(plate=plate, confidence=candidates[0][1], char_confidences=[], candidates=candidates)
    return FoundPlate(Box(x=x, y=y, width=w, height=h), [], d.score, reading)


def test_the_best_overlap_is_the_plate_and_the_rest_are_others() -> None:
    near = detection(104, 102, 80, 40, 0.9)  # IoU about 0.8
    elsewhere = detection(400, 300, 60, 30, 0.5)
    reads = [found(near, "ABC123", [("ABC123", 0.7), ("A8C123", 0.2)]), found(elsewhere, "XY99", [("XY99", 0.6)])]
    result = score_photo(ROW, [elsewhere, near], reads, reads)
    assert result.found and result.best_iou > 0.7 and result.read_exactly
    assert result.others == [elsewhere]
    assert [p.reading.plate for p in result.other_reads] == ["XY99"]  # a stored read that is not the plate
    assert result.truth_probability == 0.7


def test_a_reading_the_service_drops_does_not_count_as_read() -> None:
    near = detection(104, 102, 80, 40, 0.9)
    unsure = found(near, "ABC123", [("ABC123", 0.4), ("A8C123", 0.35)])
    result = score_photo(ROW, [near], [], [unsure])  # under the read floor: not kept
    assert result.found and not result.read_exactly and result.truth_probability == 0.4


def test_the_plate_read_as_a_lesser_candidate_keeps_its_probability() -> None:
    near = detection(100, 100, 80, 40, 0.9)
    wrong = found(near, "A8C123", [("A8C123", 0.6), ("ABC123", 0.3)])
    result = score_photo(ROW, [near], [wrong], [wrong])
    assert not result.read_exactly and result.truth_probability == 0.3


def test_a_loose_box_is_not_a_find() -> None:
    loose = detection(80, 80, 160, 80, 0.9)  # the plate inside, IoU 0.25
    result = score_photo(ROW, [loose], [], [])
    assert not result.found and result.best_iou == 0.25
    assert result.others == [loose] and result.truth_probability == 0.0


def test_no_detections() -> None:
    result = score_photo(ROW, [], [], [])
    assert not result.found and result.best_iou == 0.0 and result.others == [] and not result.read_exactly


def test_the_threshold_rule_keeps_recall_then_steps_back() -> None:
    from services.recognizer.detector.choose import choose

    # ten photos: at 0.45 one plate is lost (allowed), at 0.50 two (not): the rule takes 0.45, less a step
    plates = [0.42, 0.47] + [0.9] * 8
    assert choose(plates, [0.25, 0.5], 10) == 0.40
    assert choose([0.0] + [0.21] * 9, [], 10) == 0.20  # never below the lowest candidate
