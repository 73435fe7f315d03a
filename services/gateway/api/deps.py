"""Dependencies: the gateway's typed state, one unit of work per request, and who is calling (person or
camera), checked on every request; all as Annotated aliases."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from jose import jwt as jose_jwt
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common import metrics
from libs.common.audit_trail import AuditTrail, ChangeRecorder
from libs.common.bus import Bus
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.errors import Forbidden, Unauthenticated
from services.gateway import repository
from services.gateway.api.accesses import AccessTally
from services.gateway.models import Camera
from services.gateway.ratelimit import GatewayLimits
from services.gateway.secret_failures import count_secret_failure
from services.gateway.service import (
    LAPSES,
    Principal,
    camera_secret_matches,
    check_may_act,
    check_permission,
    system_actor,
    touch_due,
)
from services.gateway.settings import GatewaySettings
from services.gateway.state import GatewayState


# async although they never wait: FastAPI runs a plain `def` dependency in a worker thread, a thread
# hop per dependency per request that cost more than a camera post's own work
async def gateway_state(request: Request) -> GatewayState:
    state: GatewayState = request.app.state.runtime  # built by the lifespan (app.py)
    return state


StateDep = Annotated[GatewayState, Depends(gateway_state)]


async def settings_of(state: StateDep) -> GatewaySettings:
    return state.settings


async def bus_of(state: StateDep) -> Bus:
    return state.bus


async def audit_trail(state: StateDep) -> AuditTrail:
    return state.audit


async def change_recorder(state: StateDep) -> ChangeRecorder:
    return state.changes


async def limits_of(state: StateDep) -> GatewayLimits:
    return state.limits


async def access_tally(state: StateDep) -> AccessTally:
    return state.tally


async def request_session(state: StateDep) -> AsyncIterator[AsyncSession]:
    """The request's one unit of work: committed when the route returns, rolled back when it raises."""
    async with state.uow() as session:
        yield session


SettingsDep = Annotated[GatewaySettings, Depends(settings_of)]
BusDep = Annotated[Bus, Depends(bus_of)]
AuditDep = Annotated[AuditTrail, Depends(audit_trail)]
ChangesDep = Annotated[ChangeRecorder, Depends(change_recorder)]
LimitsDep = Annotated[GatewayLimits, Depends(limits_of)]
TallyDep = Annotated[AccessTally, Depends(access_tally)]
# scope="function": the commit happens before the response is sent, so a failed commit is the answer
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


_BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alpr"'}
# a camera may present its credential as a bearer token or as Basic (api/camera_posts.py)
_CAMERA_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alpr", Basic realm="alpr"'}


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        # RFC 6750 §3.1: a request with no credential at all gets the challenge without an error code
        raise Unauthenticated("a bearer token is required", code="unauthenticated", headers=_BEARER_CHALLENGE)
    return value.strip()


async def current_principal(request: Request, state: StateDep) -> Principal:
    """Verify the token, then the registry: a valid token of an ineligible person gets nothing."""
    token = bearer(request)
    now = datetime.now(UTC)
    try:
        claims = await state.verifier.verify(token)
    except Unauthenticated as err:
        metrics.DENIED.labels(f"token_{err.details.get('reason', 'invalid')}").inc()
        await _count_failure(state, token, str(err.details.get("reason", "invalid")), now)
        raise Unauthenticated("authentication failed", code="unauthenticated") from err
    await state.limits.person(str(claims["sub"]))
    status: str | None = None  # read inside the transaction: a rollback expires the loaded person
    try:
        # read on every request, never cached: a deactivation or suspension holds from the next request
        async with state.uow() as session:
            person, user_class = await repository.get_person_and_class(session, sub=str(claims["sub"]))
            if person is None:
                raise Forbidden("not eligible", code="not_eligible")
            status = person.status
            check_may_act(person, now, state.settings)
            if user_class is None:
                raise Forbidden("no user class assigned", code="not_eligible")
            if touch_due(person, now):
                await repository.touch_person(session, sub=person.sub, now=now)
    except Forbidden as refusal:
        if status == "active" and refusal.code in LAPSES:
            await _suspend(state, str(claims["sub"]), LAPSES[refusal.code])
        raise
    return Principal(person=person, user_class=user_class)


async def _suspend(state: GatewayState, sub: str, reason: str) -> None:
    """D2/D3: the registry shows the lapse as `suspended` from the first refused use."""
    async with state.uow() as session:
        await repository.set_status(session, sub=sub, status="suspended", reason=reason)
    await state.audit.record_quietly(
        AuditEvent(
            event_type=EventType.PERSONNEL_CHANGE,
            actor=system_actor(),
            query={"subject": sub},
            details={"change": "suspended", "reason": reason, "before": "active", "after": "suspended"},
        )
    )


