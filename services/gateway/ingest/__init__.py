"""Camera-vendor payloads normalized into ReadIn: pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError

from libs.common.errors import InvalidInput
from libs.common.validation import DEFAULT_CLOCK_SKEW_S

from .body import VendorBody
from .detection import detect_format
from .formats import ALIASES, PARSERS
from .payload import IngestContext, ParsedPayload, PayloadKind, contract_refusal

__all__ = ["FORMATS", "ParsedPayload", "PayloadKind", "parse_payload"]

FORMATS: tuple[str, ...] = tuple(PARSERS)


def parse_payload(
    body: bytes,
    content_type: str,
    *,
    format: str | None,
    agency: str,
    camera_id: str,
    received_at: datetime,
    active_retention_days: int | None = None,
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S,
) -> ParsedPayload:
    """Normalize one vendor post; `format=None` detects it. Raises MalformedPayload or InvalidInput.

    With `active_retention_days`, each read's capture time must lie in the window records will store.
    """
    vendor_body = VendorBody(body, content_type)
    name = detect_format(vendor_body) if format is None else ALIASES.get(format.lower(), format.lower())
    parser = PARSERS.get(name)
    if parser is None:
        raise InvalidInput(f"unknown format {format!r}", code="unknown_format", format=format, known=list(FORMATS))
    ctx = IngestContext(
        agency=agency,
        camera_id=camera_id,
        received_at=received_at,
        body=vendor_body,
        active_retention_days=active_retention_days,
        clock_skew_s=clock_skew_s,
    )
    try:
        payload = parser(ctx)
    except ValidationError as exc:
        # a contract model (a Box of infinite size, say) built outside the builder: the sender's input, not a bug
        raise contract_refusal(exc) from None
    payload.format = name
    return payload
