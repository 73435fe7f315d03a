"""The request bodies of camera posts as the OpenAPI declares them: the routes read the raw body themselves.

Declared so clients, and the fuzzer, know what a camera sends; the parsers in `services/gateway/ingest`
remain the rule. The examples are short and live here, so the schema needs no file at run time.
"""

from __future__ import annotations

from typing import Any

from services.gateway.ingest.formats import ALIASES, PARSERS

VENDOR_FORMATS: list[str] = sorted({*PARSERS, *ALIASES})

_IMAGE = {
    "type": "object",
    "required": ["kind", "data_b64"],
    "properties": {
        "kind": {"type": "string", "enum": ["plate", "vehicle", "overview"]},
        "data_b64": {"type": "string", "description": "JPEG, PNG or WebP, base64; at most 8 MiB decoded"},
    },
}
NATIVE_READ: dict[str, Any] = {
    "type": "object",
    "title": "NativeRead",
    "required": ["plate", "captured_at"],
    "properties": {
        "plate": {"type": "string", "description": "as read; spaces and dashes are dropped"},
        "captured_at": {
            "type": "string",
            "format": "date-time",
            "description": "with a zone; within the retention window and at most the clock-skew allowance ahead",
        },
        "state": {"type": "string", "description": "two-letter code or us-xx"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "camera_id": {"type": "string"},
        "read_id": {"type": "string", "description": "the camera's own id; a resend with it is a duplicate"},
        "images": {"type": "array", "items": _IMAGE},
    },
}
NATIVE_BATCH: dict[str, Any] = {
    "type": "object",
    "title": "NativeBatch",
    "required": ["reads"],
    "properties": {"reads": {"type": "array", "maxItems": 1000, "items": NATIVE_READ}},
}
_NATIVE_EXAMPLE = {
    "plate": "7ABC123",
    "captured_at": "2026-12-01T15:04:05-08:00",
    "state": "CA",
    "confidence": 0.93,
    "latitude": 37.3349,
    "longitude": -121.8881,
}
NATIVE_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"anyOf": [NATIVE_READ, NATIVE_BATCH]},
            "examples": {
                "read": {"summary": "one read", "value": _NATIVE_EXAMPLE},
                "batch": {
                    "summary": "a batch of up to 1,000",
                    "value": {"reads": [_NATIVE_EXAMPLE, {**_NATIVE_EXAMPLE, "plate": "8XYZ456"}]},
                },
            },
        }
    },
}
# Genetec SharpV's documented HTTP read (FORMATS.md §3), in its JSON and XML forms
_GENETEC_JSON = {
    "Id": "32cf870a-46aa-4cfd-914b-00062d98e93a",
    "PlateRead": "AA7D2",
    "Timestamp": "2016-08-29T08:42:45.797",
    "LprCameraName": "Lpr Camera",
    "SourceUrl": "SHARPV12345",
    "Latitude": 0.0,
    "Longitude": 0.0,
    "PlateAnalytics": [{"Key": "Context", "Score": 1.0, "Value": "US"}],
    "PlateImage": "",
    "ContextImage": "",
}
_GENETEC_XML = (
    "<Plate><PlateRead>AA7D2</PlateRead><Timestamp>2016-08-29T08:42:45.797</Timestamp>"
    "<LprCameraName>Lpr Camera</LprCameraName><SourceUrl>SHARPV12345</SourceUrl></Plate>"
)
VENDOR_BODY: dict[str, Any] = {
    "required": True,
    "description": "The vendor's payload unchanged: JSON, XML or multipart as the camera sends it.",
    "content": {
        "application/json": {
            "schema": {"type": "object", "additionalProperties": True},
            "examples": {"genetec": {"summary": "Genetec SharpV HTTP read", "value": _GENETEC_JSON}},
        },
        "application/xml": {
            "schema": {"type": "string"},
            "examples": {"genetec": {"summary": "Genetec SharpV HTTP read", "value": _GENETEC_XML}},
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "description": "Hikvision `anpr.xml` and pictures; Axis `event` and `image`; Plate Recognizer "
                "`json` and `upload`",
                "additionalProperties": {"type": "string", "format": "binary"},
            },
            "examples": {"axis": {"summary": "Axis event part", "value": {"event": '{"plateUTF8": "7ABC123"}'}}},
        },
    },
}
