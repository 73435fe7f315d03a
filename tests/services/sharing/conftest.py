"""Shared fixtures for the sharing service's pure core: a fixed clock, an agreement, people, keys."""

from __future__ import annotations

import hashlib
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.purpose import AuthorizedUse
from libs.common.oauth.keys import KeyRing, SigningKey
from services.sharing.partners.agreements import Agreement, AgreementStatus, Scope
from services.sharing.partners.approvals import Actor
from services.sharing.partners.eligibility import PartnerKind, validate_partner

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)
DOCUMENT_SHA256 = hashlib.sha256(b"Inter-agency agreement, signed").hexdigest()


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def partner():
    return validate_partner("CA0410000", "Santa Clara County Sheriff", PartnerKind.CA_LOCAL_AGENCY, "CA")


@pytest.fixture
def agreement() -> Agreement:
    return Agreement(
        id="SJPD-IAA-2026-007",
        version=1,
        partner_ori="CA0410000",
        document_ref="contracts/2026/iaa-007.pdf",
        document_sha256=DOCUMENT_SHA256,
        effective_from=NOW - timedelta(days=30),
        expires_at=NOW + timedelta(days=335),
        scopes=frozenset({Scope.READS_SEARCH, Scope.HOTLISTS_READ}),
        allowed_uses=frozenset({AuthorizedUse.STOLEN_OR_WANTED_VEHICLE, AuthorizedUse.AT_RISK_MISSING_PERSON}),
        max_lookback_days=30,
        status=AgreementStatus.ACTIVE,
    )


@pytest.fixture
def admin() -> Actor:
    return Actor(subject="u-admin-1", name="Sgt. A. Admin", roles=frozenset({"admin"}))


@pytest.fixture
def custodian() -> Actor:
    return Actor(subject="u-cust-1", name="Deputy Chief C. Custodian", roles=frozenset({"custodian"}))


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture
def keyring(signing_key: SigningKey) -> KeyRing:
    return KeyRing(signing_key)


SHARED_SETUPS: dict[str, dict[str, Any]] = {}
ISSUED_ORIS: set[str] = set()


class PartnerSetup:
    """Drives the admin API the way the department would: enter a partner, agree, approve, register."""

    def __init__(self, system) -> None:  # type: ignore[no-untyped-def]
        self.system = system
        self.http = system.gateway

    @staticmethod
    def new_ori() -> str:
        """A well-formed California ORI (a county code 001-058, then four letters or digits) not used before
        in this session: the session's partners share one registry, and a repeat is a 409."""
        while True:
            suffix = "".join(random.choices(string.ascii_uppercase + string.digits, k=4))
            ori = f"CA{random.randint(1, 58):03d}{suffix}"
            if ori not in ISSUED_ORIS:
                ISSUED_ORIS.add(ori)
                return ori

    async def partner(self, ori: str | None = None, name: str = "Santa Clara County Sheriff") -> str:
        ori = ori or self.new_ori()
        body = {"ori": ori, "name": name, "kind": "ca_local_agency", "state": "CA"}
        response = await self.http.post("/v1/admin/partners", json=body, headers=self.system.token("admin"))
        assert response.status_code == 201, response.text
        return ori

    def terms(self, ori: str, **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "partner_ori": ori,
            "document_ref": "contracts/2026/iaa-test.pdf",
            "document_sha256": DOCUMENT_SHA256,
            "effective_from": (now - timedelta(days=1)).isoformat(),
            "expires_at": (now + timedelta(days=365)).isoformat(),
            "scopes": ["reads:search", "hotlists:read", "hotlists:write"],
            "allowed_uses": ["stolen_or_wanted_vehicle", "at_risk_missing_person"],
            "max_lookback_days": 30,
            "reason": "Inter-agency agreement signed by both chiefs",
            **overrides,
        }

    async def approve(self, proposal_id: str) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/admin/agreement-proposals/{proposal_id}/approval", headers=self.system.token("custodian")
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def agreement(self, **overrides: Any) -> dict[str, Any]:
        ori = await self.partner()
        response = await self.http.post(
            "/v1/admin/agreements", json=self.terms(ori, **overrides), headers=self.system.token("admin")
        )
        assert response.status_code == 202, response.text
        approved = await self.approve(response.json()["id"])
        return {"ori": ori, "agreement_id": approved["agreement_id"]}

    async def client(self, agreement_id: str, **body: Any) -> dict[str, Any]:
        response = await self.http.post(
            f"/v1/admin/agreements/{agreement_id}/clients", json=body, headers=self.system.token("admin")
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def with_client(self, **overrides: Any) -> dict[str, Any]:
        made = await self.agreement(**overrides)
        client = await self.client(made["agreement_id"])
        return {**made, "client_id": client["client_id"], "client_secret": client["client_secret"]}

    async def shared_client(self, **overrides: Any) -> dict[str, Any]:
        """One agreement and client per set of terms for the session, for tests that change neither."""
        key = repr(sorted(overrides.items()))
        if key not in SHARED_SETUPS:
            SHARED_SETUPS[key] = await self.with_client(**overrides)
        return SHARED_SETUPS[key]

    async def token(self, setup: dict[str, Any], scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = await self.http.post("/oauth/token", data=form, auth=(setup["client_id"], setup["client_secret"]))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def revoke(self, agreement_id: str) -> None:
        response = await self.http.post(
            f"/v1/admin/agreements/{agreement_id}/revocation",
            json={"reason": "The partner breached the audit term"},
            headers=self.system.token("admin"),
        )
        assert response.status_code == 202, response.text
        await self.approve(response.json()["id"])

    @staticmethod
    def search_body(ori: str, plate: str, **overrides: Any) -> dict[str, Any]:
        """A well-formed partner search body for the partner `ori`, for itself."""
        now = datetime.now(UTC)
        return {
            "plate": plate,
            "since": (now - timedelta(days=2)).isoformat(),
            "until": (now + timedelta(minutes=5)).isoformat(),
            "requester": {"name": "Det. R. Diaz", "badge": "4412"},
            "agency": {"ori": ori, "name": "Santa Clara County Sheriff"},
            "on_behalf_of": {"ori": ori, "name": "Santa Clara County Sheriff"},
            "purpose": {
                "use": "stolen_or_wanted_vehicle",
                "case_number": "SC-2026-1187",
                "reason": "Stolen vehicle reported 11/27, suspect seen in San Jose",
            },
            **overrides,
        }


@pytest.fixture
def partners(system) -> PartnerSetup:  # type: ignore[no-untyped-def]
    return PartnerSetup(system)
