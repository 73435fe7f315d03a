"""The gateway's OpenAPI as an integrator uses it (issue 27, item 5): the credentials each operation takes,
short unique operation ids, an example for every refusal, the vendors' samples; and the wire behind it:
the error envelope on unknown paths and methods, and a challenge on every 401."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from services.gateway.api.openapi import MAX_OPERATION_ID

pytestmark = pytest.mark.asyncio(loop_scope="session")
EXAMPLES = Path(__file__).parents[3] / "services" / "gateway" / "api" / "openapi_examples"
CAMERA_FORMS = [{"camera_bearer": []}, {"camera_basic": []}, {"camera_key": []}, {"camera_key_query": []}]


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


class TestSchema:
    async def test_every_operation_names_declared_credentials_or_none(self, system) -> None:
        spec = system.apps["gateway"].openapi()
        schemes = spec["components"]["securitySchemes"]
        assert schemes["officer"] == {**schemes["officer"], "type": "http", "scheme": "bearer"}
        assert schemes["camera_key"]["name"] == "X-API-Key" and schemes["camera_key_query"]["in"] == "query"
        undeclared = [
            f"{m.upper()} {p}"
            for m, p, op in operations(spec)
            if "security" not in op or any(name not in schemes for req in op["security"] for name in req)
        ]
        assert not undeclared, undeclared
        by_route = {(m, p): op["security"] for m, p, op in operations(spec)}
        assert by_route[("post", "/v1/searches")] == [{"officer": []}]
        assert by_route[("post", "/partner/v1/searches")] == [{"partner": []}]
        assert by_route[("get", "/public/policy")] == []
        for path in ("/v1/reads", "/v1/ingest", "/v1/ingest/{fmt}"):
            assert by_route[("post", path)] == CAMERA_FORMS, path

    async def test_operation_ids_are_short_and_unique(self, system) -> None:
        spec = system.apps["gateway"].openapi()
        ids = [op["operationId"] for _, _, op in operations(spec)]
        assert len(ids) == len(set(ids)) == len(operations(spec))
        assert max(len(i) for i in ids) <= MAX_OPERATION_ID
        assert "searches_search" in ids and "reads_read_detail" in ids

    async def test_every_refusal_has_an_example_in_the_envelope_and_no_get_can_be_too_large(self, system) -> None:
        spec = system.apps["gateway"].openapi()
        missing, too_large = [], []
        for method, path, op in operations(spec):
            if method == "get" and "413" in op["responses"]:
                too_large.append(path)
            for status in ("401", "403", "404", "409", "422", "429", "503"):
                media = op["responses"].get(status, {}).get("content", {}).get("application/json", {})
                example = media.get("example") or next(iter(media.get("examples", {}).values()), {}).get("value")
                if not (isinstance(example, dict) and {"code", "message"} <= set(example.get("error", {}))):
                    missing.append(f"{method.upper()} {path} {status}")
        assert not missing, missing
        assert not too_large, too_large
        assert "413" in spec["paths"]["/v1/searches"]["post"]["responses"]
        assert "WWW-Authenticate" in spec["paths"]["/v1/searches"]["post"]["responses"]["401"]["headers"]

    async def test_camera_posts_show_the_native_schemas_formats_and_each_vendors_sample(self, system) -> None:
        spec = system.apps["gateway"].openapi()
        native = spec["paths"]["/v1/reads"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert [s["title"] for s in native["anyOf"]] == ["NativeRead", "NativeBatch"]
        vendor = spec["paths"]["/v1/ingest/{fmt}"]["post"]
        fmt = next(p for p in vendor["parameters"] if p["name"] == "fmt")
        assert {"genetec", "hikvision", "openalpr", "platerecognizer", "axis"} <= set(fmt["schema"]["enum"])
        documented = {
            name: example["value"]
            for media in vendor["requestBody"]["content"].values()
            for name, example in media.get("examples", {}).items()
        }
        for sample in EXAMPLES.iterdir():
            text = sample.read_text()
            assert documented[sample.name] == (json.loads(text) if sample.suffix == ".json" else text), sample.name

    async def test_read_detail_and_image_declare_the_purpose(self, system) -> None:
        spec = system.apps["gateway"].openapi()
        for path in ("/v1/reads/{read_id}", "/v1/reads/{read_id}/image"):
            names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
            assert {"search_id", "use", "case_number", "reason"} <= names, path


class TestWire:
    @pytest.mark.parametrize(
        ("method", "path", "status", "code"),
        [
            ("GET", "/no/such/path", 404, "not_found"),
            ("POST", "/v1/ingest/genetec/extra", 404, "not_found"),
            ("DELETE", "/v1/searches", 405, "method_not_allowed"),
            ("GET", "/v1/reads", 405, "method_not_allowed"),
        ],
    )
    async def test_unknown_paths_and_methods_answer_the_envelope(self, system, method, path, status, code) -> None:
        response = await system.gateway.request(method, path, headers=system.token("officer"))
        assert response.status_code == status
        assert response.json() == {"error": {"code": code, "message": response.json()["error"]["message"]}}

    async def test_a_request_without_a_token_is_challenged_without_an_error_code(self, system) -> None:
        response = await system.gateway.get("/v1/alerts")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="alpr"'

    async def test_a_refused_token_is_challenged_as_invalid(self, system) -> None:
        response = await system.gateway.get("/v1/alerts", headers={"Authorization": "Bearer not.a.token"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="alpr", error="invalid_token"'

    async def test_a_camera_is_offered_bearer_and_basic(self, system) -> None:
        response = await system.gateway.post("/v1/reads", json={})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="alpr", Basic realm="alpr"'
        basic = base64.b64encode(b"nocamera:wrong").decode()
        response = await system.gateway.post("/v1/reads", json={}, headers={"Authorization": f"Basic {basic}"})
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert 'Basic realm="alpr"' in response.headers["www-authenticate"]


class TestDocs:
    @pytest.mark.parametrize("page", ["/docs", "/redoc"])
    async def test_the_docs_load_nothing_from_another_host(self, system, page) -> None:
        response = await system.gateway.get(page)
        assert response.status_code == 200
        assert not re.findall(r"(?:https?:)?//[\w.-]+\.\w+", response.text), "a page that loads from a CDN"
        referenced = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", response.text)
        assert "/openapi.json" in referenced
        # the assets of fastapi-offline, a dependency: the page is the real UI, not the fallback's link
        assert any(url.endswith(("swagger-ui-bundle.js", "redoc.standalone.js")) for url in referenced)
        for url in referenced:
            assert url.startswith("/"), url
            assert (await system.gateway.get(url)).status_code == 200, url