# only these failures come after a good signature, so only they can be the named person's own
_PERSONS_FAILURES = frozenset({"expired", "claims"})


async def _count_failure(state: GatewayState, token: str, reason: str, now: datetime) -> None:
    """D4: a known person's failed sign-ins count toward the lockout; forgeries are only metered.

    A token whose signature does not verify names whoever the forger chose: counting it would let
    anyone lock any account with five made-up tokens.
    """
    if reason not in _PERSONS_FAILURES:
        return
    try:
        sub = str(jose_jwt.get_unverified_claims(token).get("sub", ""))
    except Exception:
        return
    if not sub:
        return
    locked = False
    async with state.uow() as session:
        person = await repository.get_person(session, sub=sub)
        if person is None:
            return
        failures = await repository.record_auth_failure(
            session,
            sub=sub,
            reason=reason,
            now=now,
            window_s=state.settings.lockout_window_s,
            token_digest=token_digest(token),
        )
        if failures >= state.settings.lockout_failures and person.status == "active":
            await repository.set_status(session, sub=sub, status="locked", reason="failed_authentications")
            locked = True
    await state.audit.record_quietly(
        AuditEvent(
            event_type=EventType.SIGN_IN_FAILURE,
            actor=system_actor(),
            query={"subject": sub},
            outcome="denied",
            details={"reason": reason, "failures_in_window": failures, "locked": locked},
        )
    )


def token_digest(token: str) -> str:
    """What names one token: its signed part (header and claims), which a replay cannot alter and keep valid.

    The signature's base64 is left out: its last character has spare bits, so one token has several spellings.
    """
    signed = token.rpartition(".")[0]
    return hashlib.sha256(signed.encode()).hexdigest()


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Any:
    """A dependency that admits a person holding a role with this permission."""

    async def dependency(principal: PrincipalDep) -> Principal:
        check_permission(principal.roles, permission)
        return principal

    return Depends(dependency)


Searcher = Annotated[Principal, require("reads:search")]
Viewer = Annotated[Principal, require("reads:view")]
Admin = Annotated[Principal, require("admin:personnel")]
Supervisor = Annotated[Principal, require("approvals:decide")]
Auditor = Annotated[Principal, require("audit:read")]
PersonnelApprover = Annotated[Principal, require("personnel:approve")]
Overseer = Annotated[Principal, require("flags:read")]


def _camera_credential(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if scheme.lower() == "basic" and value:
        # agents that can only put credentials in the URL send user:password as Basic
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError as exc:
            raise Unauthenticated("malformed basic credentials", code="unauthenticated") from exc
        return f"{user}.{password}" if "." not in password else password
    key = request.headers.get("x-api-key") or request.query_params.get("key")
    if key:
        return key
    raise Unauthenticated("a camera credential is required", code="unauthenticated", headers=_CAMERA_CHALLENGE)


async def current_camera(request: Request, state: StateDep) -> Camera:
    """A registered, enabled camera whose credential matches; unknown or disabled ones are counted."""
    credential_id, _, secret = _camera_credential(request).partition(".")
    client = request.scope.get("client")  # request.client, without building its Address on every post
    address = client[0] if client else "unknown"
    state.secret_failures.check("camera", client_id=credential_id, address=address)

    async def lookup() -> Camera | None:
        async with state.uow() as session:
            return await repository.get_camera_by_credential(session, credential_id=credential_id)

    # cached for camera_cache_s at most (a disable elsewhere applies within it), one lookup at a time; a
    # cached camera is taken without a coroutine (nearly every post)
    camera = state.camera_credentials.fresh(credential_id)
    if camera is None:
        camera = await state.camera_credentials.get(credential_id, lookup)
    if camera is None or not camera_secret_matches(camera, secret):
        metrics.DENIED.labels("camera_unknown").inc()
        await count_secret_failure(
            state.secret_failures, state.audit, "camera", client_id=credential_id, address=address
        )
        raise Unauthenticated(
            "unknown camera credential",
            code="unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="alpr", error="invalid_token", Basic realm="alpr"'},
        )
    if not camera.enabled:
        metrics.DENIED.labels("camera_disabled").inc()
        async with state.uow() as session:
            await repository.count_refused_camera(session, camera_id=camera.camera_id)
        raise Forbidden("this camera is disabled", code="camera_disabled")
    if not state.limits.camera_leased(camera.camera_id):
        await state.limits.camera(camera.camera_id)
    return camera


CameraDep = Annotated[Camera, Depends(current_camera)]
