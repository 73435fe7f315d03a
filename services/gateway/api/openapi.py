"""The gateway's OpenAPI as integrators generate clients from it: short operation ids, the credentials each
operation takes (so Swagger shows an Authorize button), an example for every error, the vendors' own samples.

The schema FastAPI builds from the routes is the base; `gateway_openapi` adds what FastAPI cannot infer from a
signature and caches the result on the app, as FastAPI's own `openapi()` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from services.gateway.api.deps import current_camera, current_principal
from services.gateway.api.partner import partner_credentials

MAX_OPERATION_ID = 40
_EXAMPLES = Path(__file__).with_name("openapi_examples")
_CHALLENGE = 'Bearer realm="alpr"'

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "officer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A person's token from the department's identity provider",
    },
    "partner": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A partner agency's token from POST /oauth/token",
    },
    "partner_client": {
        "type": "http",
        "scheme": "basic",
        "description": "client_id:client_secret (client_secret_basic); or a client assertion in the form",
    },
    "camera_bearer": {"type": "http", "scheme": "bearer", "description": "The camera's credential `id.secret`"},
    "camera_basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The camera's credential as user `id`, password `secret`, for agents that put it in the URL",
    },
    "camera_key": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The camera's credential"},
    "camera_key_query": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "The camera's credential, for agents that can only configure a URL",
    },
}
_SECURITY_BY_DEPENDENCY: dict[Callable[..., Any], list[dict[str, list[str]]]] = {
    current_principal: [{"officer": []}],
    partner_credentials: [{"partner": []}],
    current_camera: [{"camera_bearer": []}, {"camera_basic": []}, {"camera_key": []}, {"camera_key_query": []}],
}
# the token endpoint reads its client's credential itself: Basic, or a signed assertion in the form
_TOKEN_SECURITY: list[dict[str, list[str]]] = [{"partner_client": []}, {}]

# one example per shared refusal, in the documented envelope; codes are ones the gateway answers
_ERROR_EXAMPLES: dict[str, tuple[str, str]] = {
    "400": ("malformed_payload", "the body is not valid JSON"),
    "401": ("unauthenticated", "authentication failed"),
    "403": ("forbidden", "your role does not permit this"),
    "404": ("not_found", "no such read"),
    "405": ("method_not_allowed", "Method Not Allowed"),
    "409": ("conflict", "the change conflicts with the current state"),
    "413": ("payload_too_large", "the body exceeds 10485760 bytes"),
    "422": ("invalid_request", "the request is not valid"),
    "429": ("rate_limited", "too many requests; retry after the Retry-After seconds"),
    "503": ("dependency_unavailable", "a dependency is unavailable; retry"),
}
_PURPOSE_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "use",
        "in": "query",
        "required": False,
        "description": "The authorized use, when the view follows from no search (`search_id`)",
        "schema": {"$ref": "#/components/schemas/AuthorizedUse"},
    },
    {
        "name": "case_number",
        "in": "query",
        "required": False,
        "description": "The case the view concerns; required with `use`",
        "schema": {"type": "string", "maxLength": 64},
        "example": "SJ-2026-004211",
    },
    {
        "name": "reason",
        "in": "query",
        "required": False,
        "description": "Why this read is looked at; required with `use`",
        "schema": {"type": "string", "maxLength": 2000},
        "example": "Vehicle reported stolen at knifepoint on 11/27",
    },
]
_PURPOSE_OPERATIONS = (("/v1/reads/{read_id}", "get"), ("/v1/reads/{read_id}/image", "get"))
_BODILESS = frozenset({"get", "delete", "head"})
# sample file → (media type, the `fmt` it is posted under)
_VENDOR_SAMPLES: dict[str, tuple[str, str]] = {
    "genetec_sharpv_http_read.json": ("application/json", "genetec"),
    "genetec_sharpv_http_read.xml": ("application/xml", "genetec"),
    "hikvision_anpr_EventNotificationAlert.xml": ("application/xml", "hikvision"),
    "openalpr_agent_alpr_group_v2.json": ("application/json", "openalpr"),
    "openalpr_agent_alpr_group_v1_2015.json": ("application/json", "openalpr"),
    "openalpr_agent_alpr_results_v2.json": ("application/json", "openalpr"),
    "openalpr_cli_alpr_j_v2.json": ("application/json", "openalpr"),
    "platerecognizer_snapshot_webhook_image_done.json": ("application/json", "platerecognizer"),
    "platerecognizer_stream_webhook_recognition.json": ("application/json", "platerecognizer"),
}


def operation_id(route: APIRoute) -> str:
    """`{area}_{handler}`: `searches_search`, `audit_export`; tests hold them short and unique."""
    area = str(route.tags[0]) if route.tags else "gateway"
    name = route.name if route.name.startswith(area) else f"{area}_{route.name}"
    return name[:MAX_OPERATION_ID]


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def route_security(route: APIRoute) -> list[dict[str, list[str]]] | None:
    """The credentials a route accepts, from the dependencies it resolves; None for a route open to anyone."""
    if route.name == "token" and route.tags == ["partner"]:
        return _TOKEN_SECURITY
    for call in _calls(route.dependant):
        if call in _SECURITY_BY_DEPENDENCY:
            return _SECURITY_BY_DEPENDENCY[call]
    return None


def _vendor_examples() -> dict[str, dict[str, dict[str, Any]]]:
    """Media type → named examples, one per vendor sample shipped beside this module."""
    by_media: dict[str, dict[str, dict[str, Any]]] = {}
    for filename, (media, fmt) in _VENDOR_SAMPLES.items():
        text = (_EXAMPLES / filename).read_text()
        value: Any = json.loads(text) if media == "application/json" else text
        by_media.setdefault(media, {})[filename] = {"summary": f"{fmt}: {filename}", "value": value}
    return by_media


def _error_example(status: str) -> dict[str, Any]:
    code, message = _ERROR_EXAMPLES[status]
    return {"error": {"code": code, "message": message}}


def _document_errors(method: str, operation: dict[str, Any], secured: bool) -> None:
    responses: dict[str, Any] = operation["responses"]
    if method in _BODILESS:
        responses.pop("413", None)  # no body, so never too large
    for status, response in responses.items():
        media = response.get("content", {}).get("application/json")
        if status in _ERROR_EXAMPLES and media is not None and "example" not in media and "examples" not in media:
            media["example"] = _error_example(status)
    if secured and "401" in responses:
        responses["401"].setdefault("headers", {})["WWW-Authenticate"] = {
            "description": f'The challenge, e.g. `{_CHALLENGE}, error="invalid_token"` (RFC 6750)',
            "schema": {"type": "string"},
        }


def build_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema of the app's routes, completed for integrators."""
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        servers=app.servers,
        openapi_version=app.openapi_version,
        tags=app.openapi_tags,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    spec.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    spec["security"] = []  # no global requirement: each operation names its own (none for the public pages)
    vendor = _vendor_examples()
    # included routers are walked as FastAPI's own get_openapi walks them: the route with its mounted path
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path_format
        if not isinstance(route, APIRoute) or path is None or path not in spec["paths"]:
            continue
        security = route_security(route)
        for method in route.methods or ():
            operation = spec["paths"][path].get(method.lower())
            if operation is None:
                continue
            operation["security"] = security or []
            _document_errors(method.lower(), operation, security is not None)
            if (path, method.lower()) in _PURPOSE_OPERATIONS:
                operation.setdefault("parameters", []).extend(_PURPOSE_PARAMETERS)
            if path in ("/v1/ingest", "/v1/ingest/{fmt}"):  # not the photograph's routes
                for media, examples in vendor.items():
                    content = operation["requestBody"]["content"].setdefault(media, {"schema": {}})
                    content["examples"] = {**content.get("examples", {}), **examples}
    return spec


def install_openapi(app: FastAPI) -> None:
    """Serve the completed schema at /openapi.json (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_schema(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
