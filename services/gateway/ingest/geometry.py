"""Plate geometry in source-image pixels (FORMATS.md §14.4)."""

from __future__ import annotations

from libs.common.contracts.reads import Box, Point


def box_of_polygon(points: list[Point]) -> Box:
    """The axis-aligned box that holds a polygon."""
    xs = [p.x for p in points]
    ys = [p.y for p in points]
    return Box(x=min(xs), y=min(ys), width=max(xs) - min(xs), height=max(ys) - min(ys))


def polygon_of_box(box: Box) -> list[Point]:
    """Corners of a box in OpenALPR order: top-left, top-right, bottom-right, bottom-left."""
    right, bottom = box.x + box.width, box.y + box.height
    return [
        Point(x=box.x, y=box.y),
        Point(x=right, y=box.y),
        Point(x=right, y=bottom),
        Point(x=box.x, y=bottom),
    ]


def box_of_corners(xmin: float, ymin: float, xmax: float, ymax: float) -> Box:
    """Plate Recognizer style corners to top-left plus size."""
    return Box(x=min(xmin, xmax), y=min(ymin, ymax), width=abs(xmax - xmin), height=abs(ymax - ymin))
