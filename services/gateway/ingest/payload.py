"""What one vendor post normalizes to, and the builder the format parsers fill in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from libs.common.contracts.reads import ReadIn
from libs.common.errors import InvalidInput

from .body import VendorBody
from .plates import PlateRefused

PayloadKind = Literal["reads", "heartbeat", "test", "empty"]


@dataclass(frozen=True)
class IngestContext:
    """Who sent the post (from the camera credential) and when it arrived."""

    agency: str
    camera_id: str
    received_at: datetime
    body: VendorBody


@dataclass
class ParsedPayload:
    """The normalized reads of one vendor post plus what the gateway needs to answer and de-duplicate."""

    format: str
    kind: PayloadKind
    reads: list[ReadIn] = field(default_factory=list)
    replaces_preview: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    camera_hint: str | None = None


class PayloadBuilder:
    """Collects reads and refusals for one post; fills the fields every read shares."""

    def __init__(self, ctx: IngestContext, *, vendor: str, camera_hint: object = None) -> None:
        self.ctx = ctx
        self.vendor = vendor
        self.payload = ParsedPayload(format=vendor, kind="reads", camera_hint=_hint(camera_hint))

    def add(self, *, vendor_format: str, raw_body: str | None = None, **fields: Any) -> ReadIn:
        """Build and keep one read; contract violations become invalid_field with the field named."""
        try:
            read = ReadIn(
                agency=self.ctx.agency,
                camera_id=self.ctx.camera_id,
                vendor=self.vendor,
                vendor_format=vendor_format,
                raw_body=self.ctx.body.text if raw_body is None else raw_body,
                **fields,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"{name}: {first['msg']}", code="invalid_field", field=name, reason=first["msg"]
            ) from None
        self.payload.reads.append(read)
        return read

    def refuse(self, refusal: PlateRefused, *, index: int) -> None:
        """Record a plate that cannot be stored; the rest of the post still counts."""
        self.payload.rejected.append({"index": index, "plate_raw": refusal.raw, "reason": refusal.reason})

    def done(self, kind: PayloadKind | None = None) -> ParsedPayload:
        """The payload; with no kind given, a post with neither reads nor refusals is `empty`."""
        if kind is not None:
            self.payload.kind = kind
        elif not self.payload.reads and not self.payload.rejected:
            self.payload.kind = "empty"
        return self.payload


def _hint(value: object) -> str | None:
    if value is None or isinstance(value, dict | list) or str(value).strip() in ("", "null"):
        return None
    return str(value)
