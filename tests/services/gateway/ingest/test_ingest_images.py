"""Images at the door: typed by their bytes, refused when they are not images, named by digest in raw_body."""

from __future__ import annotations

import base64
import json

import pytest

from libs.common.errors import InvalidInput, PayloadTooLarge
from libs.common.images import IMAGE_MAX_BYTES, digest
from tests.services.gateway.ingest.test_ingest_multipart import HIK_XML, PR_STREAM
from tests.services.gateway.ingest.test_ingest_openalpr import group
from tests.utils.image_samples import big_png, jpeg, png, webp

HTML = b"<html><body><script>fetch('/v1/searches')</script></body></html>"
HTML_URL = "data:text/html;base64," + base64.b64encode(HTML).decode()


def native(*images: dict[str, str], plate: str = "7ABC123") -> bytes:
    return json.dumps({"plate": plate, "captured_at": "2026-01-02T10:00:00Z", "images": list(images)}).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TestTypes:
    @pytest.mark.parametrize(
        ("data", "expected"), [(jpeg(), "image/jpeg"), (png(), "image/png"), (webp(), "image/webp")]
    )
    def test_the_bytes_decide_the_type_and_are_kept_unchanged(self, parse, data: bytes, expected: str) -> None:
        sent = {"kind": "plate", "data_b64": "data:image/gif;base64," + b64(data)}  # what the sender says: ignored
        (image,) = parse(native(sent), fmt="native").reads[0].images
        assert image.content_type == expected and base64.b64decode(image.data_b64) == data
        assert image.digest == digest(data)

    def test_html_in_a_data_url_is_not_an_image_and_the_read_is_kept(self, parse) -> None:
        (read,) = parse(native({"kind": "plate", "data_b64": HTML_URL}), fmt="native").reads
        assert read.images == [] and "image_refused" in read.flags and read.plate == "7ABC123"

    def test_html_with_jpeg_magic_bytes_is_undecodable(self, parse) -> None:
        sent = {"kind": "plate", "data_b64": "data:image/jpeg;base64," + b64(b"\xff\xd8\xff\xe0" + HTML)}
        (read,) = parse(native(sent), fmt="native").reads
        assert read.images == [] and "image_undecodable" in read.flags

    def test_html_in_a_multipart_part_labelled_jpeg_is_refused(self, parse, form_body) -> None:
        body, ctype = form_body(
            [("json", None, None, json.dumps(PR_STREAM).encode()), ("upload", "f.jpg", "image/jpeg", HTML)]
        )
        (read,) = parse(body, ctype).reads
        assert read.images == [] and "image_refused" in read.flags and read.plate == "ABC123"

    def test_a_part_labelled_html_that_is_a_jpeg_is_stored_as_a_jpeg(self, parse, form_body) -> None:
        body, ctype = form_body(
            [
                ("anpr.xml", "anpr.xml", "text/xml", HIK_XML.encode()),
                ("detectionPicture.jpg", "detectionPicture.jpg", "text/html\r\nX-Evil: 1", jpeg()),
            ]
        )
        (image,) = parse(body, ctype).reads[0].images
        assert image.content_type == "image/jpeg" and base64.b64decode(image.data_b64) == jpeg()


class TestWithoutPlate:
    def test_a_vehicle_without_plate_whose_images_fail_is_refused(self, parse) -> None:
        body = group(data_type="vehicle", vehicle_crop_jpeg=HTML_URL, overview_jpeg=b64(HTML))
        for key in ("best_plate", "best_plate_number", "best_confidence", "candidates"):
            del body[key]
        with pytest.raises(InvalidInput) as refused:
            parse(json.dumps(body).encode())
        assert refused.value.code == "image_refused" and refused.value.status == 422

    def test_in_a_post_of_several_reads_only_that_read_is_refused(self, parse, form_body) -> None:
        doc = json.loads(json.dumps(PR_STREAM))
        doc["data"]["results"].append({"plate": None, "vehicle": {"type": "Sedan", "score": 0.9}})
        body, ctype = form_body([("json", None, None, json.dumps(doc).encode()), ("upload", "f.jpg", None, HTML)])
        payload = parse(body, ctype)
        assert [r.plate for r in payload.reads] == ["ABC123"]
        (rejected,) = payload.rejected
        assert rejected["index"] == 1 and rejected["code"] == "image_refused"
        assert rejected["field"] == "data.results[1].images"


