"""Wrong camera secrets: throttled per credential id and per source address, 429 with Retry-After, audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace

import httpx
import pytest
import pytest_asyncio

from libs.common.errors import RateLimited
from services.gateway.secret_failures import SecretFailures
from tests.utils.registry_people import audit_rows

WRONG = "not-the-secret-" + uuid.uuid4().hex


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestCounts:
    def test_the_limit_trips_once_then_refuses_until_the_window_passes(self) -> None:
        settings = SimpleNamespace(
            secret_failures_per_client=3, secret_failures_per_address=5, secret_failure_window_s=60
        )
        clock = FakeClock()
        counts = SecretFailures(settings, clock)  # type: ignore[arg-type]
        assert [counts.failed("camera", client_id="c", address="a") for _ in range(3)] == [[], [], ["client"]]
        with pytest.raises(RateLimited) as refused:
            counts.check("camera", client_id="c", address="b")
        assert refused.value.details["headers"] == {"Retry-After": 60}
        counts.check("camera", client_id="d", address="a")  # the address has room left
        counts.check("partner", client_id="c", address="a")  # another kind is counted apart
        clock.now += 60
        counts.check("camera", client_id="c", address="a")


@pytest_asyncio.fixture(loop_scope="session")
async def from_elsewhere(system) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client on an address of its own; this replica's failure counts are forgotten afterwards."""
    transport = httpx.ASGITransport(app=system.apps["gateway"], client=("192.0.2.10", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client
    gateway = system.runtime("gateway")
    gateway.secret_failures = SecretFailures(gateway.settings)


def first_429(answers: list[httpx.Response]) -> int:
    codes = [a.status_code for a in answers]
    assert set(codes) <= {401, 429}, codes
    return codes.index(429)


@pytest.mark.asyncio(loop_scope="session")
class TestCameraSecrets:
    async def test_300_wrong_secrets_for_one_camera_meet_429_and_a_record(self, system, from_elsewhere) -> None:
        credential_id = system.stack.camera_credential.partition(".")[0]
        headers = {"Authorization": f"Bearer {credential_id}.{WRONG}"}
        answers = [await from_elsewhere.post("/v1/reads", json={}, headers=headers) for _ in range(300)]
        assert first_429(answers) == 10
        assert int(answers[-1].headers["Retry-After"]) > 0
        assert answers[-1].json()["error"]["code"] == "too_many_failures"
        rows = await audit_rows(
            system, "event_type = 'access_denied' AND payload::jsonb -> 'query' ->> 'client_id' = $1", credential_id
        )
        assert rows and rows[-1]["payload"]["details"]["reason"] == "secret_failures"
        assert rows[-1]["payload"]["client_address"] == "192.0.2.10" and rows[-1]["actor"]["kind"] == "camera"
        assert WRONG not in json.dumps(rows[-1]["payload"])

    async def test_many_credential_ids_from_one_address_meet_429(self, system, from_elsewhere) -> None:
        answers = [
            await from_elsewhere.post("/v1/reads", json={}, headers={"Authorization": f"Bearer id{i}.{WRONG}"})
            for i in range(300)
        ]
        assert first_429(answers) == system.runtime("gateway").settings.secret_failures_per_address
        rows = await audit_rows(
            system,
            "event_type = 'access_denied' AND payload::jsonb ->> 'client_address' = '192.0.2.10' "
            "AND payload::jsonb -> 'details' -> 'throttled' ? 'address'",
        )
        assert rows
        # the camera's own address is another address: its posts go on
        assert (await system.gateway.post("/v1/reads", json={}, headers=system.camera)).status_code != 429
