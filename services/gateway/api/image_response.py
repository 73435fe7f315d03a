"""How every stored image leaves the gateway: as an image or as bytes, never as a page a browser would run."""

from __future__ import annotations

import base64
import re
from typing import Any

from fastapi import Response

from libs.common.contracts.search import ReadImageReply
from libs.common.images import SERVED_OTHERWISE, SERVED_TYPES, extension, served_type

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9-]")
# the access record of a look at an image (its event id), on every image route: an alert's verification
# and a correction of the read name it (E2, G3)
IMAGE_VIEW_HEADER = "X-Image-View-Id"
# the OpenAPI of every image route: what image_response may answer with
IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the stored bytes, unchanged",
        "content": {t: {} for t in (*SERVED_TYPES, SERVED_OTHERWISE)},
    }
}


def image_response(image: ReadImageReply) -> Response:
    """The image under its sniffed type (octet-stream for an older row's unknown type), with nosniff and a
    CSP that lets nothing in it run or load, named after its read."""
    media_type = served_type(image.content_type)
    name = _NOT_IN_NAME.sub("", image.read_id) or "image"
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Content-Disposition": f"inline; filename={name}.{extension(media_type)}",
    }
    return Response(base64.b64decode(image.data_b64), media_type=media_type, headers=headers)
