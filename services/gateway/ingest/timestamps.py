"""Vendor timestamps to aware UTC datetimes (FORMATS.md §14.2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from libs.common.errors import InvalidInput

_FF_STAMP = re.compile(r"^(\d{8}) (\d{6})(\d{3})?([+-]\d{4})?$")
_COMPACT_STAMP = re.compile(r"^(\d{14})(\d{3})?$")


class Stamp:
    """A parsed time and whether its zone had to be assumed."""

    __slots__ = ("at", "zone_assumed")

    def __init__(self, at: datetime, *, zone_assumed: bool = False) -> None:
        self.at = at
        self.zone_assumed = zone_assumed


def from_epoch(value: int | float | str, *, field: str) -> Stamp:
    """Epoch number by magnitude: ≥1e17 ns, ≥1e12 ms, ≥1e9 s; smaller values are refused."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # an integer of hundreds of digits overflows
        raise InvalidInput(f"{field} is not an epoch number", code="invalid_field", field=field) from None
    if number >= 1e17:
        seconds = number / 1e9
    elif number >= 1e12:
        seconds = number / 1e3
    elif number >= 1e9:
        seconds = number
    else:
        # Small numbers are uptimes or frame counters, never wall-clock time.
        raise InvalidInput(f"{field} is not a plausible epoch", code="invalid_field", field=field)
    try:
        return Stamp(datetime.fromtimestamp(seconds, UTC))
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"{field} is out of range", code="invalid_field", field=field) from None


def from_iso(value: str, *, field: str, naive_zone: tzinfo = UTC) -> Stamp:
    """ISO 8601 with or without a zone; no zone means `naive_zone` (UTC unless the format says local)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} is not an ISO 8601 time", code="invalid_field", field=field) from None
    if parsed.tzinfo is None:
        return Stamp(_utc(parsed.replace(tzinfo=naive_zone), field=field), zone_assumed=True)
    return Stamp(_utc(parsed, field=field))


def from_any(value: object, *, field: str) -> Stamp:
    """Epoch number, digit string or ISO string, whichever the vendor sent."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{field} is not a time", code="invalid_field", field=field)
    if isinstance(value, str) and not value.strip().isdigit():
        return from_iso(value, field=field)
    return from_epoch(value, field=field)


def from_ff_group(value: str, *, field: str) -> Stamp:
    """FF Group `YYYYMMDD HHMMSSFFF[+HHMM]`; without an offset it is taken as UTC, as FF documents."""
    match = _FF_STAMP.match(value.strip())
    if not match:
        raise InvalidInput(f"{field} is not YYYYMMDD HHMMSSFFF", code="invalid_field", field=field)
    day, clock, millis, offset = match.groups()
    zone = _offset_zone(offset, field=field) if offset else UTC
    at = _compact(day + clock, millis, zone, field=field)
    return Stamp(at, zone_assumed=offset is None)


def from_compact(value: str, *, field: str, zone: tzinfo) -> Stamp:
    """Hikvision `yyyyMMddHHmmssSSS` in the camera's zone."""
    match = _COMPACT_STAMP.match(value.strip())
    if not match:
        raise InvalidInput(f"{field} is not yyyyMMddHHmmssSSS", code="invalid_field", field=field)
    return Stamp(_compact(match.group(1), match.group(2), zone, field=field))


def _compact(digits: str, millis: str | None, zone: tzinfo, *, field: str) -> datetime:
    try:
        naive = datetime.strptime(digits, "%Y%m%d%H%M%S") + timedelta(milliseconds=int(millis or 0))
    except (ValueError, OverflowError):
        raise InvalidInput(f"{field} is not a valid date", code="invalid_field", field=field) from None
    return _utc(naive.replace(tzinfo=zone), field=field)


def _utc(at: datetime, *, field: str) -> datetime:
    """The same instant in UTC; year 1 or 9999 with an offset has none, and is refused rather than a 500."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field} is out of range", code="time_out_of_range", field=field) from None


def _offset_zone(offset: str, *, field: str) -> tzinfo:
    """`+HHMM` as a zone; a day or more (`+2400`) or 60 minutes or more is no UTC offset, and is refused."""
    hours, minutes = int(offset[1:3]), int(offset[3:5])
    if hours > 23 or minutes > 59:
        raise InvalidInput(f"{field} has no valid UTC offset", code="invalid_field", field=field)
    sign = -1 if offset[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))
