"""The gateway's OpenAPI schema is complete enough to build a client from: every request body has an example."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="session")


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return resolve(components[ref.rsplit("/", 1)[-1]], components)
    return schema


def has_example(media: dict[str, Any], components: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = resolve(media.get("schema", {}), components)
    if schema.get("examples") or schema.get("example") is not None:
        return True
    # a body whose every field documents an example is exemplified too
    properties = schema.get("properties", {})
    return bool(properties) and all(
        resolve(p, components).get("examples") or resolve(p, components).get("example") is not None
        for p in properties.values()
    )


async def test_every_request_body_has_an_example(system) -> None:
    spec = system.apps["gateway"].openapi()
    components = spec.get("components", {}).get("schemas", {})
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if not body:
                continue
            for content_type, media in body.get("content", {}).items():
                if not has_example(media, components):
                    missing.append(f"{method.upper()} {path} ({content_type})")
    assert not missing, "request bodies without an example: " + ", ".join(missing)


async def test_every_operation_is_tagged_and_described(system) -> None:
    spec = system.apps["gateway"].openapi()
    untagged = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items() if not op.get("tags")]
    assert not untagged, untagged
    assert spec["info"]["title"] == "ALPR gateway"


async def test_every_error_response_is_documented_with_the_stable_code_envelope(system) -> None:
    spec = system.apps["gateway"].openapi()
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["code", "message"]
    assert envelope["required"] == ["error"]
    wrong = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("401", "403", "422", "429", "503"):
                schema = operation["responses"].get(status, {}).get("content", {}).get("application/json", {})
                # the token endpoint may also answer in RFC 6749's form, beside the envelope
                refs = [s.get("$ref") for s in schema.get("schema", {}).get("anyOf", [schema.get("schema", {})])]
                if "#/components/schemas/ErrorEnvelope" not in refs:
                    wrong.append(f"{method.upper()} {path} {status}")
    assert not wrong, wrong


async def test_a_refusal_on_the_wire_has_the_documented_shape(system) -> None:
    from libs.common.contracts.errors import ErrorEnvelope

    response = await system.gateway.post("/v1/approvals", json={}, headers=system.token("officer"))
    assert response.status_code == 422
    body = ErrorEnvelope.model_validate(response.json())
    assert body.error.code == "invalid_request" and "body.query" in (body.error.fields or [])
