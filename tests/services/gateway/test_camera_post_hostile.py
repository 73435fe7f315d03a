"""The lean camera-post handler under a hostile or careless camera: every refusal is the one envelope with the
stable code the documented FastAPI routes give for the same request, counted, with its request id; nothing a
camera sends stops the path (issue 31's handler, red-teamed)."""

from __future__ import annotations

import asyncio
import functools
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from libs.common import metrics
from services.cli.stack import DEV_AGENCY

pytestmark = pytest.mark.asyncio(loop_scope="session")


def routed(system: Any) -> httpx.AsyncClient:
    """The same gateway through FastAPI's own routing, middleware and dependencies: the documented contract."""
    app = system.apps["gateway"]
    transport = httpx.ASGITransport(app=functools.partial(FastAPI.__call__, app), client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def read(**fields: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8].upper()
    return {"plate": f"HOS{tag}", "captured_at": datetime.now(UTC).isoformat(), "read_id": f"hostile-{tag}", **fields}


def now() -> str:
    return datetime.now(UTC).isoformat()


async def both(system: Any, method: str, path: str, headers: dict[str, str], body: bytes | None) -> httpx.Response:
    """The lean handler's answer, asserted equal in status and body to the documented routes' answer."""
    async with routed(system) as documented:
        lean = await system.gateway.request(method, path, headers=headers, content=body)
        other = await documented.request(method, path, headers=headers, content=body)
    assert lean.status_code == other.status_code, (path, lean.text, other.text)
    if lean.status_code != 202:
        assert lean.content == other.content, (path, lean.text, other.text)
    assert {k: v for k, v in lean.headers.items() if k not in ("x-request-id", "content-length")} == {
        k: v for k, v in other.headers.items() if k not in ("x-request-id", "content-length")
    }
    assert lean.headers["x-request-id"]
    return lean


def envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


async def register(system: Any) -> tuple[str, str]:
    camera_id = f"cam-{uuid.uuid4().hex[:8]}"
    response = await system.gateway.post(
        "/v1/admin/cameras", json={"camera_id": camera_id, "vendor": "openalpr"}, headers=system.token("admin")
    )
    assert response.status_code == 201, response.text
    return camera_id, response.json()["credential"]


class TestCredentials:
    async def test_missing_malformed_and_unknown_credentials_are_401_with_the_challenge(self, system: Any) -> None:
        body = json.dumps(read()).encode()
        denied = metrics.DENIED.labels("camera_unknown")
        before = denied._value.get()
        for headers in ({}, {"Authorization": "Basic !!!"}, {"X-Api-Key": "x.y"}, {"Authorization": "Bearer a.b"}):
            answer = await both(system, "POST", "/v1/reads", headers, body)
            envelope(answer, 401, "unauthenticated")
            assert answer.headers["www-authenticate"].startswith('Bearer realm="alpr"')
        assert denied._value.get() >= before + 6  # each refused credential counted, on both paths

    async def test_a_rotated_credential_is_refused_and_a_disabled_camera_is_403(self, system: Any) -> None:
        camera_id, old = await register(system)
        admin = system.token("admin")
        assert (await system.gateway.post(f"/v1/admin/cameras/{camera_id}/credentials", headers=admin)).is_success
        envelope(
            await both(system, "POST", "/v1/reads", {"Authorization": f"Bearer {old}"}, b"{}"), 401, "unauthenticated"
        )
        camera_id, credential = await register(system)
        off = await system.gateway.put(f"/v1/admin/cameras/{camera_id}/enabled", json={"enabled": False}, headers=admin)
        assert off.status_code == 200
        body = json.dumps(read()).encode()
        envelope(
            await both(system, "POST", "/v1/reads", {"Authorization": f"Bearer {credential}"}, body),
            403,
            "camera_disabled",
        )

    async def test_a_read_naming_another_agency_is_stored_under_the_cameras_own(self, system: Any) -> None:
        answer = await system.gateway.post(
            "/v1/reads", json=read(agency="CA9999999", camera_id="someone-elses-cam"), headers=system.camera
        )
        assert answer.status_code == 202, answer.text
        (read_id,) = answer.json()["read_ids"]
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            row = None
            for _ in range(200):
                row = await conn.fetchrow(
                    "SELECT agency, camera_id FROM records.reads WHERE read_id = $1::uuid", read_id
                )
                if row is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
        assert row is not None and (row["agency"], row["camera_id"]) == (DEV_AGENCY, "dev-cam-1")


class TestRouting:
    @pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"])
    async def test_other_methods_are_405_allowing_post(self, system: Any, method: str) -> None:
        for path in ("/v1/reads", "/v1/ingest", "/v1/ingest/genetec", "/push/"):
            answer = await both(system, method, path, system.camera, None)
            assert answer.status_code == 405 and answer.headers["allow"] == "POST"

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/v1/reads/", 307),
            ("/v1/ingest/native/", 307),
            ("/v1/ingest//native", 404),
            ("/v1/ingest/%2e%2e", 422),
            ("/v1/ingest/%2Fnative", 404),
            ("/v1/ingest/nosuchvendor", 422),
            ("/V1/READS", 404),
        ],
    )
    async def test_path_tricks_answer_as_the_documented_routes_do(self, system: Any, path: str, status: int) -> None:
        answer = await both(system, "POST", path, system.camera, json.dumps(read()).encode())
        assert answer.status_code == status, answer.text
        if status == 422:
            assert answer.json()["error"]["code"] == "unknown_format"

    async def test_a_format_named_in_capitals_is_the_format(self, system: Any) -> None:
        answer = await both(system, "POST", "/v1/ingest/NATIVE", system.camera, json.dumps(read()).encode())
        assert answer.status_code == 202 and answer.json()["format"] == "native"


