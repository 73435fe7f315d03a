"""The personnel registry: create (pending), supervisor activation or denial, training, roles, deactivation,
lock release."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.common.audit_trail import AuditTrail, RecordedChange
from libs.common.contracts.audit import AuditEvent, EventType
from libs.common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.gateway import repository
from services.gateway.api.admin.changes import PersonView, person_view, record_change, snapshot
from services.gateway.api.admin.forms import PersonCreate, RolesChange, StatusNote, TrainingIn
from services.gateway.api.decisions import NoBodyOrDecision, decision_body
from services.gateway.api.deps import Admin, AuditDep, ChangesDep, PersonnelApprover, SessionDep, StateDep
from services.gateway.models import Person, TrainingRecord
from services.gateway.policy.training import trained_until
from services.gateway.service import Principal, check_roles, system_actor
from services.gateway.state import GatewayState

router = APIRouter(prefix="/v1/admin/persons", tags=["admin"])


async def sweep_lapsed(rt: GatewayState, audit: AuditTrail) -> int:
    """D2/D3: mark lapsed accounts suspended, so the registry shows what access checks enforce."""
    async with rt.uow() as session:
        lapsed = await repository.suspend_lapsed(
            session, now=datetime.now(UTC), inactive_days=rt.settings.inactivity_suspend_days
        )
    for sub, reason in lapsed:
        await audit.record_quietly(
            AuditEvent(
                event_type=EventType.PERSONNEL_CHANGE,
                actor=system_actor(),
                query={"subject": sub},
                details={"change": "suspended", "reason": reason, "before": "active", "after": "suspended"},
            )
        )
    return len(lapsed)


@router.get("", response_model=list[PersonView])
async def list_persons(principal: Admin, rt: StateDep, audit: AuditDep, session: SessionDep) -> list[PersonView]:
    """Everyone in the registry, with lapses found on this read already marked."""
    await sweep_lapsed(rt, audit)  # its own transaction, committed with its records before the list is read
    return [person_view(p) for p in await repository.list_persons(session)]


@router.get("/{sub}", response_model=PersonView)
async def get_person(sub: str, principal: Admin, rt: StateDep, audit: AuditDep, session: SessionDep) -> PersonView:
    await sweep_lapsed(rt, audit)
    person = await _existing(session, sub)
    return person_view(person, await repository.list_training(session, sub=sub))


@router.post("", status_code=201, response_model=PersonView)
async def create_person(body: PersonCreate, principal: Admin, rt: StateDep, changes: ChangesDep) -> PersonView:
    """A new person starts pending: no access until a supervisor activates them and training is current."""
    check_roles(body.roles)
    async with changes() as change:
        session = change.session
        if await repository.get_person(session, sub=body.sub) is not None:
            raise Conflict("a person with this subject exists", code="person_exists")
        await _check_class(session, body.user_class)
        person = Person(**body.model_dump(), agency=rt.settings.agency, status="pending", created_at=datetime.now(UTC))
        await repository.save(session, person)
        _personnel_changed(change, principal, person, "created", before=None)
        return person_view(person)


@router.post("/{sub}/activation", response_model=PersonView, openapi_extra=decision_body(required=False))
async def activate(
    sub: str, principal: PersonnelApprover, decision: NoBodyOrDecision, changes: ChangesDep
) -> PersonView:
    """A supervisor other than the subject approves the account (also to reinstate a suspended one) or denies
    it, saying why; a denial leaves the account as it was. A bodiless post (the old shape) approves, answered
    with a Deprecation header."""
    if principal.person.sub == sub:
        raise Forbidden("a supervisor cannot approve their own account", code="self_approval")
    now = datetime.now(UTC)
    async with changes() as change:
        session = change.session
        person = await _existing(session, sub)
        if person.status not in ("pending", "suspended", "deactivated"):
            raise Conflict(f"a {person.status} account cannot be activated", code="invalid_transition")
        before = snapshot(person)
        if decision.approve:
            # the inactivity clock (D3) starts again at approval
            person.status, person.status_reason = "active", None
            person.approved_by, person.last_active_at = principal.person.sub, now
            await repository.save(session, person)
        what = "activated" if decision.approve else "activation_denied"
        _personnel_changed(change, principal, person, what, before=before, **decision.record())
        return person_view(person)


@router.post("/{sub}/training", status_code=201, response_model=PersonView)
async def record_training(sub: str, body: TrainingIn, principal: Admin, changes: ChangesDep) -> PersonView:
    """D2: a completed course; current training lifts a suspension that expired training caused."""
    _not_self(principal.person.sub, sub)
    if body.expires_at <= body.completed_at or body.completed_at > datetime.now(UTC):
        raise InvalidInput(
            "training is completed in the past and expires after completion", code="invalid_training_dates"
        )
    async with changes() as change:
        session = change.session
        person = await _existing(session, sub)
        before = snapshot(person)
        record = TrainingRecord(
            sub=sub, **body.model_dump(mode="json", include={"course", "topics"}),
            completed_at=body.completed_at, expires_at=body.expires_at,
            recorded_by=principal.person.sub, recorded_at=datetime.now(UTC),
        )  # fmt: skip
        await repository.save(session, record)
        # D2: trained until every topic is current; the access check reads this instant
        person.training_expires_at = trained_until(await repository.list_training(session, sub=sub))
        await repository.save(session, person)
        if person.status == "suspended" and person.status_reason == "training_expired":
            if person.training_expires_at and person.training_expires_at > datetime.now(UTC):
                person.status, person.status_reason = "active", None
                await repository.save(session, person)
        _personnel_changed(change, principal, person, "training_recorded", before=before, course=body.course)
        return person_view(person, await repository.list_training(session, sub=sub))


@router.put("/{sub}/roles", response_model=PersonView)
async def change_roles(sub: str, body: RolesChange, principal: Admin, changes: ChangesDep) -> PersonView:
    """D1: roles and class; auditor and admin are never held together; no one changes their own."""
    _not_self(principal.person.sub, sub)
    check_roles(body.roles)
    async with changes() as change:
        session = change.session
        person = await _existing(session, sub)
        await _check_class(session, body.user_class)
        before = snapshot(person)
        person.roles, person.user_class = body.roles, body.user_class
        await repository.save(session, person)
        _personnel_changed(change, principal, person, "roles_changed", before=before)
        return person_view(person)


@router.post("/{sub}/deactivation", response_model=PersonView)
async def deactivate(sub: str, body: StatusNote, principal: Admin, rt: StateDep, audit: AuditDep) -> PersonView:
    """D3: takes effect on the person's next request, since every request reads the registry."""
    return await _set_status(rt, audit, principal, sub, "deactivated", body.reason, allowed=None)


