"""Camera positions in WGS84 decimal degrees."""

from __future__ import annotations

POSITION_DROPPED = "position_out_of_range"


def position(lat: float | None, lon: float | None, flags: list[str]) -> tuple[float | None, float | None]:
    """Latitude and longitude, or neither: 0,0 is how vendors say "no GPS", out-of-range is flagged."""
    if lat is None or lon is None or (lat == 0 and lon == 0):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        flags.append(POSITION_DROPPED)
        return None, None
    return lat, lon


def from_dms(degree: float, minute: float, second: float, hemisphere: str | None) -> float:
    """Degrees/minutes/seconds plus N/S/E/W to signed decimal degrees."""
    value = abs(degree) + minute / 60 + second / 3600
    return -value if (hemisphere or "").upper() in ("S", "W") else value
