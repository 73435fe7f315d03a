"""Gateway rules: who may act, for what purpose, over how much data. No I/O here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from libs.common.case_numbers import case_number_in_format
from libs.common.contracts.audit import Actor
from libs.common.contracts.purpose import Purpose
from libs.common.contracts.search import SearchQuery
from libs.common.errors import Forbidden, InvalidInput
from services.gateway.models import Camera, Person, UserClass
from services.gateway.policy.purposes import Outcome, classify
from services.gateway.policy.vagueness import is_empty_talk
from services.gateway.settings import GatewaySettings

# The permission matrix is data: served to admins and published with the policy.
PERMISSIONS: dict[str, frozenset[str]] = {
    "reads:ingest": frozenset({"camera"}),
    "reads:search": frozenset({"officer", "analyst"}),
    "reads:view": frozenset({"officer", "analyst"}),
    "reads:image": frozenset({"officer", "analyst"}),
    "reads:correct": frozenset({"officer", "analyst"}),
    "approvals:request": frozenset({"officer", "analyst"}),
    "approvals:decide": frozenset({"supervisor"}),
    "hotlists:read": frozenset({"officer", "analyst", "supervisor"}),
    "hotlists:write": frozenset({"admin"}),
    "alerts:view": frozenset({"officer"}),
    "alerts:verify": frozenset({"officer"}),
    "alerts:reopen": frozenset({"supervisor"}),
    "holds:request": frozenset({"officer", "analyst"}),
    "holds:approve": frozenset({"supervisor"}),
    "holds:review": frozenset({"supervisor", "custodian"}),
    "audit:read": frozenset({"auditor"}),
    "admin:personnel": frozenset({"admin"}),
    "personnel:approve": frozenset({"supervisor"}),
    "flags:read": frozenset({"admin", "auditor"}),
    "admin:cameras": frozenset({"admin"}),
    "agreements:propose": frozenset({"admin"}),
    "agreements:approve": frozenset({"custodian"}),
    # the custodian oversees retention and sharing; auditors (a unit other than BFO Admin) check both
    "retention:certificates": frozenset({"custodian", "auditor"}),
    "retention:purge": frozenset({"custodian"}),
    "sharing:ledger": frozenset({"custodian", "auditor"}),
}
PERSON_ROLES = frozenset({"officer", "analyst", "supervisor", "admin", "auditor", "custodian"})
# refusals that mean a lapse (D2, D3): the registry marks the person suspended with this reason
LAPSES = {"training_expired": "training_expired", "account_dormant": "inactive"}


@dataclass(frozen=True)
class Principal:
    """A person of ours, checked against the registry for this request."""

    person: Person
    user_class: UserClass

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(self.person.roles)


def check_roles(roles: list[str]) -> None:
    """D1: roles are known, and auditor and admin are never held together."""
    unknown = set(roles) - PERSON_ROLES
    if unknown:
        raise InvalidInput(f"unknown roles: {sorted(unknown)}", code="unknown_role")
    if {"auditor", "admin"} <= set(roles):
        raise InvalidInput("the auditor role can never also hold admin", code="auditor_admin_conflict")


def check_may_act(person: Person, now: datetime, settings: GatewaySettings) -> None:
    """An account is active, trained and recently used, or it gets nothing (D2, D3, D4)."""
    if person.status == "locked":
        raise Forbidden("the account is locked", code="account_locked")
    if person.status == "suspended" and person.status_reason == "training_expired":
        raise Forbidden("training is not current", code="training_expired")
    if person.status == "suspended" and person.status_reason == "inactive":
        raise Forbidden("the account was unused too long and is suspended", code="account_dormant")
    if person.status != "active":
        raise Forbidden("the account is not active", code="account_inactive")
    if person.training_expires_at is None or person.training_expires_at <= now:
        raise Forbidden("training is not current", code="training_expired")
    if person.last_active_at is not None and now - person.last_active_at > timedelta(
        days=settings.inactivity_suspend_days
    ):
        raise Forbidden("the account was unused too long and is suspended", code="account_dormant")


# last use is recorded at most this often, so most requests of a person skip that write
TOUCH_EVERY = timedelta(minutes=1)


def touch_due(person: Person, now: datetime) -> bool:
    return person.last_active_at is None or now - person.last_active_at >= TOUCH_EVERY


def actor_of(principal: Principal) -> Actor:
    """The person as their access records name them."""
    p = principal.person
    return Actor(kind="person", sub=p.sub, name=p.name, badge=p.badge, agency=p.agency, unit=p.unit, roles=p.roles)


def system_actor() -> Actor:
    """The gateway itself, for changes no person made (a lapse found on use or by the sweep)."""
    return Actor(kind="system", sub="alpr-gateway")


def check_permission(principal_roles: frozenset[str], permission: str) -> None:
    if not principal_roles & PERMISSIONS[permission]:
        raise Forbidden("not permitted for this role", code="forbidden")


def check_purpose(purpose: Purpose, settings: GatewaySettings, *, also: tuple[str, ...] = ()) -> None:
    """A2/A3: a lawful reason with content, and a case number in the department's format."""
    check_purpose_text(purpose, settings, also=also)
    check_case_number(purpose.case_number, settings.case_number_pattern)


