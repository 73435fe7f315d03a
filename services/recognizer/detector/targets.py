"""Pure rules between plates and the network's grid: encoding training targets and decoding detections.

A plate is four corners (TL, TR, BR, BL) in input pixels. Its centre is the corners' bounding-box centre; the
heatmap holds an elliptical Gaussian there (TTFNet's shape: the plate's own aspect), the offset the centre's
fraction of a cell, the corners their displacement from the centre in cells. Decoding takes heatmap peaks
(3x3 max-pool), keeps those over a score threshold and drops overlapping boxes (NMS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torchvision.ops import nms

from services.recognizer.detector.model import STRIDE

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

# fixed before any held-out photo was scored (DETECTOR_CARD.md): the threshold by `detector/choose.py`'s rule
# on the training photos for the shipped weights; NMS at an overlap two plates never reach (a third)
SCORE_THRESHOLD = 0.40
NMS_IOU = 0.3
MAX_DETECTIONS = 20
GAUSSIAN_ALPHA = 0.54  # TTFNet: the Gaussian's spread as a share of the plate's half-size
CORNER_SCALE = 8.0  # corners are learnt in units of 8 cells, so their loss is of the heatmap's order


@dataclass(frozen=True)
class RawDetection:
    """A detection in input pixels, before mapping back to the original frame."""

    polygon: Quad
    score: float


def box_of(polygon: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Axis box (x, y, w, h) around the points."""
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def box_quad(x: float, y: float, w: float, h: float) -> Quad:
    """The box's corners TL, TR, BR, BL (a plate labelled only by its box)."""
    return ((x, y), (x + w, y), (x + w, y + h), (x, y + h))


def widen(quad: Sequence[tuple[float, float]], x_share: float, y_share: float) -> Quad:
    """The quadrilateral grown about its centre by shares of its size along x and y."""
    cx, cy = sum(p[0] for p in quad) / 4, sum(p[1] for p in quad) / 4
    return tuple((cx + (x - cx) * (1 + x_share), cy + (y - cy) * (1 + y_share)) for x, y in quad)  # type: ignore[return-value]


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def encode(plates: Sequence[Quad], grid: tuple[int, int]) -> dict[str, np.ndarray]:
    """Targets on a (rows, cols) grid: heatmap (1,H,W), offset (2,H,W), corners (8,H,W) and a centre mask (H,W)."""
    rows, cols = grid
    heatmap = np.zeros((rows, cols), np.float32)
    offset = np.zeros((2, rows, cols), np.float32)
    corners = np.zeros((8, rows, cols), np.float32)
    mask = np.zeros((rows, cols), np.float32)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # the biggest plate last, so where two centres share a cell the nearer (larger) plate wins
    for quad in sorted(plates, key=lambda q: box_of(q)[2] * box_of(q)[3]):
        x, y, w, h = box_of(quad)
        cx, cy = (x + w / 2) / STRIDE, (y + h / 2) / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < cols and 0 <= iy < rows) or w < 2 or h < 2:
            continue
        sx = max(0.5, GAUSSIAN_ALPHA * w / STRIDE / 6)
        sy = max(0.5, GAUSSIAN_ALPHA * h / STRIDE / 6)
        blob = np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy))
        np.maximum(heatmap, blob, out=heatmap)
        heatmap[iy, ix] = 1.0
        offset[:, iy, ix] = (cx - ix, cy - iy)
        for k, (px, py) in enumerate(quad):
            corners[2 * k, iy, ix] = (px / STRIDE - cx) / CORNER_SCALE
            corners[2 * k + 1, iy, ix] = (py / STRIDE - cy) / CORNER_SCALE
        mask[iy, ix] = 1.0
    return {"heatmap": heatmap[None], "offset": offset, "corners": corners, "mask": mask}


def decode(
    output: torch.Tensor,
    *,
    threshold: float = SCORE_THRESHOLD,
    nms_iou: float = NMS_IOU,
    limit: int = MAX_DETECTIONS,
    logits: bool = True,
) -> list[RawDetection]:
    """Detections (input pixels, best first) from one frame's (11, H, W) output."""
    heat = torch.sigmoid(output[0]) if logits else output[0]
    peaks = heat == F.max_pool2d(heat[None, None], 3, stride=1, padding=1)[0, 0]
    scores = torch.where(peaks, heat, torch.zeros_like(heat)).flatten()
    top = torch.topk(scores, min(limit, scores.numel()))
    keep = top.values >= threshold
    values, index = top.values[keep], top.indices[keep]
    if not len(index):
        return []
    cols = heat.shape[1]
    iy, ix = (index // cols), (index % cols)
    cx = ix.float() + output[1, iy, ix]
    cy = iy.float() + output[2, iy, ix]
    corners = output[3:11, iy, ix].T.reshape(-1, 4, 2) * CORNER_SCALE
    points = (corners + torch.stack([cx, cy], dim=1)[:, None, :]) * STRIDE
    boxes = torch.cat([points.min(dim=1).values, points.max(dim=1).values], dim=1)
    kept = nms(boxes, values, nms_iou)
    return [
        RawDetection(tuple((float(px), float(py)) for px, py in points[i].tolist()), float(values[i]))  # type: ignore[arg-type]
        for i in kept.tolist()
    ]


def targets_as_output(targets: dict[str, np.ndarray]) -> torch.Tensor:
    """The (11, H, W) tensor a perfect network would output (probabilities, not logits): for round-trip tests."""
    mask = targets["mask"][None]
    return torch.from_numpy(
        np.concatenate([targets["heatmap"], targets["offset"] * mask, targets["corners"] * mask]).astype(np.float32)
    )
