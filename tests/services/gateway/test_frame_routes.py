"""POST /v1/ingest/image and GET /v1/ingest/image/{frame_id} over real NATS and PostgreSQL: the frame on the
FRAMES stream once, the gateway's note of which camera posted it, each refusal with its code and nothing on the
stream, another camera's question answered as an unknown id's, and 503s where the stream, the table or records
fail. Budget: about 20 s on two slow cores (records is stopped and started once)."""

from __future__ import annotations

import base64
import dataclasses
import functools
import uuid
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from libs.common.contracts.frames import FrameIn
from libs.common.streams import FRAMES, frames_subject
from services.cli.stack import DEV_AGENCY
from services.gateway.api.camera_posts import camera_post
from tests.services.gateway.test_camera_location import register
from tests.utils.image_samples import jpeg, png, webp

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROUTE = "/v1/ingest/image"
LOS_GATOS = (37.2358, -121.9624)  # where the test camera is registered
BOUNDARY = "framepost7"


def photo() -> bytes:
    """A JPEG of this test's own (its pixels from a fresh UUID), so its frame id is new to the stream."""
    tag = uuid.uuid4().int
    image = Image.new("RGB", (64, 32))
    image.putdata([((tag >> (i % 120)) & 0xFF, i % 256, 7) for i in range(64 * 32)])
    out = BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def form(*parts: tuple[str, bytes]) -> tuple[bytes, dict[str, str]]:
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + data + b"\r\n"
        for name, data in parts
    )
    return body + f"--{BOUNDARY}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def camera(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def last_seq(system: Any) -> int:
    return int((await system.runtime("gateway").bus.js.stream_info(FRAMES.name)).state.last_seq)


async def on_stream(system: Any, camera_id: str) -> tuple[FrameIn, str]:
    """The last frame on this camera's subject, and the message id JetStream deduplicated it by."""
    message = await system.runtime("gateway").bus.js.get_last_msg(FRAMES.name, frames_subject(DEV_AGENCY, camera_id))
    return FrameIn.model_validate_json(message.data), (message.headers or {}).get("Nats-Msg-Id", "")


async def camera_id_of(system: Any, credential: str) -> str:
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        found = await conn.fetchval(
            "SELECT camera_id FROM gateway.cameras WHERE credential_id = $1", credential.partition(".")[0]
        )
    finally:
        await conn.close()
    return str(found)


@pytest.fixture
async def cam(system: Any) -> tuple[str, str]:
    """(credential, camera id) of a camera registered at LOS_GATOS for this test."""
    credential = await register(system, latitude=LOS_GATOS[0], longitude=LOS_GATOS[1])
    return credential, await camera_id_of(system, credential)


class TestAccepted:
    async def test_a_photograph_is_on_the_stream_once_under_its_frame_id(
        self, system: Any, cam: tuple[str, str]
    ) -> None:
        credential, camera_id = cam
        data = photo()
        # the Content-Type is not believed: the bytes are a JPEG
        headers = {**camera(credential), "Content-Type": "application/octet-stream"}
        before = await last_seq(system)
        answer = await system.gateway.post(ROUTE, content=data, headers=headers)
        assert answer.status_code == 202, answer.text
        reply = answer.json()
        assert reply == {
            "frame_id": reply["frame_id"],
            "status": "pending",
            "status_url": f"{ROUTE}/{reply['frame_id']}",
        }
        assert await last_seq(system) == before + 1
        frame, msg_id = await on_stream(system, camera_id)
        assert msg_id == frame.frame_id == reply["frame_id"]
        assert (frame.agency, frame.camera_id, frame.captured_at) == (DEV_AGENCY, camera_id, None)
        assert (frame.latitude, frame.longitude) == LOS_GATOS  # none in the post: the camera's own place
        assert frame.image.kind == "overview" and frame.image.content_type == "image/jpeg"
        assert base64.b64decode(frame.image.data_b64) == data
        assert abs(frame.received_at - datetime.now(UTC)) < timedelta(seconds=30)

        again = await system.gateway.post(ROUTE, content=data, headers=headers)
        assert again.status_code == 202 and again.json() == reply
        assert await last_seq(system) == before + 1  # the resend is held once

    async def test_a_form_brings_its_time_and_place(self, system: Any, cam: tuple[str, str]) -> None:
        credential, camera_id = cam
        taken = (datetime.now(UTC) - timedelta(minutes=3)).replace(microsecond=0)
        body, headers = form(
            ("image", png()),
            ("captured_at", taken.isoformat().encode()),
            ("latitude", b"37.25"),
            ("longitude", b"-121.9"),
        )
        answer = await system.gateway.post(ROUTE, content=body, headers={**camera(credential), **headers})
        assert answer.status_code == 202, answer.text
        frame, _ = await on_stream(system, camera_id)
        assert frame.frame_id == answer.json()["frame_id"]
        assert (frame.captured_at, frame.latitude, frame.longitude) == (taken, 37.25, -121.9)
        assert frame.image.content_type == "image/png" and base64.b64decode(frame.image.data_b64) == png()
        # the same photograph stated at another time is another frame
        later, headers = form(("image", png()), ("captured_at", (taken + timedelta(seconds=1)).isoformat().encode()))
        other = await system.gateway.post(ROUTE, content=later, headers={**camera(credential), **headers})
        assert other.status_code == 202 and other.json()["frame_id"] != frame.frame_id

    async def test_the_route_is_its_own_on_both_paths_and_not_a_vendor_format(self, system: Any) -> None:
        assert camera_post({"type": "http", "method": "POST", "path": ROUTE}) == (ROUTE, None)
        assert camera_post({"type": "http", "method": "GET", "path": f"{ROUTE}/x"}) is None
        app = system.apps["gateway"]
        transport = httpx.ASGITransport(app=functools.partial(FastAPI.__call__, app), client=("203.0.113.7", 50000))
        data = webp()
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as routed:
            via_routes = await routed.post(ROUTE, content=data, headers=system.camera)
        direct = await system.gateway.post(ROUTE, content=data, headers=system.camera)
        assert via_routes.status_code == direct.status_code == 202, (via_routes.text, direct.text)
        assert via_routes.json() == direct.json()


