"""The camera posts' sub-application answers exactly as the documented FastAPI routes do, refusals included,
and runs the middleware and error mapping every other route runs."""

from __future__ import annotations

import functools
import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from libs.common import metrics
from libs.common.web import common_middleware, error_handlers
from services.gateway.api import camera_posts
from services.gateway.api.camera_posts import camera_post

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _routed(system) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client for the same gateway app, through FastAPI's own routing, middleware and dependencies."""
    app = system.apps["gateway"]
    transport = httpx.ASGITransport(app=functools.partial(FastAPI.__call__, app), client=("203.0.113.7", 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


def _read(tag: str) -> dict:
    return {"plate": f"PATH{tag}", "captured_at": datetime.now(UTC).isoformat(), "read_id": f"path-{tag}"}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/reads", ("/v1/reads", "native")),
        ("/v1/ingest", ("/v1/ingest", None)),
        ("/v1/ingest/genetec", ("/v1/ingest/{fmt}", "genetec")),
        ("/push/", ("/push/", "openalpr")),
        ("/v1/ingest/genetec/x", None),
        ("/v1/ingest/", None),
        ("/v1/reads/abc/corrections", None),
    ],
)
async def test_which_requests_are_camera_posts(path: str, expected) -> None:  # type: ignore[no-untyped-def]
    assert camera_post({"type": "http", "method": "POST", "path": path}) == expected
    assert camera_post({"type": "http", "method": "GET", "path": path}) is None


@pytest.mark.parametrize(
    "reply",
    [
        {"format": "native", "kind": "reads", "accepted": 1, "duplicates": 0, "read_ids": ["3f2a"], "rejected": []},
        {"format": "genetec", "kind": "reads", "accepted": 2, "duplicates": 1, "read_ids": ["a", "b"], "rejected": []},
        {"format": "axis", "kind": "heartbeat", "accepted": 0, "duplicates": 0, "read_ids": [], "rejected": []},
        {
            "format": 'n\u00e9"',
            "kind": "reads",
            "accepted": 1,
            "duplicates": 0,
            "read_ids": ['q"\\\u2028\ud800'],
            "rejected": [],
        },
        {
            "format": "native",
            "kind": "reads",
            "accepted": 1,
            "duplicates": 0,
            "read_ids": ["x"],
            "rejected": [{"index": 1, "code": "invalid_field", "field": "reads[1].plate", "message": "m"}],
        },
    ],
)
async def test_a_reply_is_the_json_encoder_s_bytes(reply: dict) -> None:
    # the 202's body is joined from its parts when nothing was refused: byte for byte what the encoder writes
    assert camera_posts._reply_json(reply) == json.dumps(reply, separators=(",", ":")).encode()
    assert camera_posts._reply_json(reply) == camera_posts._reply_json(dict(reply))  # its cached start, again


async def test_both_paths_accept_and_refuse_alike(system) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8].upper()
    async with _routed(system) as routed:
        for client, suffix in ((system.gateway, "D"), (routed, "R")):
            ok = await client.post("/v1/reads", json=_read(tag + suffix), headers=system.camera)
            assert ok.status_code == 202, ok.text
            assert ok.json()["accepted"] == 1 and ok.json()["format"] == "native"
        cases = [
            ("/v1/reads", {"Authorization": "Bearer nope.nope"}, b"{}", 401),
            ("/v1/reads", system.camera, b"{not json", 400),
            ("/v1/ingest/nosuchvendor", system.camera, b"{}", 422),
            (
                "/v1/reads",
                system.camera,
                b"x" * (system.apps["gateway"].state.runtime.settings.max_body_bytes + 1),
                413,
            ),
        ]
        for path, headers, body, status in cases:
            direct = await system.gateway.post(path, content=body, headers=headers)
            via_routes = await routed.post(path, content=body, headers=headers)
            assert direct.status_code == via_routes.status_code == status, (path, direct.text, via_routes.text)
            assert direct.json() == via_routes.json()


class TestCommonStack:
    """The sub-application is inside the framework: a middleware or error mapping added for all routes
    reaches the busiest path too."""

    async def test_the_sub_application_runs_the_common_middleware_and_mapping(self, system) -> None:  # type: ignore[no-untyped-def]
        gateway = system.apps["gateway"]
        common = [m.cls for m in common_middleware("gateway")]
        assert [m.cls for m in gateway.camera_posts.user_middleware] == common
        assert set(common) <= {m.cls for m in gateway.user_middleware}
        assert set(error_handlers("gateway")) <= set(gateway.camera_posts.exception_handlers)

    async def test_a_camera_post_is_counted_and_keeps_its_request_id(self, system) -> None:  # type: ignore[no-untyped-def]
        tag = uuid.uuid4().hex[:8].upper()
        accepted = metrics.HTTP_REQUESTS.labels("gateway", "/v1/reads", "POST", "202")
        refused = metrics.HTTP_REQUESTS.labels("gateway", "/v1/ingest/{fmt}", "POST", "422")
        before = (accepted._value.get(), refused._value.get())
        ok = await system.gateway.post(
            "/v1/reads", json=_read(tag), headers={**system.camera, "X-Request-Id": f"cam-{tag}"}
        )
        assert ok.status_code == 202 and ok.headers["x-request-id"] == f"cam-{tag}"
        bad = await system.gateway.post("/v1/ingest/nosuchvendor", content=b"{}", headers=system.camera)
        assert bad.status_code == 422 and bad.headers["x-request-id"]
        assert (accepted._value.get(), refused._value.get()) == (before[0] + 1, before[1] + 1)

    async def test_accepted_reads_are_counted_by_format_and_a_resend_is_not(self, system) -> None:  # type: ignore[no-untyped-def]
        tag = uuid.uuid4().hex[:8].upper()
        native = metrics.INGESTED.labels("native")
        before = native._value.get()
        for expected in (1, 1, 4):  # the second post is a resend of the first: a duplicate, not counted
            body = _read(tag) if expected == 1 else {"reads": [_read(f"{tag}{i}") for i in range(3)]}
            answer = await system.gateway.post("/v1/reads", json=body, headers=system.camera)
            assert answer.status_code == 202, answer.text
            assert native._value.get() == before + expected

    async def test_an_unexpected_failure_is_a_retryable_error_in_the_one_envelope(  # type: ignore[no-untyped-def]
        self, system, monkeypatch
    ) -> None:
        def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise RuntimeError("a bug in a parser")

        monkeypatch.setattr(camera_posts, "parse_payload", broken)
        answer = await system.gateway.post("/v1/reads", json=_read("BUG"), headers=system.camera)
        assert answer.status_code == 500
        assert answer.json() == {"error": {"code": "internal_error", "message": "the read could not be taken; retry"}}
