"""API keys: ``gw_<prefix>_<secret>``. Only a SHA-256 of the whole key is stored.

The prefix finds the row; the hash is compared in constant time. A key is
shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime

from gateway.models import ApiKey, Workspace

KEY_PREFIX = "gw_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(workspace: Workspace, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext (never stored)."""
    prefix = secrets.token_hex(6)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = await ApiKey.create(workspace=workspace, name=name, prefix=prefix, secret_hash=_hash(plaintext))
    return row, plaintext


async def authenticate(plaintext: str) -> uuid.UUID | None:
    """The workspace a key belongs to, or ``None`` for an unknown or revoked key."""
    if not plaintext.startswith(KEY_PREFIX):
        return None
    prefix, sep, _ = plaintext[len(KEY_PREFIX):].partition("_")
    if not sep:
        return None
    row = await ApiKey.filter(prefix=prefix).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(plaintext)):
        return None
    if row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        await ApiKey.filter(id=row.id).update(last_used_at=now)
    return row.workspace_id