class TestRefused:
    @pytest.mark.parametrize(
        ("body", "content_type", "status", "code"),
        [
            (b"", "image/jpeg", 422, "image_missing"),
            (b'{"plate": "7ABC123"}', "image/jpeg", 422, "not_an_image"),
            (jpeg()[:12], "image/jpeg", 422, "image_undecodable"),
            (b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024), "image/jpeg", 413, "image_too_large"),
            (b"\xff\xd8\xff" + b"\x00" * (9 * 1024 * 1024), "image/jpeg", 413, "image_too_large"),
            (
                form(("captured_at", b"2026-12-06T10:00:00Z"))[0],
                f"multipart/form-data; boundary={BOUNDARY}",
                422,
                "image_missing",
            ),
            (
                form(("image", jpeg()), ("latitude", b"95"), ("longitude", b"1"))[0],
                f"multipart/form-data; boundary={BOUNDARY}",
                422,
                "invalid_field",
            ),
            (
                form(("image", jpeg()), ("captured_at", b"2099-01-01T00:00:00Z"))[0],
                f"multipart/form-data; boundary={BOUNDARY}",
                422,
                "captured_in_future",
            ),
            (
                form(("image", jpeg()), ("captured_at", b"2001-01-01T00:00:00Z"))[0],
                f"multipart/form-data; boundary={BOUNDARY}",
                422,
                "captured_before_retention",
            ),
            (b"--x\r\nno", "multipart/form-data; boundary=x", 400, "malformed_multipart"),
        ],
    )
    async def test_each_bad_post_has_its_code_and_puts_nothing_on_the_stream(  # type: ignore[no-untyped-def]
        self, system, body: bytes, content_type: str, status: int, code: str
    ) -> None:
        before = await last_seq(system)
        answer = await system.gateway.post(ROUTE, content=body, headers={**system.camera, "Content-Type": content_type})
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
        assert await last_seq(system) == before

    async def test_without_a_camera_credential_nothing_is_taken(self, system: Any) -> None:
        before = await last_seq(system)
        answer = await system.gateway.post(ROUTE, content=photo(), headers={"Authorization": "Bearer nope.nope"})
        assert answer.status_code == 401
        assert await last_seq(system) == before

    async def test_a_stream_that_refuses_is_a_503_and_the_retry_is_taken(self, system: Any) -> None:
        js = system.runtime("gateway").bus.js
        info = await js.stream_info(FRAMES.name)
        data = photo()
        # the stream full: it holds what it holds and refuses the next (discard NEW)
        await js.update_stream(dataclasses.replace(info.config, max_msgs=max(1, info.state.messages)))
        try:
            refused = await system.gateway.post(ROUTE, content=data, headers=system.camera)
        finally:
            await js.update_stream(info.config)
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "bus_unavailable")
        retried = await system.gateway.post(ROUTE, content=data, headers=system.camera)
        assert retried.status_code == 202, retried.text

    async def test_a_frame_the_table_cannot_note_is_a_503_and_the_retry_is_held_once(self, system: Any) -> None:
        data = photo()
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute("REVOKE INSERT ON gateway.frames FROM alpr_gateway")
            try:
                refused = await system.gateway.post(ROUTE, content=data, headers=system.camera)
            finally:
                await conn.execute("GRANT INSERT ON gateway.frames TO alpr_gateway")
            assert (refused.status_code, refused.json()["error"]["code"]) == (503, "frame_not_recorded")
            before = await last_seq(system)  # the stream took it before the table refused
            retried = await system.gateway.post(ROUTE, content=data, headers=system.camera)
            assert retried.status_code == 202, retried.text
            assert await last_seq(system) == before
            noted = await conn.fetchval(
                "SELECT count(*) FROM gateway.frames WHERE frame_id = $1", retried.json()["frame_id"]
            )
            assert noted == 1
        finally:
            await conn.close()


