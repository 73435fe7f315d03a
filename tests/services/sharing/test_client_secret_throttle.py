"""Wrong partner client secrets at /oauth/token: throttled per client id and per address, 429, audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from services.gateway.secret_failures import SecretFailures
from tests.utils.registry_people import audit_rows

pytestmark = pytest.mark.asyncio(loop_scope="session")
WRONG = "wrong-" + uuid.uuid4().hex
FORM = {"grant_type": "client_credentials"}


def on_address(system, address: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=system.apps["gateway"], client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest_asyncio.fixture(loop_scope="session")
async def attacker(system) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A caller on an address of its own; this replica's failure counts are forgotten afterwards."""
    async with on_address(system, "192.0.2.20") as client:
        yield client
    gateway = system.runtime("gateway")
    gateway.secret_failures = SecretFailures(gateway.settings)


def first_429(answers: list[httpx.Response]) -> int:
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429}, codes
    return codes.index(429)


class TestClientSecrets:
    async def test_60_wrong_secrets_meet_429_well_before_the_end(self, system, partners, attacker) -> None:
        setup = await partners.with_client()
        client_id = setup["client_id"]
        answers = [await attacker.post("/oauth/token", data=FORM, auth=(client_id, WRONG)) for _ in range(60)]
        assert first_429(answers) == system.runtime("gateway").settings.secret_failures_per_client
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert answers[-1].json()["error"]["code"] == "too_many_failures"

        # the id is throttled from any address, for the rest of the window
        async with on_address(system, "192.0.2.21") as elsewhere:
            again = await elsewhere.post("/oauth/token", data=FORM, auth=(client_id, setup["client_secret"]))
        assert again.status_code == 429

        rows = await audit_rows(system, "event_type = 'access_denied' AND actor::jsonb ->> 'sub' = $1", client_id)
        assert rows and rows[-1]["actor"]["kind"] == "partner"
        payload = rows[-1]["payload"]
        assert payload["details"]["reason"] == "secret_failures" and payload["details"]["throttled"] == ["client"]
        assert payload["client_address"] == "192.0.2.20" and payload["outcome"] == "denied"
        assert WRONG not in json.dumps(payload)

    async def test_wrong_secrets_for_many_ids_from_one_address_meet_429(self, system, attacker) -> None:
        answers = [
            await attacker.post("/oauth/token", data=FORM, auth=(f"guess-{i}", WRONG))
            for i in range(system.runtime("gateway").settings.secret_failures_per_address + 10)
        ]
        assert first_429(answers) == system.runtime("gateway").settings.secret_failures_per_address
        rows = await audit_rows(
            system,
            "event_type = 'access_denied' AND payload::jsonb ->> 'client_address' = '192.0.2.20' "
            "AND payload::jsonb -> 'details' -> 'throttled' ? 'address'",
        )
        assert rows

    async def test_a_right_secret_from_another_address_is_untouched(self, system, partners, attacker) -> None:
        setup = await partners.with_client()
        for _ in range(3):
            await attacker.post("/oauth/token", data=FORM, auth=(setup["client_id"], WRONG))
        granted = await partners.token(setup)
        assert granted
