"""A partner agency as a hostile client: bytes PostgreSQL refuses, deep JSON, extreme times and tokens or
client credentials of any shape are a 4xx, and the partner API (and ours) answers as before (issue #21)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.sharing.oauth.client_assertion import ASSERTION_TYPE

pytestmark = pytest.mark.asyncio(loop_scope="session")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def plate() -> str:
    return "6" + uuid.uuid4().hex[:6].upper()


async def search(system: Any, token: str, body: Any) -> Any:
    """Posted as escaped ASCII, so a lone surrogate travels as the `\\ud800` a hostile client would send."""
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    return await system.gateway.post("/partner/v1/searches", content=json.dumps(body), headers=headers)


async def ordinary_searches_answer(system: Any, partners: Any, token: str, ori: str) -> None:
    partner = await search(system, token, partners.search_body(ori, plate()))
    assert partner.status_code == 200, partner.text
    now = datetime.now(UTC)
    body = {
        "query": {"plate": plate(), "since": (now - timedelta(days=1)).isoformat(), "until": now.isoformat()},
        "purpose": {
            "use": "stolen_or_wanted_vehicle",
            "case_number": "SJ-2026-004211",
            "reason": "Stolen at knifepoint 11/27 near Story Rd",
        },
    }
    ours = await system.gateway.post("/v1/searches", json=body, headers=system.token("officer"))
    assert ours.status_code == 200, ours.text


def field_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    return str(error.get("details", {}).get("field") or ",".join(error.get("fields", [])))


class TestPartnerSearchText:
    @pytest.mark.parametrize("bad", ["Det.\x00Diaz", "Det.\x1bDiaz", "\ud800", "Det.\nDiaz", "D" * 201])
    async def test_a_requester_name_that_could_not_be_stored_is_refused(self, system, partners, bad: str) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        body = partners.search_body(setup["ori"], plate(), requester={"name": bad, "badge": "4412"})
        assert field_of(await search(system, token, body)).endswith("requester.name")
        await ordinary_searches_answer(system, partners, token, setup["ori"])

    async def test_nul_in_the_purpose_or_an_agency_is_refused(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        purpose = {"use": "stolen_or_wanted_vehicle", "case_number": "SC-1", "reason": "Stolen\x00 vehicle 11/27"}
        body = partners.search_body(setup["ori"], plate(), purpose=purpose)
        assert field_of(await search(system, token, body)).endswith("purpose.reason")
        body = partners.search_body(setup["ori"], plate(), agency={"ori": setup["ori"], "name": "Sheriff\x00"})
        assert field_of(await search(system, token, body)).endswith("agency.name")
        await ordinary_searches_answer(system, partners, token, setup["ori"])

    @pytest.mark.parametrize("at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"])
    async def test_a_window_outside_the_years_we_carry_is_a_422(self, system, partners, at: str) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        for end in ("since", "until"):
            response = await search(system, token, partners.search_body(setup["ori"], plate(), **{end: at}))
            assert field_of(response) == end

    async def test_deep_json_is_a_400(self, system, partners) -> None:
        setup = await partners.shared_client()
        token = await partners.token(setup)
        for path in ("/partner/v1/searches", "/partner/v1/hotlists"):
            headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
            response = await system.gateway.request(
                "POST" if "searches" in path else "PUT", path, content="[" * 100_000, headers=headers
            )
            assert response.status_code == 400 and response.json()["error"]["code"] == "json_too_deep"


class TestPartnerCredentials:
    @pytest.mark.parametrize("kid", [["k"], {"k": 1}, 7, None, True])
    async def test_an_access_token_with_a_kid_of_any_json_type_is_a_401(self, system, kid: Any) -> None:
        header = b64(json.dumps({"alg": "ES256", "typ": "at+jwt", "kid": kid}).encode())
        token = f"{header}.{b64(b'{}')}.{b64(b'sig')}"
        for method, path in (("GET", "/partner/v1/hotlists"), ("POST", "/partner/v1/searches")):
            response = await system.gateway.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text

    @pytest.mark.parametrize("pair", ["dev-partner%00:secret", "dev%01partner:secret", "dev-partner:se%00cret"])
    async def test_basic_credentials_with_control_characters_are_invalid_client(self, system, pair: str) -> None:
        authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        form = {"grant_type": "client_credentials"}
        response = await system.gateway.post("/oauth/token", data=form, headers={"Authorization": authorization})
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"

    @pytest.mark.parametrize("header", [{"alg": ["ES256"]}, {"alg": "ES256", "kid": ["k"]}, [1], None])
    async def test_a_client_assertion_of_any_header_shape_is_invalid_client(self, system, header: Any) -> None:
        now = int(datetime.now(UTC).timestamp())
        claims = {"iss": "dev-partner", "sub": "dev-partner", "aud": "x", "exp": now + 60, "jti": "j"}
        assertion = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(b'sig')}"
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE}
        response = await system.gateway.post("/oauth/token", data={**form, "client_assertion": assertion})
        assert response.status_code in (400, 401) and response.json()["error"] == "invalid_client", response.text
