"""Camera positions in WGS84 decimal degrees."""

from __future__ import annotations

from libs.common.contracts.reads import ReadIn

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


def place_at_camera(reads: list[ReadIn], lat: float | None, lon: float | None) -> None:
    """A read that carries no position takes its camera's registered one, flagged as the camera's.

    A fixed camera that sends no GPS is still where it was registered, so area searches find its reads;
    a read with its own position keeps it. A camera registered without a position leaves reads as they are.
    """
    if lat is None or lon is None:
        return
    for read in reads:
        if read.latitude is None and read.longitude is None:
            read.latitude, read.longitude, read.location_from_camera = lat, lon, True
