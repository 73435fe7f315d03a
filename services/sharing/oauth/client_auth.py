"""The client credentials grant (RFC 6749 §4.4): parse the token request, authenticate, grant scopes."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

from pydantic import BaseModel, ConfigDict

from libs.common.oauth.errors import InvalidClient, OAuthError
from libs.common.validation import text_problem
from services.sharing.oauth.client_assertion import (
    ASSERTION_TYPE,
    assertion_issuer,
    verify_client_assertion,
)
from services.sharing.oauth.client_secrets import decoy_hash, verify_client_secret
from services.sharing.partners.agreements import Agreement, Scope, is_in_force

GRANT_TYPE = "client_credentials"
MAX_CLIENT_ID = 200
AuthMethod = Literal["client_secret_basic", "private_key_jwt"]
# RFC 6749 §3.3: scope tokens are printable ASCII other than space, `"` and `\`.
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")


class OAuthClient(BaseModel):
    """A partner's registered client: bound to one agreement, with a secret hash or a public JWK."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    agreement_id: str
    auth_method: AuthMethod
    secret_hash: str | None = None
    public_jwk: dict[str, Any] | None = None
    active: bool = True


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A parsed token request: who claims to ask, how they prove it, and which scopes they want."""

    client_id: str
    auth_method: AuthMethod
    scopes: frozenset[str] | None
    secret: str | None = field(default=None, repr=False)
    assertion: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """A client that proved itself; `assertion_jti` must be refused if seen again before it expires."""

    client: OAuthClient
    assertion_jti: str | None = None
    assertion_expires_at: datetime | None = None


def parse_token_request(form: Mapping[str, Any], authorization: str | None) -> TokenRequest:
    """Read the form body and Authorization header; refuse what RFC 6749 and RFC 7523 do not allow."""
    params = {name: _single(form, name) for name in form}
    grant_type = params.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "Only client_credentials is supported")
    scopes = _parse_scope(params.get("scope"))
    basic = authorization is not None and authorization[:6].lower() == "basic "
    assertion = "client_assertion" in params or "client_assertion_type" in params
    post_secret = "client_secret" in params
    if basic + assertion + post_secret > 1:
        raise OAuthError("invalid_request", "Use exactly one client authentication method")
    if authorization is not None and not basic:
        raise InvalidClient("The Authorization header must use the Basic scheme")
    if post_secret:
        raise InvalidClient("client_secret_post is not accepted; send the secret with HTTP Basic")
    if basic and authorization is not None:
        client_id, secret = _decode_basic(authorization[6:])
        if params.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the authenticated client")
        return TokenRequest(client_id, "client_secret_basic", scopes, secret=secret)
    if assertion:
        if params.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidClient(f"client_assertion_type must be {ASSERTION_TYPE}")
        token = params.get("client_assertion") or ""
        issuer = assertion_issuer(token)
        if issuer is None:
            raise InvalidClient("The client assertion is not a JWT with an iss")
        if params.get("client_id", issuer) != issuer:
            raise InvalidClient("client_id differs from the assertion's iss")
        return TokenRequest(issuer, "private_key_jwt", scopes, assertion=token)
    raise InvalidClient("Client authentication is required")


def authenticate_client(
    request: TokenRequest, client: OAuthClient | None, *, token_endpoint: str, now: datetime
) -> AuthenticatedClient:
    """Check the request's credential against the registered client (None when the id is unknown)."""
    known = client is not None and client.active and client.client_id == request.client_id
    if client is None or not known or request.auth_method != client.auth_method:
        if request.secret is not None:
            # An unknown id costs the same scrypt as a known one, so timing does not reveal which exist.
            verify_client_secret(request.secret, decoy_hash())
        raise InvalidClient()
    if request.auth_method == "client_secret_basic":
        if request.secret is None or not verify_client_secret(request.secret, client.secret_hash or ""):
            raise InvalidClient()
        return AuthenticatedClient(client)
    if request.assertion is None or client.public_jwk is None:
        raise InvalidClient()
    verified = verify_client_assertion(
        request.assertion,
        client.public_jwk,
        client_id=client.client_id,
        token_endpoint=token_endpoint,
        now=now,
    )
    return AuthenticatedClient(client, verified.jti, verified.expires_at)


def grant_scopes(
    requested: frozenset[str] | None, client: OAuthClient, agreement: Agreement, *, now: datetime
) -> frozenset[str]:
    """The scopes to put in the token: what was asked, if the agreement grants it all; else its scopes."""
    if agreement.id != client.agreement_id or not is_in_force(agreement, now):
        raise OAuthError("unauthorized_client", "The client's agreement is not in force")
    granted = frozenset(Scope(scope).value for scope in agreement.scopes)
    if requested is None:
        return granted
    if not requested <= granted:
        refused = " ".join(sorted(requested - granted))
        raise OAuthError("invalid_scope", f"The agreement does not grant: {refused}")
    return requested


def _single(form: Mapping[str, Any], name: str) -> str:
    # §3.2: a parameter sent more than once makes the request invalid.
    value = form[name]
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise OAuthError("invalid_request", f"{name} must be sent once")
        value = value[0]
    if not isinstance(value, str):
        raise OAuthError("invalid_request", f"{name} must be text")
    return value


def _parse_scope(raw: str | None) -> frozenset[str] | None:
    if raw is None or not raw.strip():
        return None
    tokens = raw.split(" ")
    if any(not SCOPE_TOKEN.fullmatch(token) for token in tokens if token) or "" in tokens[1:-1]:
        raise OAuthError("invalid_scope", "scope is a list of tokens separated by single spaces")
    return frozenset(token for token in tokens if token)


def _decode_basic(credentials: str) -> tuple[str, str]:
    # §2.3.1: id and secret are form-urlencoded before Basic encoding, so decode both after splitting.
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("The Basic credentials are not valid base64") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise InvalidClient("The Basic credentials must be client_id:client_secret")
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    # decoded after the door's checks, so checked here: a NUL must not reach the client lookup
    if text_problem(client_id) or text_problem(secret) or len(client_id) > MAX_CLIENT_ID:
        raise InvalidClient("The Basic credentials hold characters no client id or secret has")
    return client_id, secret