class TestSize:
    def test_an_image_of_almost_8_mib_is_accepted(self, parse, form_body) -> None:
        data = big_png(IMAGE_MAX_BYTES - 100 * 1024)
        (image,) = parse(native({"kind": "overview", "data_b64": b64(data)}), fmt="native").reads[0].images
        assert image.content_type == "image/png" and image.digest == digest(data)

    def test_8_mib_exactly_is_accepted_and_one_byte_more_is_413(self, parse) -> None:
        data = big_png(IMAGE_MAX_BYTES)
        data += bytes(IMAGE_MAX_BYTES - len(data))  # after IEND: readers stop there, the bytes are kept
        (image,) = parse(native({"kind": "overview", "data_b64": b64(data)}), fmt="native").reads[0].images
        assert len(base64.b64decode(image.data_b64)) == IMAGE_MAX_BYTES
        with pytest.raises(PayloadTooLarge):
            parse(native({"kind": "overview", "data_b64": b64(data + b"\0")}), fmt="native")

    def test_over_8_mib_is_413_as_base64_or_as_a_part(self, parse, form_body) -> None:
        data = b"\x89PNG\r\n\x1a\n" + bytes(IMAGE_MAX_BYTES)  # refused on its size, before any decoding
        with pytest.raises(PayloadTooLarge) as as_base64:
            parse(native({"kind": "overview", "data_b64": b64(data)}), fmt="native")
        body, ctype = form_body([("json", None, None, json.dumps(PR_STREAM).encode()), ("upload", "f", None, data)])
        with pytest.raises(PayloadTooLarge) as as_part:
            parse(body, ctype)
        assert as_base64.value.code == as_part.value.code == "image_too_large" and as_part.value.status == 413


class TestRawBody:
    def test_json_names_each_image_by_its_digest_and_keeps_the_rest(self, parse) -> None:
        sent = json.dumps(group()).encode()
        (read,) = parse(sent).reads
        assert b64(jpeg()) not in (read.raw_body or "")
        kept = json.loads(read.raw_body or "")
        name = digest(jpeg())
        assert kept["best_plate"]["plate_crop_jpeg"] == kept["vehicle_crop_jpeg"] == kept["overview_jpeg"] == name
        expected = json.loads(sent)
        expected["best_plate"]["plate_crop_jpeg"] = expected["vehicle_crop_jpeg"] = expected["overview_jpeg"] = name
        assert kept == expected

    def test_a_read_message_carries_its_image_once(self, parse) -> None:
        data = big_png(1024 * 1024)
        (read,) = parse(native({"kind": "overview", "data_b64": b64(data)}), fmt="native").reads
        assert len(read.model_dump_json()) < len(b64(data)) + 4096

    def test_a_batch_item_names_its_image_by_digest(self, parse) -> None:
        items = [json.loads(native({"kind": "plate", "data_b64": b64(png())}, plate=p)) for p in ("AB1", "CD2")]
        for read in parse(json.dumps({"reads": items}).encode(), fmt="native").reads:
            assert json.loads(read.raw_body or "")["images"][0]["data_b64"] == digest(png())

    def test_escaped_and_wrapped_base64_is_found_too(self, parse) -> None:
        wrapped = "\n".join(b64(jpeg())[i : i + 76] for i in range(0, len(b64(jpeg())), 76))
        sent = json.dumps(
            {
                "plate": "7ABC123",
                "captured_at": "2026-01-02T10:00:00Z",
                "images": [{"kind": "plate", "data_b64": wrapped}, {"kind": "overview", "data_b64": b64(webp())}],
            }
        )
        sent = sent.replace("/", "\\/")  # as PHP's json_encode writes it
        (read,) = parse(sent.encode(), fmt="native").reads
        images = json.loads(read.raw_body or "")["images"]
        assert [i["data_b64"] for i in images] == [digest(jpeg()), digest(webp())]

    def test_xml_names_the_image_in_its_element(self, parse) -> None:
        sent = (
            '<?xml version="1.0"?><Plate><Id>x-1</Id><PlateRead>ABC123</PlateRead>'
            "<Timestamp>2024-05-01T12:00:00Z</Timestamp>"
            f"<PlateImage>\n{b64(jpeg())}\n</PlateImage><ContextImage/></Plate>"
        )
        (read,) = parse(sent.encode(), "application/xml", fmt="genetec").reads
        assert read.raw_body == sent.replace(f"\n{b64(jpeg())}\n", digest(jpeg()))

    def test_only_the_values_that_hold_the_image_are_replaced(self, parse) -> None:
        # JPEGs share their first bytes, and a value may end in an image's base64 without being it
        doc = json.loads(
            native({"kind": "plate", "data_b64": b64(jpeg())}, {"kind": "vehicle", "data_b64": b64(jpeg(8, 8))})
        )
        doc = {"note": "not an image: " + b64(jpeg()), **doc}  # found first when looking for the image
        (read,) = parse(json.dumps(doc).encode(), fmt="native").reads
        kept = json.loads(read.raw_body or "")
        assert [i["data_b64"] for i in kept["images"]] == [digest(jpeg()), digest(jpeg(8, 8))]
        assert kept["note"] == doc["note"]

    def test_a_refused_image_stays_in_raw_body_as_it_came(self, parse) -> None:
        (read,) = parse(native({"kind": "plate", "data_b64": HTML_URL}), fmt="native").reads
        assert HTML_URL in (read.raw_body or "")
