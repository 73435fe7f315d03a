"""Turning an imported file into changes to a list: a full replacement, or adds and removals.

None of the supported formats marks removal lines (NCIC and CLEW extracts are full snapshots), so a
delta arrives as two files or lists, the additions and the removals, both given by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from libs.common.errors import InvalidInput
from services.records.hotlists.entries import HotlistEntryIn, HotlistSource
from services.records.hotlists.importers.report import ImportReport

# What identifies an entry across refreshes: the same record may change its vehicle details.
EntryKey = tuple[HotlistSource, str, str | None, str | None]


def entry_key(entry: HotlistEntryIn) -> EntryKey:
    """Source, plate, state and NIC: the identity of an entry from one refresh to the next."""
    return (entry.source, entry.plate, entry.state, entry.nic)


@dataclass(frozen=True)
class HotlistDelta:
    """Entries to add, entries held that were sent again (new refresh and expiry), keys to remove."""

    added: list[HotlistEntryIn]
    refreshed: list[HotlistEntryIn]
    removed: list[EntryKey]


def replacement_delta(held: Iterable[EntryKey], report: ImportReport) -> HotlistDelta:
    """The changes that make a list equal to a full file; an incomplete file is refused, not applied."""
    if not report.complete:
        # A truncated extract would otherwise remove every entry past the cut.
        raise InvalidInput("the file is incomplete; it cannot replace the list", code="hotlist_file_incomplete")
    held_keys = set(held)
    incoming = {entry_key(entry): entry for entry in report.entries}
    return HotlistDelta(
        added=[entry for key, entry in incoming.items() if key not in held_keys],
        refreshed=[entry for key, entry in incoming.items() if key in held_keys],
        removed=[key for key in held_keys if key not in incoming],
    )


def additions_and_removals(additions: ImportReport, removals: ImportReport) -> HotlistDelta:
    """A delta given as two files: entries to add (or refresh) and entries to remove."""
    return HotlistDelta(
        added=additions.entries,
        refreshed=[],
        removed=[entry_key(entry) for entry in removals.entries],
    )
