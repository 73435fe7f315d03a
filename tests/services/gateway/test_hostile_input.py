"""Hostile input at the door: bytes PostgreSQL refuses, tokens of any JSON shape, deep JSON, extreme times,
crafted cursors and ids that are not ids each answer a 4xx naming what was refused, and nothing stops the
system: an ordinary search answers 200 afterwards (issue #21)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from libs.common.contracts.purpose import AuthorizedUse, Purpose
from libs.common.web import install_common
from services.cli.dev_issuer import DEV_AUDIENCE, DEV_ISSUER
from services.gateway.api.door import InputDoor

pytestmark = pytest.mark.asyncio(loop_scope="session")

PURPOSE = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on 11/27 near Story Rd",
}
DEEP = "[" * 100_000
EXTREME_TIMES = ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z"]
NOT_UUIDS = ["not-a-uuid", "1", "' OR 1=1 --", "x" * 300]


def search_body(**purpose: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    query = {"plate": "7NUL000", "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()}
    return {"query": query, "purpose": {**PURPOSE, **purpose}}


async def ordinary_search_answers(system: Any) -> None:
    response = await system.gateway.post("/v1/searches", json=search_body(), headers=system.token("officer"))
    assert response.status_code == 200, response.text


async def post_json(system: Any, path: str, body: Any, headers: dict[str, str]) -> Any:
    """Posted as escaped ASCII, so a lone surrogate travels as the `\\ud800` a hostile client would send."""
    headers = {**headers, "content-type": "application/json"}
    return await system.gateway.post(path, content=json.dumps(body), headers=headers)


def refusal(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


def names(error: dict[str, Any], field: str) -> bool:
    """Whether the refusal names the field, as the door (details.field) or a request model (fields) does."""
    return error.get("details", {}).get("field") == field or any(field in f for f in error.get("fields", []))


class TestTextAtTheDoor:
    @pytest.mark.parametrize("bad", ["a\x00b", "a\x07b", "a\x1bb", "\ud800", "a\x7fb"])
    async def test_a_search_reason_that_could_not_be_stored_is_refused(self, system: Any, bad: str) -> None:
        response = await post_json(system, "/v1/searches", search_body(reason=bad), system.token("officer"))
        error = refusal(response)
        assert error["code"] == "invalid_text" and names(error, "purpose.reason")
        await ordinary_search_answers(system)

    async def test_a_single_line_field_refuses_a_newline_a_free_text_field_keeps_it(self, system: Any) -> None:
        officer = system.token("officer")
        split = await system.gateway.post("/v1/searches", json=search_body(case_number="SJ\n1"), headers=officer)
        assert names(refusal(split), "purpose.case_number")
        lines = await system.gateway.post(
            "/v1/searches",
            json=search_body(reason="Vehicle reported stolen at knifepoint\non 11/27\tnear Story Rd"),
            headers=officer,
        )
        assert lines.status_code == 200, lines.text

    async def test_a_field_longer_than_it_allows_is_refused(self, system: Any) -> None:
        body = search_body(reason="x" * 2001)
        response = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
        assert names(refusal(response), "purpose.reason")

    async def test_a_refused_approval_with_nul_in_its_note_is_refused(self, system: Any) -> None:
        approval_id = await _requested_approval(system)
        response = await system.gateway.post(
            f"/v1/approvals/{approval_id}/decision",
            json={"decision": "refuse", "note": "no\x00case"},
            headers=system.token("supervisor"),
        )
        assert names(refusal(response), "note")
        shown = await system.gateway.get(f"/v1/approvals/{approval_id}", headers=system.token("supervisor"))
        assert shown.json()["status"] == "requested"
        await ordinary_search_answers(system)

    async def test_a_hold_with_nul_is_refused(self, system: Any) -> None:
        body = {
            "use": "wanted_suspect",
            "case_number": "SJ-2026-000001",
            "justification": "Vehicle seen leaving two robberies\x00; owner is a named suspect",
            "review_date": (date.today() + timedelta(days=60)).isoformat(),
            "plate": "7HOLD00",
        }
        response = await system.gateway.post("/v1/holds", json=body, headers=system.token("officer"))
        assert names(refusal(response), "justification")
        await ordinary_search_answers(system)

    async def test_a_hold_justification_longer_than_its_purpose_allows_is_refused(self, system: Any) -> None:
        body = {
            "use": "wanted_suspect",
            "case_number": "SJ-2026-000001",
            "justification": "Vehicle seen leaving two robberies " * 60,
            "review_date": (date.today() + timedelta(days=60)).isoformat(),
            "plate": "7HOLD00",
        }
        response = await system.gateway.post("/v1/holds", json=body, headers=system.token("officer"))
        assert names(refusal(response), "justification")

    async def test_a_hotlist_entry_with_nul_is_refused(self, system: Any) -> None:
        made = await system.gateway.post(
            "/v1/hotlists",
            json={"name": f"list {uuid.uuid4().hex[:8]}", "source": "manual"},
            headers=system.token("admin"),
        )
        assert made.status_code == 201, made.text
        url = f"/v1/hotlists/{made.json()['hotlist_id']}/entries"
        for field, body in (
            ("plate", {"plate": "7AB\x00C", "state": "CA", "reason": "stolen"}),
            ("reason", {"plate": "7ABC123", "state": "CA", "reason": "stolen\x00"}),
        ):
            response = await system.gateway.post(url, json=body, headers=system.token("admin"))
            assert names(refusal(response), field), response.text
        await ordinary_search_answers(system)

    async def test_a_nul_in_a_json_key_a_query_parameter_or_the_path_is_refused(self, system: Any) -> None:
        officer = system.token("officer")
        key = await system.gateway.post("/v1/searches", json={**search_body(), "x\x00": 1}, headers=officer)
        assert refusal(key)["code"] == "invalid_text"
        query = await system.gateway.get("/v1/approvals", params={"status": "requested\x00"}, headers=officer)
        assert names(refusal(query), "status")
        path = await system.gateway.get("/v1/reads/%00", headers=officer)
        assert names(refusal(path), "path")
        await ordinary_search_answers(system)

    async def test_an_audit_filter_longer_than_its_field_is_a_422(self, system: Any) -> None:
        params = {"plate": "7" * 16, "since": "2026-11-01T00:00:00Z"}
        response = await system.gateway.get("/v1/audit/records", params=params, headers=system.token("auditor"))
        assert names(refusal(response), "plate")

    async def test_a_form_field_with_nul_is_refused(self, system: Any) -> None:
        form = {"grant_type": "client_credentials", "scope": "reads:search\x00"}
        response = await system.gateway.post("/oauth/token", data=form, auth=("dev-partner", "wrong"))
        assert response.status_code == 400 and response.headers["cache-control"] == "no-store"
        assert response.json() == {
            "error": "invalid_request",
            "error_description": "scope contains a control character",
        }


class TestHotlistFiles:
    @pytest.mark.parametrize("upload", ["raw", "multipart"])
    async def test_a_line_that_could_not_be_stored_is_refused_and_the_rest_imported(
        self, system: Any, upload: str
    ) -> None:
        made = await system.gateway.post(
            "/v1/hotlists",
            json={"name": f"list {uuid.uuid4().hex[:8]}", "source": "manual"},
            headers=system.token("admin"),
        )
        good = "7" + uuid.uuid4().hex[:6].upper()
        content = (
            f"plate,state,reason,entered_at\n{good},CA,stolen,\n7NUL001,CA,sto\x00len,\n7ESC002,CA,st\x1bolen,\n"
            "7OLD003,CA,stolen,0001-01-01T00:00:00+01:00\n7NEW004,CA,stolen,9999-12-31T23:59:59-05:00\n"
        ).encode()
        url, params = f"/v1/hotlists/{made.json()['hotlist_id']}/imports", {"time_zone": "UTC", "format": "csv"}
        if upload == "raw":
            headers = {**system.token("admin"), "content-type": "text/plain"}
            response = await system.gateway.post(url, content=content, params=params, headers=headers)
        else:
            files = {"file": ("list.csv", content)}
            response = await system.gateway.post(url, files=files, params=params, headers=system.token("admin"))
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["accepted_lines"] == [2]
        codes = {line["line_no"]: line["code"] for line in result["refused"]}
        assert codes == {3: "invalid_text", 4: "invalid_text", 5: "bad_date", 6: "bad_date"}
        await ordinary_search_answers(system)


class TestTokenHeaders:
    @pytest.mark.parametrize("member", ["kid", "alg", "typ"])
    @pytest.mark.parametrize("value", [["k"], {"k": 1}, 7, 1.5, None, True, [[[]]]])
    async def test_a_header_member_of_any_json_type_is_a_401(self, system: Any, member: str, value: Any) -> None:
        header = {"alg": "RS256", "typ": "JWT", "kid": system.stack.issuer.kid, member: value}
        token = _token(header, _claims())
        for path in ("/v1/approvals", "/partner/v1/hotlists"):
            response = await system.gateway.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (path, response.text)

    @pytest.mark.parametrize(
        "head", [b"[1,2]", b"7", b'"text"', b"null", b"not json", b"\xff\xfe", b'{"kid":' + b"[" * 5000]
    )
    async def test_a_header_that_is_not_an_object_is_a_401(self, system: Any, head: str) -> None:
        token = f"{_b64(head)}.{_b64(json.dumps(_claims()).encode())}.{_b64(b'sig')}"
        for path in ("/v1/approvals", "/partner/v1/hotlists"):
            response = await system.gateway.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (path, response.text)

    async def test_a_token_that_is_not_base64_is_a_401(self, system: Any) -> None:
        for token in ("!!!.???.***", "a.b", "....", "%%%.###.$$$", "a" * 20_000):
            response = await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text

    async def test_a_signed_token_with_a_list_kid_is_a_401(self, system: Any) -> None:
        key = system.stack.issuer.key_path.read_text()
        token = jwt.encode(_claims(), key, algorithm="RS256", headers={"kid": [system.stack.issuer.kid]})
        response = await system.gateway.get("/v1/approvals", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


class TestDeepAndMalformedJson:
    @pytest.mark.parametrize(
        "path", ["/v1/searches", "/v1/approvals", "/v1/holds", "/v1/hotlists", "/partner/v1/searches"]
    )
    async def test_deep_nesting_is_a_400(self, system: Any, path: str) -> None:
        headers = {**system.token("officer"), "content-type": "application/json"}
        response = await system.gateway.post(path, content=DEEP, headers=headers)
        assert refusal(response, 400)["code"] == "json_too_deep"

    async def test_deep_nesting_inside_a_field_is_a_400(self, system: Any) -> None:
        body = json.dumps(search_body()).replace('"7NUL000"', "[" * 40 + "]" * 40)
        headers = {**system.token("officer"), "content-type": "application/json"}
        response = await system.gateway.post("/v1/searches", content=body, headers=headers)
        assert refusal(response, 400)["code"] == "json_too_deep"
        await ordinary_search_answers(system)

    async def test_a_body_that_is_not_json_or_not_utf8_is_a_4xx(self, system: Any) -> None:
        headers = {**system.token("officer"), "content-type": "application/json"}
        for body in (b"{", b"\xff\xfe{}", b'{"query": 1e999999}', b"[]"):
            response = await system.gateway.post("/v1/searches", content=body, headers=headers)
            assert 400 <= response.status_code < 500, (body, response.text)


class TestExtremeTimes:
    @pytest.mark.parametrize("at", EXTREME_TIMES)
    async def test_a_search_window_outside_the_years_we_carry_is_a_422(self, system: Any, at: str) -> None:
        for end in ("since", "until"):
            body = search_body()
            body["query"][end] = at
            response = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
            error = refusal(response)
            assert error["code"] == "time_out_of_range" and names(error, f"query.{end}")
        await ordinary_search_answers(system)

    @pytest.mark.parametrize("at", EXTREME_TIMES)
    async def test_a_query_parameter_time_outside_the_years_we_carry_is_a_422(self, system: Any, at: str) -> None:
        for path in ("/v1/alerts", "/v1/audit/records", "/v1/admin/flags"):
            response = await system.gateway.get(path, params={"since": at}, headers=system.token("admin"))
            assert response.status_code == 422, (path, response.text)

    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
    async def test_a_day_in_the_path_outside_the_years_we_carry_is_a_422(self, system: Any, day: str) -> None:
        response = await system.gateway.get(f"/v1/audit/completeness/{day}", headers=system.token("auditor"))
        assert refusal(response)["code"] == "time_out_of_range"

    async def test_a_hold_or_hotlist_entry_time_outside_them_is_a_422(self, system: Any) -> None:
        body = {"plate": "7ABC123", "state": "CA", "reason": "stolen", "expires_at": EXTREME_TIMES[0]}
        response = await system.gateway.post(
            f"/v1/hotlists/{uuid.uuid4()}/entries", json=body, headers=system.token("admin")
        )
        assert refusal(response)["code"] == "time_out_of_range"


class TestCursorsAndIds:
    @pytest.mark.parametrize(
        "cursor",
        [
            "!!!",
            "\u00e9\u00e9",
            base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
            base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
            base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", str(uuid.uuid4())]).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00Z", "not-a-uuid"]).encode()).decode(),
            base64.urlsafe_b64encode(json.dumps([EXTREME_TIMES[0], str(uuid.uuid4())]).encode()).decode(),
            base64.urlsafe_b64encode(b"\xff\xfe").decode(),
            "A" * 10_000,
        ],
    )
    async def test_a_crafted_cursor_is_a_4xx(self, system: Any, cursor: str) -> None:
        body = search_body()
        body["query"]["cursor"] = cursor
        response = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
        assert 400 <= response.status_code < 500, response.text

    @pytest.mark.parametrize("bad", NOT_UUIDS)
    async def test_an_id_that_is_not_an_id_is_a_404_or_422(self, system: Any, bad: str) -> None:
        admin = system.token("admin")
        purpose = urlencode(PURPOSE)
        finding = {"event_id": str(uuid.uuid4()), "verdict": "compliant"}
        probes = [
            ("GET", f"/v1/reads/{bad}?{purpose}", system.token("officer"), None),
            ("GET", f"/v1/reads/{bad}/image?{purpose}", system.token("officer"), None),
            ("GET", f"/v1/alerts/{bad}", system.token("officer"), None),
            ("GET", f"/v1/alerts/{bad}/image", system.token("officer"), None),
            ("POST", f"/v1/alerts/{bad}/disposition", system.token("officer"), {"code": "confirmed"}),
            ("GET", f"/v1/holds/{bad}", system.token("officer"), None),
            ("POST", f"/v1/holds/{bad}/decision", system.token("supervisor"), {"approve": True}),
            ("GET", f"/v1/approvals/{bad}", system.token("supervisor"), None),
            ("POST", f"/v1/approvals/{bad}/decision", system.token("supervisor"), {"decision": "refuse"}),
            ("GET", f"/v1/admin/agreements/{bad}", admin, None),
            ("POST", f"/v1/admin/agreement-proposals/{bad}/approval", system.token("custodian"), None),
            ("GET", f"/v1/hotlists/{bad}", system.token("officer"), None),
            ("GET", f"/v1/hotlists/{bad}/entries", system.token("officer"), None),
            ("POST", f"/v1/hotlists/{bad}/entries", admin, {"plate": "7ABC123", "reason": "stolen"}),
            ("DELETE", f"/v1/hotlists/{bad}/entries/{bad}", admin, None),
            ("POST", f"/v1/admin/agreements/{bad}/revocation", admin, {"reason": "The partner breached term 3"}),
            ("GET", f"/v1/audit/samples/{bad}", system.token("auditor"), None),
            ("POST", f"/v1/audit/samples/{bad}/findings", system.token("auditor"), finding),
            ("GET", f"/v1/audit/proofs/inclusion/{bad}", system.token("auditor"), None),
        ]
        for method, path, headers, body in probes:
            response = await system.gateway.request(method, path, headers=headers, json=body)
            assert response.status_code in (404, 422), (method, path, response.status_code, response.text)


class TestNumbers:
    @pytest.mark.parametrize("size", ["-1", "0", "99999999999999999999", "1.5"])
    async def test_a_proof_size_out_of_range_is_a_422(self, system: Any, size: str) -> None:
        auditor = system.token("auditor")
        params = {"old_size": size, "new_size": size}
        consistency = await system.gateway.get("/v1/audit/proofs/consistency", params=params, headers=auditor)
        assert consistency.status_code == 422, consistency.text
        inclusion = await system.gateway.get(
            f"/v1/audit/proofs/inclusion/{uuid.uuid4()}", params={"tree_size": size}, headers=auditor
        )
        assert inclusion.status_code == 422, inclusion.text

    @pytest.mark.parametrize("last_event_id", ["-1", "18446744073709551616", "99999999999999999999999", "x"])
    async def test_a_last_event_id_past_a_stream_sequence_is_a_422(self, system: Any, last_event_id: str) -> None:
        headers = {**system.token("officer"), "Last-Event-ID": last_event_id}
        response = await system.gateway.get("/v1/alerts/stream", headers=headers)
        assert response.status_code == 422, response.text


class TestTheLastCatch:
    async def test_an_unexpected_error_is_a_logged_500_with_the_error_body(self, caplog: Any) -> None:
        app = FastAPI()
        install_common(app, "gateway")
        app.add_middleware(InputDoor)

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("a bug of ours")

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/boom")
            refused = await client.get("/boom", params={"q": "a\x00"})
        assert response.status_code == 500 and response.json()["error"]["code"] == "internal_error"
        assert "a bug of ours" not in response.text and "a bug of ours" in caplog.text
        assert refused.status_code == 422

    async def test_a_contract_refusing_what_the_caller_sent_is_a_422(self) -> None:
        app = FastAPI()
        install_common(app, "gateway")
        app.add_middleware(InputDoor)

        @app.get("/purpose")
        async def purpose(case_number: str) -> None:
            Purpose(use=AuthorizedUse.WANTED_SUSPECT, case_number=case_number, reason="x")

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/purpose", params={"case_number": "x" * 65})
        assert response.status_code == 422 and response.json()["error"]["details"]["fields"] == ["case_number"]


async def _requested_approval(system: Any) -> str:
    now = datetime.now(UTC)
    query = {
        "plate": "8AB*",
        "match": "partial",
        "since": (now - timedelta(days=2)).isoformat(),
        "until": now.isoformat(),
    }
    body = {"query": query, "purpose": PURPOSE, "justification": "Witness recalled only the first three characters"}
    response = await system.gateway.post("/v1/approvals", json=body, headers=system.token("analyst"))
    assert response.status_code == 201, response.text
    return str(response.json()["approval_id"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims() -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"iss": DEV_ISSUER, "aud": DEV_AUDIENCE, "sub": "attacker-not-in-registry", "iat": now, "exp": now + 600}


def _token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(b'sig')}"
