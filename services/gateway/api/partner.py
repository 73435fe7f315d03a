"""Partner API: the OAuth token endpoint, the published keys, searches and hotlist exchange."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from libs.common import metrics
from libs.common.audit_trail import RELAYED_CHANGE_TIMEOUT_S
from libs.common.bus import Bus
from libs.common.contracts import sharing
from libs.common.contracts.audit import Actor, AuditEvent, EventType
from libs.common.contracts.errors import ErrorEnvelope
from libs.common.contracts.hotlists import PartnerUpsertReply, ShareableList
from libs.common.contracts.sharing import (
    CredentialsRequest,
    Empty,
    KeysReply,
    PartnerCredentials,
    PartnerHotlistPut,
    PartnerSearch,
    PartnerSearchReply,
    PartnerSearchRequest,
    TokenReply,
    TokenRequest,
)
from libs.common.errors import AlprError, Unauthenticated
from libs.common.oauth.errors import NO_STORE, OAuthError, oauth_error_from_body
from libs.common.oauth.keys import PublishedKeys
from libs.common.oauth.tokens import verify_access_token
from libs.common.tokens import unverified_header
from services.gateway.api.deps import AuditDep, StateDep
from services.gateway.secret_failures import claimed_client_id, count_secret_failure
from services.gateway.service import check_purpose_text

router = APIRouter(tags=["partner"])

# The keys are cached briefly; a token signed by a key not yet seen triggers one refetch a second at most.
KEYS_TTL_S = 60.0
KEYS_REFETCH_S = 1.0
FORM = "application/x-www-form-urlencoded"
TOKEN_REFUSED = "The access token is not valid"


class PartnerKeys:
    """The sharing service's published keys, fetched over NATS, as the verifier of partner tokens.

    One per replica (GatewayState.partner_keys).
    """

    def __init__(self) -> None:
        self.reply: KeysReply | None = None
        self.keys = PublishedKeys({})
        self.fetched = 0.0
        self._lock = asyncio.Lock()

    async def get(self, bus: Bus, *, kid: str | None = None) -> tuple[PublishedKeys, KeysReply]:
        """Keys no older than a minute; refetched early when a token names a key we do not hold."""
        async with self._lock:
            age = time.monotonic() - self.fetched
            unknown = kid is not None and self.keys.verification_key(kid) is None
            if self.reply is None or age > KEYS_TTL_S or (unknown and age > KEYS_REFETCH_S):
                self.reply = await bus.call(sharing.KEYS, Empty())
                self.keys = PublishedKeys(self.reply.jwks)
                self.fetched = time.monotonic()
            return self.keys, self.reply


def token_refused() -> Unauthenticated:
    """One answer for every token that does not stand (C6): RFC 6750 `invalid_token`."""
    challenge = 'Bearer realm="partner", error="invalid_token"'
    return Unauthenticated(TOKEN_REFUSED, code="invalid_token", headers={"WWW-Authenticate": challenge})


async def partner_credentials(request: Request, rt: StateDep) -> PartnerCredentials:
    """Signature, issuer, audience and times checked here; sharing then checks the agreement is in force."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise token_refused()
    try:
        kid = unverified_header(token).get("kid")  # a header member of any JSON type other than text is refused
    except Unauthenticated:
        raise token_refused() from None
    keys, meta = await rt.partner_keys.get(rt.bus, kid=kid)
    try:
        claims = verify_access_token(token, keys, issuer=meta.issuer, audience=meta.audience, now=datetime.now(UTC))
    except Unauthenticated as err:
        metrics.DENIED.labels(f"partner_{err.code}").inc()
        raise token_refused() from None
    await rt.limits.partner(claims.client_id)
    return PartnerCredentials(
        client_id=claims.client_id,
        agreement_id=claims.agreement_id,
        scopes=sorted(claims.scopes),
        jti=claims.jti,
        expires_at=claims.expires_at,
    )


Partner = Annotated[PartnerCredentials, Depends(partner_credentials)]


