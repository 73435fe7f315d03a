"""The detector's pure rules: targets encode and decode back to the same plates, NMS, letterboxing, mapping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from services.recognizer.detector.detect import to_frame
from services.recognizer.detector.frame import CANVAS, letterbox
from services.recognizer.detector.model import STRIDE
from services.recognizer.detector.targets import (
    SCORE_THRESHOLD,
    RawDetection,
    box_of,
    box_quad,
    decode,
    encode,
    iou,
    targets_as_output,
    widen,
)

GRID = (CANVAS[1] // STRIDE, CANVAS[0] // STRIDE)


def corners_close(a: tuple[tuple[float, float], ...], b: tuple[tuple[float, float], ...]) -> bool:
    return all(abs(p - q) < 1e-3 for pa, pb in zip(a, b, strict=True) for p, q in zip(pa, pb, strict=True))


class TestRoundTrip:
    def test_boxes_and_tilted_plates_come_back(self) -> None:
        plates = [
            box_quad(100.3, 50.2, 80, 40),
            ((300.0, 100.0), (390.0, 110.0), (388.0, 150.0), (298.0, 140.0)),  # tilted, with perspective
            box_quad(500.7, 300.1, 16, 8),  # a 32-px plate of a 1280-wide frame
        ]
        found = decode(targets_as_output(encode(plates, GRID)), logits=False)
        assert len(found) == 3
        for plate in plates:
            assert any(corners_close(plate, d.polygon) for d in found), plate

    def test_empty_frame_decodes_to_nothing(self) -> None:
        assert decode(targets_as_output(encode([], GRID)), logits=False) == []

    def test_a_plate_centred_off_the_grid_is_skipped(self) -> None:
        target = encode([box_quad(-200, -200, 60, 30)], GRID)
        assert target["mask"].sum() == 0 and target["heatmap"].max() == 0

    def test_heatmap_peaks_at_one_with_a_gaussian_around(self) -> None:
        target = encode([box_quad(200, 100, 80, 40)], GRID)
        heat = target["heatmap"][0]
        iy, ix = np.unravel_index(heat.argmax(), heat.shape)
        assert heat[iy, ix] == 1.0 and (iy, ix) == (int(120 / STRIDE), int(240 / STRIDE))
        assert 0 < heat[iy, ix + 2] < 1 and heat[iy, ix + 2] > heat[iy, ix + 4]


class TestDecode:
    def test_overlapping_peaks_keep_only_the_best(self) -> None:
        output = targets_as_output(encode([box_quad(100, 100, 80, 40)], GRID))
        # a second, weaker peak three cells to the right with the same box size: the same plate found twice
        output[0, 30, 38] = 0.8
        output[3:, 30, 38] = output[3:, 30, 35]
        assert len(decode(output, logits=False, nms_iou=1.0)) == 2  # both are peaks: NMS must remove one
        found = decode(output, logits=False)
        assert len(found) == 1 and found[0].score == 1.0

    def test_peaks_under_the_threshold_are_dropped(self) -> None:
        output = targets_as_output(encode([box_quad(100, 100, 80, 40)], GRID))
        output[0] *= SCORE_THRESHOLD * 0.9
        assert decode(output, logits=False) == []

    def test_logits_go_through_a_sigmoid(self) -> None:
        output = targets_as_output(encode([box_quad(100, 100, 80, 40)], GRID))
        output[0] = torch.where(output[0] == 1, torch.tensor(3.0), torch.tensor(-9.0))
        (found,) = decode(output)
        assert found.score == pytest.approx(1 / (1 + np.exp(-3.0)), rel=1e-5)


class TestFrame:
    def test_letterbox_keeps_the_aspect_and_pads(self) -> None:
        array, scale = letterbox(Image.new("RGB", (1280, 720), (255, 255, 255)))
        assert array.shape == (CANVAS[1], CANVAS[0]) and scale == 0.5
        assert array[359, 639] > 1.5 and array[360, 0] < array[359, 0]  # the frame, then the grey pad

    def test_detections_map_back_to_frame_pixels_and_clip(self) -> None:
        raw = RawDetection(((10.0, 20.0), (60.0, 20.0), (60.0, 45.0), (10.0, 45.0)), 0.9)
        mapped = to_frame(raw, 0.5, (1280, 720))
        assert mapped is not None and mapped.box == (20.0, 40.0, 100.0, 50.0)
        # the polygon is the plate's own corners: the reading margin is the reader's (reading.py)
        assert mapped.polygon == ((20.0, 40.0), (120.0, 40.0), (120.0, 90.0), (20.0, 90.0))
        outside = RawDetection(((630.0, 350.0), (700.0, 350.0), (700.0, 400.0), (630.0, 400.0)), 0.9)
        clipped = to_frame(outside, 0.5, (1280, 720))
        assert clipped is not None and clipped.box == (1260.0, 700.0, 20.0, 20.0)
        assert max(x for x, _ in clipped.polygon) == 1280.0 and max(y for _, y in clipped.polygon) == 720.0
        assert to_frame(RawDetection(((700.0, 0.0),) * 4, 0.9), 0.5, (1280, 720)) is None

    def test_widen_grows_about_the_centre(self) -> None:
        grown = widen(box_quad(10, 20, 100, 50), 0.1, 0.2)
        assert box_of(grown) == pytest.approx((5, 15, 110, 60))

    def test_iou(self) -> None:
        assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
        assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
        assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_a_mirrored_plate_keeps_its_corner_order() -> None:
    from services.recognizer.detector.dataset import mirror

    assert mirror(box_quad(10, 20, 30, 10), 100) == box_quad(60, 20, 30, 10)
    tilted = ((10.0, 20.0), (40.0, 25.0), (38.0, 35.0), (8.0, 30.0))
    assert mirror(tilted, 100) == ((60.0, 25.0), (90.0, 20.0), (92.0, 30.0), (62.0, 35.0))
