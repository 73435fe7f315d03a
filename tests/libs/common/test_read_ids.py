"""Read ids: the same parts always give the same version-5 UUID text, as `uuid.UUID` writes it."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from libs.common.contracts.reads import stable_read_id


def _as_uuid(*parts: object) -> str:
    """What stable_read_id returned when it built a uuid.UUID: ids already stored must not change."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=5))


@pytest.mark.parametrize(
    "parts",
    [
        ("native", "agency-1", "cam-1", "id:ABC-123"),
        ("frame", "f-1", 0, 12, 640, 480),
        ("genetec", "agency-2", "cam-9", "sha256:" + "0" * 64, 3),
        ("", "", "", ""),
        ("openalpr", "agence-é", "caméra", "id:ÿ\u2603", 1.5),
    ],
)
def test_the_id_is_the_uuid_it_always_was(parts: tuple[object, ...]) -> None:
    made = stable_read_id(*parts)
    assert made == _as_uuid(*parts)
    assert uuid.UUID(made).version == 5 and uuid.UUID(made).variant == uuid.RFC_4122


def test_ids_of_many_parts_match_and_differ() -> None:
    made = {stable_read_id("native", "a", "c", f"id:{i}") for i in range(5000)}
    assert len(made) == 5000
    assert all(
        stable_read_id("native", "a", "c", f"id:{i}") == _as_uuid("native", "a", "c", f"id:{i}") for i in range(500)
    )
