"""The posted body, decoded once into whatever shape its media type says."""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import parse_qs
from xml.etree import ElementTree

from libs.common.errors import MalformedPayload
from libs.common.validation import check_document_text, load_json

from .formdata import FORM_PARTS_MAX, FormPart, parse_form, too_many_parts
from .lazy import once

Media = Literal["multipart", "form", "json", "xml", "unknown"]

_BOM = b"\xef\xbb\xbf"


class VendorBody:
    """One request body with its content type; decoded views are computed on first use."""

    def __init__(self, raw: bytes, content_type: str) -> None:
        self.raw = raw
        self.content_type = content_type or ""

    @once
    def media(self) -> Media:
        """What the body is, by content type and, for vague or missing types, by its first byte."""
        mime = self.content_type.split(";", 1)[0].strip().lower()
        if mime.startswith("multipart/"):
            return "multipart"
        if mime == "application/x-www-form-urlencoded":
            return "form"
        head = self.raw.removeprefix(_BOM).lstrip()[:1]
        sniffed: Media = "json" if head in (b"{", b"[") else "xml" if head == b"<" else "unknown"
        # Cameras mislabel bodies (XML sent as application/json and the reverse); the first byte decides then.
        if sniffed != "unknown":
            return sniffed
        if mime.endswith("/json") or mime.endswith("+json"):
            return "json"
        return "xml" if mime.endswith("/xml") or mime.endswith("+xml") else "unknown"

    @once
    def parts(self) -> list[FormPart]:
        """multipart parts, or the fields of a url-encoded form as text parts."""
        if self.media == "form":
            try:
                fields = parse_qs(
                    self.raw.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=FORM_PARTS_MAX
                )
            except ValueError:  # more fields than that, counted before any is split
                raise too_many_parts() from None
            return [FormPart(k, None, None, v[0].encode()) for k, v in fields.items()]
        return parse_form(self.raw, self.content_type)

    def part(self, *names: str) -> FormPart | None:
        """The first part whose field name or file name is one of `names`."""
        return next((p for p in self.parts if p.name in names or p.filename in names), None)

    @once
    def document(self) -> Any:
        """The body as JSON, every string in it checked; the UTF-8 BOM some agents prepend is ignored."""
        return decode_json(self.raw)

    @once
    def unchecked_document(self) -> Any:
        """The body as JSON, its strings not yet checked: for a batch, which refuses reads one by one."""
        return decode_json(self.raw, check_text=False)

    @once
    def xml_root(self) -> ElementTree.Element:
        """The body as an XML element tree."""
        return decode_xml(self.raw)

    @once
    def text(self) -> str:
        """The whole body for `raw_body`: UTF-8 text as sent, or base64 when binary or multipart."""
        if self.media not in ("multipart", "unknown"):
            try:
                return self.raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.raw).decode("ascii")


def decode_json(raw: bytes, *, check_text: bool = True) -> Any:
    """JSON from bytes, bounded in depth, every string and key free of controls and lone surrogates.

    MalformedPayload (malformed_json, json_too_deep) or InvalidInput (invalid_text, naming the field).
    Vendors add fields over time and unknown ones are ignored, but what they hold is stored in `raw_body`,
    so the text of every field is checked, known or not.
    """
    try:
        text = raw.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"body is not valid JSON: {exc}", code="malformed_json") from None
    document = load_json(text)
    if check_text:
        check_document_text(document)
    return document


class _NoDoctype(ElementTree.TreeBuilder):
    """A tree builder that stops at a DOCTYPE, before any entity in it is declared or expanded."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise MalformedPayload("XML with a DTD is not accepted", code="malformed_xml")


def decode_xml(raw: bytes) -> ElementTree.Element:
    """XML from bytes, or MalformedPayload; DTDs are refused (in any encoding) to rule out entity expansion.

    The parser, not a byte search, finds the DOCTYPE, so a UTF-16 document cannot hide one. Expat refuses
    NUL, other C0 controls and surrogate references itself; an encoding it cannot read is malformed too.
    """
    parser = ElementTree.XMLParser(target=_NoDoctype())
    try:
        parser.feed(raw.removeprefix(_BOM))
        return parser.close()
    except (ElementTree.ParseError, LookupError, ValueError) as exc:  # unknown and multi-byte encodings
        raise MalformedPayload(f"body is not valid XML: {exc}", code="malformed_xml") from None