@router.post("/{sub}/lock-release", response_model=PersonView)
async def release_lock(sub: str, body: StatusNote, principal: Admin, rt: StateDep, audit: AuditDep) -> PersonView:
    """D4: an admin releases a lockout; earlier failures stop counting toward the next one."""
    return await _set_status(rt, audit, principal, sub, "active", body.reason, allowed=("locked",))


async def _set_status(
    rt: GatewayState,
    audit: AuditTrail,
    principal: Principal,
    sub: str,
    status: str,
    note: str,
    *,
    allowed: tuple[str, ...] | None,
) -> PersonView:
    _not_self(principal.person.sub, sub)
    now = datetime.now(UTC)
    async with rt.changes() as change:
        session = change.session
        person = await _existing(session, sub)
        if allowed is not None and person.status not in allowed:
            raise Conflict(f"the account is {person.status}", code="invalid_transition")
        before = snapshot(person)
        if status == "active":
            await repository.release_lock(session, sub=sub, now=now)
        else:
            await repository.set_status(session, sub=sub, status=status, reason=note)
        await session.refresh(person)
        what = "lock_released" if status == "active" else status
        _personnel_changed(change, principal, person, what, before=before, note=note)
        return person_view(person)


def _not_self(actor_sub: str, sub: str) -> None:
    if actor_sub == sub:
        raise Forbidden("no one changes their own roles, training or status", code="self_change")


async def _existing(session: AsyncSession, sub: str) -> Person:
    person = await repository.get_person(session, sub=sub)
    if person is None:
        raise NotFound("no such person", code="person_not_found")
    return person


async def _check_class(session: AsyncSession, name: str) -> None:
    if await repository.get_user_class(session, name=name) is None:
        raise InvalidInput("no such user class", code="unknown_user_class")


def _personnel_changed(
    recorded: RecordedChange,
    principal: Principal,
    person: Person,
    change: str,
    *,
    before: dict[str, Any] | None,
    **details: Any,
) -> None:
    """A personnel change in the audit log, with the person as they were and as they are now."""
    record_change(
        recorded,
        principal,
        event_type=EventType.PERSONNEL_CHANGE,
        subject=person.sub,
        change=change,
        before=before,
        after=snapshot(person),
        **details,
    )