class TestStatus:
    async def test_only_the_camera_that_posted_may_ask_and_others_learn_nothing(
        self, system: Any, cam: tuple[str, str]
    ) -> None:
        credential, _ = cam
        posted = await system.gateway.post(ROUTE, content=photo(), headers=camera(credential))
        assert posted.status_code == 202
        url = posted.json()["status_url"]
        own = await system.gateway.get(url, headers=camera(credential))
        assert own.status_code == 200, own.text
        assert own.json()["frame_id"] == posted.json()["frame_id"]
        assert own.json()["status"] in {"pending", "read", "no_plate", "failed"}
        other_camera = await system.gateway.get(url, headers=system.camera)
        unknown = await system.gateway.get(f"{ROUTE}/{uuid.uuid4()}", headers=camera(credential))
        assert other_camera.status_code == unknown.status_code == 404
        assert other_camera.json() == unknown.json()
        assert unknown.json()["error"]["code"] == "frame_not_found"
        officer = await system.gateway.get(url, headers=system.token("officer"))
        assert officer.status_code == 401

    @pytest.mark.parametrize(
        ("frame_id", "status", "code"),
        [
            ("%00", 422, "invalid_text"),  # NUL
            ("a%0Ab", 422, "invalid_text"),  # a line break
            ("x" * 65, 422, "invalid_request"),  # longer than any frame id
            ("%E2%80%AE" + "1" * 30, 404, "frame_not_found"),  # a right-to-left override: text, but no frame's
        ],
    )
    async def test_a_hostile_frame_id_is_refused_at_the_door_or_unknown(
        self, system: Any, frame_id: str, status: int, code: str
    ) -> None:
        answer = await system.gateway.get(f"{ROUTE}/{frame_id}", headers=system.camera)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text

    async def test_a_frame_records_has_not_read_is_pending(self, system: Any) -> None:
        # records answers; the recognizer, which records needs to read the frame, is away
        recognizer = "recognizer" in system.exits
        if recognizer:
            await system.stop_service("recognizer")
        try:
            posted = await system.gateway.post(ROUTE, content=photo(), headers=system.camera)
            assert posted.status_code == 202, posted.text
            asked = await system.gateway.get(posted.json()["status_url"], headers=system.camera)
        finally:
            if recognizer:
                await system.start_service("recognizer")
        assert asked.status_code == 200, asked.text
        assert asked.json() == {
            "frame_id": posted.json()["frame_id"],
            "status": "pending",
            "read_ids": [],
            "plates": [],
            "error_code": None,
            "completed_at": None,
        }

    async def test_records_down_is_a_503_and_the_frame_waits_on_the_stream(self, system: Any) -> None:
        await system.stop_service("records")
        try:
            posted = await system.gateway.post(ROUTE, content=photo(), headers=system.camera)
            assert posted.status_code == 202, posted.text  # the stream holds it while records is away
            asked = await system.gateway.get(posted.json()["status_url"], headers=system.camera)
        finally:
            await system.start_service("records")
        assert (asked.status_code, asked.json()["error"]["code"]) == (503, "records_unavailable")

    async def test_a_row_older_than_a_week_is_gone_once_a_new_frame_is_noted(self, system: Any) -> None:
        old = str(uuid.uuid4())
        conn = await asyncpg.connect(system.stack.pg.admin_dsn)
        try:
            await conn.execute(
                "INSERT INTO gateway.frames (frame_id, agency, camera_id, accepted_at)"
                " VALUES ($1, $2, 'dev-cam-1', now() - interval '8 days')",
                old,
                DEV_AGENCY,
            )
            # before it is pruned, a week-old row already answers nothing
            assert (await system.gateway.get(f"{ROUTE}/{old}", headers=system.camera)).status_code == 404
            assert (await system.gateway.post(ROUTE, content=photo(), headers=system.camera)).status_code == 202
            assert await conn.fetchval("SELECT count(*) FROM gateway.frames WHERE frame_id = $1", old) == 0
            assert (
                await conn.fetchval("SELECT count(*) FROM gateway.frames WHERE accepted_at < now() - interval '7 days'")
                == 0
            )
        finally:
            await conn.close()
