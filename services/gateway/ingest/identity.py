"""Read ids: the same vendor post, resent, always yields the same ids."""

from __future__ import annotations

import hashlib

from libs.common.contracts.reads import stable_read_id


def read_id(vendor: str, agency: str, camera_id: str, source_key: str, *index: object) -> str:
    """Id from what identifies the read at its source, scoped to the agency and camera that sent it."""
    return stable_read_id(vendor, agency, camera_id, source_key, *index)


def body_key(raw: bytes) -> str:
    """Key for formats without an id of their own: the body, so only an exact resend matches."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()