class PartnerHotlistBody(BaseModel):
    """A partner's whole hotlist; an entry without `refreshed_at` counts as refreshed now."""

    model_config = ConfigDict(extra="forbid")

    entries: list[dict[str, Any]] = Field(max_length=10_000, examples=[[{"plate": "7XYZ999", "state": "CA"}]])


def _oauth_error(err: OAuthError) -> JSONResponse:
    metrics.DENIED.labels(f"oauth_{err.code}").inc()
    return JSONResponse(err.to_body(), status_code=err.status, headers=err.headers)


TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "example": {"grant_type": "client_credentials", "scope": "reads:search hotlists:read"},
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string", "example": "reads:search hotlists:read"},
                        "client_assertion_type": {"type": "string"},
                        "client_assertion": {"type": "string"},
                    },
                },
            }
        },
    }
}


class OAuthErrorReply(BaseModel):
    """A token endpoint refusal in the form RFC 6749 §5.2 prescribes."""

    error: str
    error_description: str | None = None


# the endpoint's own refusals are RFC 6749's; what the door refuses before it (a NUL, a rate) is the envelope
_OAUTH_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorReply | ErrorEnvelope, "description": "RFC 6749 §5.2 error, or a refused request"},
    401: {"model": OAuthErrorReply | ErrorEnvelope, "description": "invalid_client (RFC 6749 §5.2)"},
}


@router.post("/oauth/token", response_model=TokenReply, responses=_OAUTH_REFUSALS, openapi_extra=TOKEN_FORM)
async def token(request: Request, rt: StateDep) -> JSONResponse:
    """OAuth 2.0 client credentials (`client_secret_basic` or `private_key_jwt`); errors per RFC 6749 §5.2."""
    address, client_id = request.client.host if request.client else "unknown", ""
    try:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
            raise OAuthError("invalid_request", f"The body must be {FORM}")
        fields: dict[str, list[str]] = {}
        for name, value in (await request.form()).multi_items():
            if not isinstance(value, str):
                raise OAuthError("invalid_request", "Only form fields are accepted")
            fields.setdefault(name, []).append(value)
        client_id = claimed_client_id(request.headers.get("authorization"), fields)
        rt.secret_failures.check("partner", client_id=client_id, address=address)
        asked = TokenRequest(
            form=fields,
            authorization=request.headers.get("authorization"),
            token_endpoint=str(request.url.replace(query="", fragment="")),
        )
        reply = await rt.bus.call(sharing.TOKEN, asked)
    except AlprError as err:
        rebuilt = oauth_error_from_body({"error": err.code, "error_description": err.message})
        refused = err if isinstance(err, OAuthError) else rebuilt
        if refused is None:
            raise
        if refused.code == "invalid_client":
            await count_secret_failure(rt.secret_failures, rt.audit, "partner", client_id=client_id, address=address)
        return _oauth_error(refused)
    return JSONResponse(reply.model_dump(), headers=NO_STORE)


@router.get("/.well-known/jwks.json")
async def jwks(rt: StateDep) -> JSONResponse:
    """The public keys partner tokens are signed with (current and not yet retired)."""
    _, meta = await rt.partner_keys.get(rt.bus)
    return JSONResponse(meta.jwks, headers={"Cache-Control": f"public, max-age={int(KEYS_TTL_S)}"})


def partner_actor(credentials: PartnerCredentials, body: PartnerSearch | None = None) -> Actor:
    if body is None:
        return Actor(kind="partner", sub=credentials.client_id)
    person = body.requester
    return Actor(
        kind="partner", sub=credentials.client_id, name=person.name, badge=person.badge, agency=body.agency.ori
    )


async def _refused(audit: AuditDep, event: AuditEvent, err: AlprError) -> AlprError:
    """Record the refused attempt when possible; a refused token is answered like every other one."""
    metrics.DENIED.labels(err.code).inc()
    # A3: a prohibited purpose is flagged to admins and auditors, as an officer's is
    details = {**event.details, "refusal": err.code, "flag_admins_and_auditors": err.code == "prohibited_purpose"}
    await audit.record_quietly(event.model_copy(update={"outcome": "denied", "details": details}))
    return token_refused() if err.status == 401 else err


