"""G3 through the gateway: a correction names its author's recorded look at the read's image, or is refused.

Found by a red-team review: any officer could move a sighting onto any plate (and so into every search for
it) with a 20-character reason and no look at the image."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.services.gateway.test_alert_routes import listed_plate, raise_alert
from tests.services.gateway.test_first_path import unique_plate
from tests.utils import image_samples
from tests.utils.corrections import LOOK, image_view, read_with_image

pytestmark = pytest.mark.asyncio(loop_scope="session")
REASON = "The image shows an 8 where the reader gave a B"


async def correct(system: Any, read_id: str, **body: Any) -> Any:
    sent = {"plate": unique_plate(), "reason": REASON, **body}
    return await system.gateway.post(f"/v1/reads/{read_id}/corrections", json=sent, headers=system.token("officer"))


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": (now - timedelta(hours=1)).isoformat(), "until": (now + timedelta(minutes=5)).isoformat()}


async def test_a_correction_naming_no_look_at_the_image_is_refused(system: Any) -> None:
    read_id = await read_with_image(system)
    refused = await correct(system, read_id)
    assert refused.status_code == 422 and refused.json()["error"]["fields"] == ["body.image_view_id"]


@pytest.mark.parametrize("whose", ["made_up", "another_read", "another_person", "a_search_that_found_it"])
async def test_a_record_that_is_not_this_persons_look_at_this_read_is_refused(system: Any, whose: str) -> None:
    plate = "C" + uuid.uuid4().hex[:6].upper()
    read_id = await read_with_image(system, plate)
    if whose == "made_up":
        record = str(uuid.uuid4())
    elif whose == "another_read":
        record = await image_view(system, await read_with_image(system))
    elif whose == "another_person":
        record = await image_view(system, read_id, role="analyst")
    else:  # the officer's own search that returned the read: a record naming it, but no look at its image
        found = await system.gateway.post(
            "/v1/searches",
            json={"query": {"plate": plate, **window()}, "purpose": LOOK},
            headers=system.token("officer"),
        )
        assert found.status_code == 200 and [r["read_id"] for r in found.json()["reads"]] == [read_id], found.text
        record = found.json()["search_id"]
    refused = await correct(system, read_id, image_view_id=record)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "image_not_viewed"


async def test_the_authors_own_look_lets_the_correction_through_and_is_on_its_record(system: Any) -> None:
    read_id = await read_with_image(system)
    record = await image_view(system, read_id)
    corrected = await correct(system, read_id, image_view_id=record)
    assert corrected.status_code == 201, corrected.text
    conn = await asyncpg.connect(system.stack.pg.admin_dsn)
    try:
        payload = await conn.fetchval(
            "SELECT payload FROM audit.access_records WHERE event_type = 'read_correction' "
            "AND (payload::jsonb) -> 'details' ->> 'image_view_id' = $1",
            record,
        )
    finally:
        await conn.close()
    assert payload is not None and json.loads(payload)["result_ids"] == [corrected.json()["read_id"]]
    # the new version has its own image: correcting it again takes a look at that version
    again = await correct(system, corrected.json()["read_id"], image_view_id=record)
    assert again.status_code == 403 and again.json()["error"]["code"] == "image_not_viewed"


async def test_a_look_at_the_alerts_image_is_a_look_at_its_read(system: Any) -> None:
    # where an officer meets a misread: the alert's image, then the correction (found in review: refused)
    plate = unique_plate()
    await listed_plate(system, plate)
    image = {"kind": "plate", "data_b64": base64.b64encode(image_samples.jpeg()).decode()}
    raised = await raise_alert(system, plate, images=[image])
    shown = await system.gateway.get(f"/v1/alerts/{raised['alert_id']}/image", headers=system.token("officer"))
    assert shown.status_code == 200, shown.text
    # the id the alert's verification names is the look's access record: it stands for the look at the read
    corrected = await correct(system, raised["read_id"], image_view_id=shown.headers["x-image-view-id"])
    assert corrected.status_code == 201, corrected.text
