"""A fixed clock and one ES256 signing key for the partner access-token tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.common.oauth.keys import KeyRing, SigningKey


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate("ES256")


@pytest.fixture
def keyring(signing_key: SigningKey) -> KeyRing:
    return KeyRing(signing_key)
