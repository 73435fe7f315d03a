"""A read and its image as typed rows (models.Read, models.StoredImage), and as the gateway is answered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from libs.common.contracts.search import READ_DETAIL, READ_IMAGE, ReadLookup
from libs.common.errors import NotFound
from services.records import repository
from services.records.models import Read, StoredImage
from tests.utils.corrections import image_view

pytestmark = pytest.mark.asyncio(loop_scope="session")

REASON = "The image shows an 8 where the reader gave a B"


async def corrected(system: Any, store_reads: Any) -> tuple[str, str]:
    """A stored read and the id of the version a correction added."""
    (read,) = await store_reads([{"plate": "LKP" + uuid.uuid4().hex[:4].upper(), "captured_at": datetime.now(UTC)}])
    response = await system.gateway.post(
        f"/v1/reads/{read.read_id}/corrections",
        json={
            "plate": "LKQ" + uuid.uuid4().hex[:4].upper(),
            "reason": REASON,
            "image_view_id": await image_view(system, read.read_id),
        },
        headers=system.token("officer"),
    )
    assert response.status_code == 201, response.text
    return read.read_id, response.json()["read_id"]


class TestTypedRows:
    async def test_a_corrected_read_names_its_next_version(self, system: Any, store_reads: Any) -> None:
        original_id, version_id = await corrected(system, store_reads)
        async with system.runtime("records").uow() as session:
            original = await repository.get_read(session, read_id=original_id, case_number=None)
            version = await repository.get_read(session, read_id=version_id, case_number=None)
        assert isinstance(original, Read) and isinstance(version, Read)
        assert original.superseded_by == uuid.UUID(version_id) and original.version == 1
        assert version.supersedes == uuid.UUID(original_id) and version.superseded_by is None
        assert version.version == 2 and version.captured_at == original.captured_at

    async def test_an_image_is_a_stored_image(self, system: Any, store_reads: Any) -> None:
        (read,) = await store_reads([{"plate": "IMG" + uuid.uuid4().hex[:4].upper(), "captured_at": datetime.now(UTC)}])
        async with system.runtime("records").uow() as session:
            image = await repository.get_image(session, read_id=read.read_id, kind=None, case_number=None)
        assert isinstance(image, StoredImage)
        assert (str(image.read_id), image.kind, image.data) == (read.read_id, "plate", read.image)

    async def test_an_unknown_read_is_none(self, system: Any) -> None:
        async with system.runtime("records").uow() as session:
            assert await repository.get_read(session, read_id=str(uuid.uuid4()), case_number=None) is None


class TestReadEndpoints:
    async def test_the_detail_carries_the_version_chain(self, system: Any, store_reads: Any) -> None:
        original_id, version_id = await corrected(system, store_reads)
        bus = system.runtime("gateway").bus
        detail = await bus.call(READ_DETAIL, ReadLookup(read_id=version_id))
        assert (detail.read_id, detail.supersedes, detail.version) == (version_id, original_id, 2)
        assert detail.our_candidates == [] and detail.flags == ["corrected"]

    async def test_an_image_is_sent_base64_encoded(self, system: Any, store_reads: Any) -> None:
        old = datetime.now(UTC) - timedelta(hours=2)
        (read,) = await store_reads([{"plate": "B64" + uuid.uuid4().hex[:4].upper(), "captured_at": old}])
        image = await system.runtime("gateway").bus.call(READ_IMAGE, ReadLookup(read_id=read.read_id))
        assert (image.read_id, image.kind, image.content_type) == (read.read_id, "plate", "image/jpeg")
        assert image.data_b64 == "/9hwbGF0ZS1jcm9w/9k="

    async def test_no_such_read_is_read_not_found(self, system: Any) -> None:
        with pytest.raises(NotFound) as refused:
            await system.runtime("gateway").bus.call(READ_DETAIL, ReadLookup(read_id=str(uuid.uuid4())))
        assert refused.value.code == "read_not_found"
