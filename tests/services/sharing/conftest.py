"""Shared fixtures for the sharing service's pure core: a fixed clock, an agreement, people, keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from libs.common.contracts.purpose import AuthorizedUse
from services.sharing.oauth.keys import KeyRing, SigningKey
from services.sharing.partners.agreements import Agreement, AgreementStatus, Scope
from services.sharing.partners.approvals import Actor
from services.sharing.partners.eligibility import PartnerKind, validate_partner

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


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
        effective_from=NOW - timedelta(days=30),
        expires_at=NOW + timedelta(days=335),
        scopes=frozenset({Scope.READS_SEARCH, Scope.HOTLISTS_READ}),
        allowed_uses=frozenset(
            {AuthorizedUse.STOLEN_OR_WANTED_VEHICLE, AuthorizedUse.AT_RISK_MISSING_PERSON}
        ),
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
