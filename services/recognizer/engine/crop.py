"""Cutting the plate out of a camera image: an axis box, or a four-point polygon straightened."""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from libs.common.errors import InvalidInput, PayloadTooLarge

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000  # a 6K frame; larger is a mistake or a decompression bomb
FRAME_TOLERANCE = 2.0  # pixels a vendor box may overshoot the frame through rounding


class BoxLike(Protocol):
    x: float
    y: float
    width: float
    height: float


class PointLike(Protocol):
    x: float
    y: float


def decode_image(
    image_bytes: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    formats: tuple[str, ...] = ("JPEG", "PNG"),
) -> Image.Image:
    """Decode JPEG or PNG bytes (or the `formats` named) to RGB, refusing empty, oversized or undecodable input."""
    if not image_bytes:
        raise InvalidInput("the image is empty", code="image_empty")
    if len(image_bytes) > max_bytes:
        raise PayloadTooLarge(f"the image is over {max_bytes} bytes", code="image_too_large", limit=max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(image_bytes), formats=formats)
            if image.width * image.height > max_pixels:
                raise PayloadTooLarge(
                    f"the image is over {max_pixels} pixels", code="image_too_large", limit=max_pixels
                )
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PayloadTooLarge("the image is too large to decode", code="image_too_large") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # PIL's ways of saying "not an image I can read"
        raise InvalidInput(f"the image is not a readable {' or '.join(formats)}", code="image_undecodable") from exc
    return image.convert("RGB")


def _inside(image: Image.Image, x: float, y: float) -> bool:
    t = FRAME_TOLERANCE
    return -t <= x <= image.width + t and -t <= y <= image.height + t


def crop_box(image: Image.Image, box: BoxLike) -> Image.Image:
    """Crop an axis box (top-left corner and size) that lies within the frame."""
    x, y, w, h = box.x, box.y, box.width, box.height
    if w < 1 or h < 1 or not (_inside(image, x, y) and _inside(image, x + w, y + h)):
        raise InvalidInput("the plate box lies outside the image", code="box_outside_frame")
    left, top = max(0, round(x)), max(0, round(y))
    return image.crop(
        (left, top, max(left + 1, min(image.width, round(x + w))), max(top + 1, min(image.height, round(y + h))))
    )


def perspective_coefficients(source: Sequence[tuple[float, float]], size: tuple[int, int]) -> list[float]:
    """PIL's eight coefficients mapping the output rectangle onto the source quadrilateral."""
    w, h = size
    target = [(0, 0), (w, 0), (w, h), (0, h)]
    rows: list[list[float]] = []
    values: list[float] = []
    for (u, v), (sx, sy) in zip(target, source, strict=True):
        rows.append([u, v, 1, 0, 0, 0, -sx * u, -sx * v])
        rows.append([0, 0, 0, u, v, 1, -sy * u, -sy * v])
        values.extend((sx, sy))
    return [float(c) for c in np.linalg.solve(np.array(rows, dtype=np.float64), np.array(values))]


def straighten(image: Image.Image, polygon: Sequence[PointLike]) -> Image.Image:
    """Warp a plate quadrilateral (TL, TR, BR, BL) to an upright rectangle."""
    if len(polygon) != 4:
        raise InvalidInput("a plate polygon has four points: TL, TR, BR, BL", code="polygon_invalid")
    corners = [(float(p.x), float(p.y)) for p in polygon]
    if not all(_inside(image, x, y) for x, y in corners):
        raise InvalidInput("the plate polygon lies outside the image", code="box_outside_frame")
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = corners
    width = round(max(np.hypot(trx - tlx, try_ - tly), np.hypot(brx - blx, bry - bly)))
    height = round(max(np.hypot(blx - tlx, bly - tly), np.hypot(brx - trx, bry - try_)))
    if width < 2 or height < 2:
        raise InvalidInput("the plate polygon is degenerate", code="polygon_invalid")
    try:
        coefficients = perspective_coefficients(corners, (width, height))
    except np.linalg.LinAlgError as exc:
        raise InvalidInput("the plate polygon is degenerate", code="polygon_invalid") from exc
    return image.transform((width, height), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR)


def crop_plate(
    image_bytes: bytes,
    *,
    box: BoxLike | None = None,
    polygon: Sequence[PointLike] | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
    formats: tuple[str, ...] = ("JPEG", "PNG"),
) -> Image.Image:
    """The plate crop: the polygon straightened if given, else the box, else the whole image (already a crop)."""
    image = decode_image(image_bytes, max_bytes=max_bytes, max_pixels=max_pixels, formats=formats)
    if polygon is not None:
        return straighten(image, polygon)
    if box is not None:
        return crop_box(image, box)
    return image
