"""The typed error family: every refusal the system makes has a status and a stable code."""

from __future__ import annotations

from typing import Any, ClassVar


class AlprError(Exception):
    """Base of all expected failures; mapped to HTTP and to NATS error replies in one place each."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str = "", *, code: str | None = None, **details: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details

    def to_body(self) -> dict[str, Any]:
        """The wire form shared by HTTP responses and NATS error replies."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(AlprError):
    status = 422
    code = "invalid_input"


class MalformedPayload(AlprError):
    status = 400
    code = "malformed_payload"


class PayloadTooLarge(AlprError):
    status = 413
    code = "payload_too_large"


class Unauthenticated(AlprError):
    status = 401
    code = "unauthenticated"


class Forbidden(AlprError):
    status = 403
    code = "forbidden"


class NotFound(AlprError):
    status = 404
    code = "not_found"


class Conflict(AlprError):
    status = 409
    code = "conflict"


class RateLimited(AlprError):
    status = 429
    code = "rate_limited"


class Unavailable(AlprError):
    """A dependency (bus, database, audit acknowledgement) could not be reached: fail closed."""

    status = 503
    code = "unavailable"


ERRORS_BY_CODE: dict[str, type[AlprError]] = {
    cls.code: cls
    for cls in (
        AlprError,
        InvalidInput,
        MalformedPayload,
        PayloadTooLarge,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        RateLimited,
        Unavailable,
    )
}


def error_from_body(body: dict[str, Any], status: int | None = None) -> AlprError:
    """Rebuild a typed error from its wire form (a NATS error reply)."""
    code = str(body.get("code", "internal_error"))
    cls = ERRORS_BY_CODE.get(code)
    if cls is None:
        cls = next((c for c in ERRORS_BY_CODE.values() if c.status == status), AlprError)
    err = cls(str(body.get("message", code)), code=code, **(body.get("details") or {}))
    return err