async def _chunks(size: int, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        yield b" " * min(piece, size - sent)
        sent += piece


class TestBodies:
    async def test_a_body_over_the_limit_is_413_with_or_without_a_length(self, system: Any) -> None:
        limit = system.runtime("gateway").settings.max_body_bytes
        declared = await system.gateway.post("/v1/reads", content=b" " * (limit + 1), headers=system.camera)
        envelope(declared, 413, "payload_too_large")
        chunked = await system.gateway.post("/v1/reads", content=_chunks(limit + 1), headers=system.camera)
        assert "content-length" not in chunked.request.headers
        envelope(chunked, 413, "payload_too_large")
        lying = await system.gateway.post(
            "/v1/reads", content=_chunks(limit + 1), headers={**system.camera, "Content-Length": "10"}
        )
        envelope(lying, 413, "payload_too_large")
        # the path still takes an ordinary read afterwards
        assert (await system.gateway.post("/v1/reads", json=read(), headers=system.camera)).status_code == 202

    async def test_a_read_sent_in_chunks_is_taken(self, system: Any) -> None:
        body = json.dumps(read()).encode()

        async def pieces() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 7):
                yield body[i : i + 7]

        answer = await system.gateway.post("/v1/reads", content=pieces(), headers=system.camera)
        assert answer.status_code == 202, answer.text

    async def test_a_camera_that_stops_sending_mid_body_is_not_answered_202(self, system: Any) -> None:
        app = system.apps["gateway"]
        body = json.dumps(read()).encode()
        sent: list[dict[str, Any]] = []
        parts: list[dict[str, Any]] = [
            {"type": "http.request", "body": body[:20], "more_body": True},
            {"type": "http.disconnect"},
        ]

        async def receive() -> dict[str, Any]:
            return parts.pop(0) if parts else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        headers = [(k.lower().encode(), v.encode()) for k, v in system.camera.items()]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/v1/reads", "raw_path": b"/v1/reads", "root_path": "", "query_string": b"",
            "headers": [*headers, (b"content-type", b"application/json")], "client": ("203.0.113.7", 50000),
            "server": ("gateway", 80),
        }  # fmt: skip
        await asyncio.wait_for(app(scope, receive, send), 10)
        starts = [m for m in sent if m["type"] == "http.response.start"]
        assert all(m["status"] != 202 for m in starts)

    @pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", "application/json; charset=latin-1"])
    async def test_a_wrong_or_missing_content_type_on_a_native_post(self, system: Any, content_type: str) -> None:
        headers = {**system.camera, "Content-Type": content_type}
        await both(system, "POST", "/v1/reads", headers, json.dumps(read()).encode())

    @pytest.mark.parametrize(
        ("body", "status", "code"),
        [
            ('{"plate":"A\\u0000B","captured_at":"NOW"}', 422, "invalid_text"),
            ('{"plate":"AB","note\\u0007":1,"captured_at":"NOW"}', 422, "invalid_text"),
            ('{"plate":"AB\\ud800","captured_at":"NOW"}', 422, "invalid_text"),
            ('{"plate":"AB","captured_at":"NOW","camera_name":"\\udfff"}', 422, "invalid_text"),
            ('{"plate":"AB","captured_at":"NOW","camera_name":"\\u202e\\u200b"}', None, None),
            ("[" * 100_000, 400, "json_too_deep"),
            ('{"a":' * 40 + "1" + "}" * 40, 400, "json_too_deep"),
            ('{"plate":"AB","captured_at":"NOW","confidence":NaN}', 400, "malformed_json"),
            ('{"plate":"AB","captured_at":"NOW","confidence":-Infinity}', 400, "malformed_json"),
            ('{"plate":"AB","captured_at":"NOW","confidence":1e999}', 422, "invalid_field"),
            ('{"plate":"AB","captured_at":"NOW","confidence":' + "9" * 5000 + "}", 400, "malformed_json"),
            ('{"plate":"AB","plate":"CD","captured_at":"NOW"}', None, None),
            ('\ufeff{"plate":"AB","captured_at":"NOW"}', None, None),
            ('{"plate":"AB","captured_at":"NOW"', 400, "malformed_json"),
            ("", None, None),
        ],
    )
    async def test_hostile_json_answers_as_the_documented_routes_do(
        self, system: Any, body: str, status: int | None, code: str | None
    ) -> None:
        raw = body.replace("NOW", now()).encode("utf-8", "surrogatepass")
        answer = await both(system, "POST", "/v1/reads", system.camera, raw)
        if status is not None:
            envelope(answer, status, code or "")
        assert answer.status_code < 500, answer.text

    async def test_a_body_in_utf8_with_an_encoded_lone_surrogate_is_refused(self, system: Any) -> None:
        raw = b'{"plate":"AB\xed\xa0\x80","captured_at":"' + now().encode() + b'"}'
        answer = await system.gateway.post("/v1/reads", content=raw, headers=system.camera)
        # not UTF-8 at all here (the door, decoding with surrogatepass, says invalid_text): refused either way
        envelope(answer, 400, "malformed_json")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]><EventNotificationAlert><lolz>&lol9;</lolz></EventNotificationAlert>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<EventNotificationAlert><licensePlate>&xxe;</licensePlate></EventNotificationAlert>"
)


