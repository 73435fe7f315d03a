"""Token endpoint errors in the form RFC 6749 §5.2 prescribes, as members of the AlprError family."""

from __future__ import annotations

from typing import Any

from libs.common.errors import AlprError

OAUTH_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
# §5.1: token endpoint answers, errors included, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(AlprError):
    """A refusal at the token endpoint: 400 with `{"error", "error_description"}`."""

    status = 400
    code = "invalid_request"

    def __init__(self, error: str, description: str) -> None:
        if error not in OAUTH_ERROR_CODES:
            raise ValueError(f"{error!r} is not an RFC 6749 token error code")
        # §5.2 limits error_description to printable ASCII without `"` or `\`.
        clean = "".join(c for c in description if " " <= c <= "~" and c not in '"\\')
        super().__init__(clean, code=error)

    @property
    def headers(self) -> dict[str, str]:
        """Headers the HTTP layer must send with the body."""
        return dict(NO_STORE)

    def to_body(self) -> dict[str, Any]:
        """The RFC 6749 wire form, which partners' OAuth libraries parse; not the house's `code` body."""
        return {"error": self.code, "error_description": self.message}


class InvalidClient(OAuthError):
    """Client authentication failed: 401 with a `WWW-Authenticate` challenge (§5.2)."""

    status = 401

    def __init__(self, description: str = "Client authentication failed") -> None:
        super().__init__("invalid_client", description)

    @property
    def headers(self) -> dict[str, str]:
        """The challenge names Basic, the scheme this endpoint accepts in the Authorization header."""
        return {**NO_STORE, "WWW-Authenticate": 'Basic realm="partner", charset="UTF-8"'}


def oauth_error_from_body(body: dict[str, Any]) -> OAuthError | None:
    """Rebuild a token endpoint error from its wire form (a NATS reply); None if it is not one."""
    error = body.get("error")
    if error not in OAUTH_ERROR_CODES:
        return None
    description = str(body.get("error_description", error))
    return InvalidClient(description) if error == "invalid_client" else OAuthError(error, description)