@router.post("/partner/v1/searches", response_model=PartnerSearchReply)
async def partner_search(
    body: PartnerSearch, credentials: Partner, request: Request, rt: StateDep, audit: AuditDep
) -> PartnerSearchReply:
    """Search one plate within the agreement; ledger and access record are written before data leaves.

    Sharing commits the ledger entry only once the access record (sent with the search) is persisted.
    """
    search_id = str(uuid.uuid4())
    query = {
        "plate": body.plate,
        "since": body.since.isoformat() if body.since else None,
        "until": body.until.isoformat() if body.until else None,
        "on_behalf_of": body.on_behalf_of.model_dump(),
    }
    event = AuditEvent(
        event_type=EventType.ACCESS_DENIED,
        actor=partner_actor(credentials, body),
        purpose=body.purpose,
        client_address=request.client.host if request.client else None,
        query=query,
        details={"route": "partner_search", "agreement_id": credentials.agreement_id},
    )
    try:
        # the officers' rules; sharing checks the case number against the agreement's format
        check_purpose_text(body.purpose, rt.settings)
        record = event.model_copy(update={"event_id": search_id, "event_type": EventType.PARTNER_QUERY})
        asked = PartnerSearchRequest(search_id=search_id, credentials=credentials, search=body, audit=record)
        reply = await rt.bus.call(sharing.PARTNER_SEARCH, asked, timeout=RELAYED_CHANGE_TIMEOUT_S)
    except AlprError as err:
        raise await _refused(audit, event, err) from err
    await rt.tally.count_relayed(record)
    return reply


@router.get("/partner/v1/hotlists", response_model=ShareableList)
async def partner_hotlists(credentials: Partner, request: Request, rt: StateDep, audit: AuditDep) -> ShareableList:
    """Our shareable hotlist entries and the time they were last refreshed; recorded like a search."""
    event = AuditEvent(
        event_type=EventType.ACCESS_DENIED,
        actor=partner_actor(credentials),
        client_address=request.client.host if request.client else None,
        details={"route": "partner_hotlists_read", "agreement_id": credentials.agreement_id},
    )
    try:
        record = event.model_copy(update={"event_id": str(uuid.uuid4()), "event_type": EventType.PARTNER_QUERY})
        asked = CredentialsRequest(credentials=credentials, audit=record)
        shared = await rt.bus.call(sharing.SHAREABLE_HOTLISTS, asked, timeout=RELAYED_CHANGE_TIMEOUT_S)
    except AlprError as err:
        raise await _refused(audit, event, err) from err
    await rt.tally.count_relayed(record)
    return shared


@router.put("/partner/v1/hotlists", response_model=PartnerUpsertReply)
async def put_partner_hotlist(
    body: PartnerHotlistBody, credentials: Partner, request: Request, rt: StateDep, audit: AuditDep
) -> PartnerUpsertReply:
    """Replace the partner's list held here; each entry lapses 24 hours after its last refresh (C5).

    The change's record travels through sharing to records, which commits the list only once it is persisted.
    """
    event = AuditEvent(
        event_type=EventType.HOTLIST_CHANGE,
        actor=partner_actor(credentials),
        client_address=request.client.host if request.client else None,
        query={"entries": len(body.entries)},
        details={"route": "partner_hotlists_write", "agreement_id": credentials.agreement_id},
    )
    try:
        asked = PartnerHotlistPut(credentials=credentials, entries=body.entries, audit=event)
        return await rt.bus.call(sharing.PARTNER_HOTLIST_PUT, asked, timeout=RELAYED_CHANGE_TIMEOUT_S)
    except AlprError as err:
        refused = event.model_copy(update={"event_type": EventType.ACCESS_DENIED, "event_id": str(uuid.uuid4())})
        raise await _refused(audit, refused, err) from err
