"""What one vendor post normalizes to, and the builder the format parsers fill in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError

from libs.common.contracts.reads import ReadIn
from libs.common.errors import AlprError, InvalidInput
from libs.common.validation import (
    DEFAULT_CLOCK_SKEW_S,
    capture_window,
    check_captured_at,
    check_text,
    text_problem,
)

from .body import VendorBody
from .evidence import json_without_images, raw_body
from .images import IMAGE_FLAGS, READ_IMAGES_MAX, too_many_images
from .lazy import once
from .plates import PlateRefused

PayloadKind = Literal["reads", "heartbeat", "test", "empty"]


@dataclass(frozen=True)
class IngestContext:
    """Who sent the post (from the camera credential), when it arrived, and the window its reads must fall in.

    `active_retention_days` None leaves capture times unchecked: the normalizers' own tests parse samples
    years old. The gateway always passes it (services/gateway/api/camera_posts.py).
    """

    agency: str
    camera_id: str
    received_at: datetime
    body: VendorBody
    active_retention_days: int | None = None
    clock_skew_s: float = DEFAULT_CLOCK_SKEW_S


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
        self._whole_body: list[ReadIn] = []  # reads whose raw_body is the whole post (see evidence.py)
        self._ids: set[str] = set()

    def add(
        self, *, vendor_format: str, raw_body: str | None = None, id_field: str = "read_id", **fields: Any
    ) -> ReadIn:
        """Build and keep one read through ReadIn's rules and the capture window; InvalidInput names the field.

        Contract violations are invalid_field, except the text rules (invalid_text, text_too_long) and the
        window (captured_before_retention, captured_in_future), which keep their own codes. A read whose id
        another read of the post already has is refused as `repeated_in_post`, naming `id_field` (what the
        sender repeated): JetStream would keep only one of them, and the answer would not say which was lost.
        """
        ctx = self.ctx
        images = fields.get("images")
        if images and len(images) > READ_IMAGES_MAX:
            raise too_many_images("images", len(images))
        own_id = fields.get("read_id")
        if own_id in self._ids:
            raise InvalidInput("another read of this post has the same id", code="repeated_in_post", field=id_field)
        try:
            read = ReadIn(
                agency=ctx.agency,
                camera_id=ctx.camera_id,
                vendor=self.vendor,
                vendor_format=vendor_format,
                raw_body=ctx.body.text if raw_body is None else raw_body,
                received_at=ctx.received_at,
                **fields,
            )
        except ValidationError as exc:
            raise contract_refusal(exc) from None
        window = self._window
        if window is not None and not window[0] <= read.captured_at <= window[1]:
            # the refusal, with its code and field, is the contract's own
            read.check_window(active_retention_days=window[2], clock_skew_s=ctx.clock_skew_s)
        if read.plate is None and not read.images and IMAGE_FLAGS.intersection(read.flags):
            raise InvalidInput("a read needs plate text or an image that is one", code="image_refused", field="images")
        self.payload.reads.append(read)
        if isinstance(own_id, str):
            self._ids.add(own_id)
        if raw_body is None:
            self._whole_body.append(read)
        return read

    @once
    def _window(self) -> tuple[datetime, datetime, int] | None:
        """The capture window every read of the post is checked against (they share `received_at`), with the
        retention it came from; worked out once a post rather than once a read (1.1 us a read)."""
        days = self.ctx.active_retention_days
        if days is None:
            return None
        # in UTC, as ReadIn holds received_at: a day back in a zone with DST is not always 24 hours back
        at = self.ctx.received_at.astimezone(UTC)
        earliest, latest = capture_window(at, active_retention_days=days, clock_skew_s=self.ctx.clock_skew_s)
        return earliest, latest, days

    def shared_raw_body(self, document: Any) -> str | None:
        """raw_body for the read of a post of one result: None (the post as sent) when that text can be stored.

        A post of several gives each read its own result instead (evidence.with_shared). A DEL, which JSON
        allows unescaped and no column may carry, is escaped by re-serializing the post.
        """
        body = self.ctx.body
        if text_problem(body.text, multiline=True) is None:
            return None
        if body.media != "json":
            # outside a JSON body the bad text is not inside any one result: the post cannot be kept at all
            check_text(body.text, field="raw_body", max_length=None, multiline=True)
        return json.dumps(document, separators=(",", ":"))

    def check_shared_time(self, at: datetime, *, field: str) -> None:
        """A capture time every read of the post shares: outside the window the whole post is refused, naming
        the vendor's field, rather than each read being listed for a time that is not its own."""
        ctx = self.ctx
        if ctx.active_retention_days is not None:
            check_captured_at(
                at,
                now=ctx.received_at,
                active_retention_days=ctx.active_retention_days,
                clock_skew_s=ctx.clock_skew_s,
                field=field,
            )

    def refuse(self, refusal: PlateRefused, *, index: int, field: str = "plate") -> None:
        """Record a plate that cannot be stored; the rest of the post still counts."""
        self.payload.rejected.append(
            {
                "index": index,
                "code": "invalid_plate",
                "field": field,
                "message": "plate cannot be stored",
                "plate_raw": refusal.raw,
                "reason": refusal.reason,
            }
        )

    def reject(self, err: AlprError, *, index: int, path: str) -> None:
        """Record a read of a batch refused by a rule; the batch's other reads are still stored."""
        field = err.details.get("field")
        if isinstance(field, str) and not field.startswith(path):
            field = f"{path}.{field}"  # a ReadIn rule names its own field, not where the batch put it
        self.payload.rejected.append({"index": index, "code": err.code, "field": field, "message": err.message})

    def done(self, kind: PayloadKind | None = None) -> ParsedPayload:
        """The payload; with no kind given, a post with neither reads nor refusals is `empty`.

        Each raw_body names the images its read carries by their digest (evidence.py), so an image
        travels once per message.
        """
        if any(r.images for r in self._whole_body):
            whole = raw_body(self.ctx.body, [i for r in self._whole_body for i in r.images])
            for read in self._whole_body:
                read.raw_body = whole
        shared = {id(r) for r in self._whole_body}
        for read in self.payload.reads:
            if read.images and read.raw_body is not None and id(read) not in shared:
                read.raw_body = json_without_images(read.raw_body, read.images)
        if kind is not None:
            self.payload.kind = kind
        elif not self.payload.reads and not self.payload.rejected:
            self.payload.kind = "empty"
        return self.payload


def contract_refusal(exc: ValidationError) -> InvalidInput:
    """A contract model's refusal (ReadIn, Box, Point…) as the one error family, naming its first field."""
    first = exc.errors()[0]
    name = ".".join(str(p) for p in first["loc"])
    code = first["type"] if first["type"] in _OWN_CODES else "invalid_field"
    return InvalidInput(f"{name}: {first['msg']}", code=code, field=name, reason=first["msg"])


# ReadIn refusals whose pydantic type is already the stable code the camera sees
_OWN_CODES = frozenset({"invalid_text", "text_too_long", "time_out_of_range"})


def _hint(value: object) -> str | None:
    if value is None or isinstance(value, dict | list) or str(value).strip() in ("", "null"):
        return None
    return str(value)
