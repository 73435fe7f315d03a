"""C6: whoever may not see data gets the same status and bytes whether or not the data exists."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.services.gateway.test_first_path import PURPOSE, post_read, unique_plate, wait_stored
from tests.utils.registry_people import bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")
PURPOSE_PARAMS = "use=stolen_or_wanted_vehicle&case_number=SJ-2026-004211&reason=Vehicle+reported+stolen+at+knifepoint"


@pytest.fixture(scope="module")
async def stored(system) -> dict[str, str]:  # type: ignore[no-untyped-def]
    plate = unique_plate()
    posted = await post_read(system, plate)
    read_id = posted.json()["read_ids"][0]
    assert await wait_stored(system, read_id) == 1
    return {"plate": plate, "read_id": read_id}


@pytest.fixture(scope="module")
async def callers(system) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Everyone who is not eligible to see reads, each as request headers."""
    people = {
        "suspended_officer": await put_person(system, new_sub("c6"), ["officer"], state="suspended"),
        "locked_officer": await put_person(system, new_sub("c6"), ["officer"], state="locked"),
        "untrained_officer": await put_person(system, new_sub("c6"), ["officer"], state="untrained"),
    }
    return {
        "no_credentials": {},
        "garbage_token": {"Authorization": "Bearer not-a-token"},
        "basic_auth": {"Authorization": "Basic ZGV2OmRldg=="},
        "unknown_person": bearer(system, "nobody-in-the-registry"),
        "camera": system.camera,
        **{role: system.token(role) for role in ("supervisor", "admin", "auditor", "custodian")},
        **{name: bearer(system, sub) for name, sub in people.items()},
    }


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": (now - timedelta(days=1)).isoformat(), "until": (now + timedelta(hours=1)).isoformat()}


async def same_answer(system, method: str, urls: tuple[str, str], headers: dict[str, str], **kwargs: Any) -> int:  # type: ignore[no-untyped-def]
    responses = []
    for url, extra in zip(urls, kwargs.pop("bodies", [{}, {}]), strict=True):
        responses.append(await system.gateway.request(method, url, headers=headers, **kwargs, **extra))
    existing, missing = responses
    assert existing.status_code == missing.status_code
    assert existing.content == missing.content
    assert existing.status_code in (401, 403), existing.text
    return existing.status_code


@pytest.mark.parametrize("suffix", ["", "/image", f"?{PURPOSE_PARAMS}", f"/image?{PURPOSE_PARAMS}"])
async def test_read_detail_and_image(system, stored, callers, suffix: str) -> None:  # type: ignore[no-untyped-def]
    for name, headers in callers.items():
        urls = (f"/v1/reads/{stored['read_id']}{suffix}", f"/v1/reads/{uuid.uuid4()}{suffix}")
        status = await same_answer(system, "GET", urls, headers)
        assert status == (401 if name in ("no_credentials", "garbage_token", "basic_auth", "camera") else 403), name


async def test_search_for_an_existing_and_a_missing_plate(system, stored, callers) -> None:  # type: ignore[no-untyped-def]
    bodies = [
        {"json": {"query": {"plate": plate, **window()}, "purpose": PURPOSE}}
        for plate in (stored["plate"], unique_plate())
    ]
    for headers in callers.values():
        await same_answer(system, "POST", ("/v1/searches", "/v1/searches"), headers, bodies=bodies)


async def test_an_officer_naming_someone_elses_search(system, stored) -> None:  # type: ignore[no-untyped-def]
    found = await system.gateway.post(
        "/v1/searches",
        json={"query": {"plate": stored["plate"], **window()}, "purpose": PURPOSE},
        headers=system.token("analyst"),
    )
    assert [r["read_id"] for r in found.json()["reads"]] == [stored["read_id"]]
    search_id = found.json()["search_id"]
    urls = (f"/v1/reads/{stored['read_id']}?search_id={search_id}", f"/v1/reads/{uuid.uuid4()}?search_id={search_id}")
    assert await same_answer(system, "GET", urls, system.token("officer")) == 403


async def test_a_class_without_images_asking_for_an_image(system, stored) -> None:  # type: ignore[no-untyped-def]
    sub = await put_person(system, new_sub("noimg"), ["officer"], user_class="none")
    urls = (f"/v1/reads/{stored['read_id']}/image?{PURPOSE_PARAMS}", f"/v1/reads/{uuid.uuid4()}/image?{PURPOSE_PARAMS}")
    assert await same_answer(system, "GET", urls, bearer(system, sub)) == 403


async def test_someone_elses_approval_reads_like_a_missing_one(system) -> None:  # type: ignore[no-untyped-def]
    from tests.services.gateway.test_broad_search_approval import request_approval

    approval = await request_approval(system, system.token("analyst"))
    other = system.token("officer")
    mine = await system.gateway.get(f"/v1/approvals/{approval['approval_id']}", headers=other)
    missing = await system.gateway.get(f"/v1/approvals/{uuid.uuid4()}", headers=other)
    assert mine.status_code == missing.status_code == 404 and mine.content == missing.content


@pytest.fixture(scope="module")
async def alert_id(system) -> str:  # type: ignore[no-untyped-def]
    from tests.services.gateway.test_alert_routes import listed_plate, raise_alert

    plate = unique_plate()
    await listed_plate(system, plate)
    return str((await raise_alert(system, plate))["alert_id"])


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("GET", "/image", None),
        ("POST", "/verification", {"plate_seen": "7ABC123", "state_seen": "CA", "vehicle_matches": True}),
        ("POST", "/reopen", {"reason": "The officer compared the image of another read entirely"}),
    ],
)
async def test_an_alert_and_its_image_verification_and_reopening(  # type: ignore[no-untyped-def]
    system, alert_id, callers, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    for name, headers in callers.items():
        if suffix == "/reopen" and name == "supervisor":
            continue  # the one role that may reopen: it learns the alert exists (404 or 409)
        urls = (f"/v1/alerts/{alert_id}{suffix}", f"/v1/alerts/{uuid.uuid4()}{suffix}")
        bodies = [{"json": body}, {"json": body}] if body else [{}, {}]
        status = await same_answer(system, method, urls, headers, bodies=bodies)
        assert status == (401 if name in ("no_credentials", "garbage_token", "basic_auth", "camera") else 403), name
