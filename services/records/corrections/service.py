"""Correction rules: whether the corrected plate is listed, judged as ingest judges a read. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.follower import IndexedEntry
from services.records.hotlists.matching import HotlistIndex, TextOrigin
from services.records.lookalike import LookalikeClasses


def lookalike_translation(classes: LookalikeClasses) -> tuple[str, str]:
    """The characters `classes` map and what each maps to, for PostgreSQL's `translate`."""
    mapped = [(chr(point), to) for point, to in enumerate(classes.table) if chr(point) != to]
    return "".join(char for char, _ in mapped), "".join(to for _, to in mapped)


def is_listed(
    plate: str, state: str | None, entries: Iterable[dict[str, Any]], classes: LookalikeClasses, now: datetime
) -> bool:
    """Whether an active entry among `entries` matches the corrected plate, exactly as ingest's index would."""
    index = HotlistIndex(classes)
    for row in entries:
        index.add(
            row["entry_id"],
            IndexedEntry(row["plate"], row["state"], row["expires_at"], row["priority"], HotlistSource(row["source"])),
        )
    # the officer's correction stands for the plate: the misread's candidates no longer speak for it
    return bool(index.match([(plate, TextOrigin.VENDOR.value)], state, now))
