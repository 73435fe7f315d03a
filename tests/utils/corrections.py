"""A read with an image, and a person's recorded look at it: what a correction must name (G3)."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.services.gateway.test_first_path import wait_stored
from tests.utils import image_samples

LOOK = {
    "use": "stolen_or_wanted_vehicle",
    "case_number": "SJ-2026-004211",
    "reason": "Vehicle reported stolen at knifepoint on Story Road",
}


async def read_with_image(system: Any, plate: str | None = None) -> str:
    """Post a read with a plate crop from the camera; returns its id once records has stored it."""
    body = {
        "plate": plate or "C" + uuid.uuid4().hex[:6].upper(),
        "captured_at": datetime.now(UTC).isoformat(),
        "confidence": 0.9,
        "images": [{"kind": "plate", "data_b64": base64.b64encode(image_samples.jpeg()).decode()}],
    }
    posted = await system.gateway.post("/v1/reads", json=body, headers=system.camera)
    assert posted.status_code == 202, posted.text
    read_id = str(posted.json()["read_ids"][0])
    assert await wait_stored(system, read_id) == 1, "the read was not stored"
    return read_id


async def image_view(system: Any, read_id: str, role: str = "officer") -> str:
    """Open the read's image as `role`; returns the access record id of the look (`X-Image-View-Id`)."""
    response = await system.gateway.get(f"/v1/reads/{read_id}/image", params=LOOK, headers=system.token(role))
    assert response.status_code == 200, response.text
    return str(response.headers["x-image-view-id"])
