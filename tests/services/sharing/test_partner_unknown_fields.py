"""Partner request bodies refuse a field they do not know (422 naming it), top level and nested alike.

A partner's misspelt field (`"plates"`, a requester's `"rank"`, an entry's `"expires"`) must not pass as if it
were left out: the partner would believe the search or the list says what it does not.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.sharing.conftest import PartnerSetup
from tests.services.sharing.test_partner_api_hotlists import bearer, partner_entries, plate

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mode": "partial"}, "body.mode"),
        ({"requester": {"name": "Det. R. Diaz", "badge": "4412", "rank": "Det."}}, "body.requester.rank"),
        ({"agency": {"ori": "CA0410000", "name": "Santa Clara County Sheriff", "id": 7}}, "body.agency.id"),
    ],
)
async def test_a_search_with_an_unknown_field_is_refused(
    system: Any, partners: PartnerSetup, change: dict[str, Any], field: str
) -> None:
    setup = await partners.shared_client()
    token = await partners.token(setup)
    body = {**PartnerSetup.search_body(setup["ori"], plate()), **change}
    response = await system.gateway.post("/partner/v1/searches", json=body, headers=bearer(token))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"] == [field]


async def test_a_hotlist_with_an_unknown_field_is_refused_and_nothing_is_kept(
    system: Any, partners: PartnerSetup
) -> None:
    setup = await partners.with_client()
    token = await partners.token(setup)
    top = await system.gateway.put(
        "/partner/v1/hotlists", json={"entries": [{"plate": plate()}], "replace": True}, headers=bearer(token)
    )
    assert top.status_code == 422 and top.json()["error"]["fields"] == ["body.replace"]
    entries = [{"plate": plate(), "state": "CA"}, {"plate": plate(), "expires": "2030-01-01T00:00:00Z"}]
    entry = await system.gateway.put("/partner/v1/hotlists", json={"entries": entries}, headers=bearer(token))
    assert entry.status_code == 422, entry.text
    error = entry.json()["error"]
    assert error["code"] == "invalid_hotlist_entry" and error["details"] == {"index": 1, "fields": ["expires"]}
    assert await partner_entries(system, setup["ori"]) == {}
