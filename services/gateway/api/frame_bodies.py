"""The request body and replies of `POST /v1/ingest/image` as the OpenAPI declares them.

The route reads the raw body itself (services/gateway/ingest/frame_post.py is the rule); this is what
integrators and the fuzzer are told a camera sends and gets back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from libs.common.contracts.errors import ErrorEnvelope

_BINARY = {
    "type": "string",
    "format": "binary",
    "description": "The photograph as taken: JPEG, PNG or WebP by its bytes (the Content-Type is not believed), "
    "at most 8 MiB, 40 megapixels and 8192 pixels a side",
}
_FIELDS: dict[str, dict[str, Any]] = {
    "captured_at": {
        "type": "string",
        "format": "date-time",
        "description": "When the camera took it, with a zone; within the retention window and at most the "
        "clock-skew allowance ahead. Without it, the time the gateway received it",
        "example": "2026-12-01T15:04:05-08:00",
    },
    "latitude": {
        "type": "number",
        "minimum": -90,
        "maximum": 90,
        "description": "With longitude; without both, the camera's registered position",
        "example": 37.3349,
    },
    "longitude": {"type": "number", "minimum": -180, "maximum": 180, "example": -121.8881},
}
FRAME_BODY: dict[str, Any] = {
    "required": True,
    "description": "The photograph alone as the body, or a form with the photograph and what the camera knows.",
    "content": {
        "image/jpeg": {"schema": _BINARY, "example": "(the JPEG's bytes)"},
        "image/png": {"schema": _BINARY, "example": "(the PNG's bytes)"},
        "image/webp": {"schema": _BINARY, "example": "(the WebP's bytes)"},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["image"],
                "properties": {"image": {**_BINARY, "example": "(the JPEG's bytes)"}, **_FIELDS},
            },
            "encoding": {"image": {"contentType": "image/jpeg, image/png, image/webp"}},
        },
    },
}


class FrameAccepted(BaseModel):
    """202: the stream holds the photograph; its plates become reads once the recognizer has read them.

    A resend of the same photograph (same camera, bytes and `captured_at`) answers the same `frame_id`.
    """

    frame_id: str = Field(examples=["0f5c1c3e-7a4e-5b1d-9a7e-2d3c4b5a6f70"])
    status: Literal["pending"] = "pending"
    status_url: str = Field(
        description="Where the camera asks for the outcome (GET, its own credential)",
        examples=["/v1/ingest/image/0f5c1c3e-7a4e-5b1d-9a7e-2d3c4b5a6f70"],
    )


# the refusals this route adds to the shared ones, each with its stable code
FRAME_REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {
        "model": ErrorEnvelope,
        "description": "`image_too_large`: the image over 8 MiB, 40 megapixels or 8192 pixels a side, or the "
        "post over 8 MiB and 64 KiB",
    },
    422: {
        "model": ErrorEnvelope,
        "description": "`image_missing` (an empty body or form without `image`), `not_an_image` (not JPEG, PNG or "
        "WebP by its bytes), `image_undecodable` (its header does not read), `invalid_field`, "
        "`captured_before_retention` or `captured_in_future` (the form's fields)",
    },
    503: {
        "model": ErrorEnvelope,
        "description": "`bus_unavailable` (the stream did not take it) or `frame_not_recorded` (the stream has it, "
        "the gateway could not note which camera sent it): retry the same post, which is held once",
    },
}
