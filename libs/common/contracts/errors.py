"""The wire form of every refusal, as the OpenAPI schema documents it for each operation."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="Stable and specific: programs branch on it", examples=["approval_required"])
    message: str = Field(
        description="For people; may change", examples=["a broad search needs a supervisor's approval"]
    )
    details: dict[str, Any] | None = None
    fields: list[str] | None = Field(default=None, description="The invalid request fields (code invalid_request)")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Malformed payload"),
        (401, "Not authenticated: every credential failure gets the same answer"),
        (403, "Not permitted, not eligible, or the purpose or approval does not stand"),
        (404, "Not found (or not yours: the two are answered alike)"),
        (409, "The change conflicts with the current state"),
        (413, "Payload too large"),
        (422, "The request is not valid (invalid_request) or a rule refused it"),
        (429, "Rate limited; see Retry-After"),
        (503, "A dependency is unavailable; nothing was returned or changed"),
    )
}
