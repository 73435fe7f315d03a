"""Signed checkpoints: keys from settings, signatures, key ids."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit.ledger.checkpoints import (
    key_id,
    load_public_key,
    load_signing_key,
    sign_checkpoint,
    verify_checkpoint,
)

ROOT = "5d" * 32
AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class TestKeys:
    def test_signing_key_from_pem_and_from_raw_base64_are_the_same_key(self) -> None:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        seed = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        assert raw_public(load_signing_key(pem)) == raw_public(key)
        assert raw_public(load_signing_key(base64.b64encode(seed).decode())) == raw_public(key)
        unpadded = base64.urlsafe_b64encode(seed).decode().rstrip("=")
        assert raw_public(load_signing_key(unpadded)) == raw_public(key)

    def test_public_key_from_pem_and_raw_base64(self) -> None:
        key = Ed25519PrivateKey.generate()
        pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert key_id(load_public_key(pem.decode())) == key_id(key.public_key())
        assert key_id(load_public_key(base64.b64encode(raw_public(key)).decode())) == key_id(key.public_key())

    @pytest.mark.parametrize("text", ["not a key", base64.b64encode(b"short").decode()])
    def test_malformed_keys_are_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            load_signing_key(text)

    def test_key_id_is_first_8_bytes_of_sha256_of_raw_public_key(self) -> None:
        key = Ed25519PrivateKey.generate()
        assert key_id(key.public_key()) == hashlib.sha256(raw_public(key)).digest()[:8].hex()


class TestSignatures:
    def test_signed_checkpoint_verifies(self) -> None:
        key = Ed25519PrivateKey.generate()
        checkpoint = sign_checkpoint(key, tree_size=1000, root_hash=ROOT, timestamp=AT)
        assert checkpoint.key_id == key_id(key.public_key())
        assert verify_checkpoint(key.public_key(), checkpoint)

    @pytest.mark.parametrize(
        "change",
        [{"tree_size": 999}, {"root_hash": "5e" * 32}, {"timestamp": datetime(2026, 3, 2, tzinfo=UTC)}],
    )
    def test_any_changed_field_breaks_the_signature(self, change: dict[str, object]) -> None:
        key = Ed25519PrivateKey.generate()
        checkpoint = sign_checkpoint(key, tree_size=1000, root_hash=ROOT, timestamp=AT)
        assert not verify_checkpoint(key.public_key(), dataclasses.replace(checkpoint, **change))

    def test_another_key_does_not_verify_even_with_the_key_id_forged(self) -> None:
        key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        checkpoint = sign_checkpoint(key, tree_size=10, root_hash=ROOT, timestamp=AT)
        assert not verify_checkpoint(other.public_key(), checkpoint)
        forged = dataclasses.replace(checkpoint, key_id=key_id(other.public_key()))
        assert not verify_checkpoint(other.public_key(), forged)

    def test_garbage_signature_is_a_failed_verification_not_a_crash(self) -> None:
        key = Ed25519PrivateKey.generate()
        checkpoint = sign_checkpoint(key, tree_size=10, root_hash=ROOT, timestamp=AT)
        assert not verify_checkpoint(key.public_key(), dataclasses.replace(checkpoint, signature="%%%"))