class TestXml:
    @pytest.mark.parametrize("path", ["/v1/ingest/hikvision", "/v1/ingest/genetec", "/v1/ingest"])
    @pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, BILLION_LAUGHS.decode().encode("utf-16")])
    async def test_entities_are_never_expanded(self, system: Any, path: str, body: bytes) -> None:
        started = time.perf_counter()
        answer = await both(system, "POST", path, {**system.camera, "Content-Type": "application/xml"}, body)
        assert 400 <= answer.status_code < 500, answer.text
        assert "root:" not in answer.text and time.perf_counter() - started < 5


class TestRateAndTelemetry:
    async def test_a_camera_over_its_rate_gets_429_with_retry_after_in_the_envelope(self, system: Any) -> None:
        camera_id, credential = await register(system)
        gateway = system.runtime("gateway")
        settings, limits = gateway.settings, gateway.limits
        saved = settings.rate_camera_per_second
        settings.rate_camera_per_second = 2
        try:
            headers = {"Authorization": f"Bearer {credential}", "X-Request-Id": "cam-rate-1"}
            statuses = []
            for _ in range(4):
                answer = await system.gateway.post("/v1/reads", json=read(), headers=headers)
                statuses.append(answer.status_code)
            assert statuses[:2] == [202, 202] and statuses[-1] == 429
            error = envelope(answer, 429, "rate_limited")
            assert error["details"]["limit"] == "camera"
            assert int(answer.headers["retry-after"]) >= 1 and answer.headers["x-request-id"] == "cam-rate-1"
        finally:
            settings.rate_camera_per_second = saved
            limits.limiter.forget("camera", camera_id)

    async def test_refusals_are_counted_by_route_and_code_and_an_unsafe_request_id_is_replaced(
        self, system: Any
    ) -> None:
        requests = metrics.HTTP_REQUESTS.labels("gateway", "/v1/ingest/{fmt}", "POST", "422")
        errors = metrics.ERRORS.labels("gateway", "unknown_format")
        before = (requests._value.get(), errors._value.get())
        answer = await system.gateway.post(
            "/v1/ingest/nosuch", content=b"{}", headers={**system.camera, "X-Request-Id": "bad id\r\nx: y"}
        )
        envelope(answer, 422, "unknown_format")
        assert answer.headers["x-request-id"] != "bad id\r\nx: y" and len(answer.headers["x-request-id"]) == 32
        assert (requests._value.get(), errors._value.get()) == (before[0] + 1, before[1] + 1)