def check_case_number(case_number: str, pattern: str) -> None:
    """ASCII digits only, the whole case number in the agency's format."""
    if not case_number_in_format(case_number, pattern):
        raise InvalidInput("the case number is not in the agency's format", code="invalid_case_number")


def check_purpose_text(purpose: Purpose, settings: GatewaySettings, *, also: tuple[str, ...] = ()) -> None:
    """The reason, the case number's text and any other free text (`also`) read for a prohibited use.

    A clear prohibited use is a 403 the caller flags; a reason with no content or no clear lawful purpose
    is a 422 to rephrase. Partners go through the same rules; their case-number format is their agreement's.
    """
    verdict = classify(purpose.reason, purpose.case_number, *also)
    if verdict.outcome is Outcome.PROHIBITED:
        raise Forbidden(
            "this purpose is prohibited by law and policy", code="prohibited_purpose", category=verdict.category
        )
    reason = purpose.reason.strip()
    if len(reason) < settings.min_reason_length:
        raise InvalidInput(
            f"the reason must be at least {settings.min_reason_length} characters", code="reason_too_short"
        )
    if is_empty_talk(reason, settings.vague_reason_list):
        raise InvalidInput("the reason is too vague to justify access", code="reason_vague")
    if verdict.outcome is Outcome.UNCLEAR:
        raise InvalidInput(
            "the reason does not make a lawful purpose clear: name the crime, the victim or the person at risk, "
            "or ask a supervisor",
            code="purpose_unclear",
            category=verdict.category,
        )


def check_review_reason(reason: str, settings: GatewaySettings) -> None:
    """A review of every hold names no case, but its reason has content and no prohibited use."""
    verdict = classify(reason)
    if verdict.outcome is Outcome.PROHIBITED:
        raise Forbidden(
            "this purpose is prohibited by law and policy", code="prohibited_purpose", category=verdict.category
        )
    if len(reason.strip()) < settings.min_reason_length:
        raise InvalidInput(
            f"the reason must be at least {settings.min_reason_length} characters", code="reason_too_short"
        )
    if is_empty_talk(reason, settings.vague_reason_list):
        raise InvalidInput("the reason is too vague to justify access", code="reason_vague")


def broad_reasons(query: SearchQuery, settings: GatewaySettings) -> list[str]:
    """A4: why a search counts as broad (empty when it does not)."""
    reasons = []
    if not query.plate:
        reasons.append("no_plate")
    elif query.match == "partial":
        reasons.append("partial_plate")
    if query.area is not None:
        reasons.append("area")
    if query.until - query.since > timedelta(days=settings.broad_window_days):
        reasons.append("long_window")
    return reasons


def lookback_start(user_class: UserClass, now: datetime) -> datetime:
    """The earliest capture time the person's class may search."""
    return now - timedelta(days=user_class.max_lookback_days)


def check_class_limits(query: SearchQuery, user_class: UserClass, now: datetime, *, held_reach: bool = False) -> None:
    """The person's class bounds the look-back and the kinds of search.

    `held_reach`: the window may start before the look-back, for records to refuse unless the search's case
    has an active hold, and then to find there only what that case's holds keep (B2).
    """
    if query.since.tzinfo is None or query.until.tzinfo is None:
        raise InvalidInput("since and until must carry a time zone (e.g. Z)", code="timezone_required")
    if query.until <= query.since:
        raise InvalidInput("the time window is empty", code="invalid_window")
    if query.since < lookback_start(user_class, now) and not held_reach:
        raise Forbidden("the window reaches further back than your class allows", code="lookback_exceeded")
    if query.match == "partial" and not user_class.allow_partial:
        raise Forbidden("your class may not search partial plates", code="partial_not_allowed")
    if query.area is not None and not user_class.allow_area:
        raise Forbidden("your class may not search by area", code="area_not_allowed")


def new_camera_credential(camera_id: str) -> tuple[str, str, str]:
    """A credential `<id>.<secret>` and what is stored of it (the id and a hash of the secret)."""
    credential_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{credential_id}.{secret}", credential_id, hash_secret(secret)


def hash_secret(secret: str) -> str:
    # the secret is 256 random bits, so a fast hash cannot be brute-forced; no per-request KDF needed
    return hashlib.sha256(secret.encode()).hexdigest()


def camera_secret_matches(camera: Camera, secret: str) -> bool:
    return bool(camera.credential_hash) and hmac.compare_digest(camera.credential_hash or "", hash_secret(secret))
