"""One file being imported: what the caller knows about it, and how its raw fields become an entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError

from libs.common.contracts.reads import PLATE_MAX_LEN, normalize_plate
from libs.common.errors import InvalidInput
from libs.common.validation import check_instant, text_problem
from services.records.hotlists.entries import (
    DEFAULT_EXPIRY_POLICY,
    ExpiryPolicy,
    HotlistEntryIn,
    HotlistSource,
    compute_expiry,
)
from services.records.hotlists.importers.report import LineRefused

_PLATE = re.compile(r"^[A-Z0-9]+$")
_PATTERN = re.compile(r"^[A-Z0-9*?]+$")
_STATE = re.compile(r"^[A-Z]{2,3}$")


@dataclass(frozen=True)
class ImportBatch:
    """The source, arrival time and expiry policy of a file; dates without a zone are read in `tz`."""

    source: HotlistSource
    received_at: datetime
    policy: ExpiryPolicy = DEFAULT_EXPIRY_POLICY
    tz: tzinfo = UTC
    wildcards: bool = False  # only hand-made lists (CSV, Genetec) may hold partial plates

    def plate(self, raw: str) -> str:
        """A normalized plate, or refuse the line with `bad_plate`."""
        plate = normalize_plate(raw)
        allowed = _PATTERN if self.wildcards else _PLATE
        if not plate or len(plate) > PLATE_MAX_LEN or not allowed.match(plate) or not plate.strip("*?"):
            raise LineRefused("bad_plate", f"plate {raw.strip()!r} is not a plate")
        return plate

    def state(self, raw: str) -> str | None:
        """An upper-case state code (agencies write 0H for Ohio), None when blank, else `bad_state`."""
        state = raw.strip().upper().replace("0", "O")
        if not state:
            return None
        if not _STATE.match(state):
            raise LineRefused("bad_state", f"state {raw.strip()!r} is not a region code")
        return state

    def date(self, raw: str, fmt: str) -> datetime | None:
        """A day written in `fmt` as the start of that day in `tz`; None when blank, else `bad_date`."""
        raw = raw.strip()
        if not raw:
            return None
        try:
            return _in_range(datetime.strptime(raw, fmt).replace(tzinfo=self.tz), raw)
        except ValueError:
            raise LineRefused("bad_date", f"date {raw!r} is not {fmt}") from None

    def instant(self, raw: str) -> datetime | None:
        """An ISO 8601 date or date-time; a bare date means the start of that day in `tz`."""
        raw = raw.strip()
        if not raw:
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            raise LineRefused("bad_date", f"date {raw!r} is not ISO 8601") from None
        return _in_range(value if value.tzinfo else value.replace(tzinfo=self.tz), raw)

    def number(self, raw: str, field: str) -> int | None:
        """A whole number, None when blank, else `bad_number`."""
        raw = raw.strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise LineRefused("bad_number", f"{field} {raw!r} is not a number")
        return int(raw)

    def entry(
        self,
        *,
        entered_at: datetime | None = None,
        expires_at: datetime | None = None,
        expires_on: datetime | None = None,
        **fields: Any,
    ) -> HotlistEntryIn:
        """The entry with its source-rule expiry; `expires_on` is a last valid day, `expires_at` a time."""
        # B4 caps a manual entry's life from its entry, so one dated ahead (2099) would outlive the cap: an
        # entry is taken as entered when the file arrived at the latest. Not refused: a feed's date-only entry
        # day in a time zone ahead of ours is legitimately "tomorrow", and refusing it would drop a wanted plate
        entered = min(entered_at or self.received_at, self.received_at)
        # A list's expiry date is the last day it is valid, so it lapses when that day ends.
        requested = expires_on + timedelta(days=1) if expires_on else expires_at
        expires = compute_expiry(
            self.source,
            entered_at=entered,
            refreshed_at=self.received_at,
            requested=requested,
            policy=self.policy,
        )
        blank_free = {name: value for name, value in fields.items() if value not in ("", None)}
        for name, value in blank_free.items():
            if isinstance(value, str) and (problem := text_problem(value)) is not None:
                # refused here, line by line: one NUL must not fail the whole file at PostgreSQL
                raise LineRefused("invalid_text", f"{name} contains a {problem.replace('_', ' ')}")
        try:
            return HotlistEntryIn(
                source=self.source,
                entered_at=entered,
                refreshed_at=self.received_at,
                expires_at=expires,
                requested_expires_at=requested,
                **blank_free,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise LineRefused("bad_entry", f"{where}: {first['msg']}") from None


def _in_range(at: datetime, raw: str) -> datetime:
    try:
        return check_instant(at, field="date")
    except InvalidInput:
        raise LineRefused("bad_date", f"date {raw!r} is outside the years a list may name") from None


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers, line ends removed."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield line_no, line.rstrip("\r\n")
