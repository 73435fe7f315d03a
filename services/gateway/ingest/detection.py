"""Which vendor sent a body, when the route does not say (FORMATS.md §14.1 order)."""

from __future__ import annotations

from libs.common.errors import InvalidInput

from .body import VendorBody
from .xmldoc import local_name


def detect_format(body: VendorBody) -> str:
    """The format name for a body, or InvalidInput(unknown_format)."""
    if body.media in ("multipart", "form"):
        found = _by_parts(body)
    elif body.media == "json":
        found = _by_json(body.unchecked_document)  # the format's parser checks the text, a batch read by read
    elif body.media == "xml":
        found = _by_xml(local_name(body.xml_root.tag))
    else:
        found = None
    if found is None:
        raise InvalidInput("payload format not recognized", code="unknown_format", media=body.media)
    return found


def _by_parts(body: VendorBody) -> str | None:
    names = {p.name for p in body.parts} | {p.filename for p in body.parts if p.filename}
    if "json" in names:
        return "platerecognizer"
    if "anpr.xml" in names or any("xml" in (p.content_type or "").lower() for p in body.parts):
        return "hikvision"
    if "event" in names:
        return "axis"
    return None


def _by_json(doc: object) -> str | None:
    if not isinstance(doc, dict):
        return None
    if "data_type" in doc or doc.get("openalpr_webhook") == "test" or isinstance(doc.get("group"), dict):
        return "openalpr"
    if "hook" in doc and "data" in doc:
        return "platerecognizer"
    if doc.get("webhook_type") == "lpr":
        return "verkada"
    if "PlateRead" in doc or "PlateAnalytics" in doc:
        return "genetec"
    if isinstance(doc.get("Picture"), dict) and "Plate" in doc["Picture"]:
        raise InvalidInput("Dahua ITSAPI payloads are not supported yet", code="unknown_format", detected="dahua")
    if "plateUTF8" in doc or "plateASCII" in doc:
        return "axis"
    if "reads" in doc or "plate" in doc:
        return "native"
    return None


def _by_xml(root: str) -> str | None:
    if root == "EventNotificationAlert":
        return "hikvision"
    if root == "Plate":
        return "genetec"
    return None
