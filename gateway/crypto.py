"""Encryption of secrets at rest: AES-256-GCM with a key ring.

A ciphertext reads ``v1.<key id>.<base64url(nonce || ciphertext+tag)>``. The
key id says which key of the ring opens it, so keys can be rotated: the first
configured key encrypts, every configured key decrypts, and
``gateway crypto rotate`` re-encrypts what an older key sealed.

The associated data binds a ciphertext to its place (``table:row id:field``):
a ciphertext copied into another row or field does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import GatewayError
from gateway.settings import EncryptionKey

VERSION = "v1"
_NONCE = 12


class DecryptionError(GatewayError):
    """A stored secret cannot be decrypted: unknown key, tampered, or moved."""

    code = "decryption_failed"


def associated_data(table: str, row_id: object, field: str) -> bytes:
    return f"{table}:{row_id}:{field}".encode()


class KeyRing:
    def __init__(self, keys: tuple[EncryptionKey, ...]) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self.current = keys[0]
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self.current.key_id].encrypt(nonce, plaintext, aad)
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{VERSION}.{self.current.key_id}.{body}"

    def decrypt(self, token: str, aad: bytes) -> bytes:
        version, key_id, body = _split(token)
        if version != VERSION:
            raise DecryptionError(f"unsupported ciphertext version {version!r}")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(
                f"a secret was encrypted with key {key_id!r}, which is not configured;"
                " add it back to GATEWAY_ENCRYPTION_KEYS"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except (InvalidTag, binascii.Error, ValueError):
            raise DecryptionError("a stored secret failed its integrity check") from None

    def key_id_of(self, token: str) -> str:
        return _split(token)[1]

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.current.key_id

    def encrypt_json(self, value: Mapping[str, Any], aad: bytes) -> str:
        return self.encrypt(json.dumps(dict(value), separators=(",", ":")).encode(), aad)

    def decrypt_json(self, token: str, aad: bytes) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.decrypt(token, aad))
        return loaded


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".", 2)
    if len(parts) != 3:
        raise DecryptionError("a stored secret is not a ciphertext")
    return parts[0], parts[1], parts[2]
