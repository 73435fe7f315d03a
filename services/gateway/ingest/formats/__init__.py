"""One parser per vendor format, by the name used in `POST /v1/ingest/{format}`."""

from __future__ import annotations

from collections.abc import Callable

from ..payload import IngestContext, ParsedPayload
from . import axis, genetec, hikvision, native, openalpr, platerecognizer, verkada

Parser = Callable[[IngestContext], ParsedPayload]

PARSERS: dict[str, Parser] = {
    "openalpr": openalpr.parse,
    "platerecognizer": platerecognizer.parse,
    "genetec": genetec.parse,
    "hikvision": hikvision.parse,
    "axis": axis.parse,
    "verkada": verkada.parse,
    "native": native.parse,
}

# Names operators use for the same wire formats.
ALIASES: dict[str, str] = {"rekor": "openalpr", "push": "openalpr", "ffgroup": "axis", "sharpv": "genetec"}
