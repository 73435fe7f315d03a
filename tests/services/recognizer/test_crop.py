"""crop_plate: decoding, box and polygon crops, and every refusal with its stable code."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from libs.common.contracts.reads import Box, Point
from libs.common.errors import InvalidInput, PayloadTooLarge
from services.recognizer.engine.crop import crop_plate


def photo(size: tuple[int, int] = (400, 300), fmt: str = "JPEG") -> bytes:
    """A grey frame with a white 100x50 'plate' at (150, 120)."""
    image = Image.new("RGB", size, (60, 60, 60))
    ImageDraw.Draw(image).rectangle((150, 120, 249, 169), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


class TestCrops:
    def test_box_crop_has_the_box_size(self) -> None:
        crop = crop_plate(photo(), box=Box(x=150, y=120, width=100, height=50))
        assert crop.size == (100, 50)
        assert crop.convert("L").getpixel((50, 25)) in range(235, 256)

    def test_png_is_accepted(self) -> None:
        assert crop_plate(photo(fmt="PNG"), box=Box(x=0, y=0, width=10, height=10)).size == (10, 10)

    def test_polygon_is_straightened(self) -> None:
        corners = [Point(x=150, y=120), Point(x=250, y=120), Point(x=250, y=170), Point(x=150, y=170)]
        crop = crop_plate(photo(), polygon=corners)
        assert crop.size == (100, 50)
        assert crop.convert("L").getpixel((50, 25)) in range(235, 256)

    def test_tilted_polygon_comes_out_upright(self) -> None:
        corners = [Point(x=150, y=130), Point(x=250, y=120), Point(x=250, y=170), Point(x=150, y=175)]
        crop = crop_plate(photo(), polygon=corners)
        assert crop.width > crop.height

    def test_no_box_means_the_image_is_the_crop(self) -> None:
        assert crop_plate(photo()).size == (400, 300)


class TestRefusals:
    def test_empty(self) -> None:
        with pytest.raises(InvalidInput) as err:
            crop_plate(b"")
        assert err.value.code == "image_empty"

    def test_not_an_image(self) -> None:
        with pytest.raises(InvalidInput) as err:
            crop_plate(b"%PDF-1.4 definitely not a photo")
        assert err.value.code == "image_undecodable"

    def test_truncated_jpeg(self) -> None:
        with pytest.raises(InvalidInput) as err:
            crop_plate(photo()[:300])
        assert err.value.code == "image_undecodable"

    def test_gif_is_not_accepted(self) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (10, 10)).save(buffer, format="GIF")
        with pytest.raises(InvalidInput) as err:
            crop_plate(buffer.getvalue())
        assert err.value.code == "image_undecodable"

    def test_too_many_bytes(self) -> None:
        with pytest.raises(PayloadTooLarge) as err:
            crop_plate(photo(), max_bytes=100)
        assert (err.value.code, err.value.status) == ("image_too_large", 413)

    def test_too_many_pixels(self) -> None:
        with pytest.raises(PayloadTooLarge) as err:
            crop_plate(photo(), max_pixels=1000)
        assert err.value.code == "image_too_large"

    @pytest.mark.parametrize(
        "box",
        [
            Box(x=350, y=100, width=100, height=50),
            Box(x=-20, y=10, width=50, height=20),
            Box(x=500, y=500, width=10, height=10),
            Box(x=10, y=10, width=0, height=20),
        ],
    )
    def test_box_outside_frame(self, box: Box) -> None:
        with pytest.raises(InvalidInput) as err:
            crop_plate(photo(), box=box)
        assert (err.value.code, err.value.status) == ("box_outside_frame", 422)

    def test_polygon_outside_frame(self) -> None:
        corners = [Point(x=350, y=120), Point(x=450, y=120), Point(x=450, y=170), Point(x=350, y=170)]
        with pytest.raises(InvalidInput) as err:
            crop_plate(photo(), polygon=corners)
        assert err.value.code == "box_outside_frame"

    def test_polygon_needs_four_points(self) -> None:
        with pytest.raises(InvalidInput) as err:
            crop_plate(photo(), polygon=[Point(x=1, y=1), Point(x=5, y=1), Point(x=5, y=5)])
        assert err.value.code == "polygon_invalid"
