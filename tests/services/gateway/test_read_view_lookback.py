"""A read viewed by id under a stated purpose is bounded by the viewer's class look-back, as a search is."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.services.gateway.test_first_path import PURPOSE, post_read, unique_plate, wait_stored
from tests.services.records.test_retention import approved_hold, case_number
from tests.utils.image_samples import png
from tests.utils.registry_people import audit_rows, bearer, new_sub, put_person

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _narrow_viewer(system: Any) -> dict[str, str]:
    """A person whose class looks back one day and may view images."""
    name = "narrow-" + uuid.uuid4().hex[:8]
    made = await system.gateway.put(
        f"/v1/admin/user-classes/{name}",
        json={"max_lookback_days": 1, "allow_images": True},
        headers=system.token("admin"),
    )
    assert made.status_code == 200, made.text
    return bearer(system, await put_person(system, new_sub("narrow"), ["officer"], user_class=name))


async def _stored_read(system: Any, days_ago: float) -> str:
    """A read with a plate image, captured `days_ago` days back, once records has stored it."""
    captured = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    image = {"kind": "plate", "data_b64": base64.b64encode(png()).decode()}
    posted = await post_read(system, unique_plate(), captured_at=captured, images=[image])
    assert posted.status_code == 202, posted.text
    read_id: str = posted.json()["read_ids"][0]
    assert await wait_stored(system, read_id)
    return read_id


class TestReadViewedByIdUnderAPurpose:
    async def test_a_read_older_than_the_look_back_is_refused(self, system: Any) -> None:
        viewer = await _narrow_viewer(system)
        read_id = await _stored_read(system, days_ago=10)
        response = await system.gateway.get(f"/v1/reads/{read_id}", params=PURPOSE, headers=viewer)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "lookback_exceeded"
        denied = await audit_rows(
            system,
            "event_type = 'access_denied' AND payload::jsonb -> 'query' ->> 'read_id' = $1",
            read_id,
        )
        assert denied[0]["payload"]["details"]["refusal"] == "lookback_exceeded"

    async def test_its_image_older_than_the_look_back_is_refused(self, system: Any) -> None:
        viewer = await _narrow_viewer(system)
        read_id = await _stored_read(system, days_ago=10)
        response = await system.gateway.get(f"/v1/reads/{read_id}/image", params=PURPOSE, headers=viewer)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "lookback_exceeded"

    async def test_a_read_within_the_look_back_is_shown(self, system: Any) -> None:
        viewer = await _narrow_viewer(system)
        read_id = await _stored_read(system, days_ago=0.5)
        detail = await system.gateway.get(f"/v1/reads/{read_id}", params=PURPOSE, headers=viewer)
        assert detail.status_code == 200, detail.text
        assert detail.json()["read_id"] == read_id
        image = await system.gateway.get(f"/v1/reads/{read_id}/image", params=PURPOSE, headers=viewer)
        assert image.status_code == 200, image.text

    async def test_past_the_look_back_only_a_read_held_for_the_purposes_case_is_shown(self, system: Any) -> None:
        viewer = await _narrow_viewer(system)
        read_id = await _stored_read(system, days_ago=10)
        case, other_case = case_number(), case_number()
        await approved_hold(system, case, read_ids=[read_id])
        await approved_hold(system, other_case, read_ids=[await _stored_read(system, days_ago=10)])
        held = {**PURPOSE, "case_number": case}
        assert (await system.gateway.get(f"/v1/reads/{read_id}", params=held, headers=viewer)).status_code == 200
        image = await system.gateway.get(f"/v1/reads/{read_id}/image", params=held, headers=viewer)
        assert image.status_code == 200, image.text
        # a case whose holds keep other reads, and a case with none, are refused alike
        for case_ in (other_case, case_number()):
            refused = await system.gateway.get(
                f"/v1/reads/{read_id}", params={**PURPOSE, "case_number": case_}, headers=viewer
            )
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "lookback_exceeded"
