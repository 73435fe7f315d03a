"""Applying an imported file to a list: full replacement or additions and removals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from libs.common.errors import InvalidInput
from services.records.hotlists.delta import additions_and_removals, entry_key, replacement_delta
from services.records.hotlists.entries import HotlistSource
from services.records.hotlists.importers import ImportBatch, import_hotlist

BATCH = ImportBatch(HotlistSource.CA_DOJ_STOLEN_PLATE, datetime(2026, 3, 1, tzinfo=UTC))
HEADER = "DATE03/01/2026 05:00\n"


class TestReplacementDelta:
    def test_adds_refreshes_and_removes(self) -> None:
        old = import_hotlist(HEADER + "7ABC123 CA1920260227\n7ABC124 CA1920260227\nTOTAL RECORD 2\n", BATCH)
        new = import_hotlist(HEADER + "7ABC124 CA1920260227\n7ABC125 CA1920260228\nTOTAL RECORD 2\n", BATCH)
        delta = replacement_delta([entry_key(entry) for entry in old.entries], new)
        assert [entry.plate for entry in delta.added] == ["7ABC125"]
        assert [entry.plate for entry in delta.refreshed] == ["7ABC124"]
        assert delta.removed == [(HotlistSource.CA_DOJ_STOLEN_PLATE, "7ABC123", "CA", None)]

    def test_truncated_file_cannot_replace_a_list(self) -> None:
        cut = import_hotlist(HEADER + "7ABC124 CA1920260227\nTOTAL RECORD 5000\n", BATCH)
        with pytest.raises(InvalidInput) as refused:
            replacement_delta([], cut)
        assert refused.value.code == "hotlist_file_incomplete"


class TestAdditionsAndRemovals:
    def test_two_files(self) -> None:
        adds = import_hotlist("7ABC125 CA1920260228\n", BATCH)
        removes = import_hotlist("7ABC123 CA1920260227\n", BATCH)
        delta = additions_and_removals(adds, removes)
        assert [entry.plate for entry in delta.added] == ["7ABC125"]
        assert delta.removed == [(HotlistSource.CA_DOJ_STOLEN_PLATE, "7ABC123", "CA", None)]
