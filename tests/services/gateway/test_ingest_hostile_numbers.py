"""Numbers and times a camera should never send: NaN, infinities, 1e400, boxes of -1e308..1e308, a UTC offset
of a day, a superscript digit. Each is a clear 4xx naming the field, or, in a post of several results, that
result refused with its code while the good ones are stored: never a retryable 500 that loses them all."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from libs.common.errors import InvalidInput
from services.gateway.ingest import ParsedPayload, parse_payload
from services.gateway.ingest.fields import number


def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


def parse(body: bytes, fmt: str, content_type: str = "application/json") -> ParsedPayload:
    return parse_payload(
        body, content_type, format=fmt, agency="ca-sfpd", camera_id="cam-7", received_at=datetime.now(UTC)
    )


async def post(system: Any, path: str, body: bytes, content_type: str = "application/json") -> Any:
    return await system.gateway.post(path, content=body, headers={**system.camera, "Content-Type": content_type})


async def plates_stored(system: Any, plates: list[str], want: int) -> list[str]:
    """The plates of `plates` stored, once `want` are (or 10 s have passed), after a second for any other."""
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    query = "SELECT plate FROM records.reads WHERE plate = ANY($1::text[]) ORDER BY plate"
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while len(await conn.fetch(query, plates)) < want and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        return [r["plate"] for r in await conn.fetch(query, plates)]
    finally:
        await conn.close()


def raw(doc: dict[str, Any], **literals: str) -> bytes:
    """JSON of `doc` with each string `"@name@"` replaced by the literal text (1e400, -1e308): json.dumps
    writes no such number, and the parser reads 1e400 as infinity."""
    text = json.dumps(doc)
    for name, literal in literals.items():
        text = text.replace(f'"@{name}@"', literal)
    return text.encode()


def ms_now() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def rejected(reply: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(r["index"], r["code"], r["field"]) for r in reply["rejected"]]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("sent", ["nan", "NaN", "inf", "-Infinity", float("inf"), float("nan"), 10**400])
def test_number_refuses_what_is_not_a_finite_number(sent: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        number({"x": sent}, "x", path="box")
    assert refused.value.code == "invalid_field" and refused.value.details["field"] == "box.x"


def test_number_still_takes_quoted_and_plain_numbers() -> None:
    assert [number({"x": v}, "x") for v in ("1.5", 2, -3.25, "1e3")] == [1.5, 2.0, -3.25, 1000.0]


class TestOpenAlpr:
    async def test_a_nan_corner_refuses_that_result_and_keeps_the_good_one(self, system) -> None:
        good, bad = f"G{tag()}", f"B{tag()}"
        corners = [{"x": "nan", "y": 1}, {"x": 2, "y": 1}, {"x": 2, "y": 2}, {"x": 1, "y": 2}]
        doc = {
            "data_type": "alpr_results",
            "epoch_time": ms_now(),
            "uuid": str(uuid.uuid4()),
            "results": [{"plate": good, "confidence": 90}, {"plate": bad, "confidence": 90, "coordinates": corners}],
        }
        body = json.dumps(doc).encode()
        answers = [await post(system, "/push/", body) for _ in range(2)]  # the camera retries: the same answer
        for response in answers:
            assert response.status_code == 202, response.text
            assert response.json()["accepted"] == 1
            assert rejected(response.json()) == [(1, "invalid_field", "results[1].coordinates.x")]
        assert await plates_stored(system, [good, bad], 1) == [good]

    def test_corners_whose_box_overflows_refuse_that_result(self) -> None:
        # each corner finite, but the box across them is 2e308 wide: infinite
        corners = [{"x": "@low@", "y": 0}, {"x": "@high@", "y": 0}, {"x": "@high@", "y": 1}, {"x": "@low@", "y": 1}]
        doc = {"data_type": "alpr_results", "epoch_time": ms_now(), "uuid": "u", "results": [{"plate": "GOOD1"}]}
        doc["results"].append({"plate": "BAD1", "coordinates": corners})
        body = raw(doc, low="-1e308", high="1e308")
        payload = parse(body, "openalpr")
        assert [r.plate for r in payload.reads] == ["GOOD1"]
        assert [(r["index"], r["code"]) for r in payload.rejected] == [(1, "invalid_field")]
        assert payload.rejected[0]["field"].startswith("results[1].")

    def test_a_group_with_a_1e400_corner_is_a_422(self) -> None:
        corners = [{"x": "@huge@", "y": 0}, {"x": 2, "y": 0}, {"x": 2, "y": 1}, {"x": 1, "y": 1}]
        doc = {"data_type": "alpr_group", "epoch_start": ms_now(), "uuids": ["u"], "best_plate_number": "ABC1"}
        body = raw({**doc, "best_plate": {"plate": "ABC1", "coordinates": corners}}, huge="1e400")
        with pytest.raises(InvalidInput) as refused:
            parse(body, "openalpr")
        assert refused.value.code == "invalid_field" and refused.value.details["field"] == "best_plate.coordinates.x"


class TestPlateRecognizer:
    async def test_an_infinite_box_refuses_that_result_and_keeps_the_good_one(self, system) -> None:
        good, bad = f"G{tag()}", f"B{tag()}"
        box = {"xmin": "@low@", "ymin": 0, "xmax": "@high@", "ymax": 1}
        results = [{"plate": good, "score": 0.9}, {"plate": bad, "score": 0.9, "box": box}]
        doc = {"camera_id": "gate", "timestamp": datetime.now(UTC).isoformat(), "results": results}
        body = raw(doc, low="-1e308", high="1e308")
        response = await post(system, "/v1/ingest/platerecognizer", body)
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1
        assert rejected(response.json()) == [(1, "invalid_field", "data.results[1].box")]
        assert await plates_stored(system, [good, bad], 1) == [good]

    @pytest.mark.parametrize("corner", ['"nan"', '"inf"', "1e400"])
    def test_a_corner_that_is_no_finite_number_refuses_that_result(self, corner: str) -> None:
        box = {"xmin": "@corner@", "ymin": 0, "xmax": 1, "ymax": 1}
        results = [{"plate": "good1", "score": 0.9}, {"plate": "bad1", "score": 0.9, "box": box}]
        body = raw({"timestamp": datetime.now(UTC).isoformat(), "results": results}, corner=corner)
        payload = parse(body, "platerecognizer")
        assert [r.plate for r in payload.reads] == ["GOOD1"]
        assert [(r["index"], r["code"], r["field"]) for r in payload.rejected] == [
            (1, "invalid_field", "data.results[1].box.xmin")
        ]


class TestAxis:
    async def test_coordinates_of_1e400_are_a_422(self, system) -> None:
        doc = {"plateUTF8": f"A{tag()}", "capture_timestamp": ms_now(), "plateCoordinates": ["@huge@", 1, 2, 3]}
        body = raw(doc, huge="1e400")
        refused = error(await post(system, "/v1/ingest/axis", body), 422)
        assert refused["code"] == "invalid_field" and refused["details"]["field"] == "plateCoordinates"

    def test_a_nan_position_is_refused_naming_it(self) -> None:
        body = json.dumps(
            {"plateUTF8": "ABC1", "capture_timestamp": 1_767_000_000_000, "geotag": {"lat": "nan", "lon": 1}}
        ).encode()
        with pytest.raises(InvalidInput) as refused:
            parse(body, "axis")
        assert refused.value.code == "invalid_field" and refused.value.details["field"] == "geotag.lat"

    @pytest.mark.parametrize("offset", ["+2400", "-2400", "+9999", "+0160"])
    async def test_an_offset_of_a_day_or_more_is_a_422(self, system, offset: str) -> None:
        sent = datetime.now(UTC).strftime("%Y%m%d %H%M%S") + "000" + offset
        body = json.dumps({"plateUTF8": f"A{tag()}", "datetime": sent, "carID": 1}).encode()
        refused = error(await post(system, "/v1/ingest/axis", body), 422)
        assert refused["code"] == "invalid_field" and refused["details"]["field"] == "datetime"

    def test_an_offset_under_a_day_still_gives_the_instant(self) -> None:
        local = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=23, minutes=59)
        sent = local.strftime("%Y%m%d %H%M%S") + "000+2359"
        (read,) = parse(json.dumps({"plateUTF8": "ABC1", "datetime": sent}).encode(), "axis").reads
        assert read.captured_at == local - timedelta(hours=23, minutes=59)


class TestHikvision:
    @staticmethod
    def alert(posts: str, plate: str = "ABC123") -> bytes:
        return (
            f"<EventNotificationAlert><dateTime>{datetime.now(UTC).isoformat()}</dateTime>"
            f"<activePostCount>{posts}</activePostCount><eventType>ANPR</eventType>"
            f"<ANPR><licensePlate>{plate}</licensePlate></ANPR></EventNotificationAlert>"
        ).encode()

    async def test_a_superscript_post_count_is_no_500(self, system) -> None:
        plate = f"H{tag()}"
        response = await post(system, "/v1/ingest/hikvision", self.alert("\u00b2", plate), "application/xml")
        assert response.status_code == 202, response.text
        assert await plates_stored(system, [plate], 1) == [plate]

    @pytest.mark.parametrize(
        ("posts", "resent"),
        [("\u00b2", False), ("\u0663", False), ("9" * 5000, True), ("0002", True), ("1", False), ("01", False)],
        ids=["superscript", "arabic-indic", "5000-digits", "zero-padded", "one", "zero-padded-one"],
    )
    def test_only_ascii_counts_above_one_mark_a_resend(self, posts: str, resent: bool) -> None:
        (read,) = parse(self.alert(posts), "hikvision", "application/xml").reads
        assert ("vendor_resend" in read.flags) is resent
