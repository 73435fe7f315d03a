"""Signed checkpoints: an Ed25519 signature over the tree size and root at a moment."""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from libs.common.errors import InvalidInput
from services.audit.ledger.chain import format_timestamp

# Domain separation: a checkpoint signature can never be replayed as a signature over other data.
_CONTEXT = "alpr-audit-checkpoint/v1"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The signed statement that the log's first `tree_size` records have Merkle root `root_hash`."""

    tree_size: int
    root_hash: str
    timestamp: datetime
    key_id: str
    signature: str


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 bytes (hex) of SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _decode_base64(text: str) -> bytes:
    """Raw key bytes from standard or URL-safe base64."""
    compact = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        # Padding restored: URL-safe keys are often written without it.
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("key is neither PEM nor base64") from exc


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """The signing key from settings: PEM (PKCS#8) or the raw 32-byte seed in base64."""
    # ValueError, not AlprError: a pydantic settings validator turns it into a start-up failure.
    if "-----BEGIN" in text:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("checkpoint signing key is not an Ed25519 key")
        return key
    raw = _decode_base64(text)
    if len(raw) != 32:
        raise ValueError("raw Ed25519 signing key must be 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(text: str) -> Ed25519PublicKey:
    """A verification key: PEM (SubjectPublicKeyInfo) or the raw 32 bytes in base64."""
    if "-----BEGIN" in text:
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("checkpoint public key is not an Ed25519 key")
        return key
    raw = _decode_base64(text)
    if len(raw) != 32:
        raise ValueError("raw Ed25519 public key must be 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def signed_message(tree_size: int, root_hash: str, timestamp: datetime, key: str) -> bytes:
    """The exact bytes that are signed, one field a line."""
    lines = (_CONTEXT, str(tree_size), root_hash, format_timestamp(timestamp), key)
    return ("\n".join(lines) + "\n").encode("ascii")


def sign_checkpoint(
    signing_key: Ed25519PrivateKey,
    *,
    tree_size: int,
    root_hash: str,
    timestamp: datetime | None = None,
) -> Checkpoint:
    """Sign the root of the first `tree_size` records (root as hex)."""
    if tree_size < 0 or len(root_hash) != 64:
        raise ValueError("a checkpoint needs a tree size >= 0 and a 64-hex-digit root")
    moment = timestamp or datetime.now(UTC)
    kid = key_id(signing_key.public_key())
    root = root_hash.lower()
    signature = signing_key.sign(signed_message(tree_size, root, moment, kid))
    return Checkpoint(tree_size, root, moment, kid, base64.b64encode(signature).decode("ascii"))


def verify_checkpoint(public_key: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    """Whether `checkpoint` was signed by `public_key` and not altered since."""
    if checkpoint.key_id != key_id(public_key):
        return False
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        message = signed_message(checkpoint.tree_size, checkpoint.root_hash, checkpoint.timestamp, checkpoint.key_id)
        public_key.verify(signature, message)
    except (InvalidSignature, InvalidInput, binascii.Error, ValueError):
        return False
    return True
