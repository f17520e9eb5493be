"""Secrets at rest: AES-GCM, key ids, binding to row and field, rotation."""

from __future__ import annotations

import asyncpg
import pytest

from gateway.crypto import DecryptionError, KeyRing, associated_data
from gateway.models import Integration
from gateway.settings import generate_key_spec, parse_keys
from gateway.types import Credentials
from gateway.vault import SECRET_FIELDS, Vault


def ring(*specs: str) -> KeyRing:
    return KeyRing(parse_keys(",".join(specs)))


OLD, NEW = generate_key_spec("old"), generate_key_spec("new")


def test_round_trip_and_key_id_in_ciphertext():
    keys = ring(NEW)
    aad = associated_data("integration", "row-1", "credentials")
    token = keys.encrypt(b"s3cret-token", aad)
    assert token.startswith("v1.new.")
    assert b"s3cret-token" not in token.encode()
    assert keys.decrypt(token, aad) == b"s3cret-token"
    # a fresh nonce each time
    assert keys.encrypt(b"s3cret-token", aad) != token


def test_ciphertext_moved_to_another_row_or_field_fails():
    keys = ring(NEW)
    token = keys.encrypt(b"x", associated_data("integration", "row-1", "credentials"))
    with pytest.raises(DecryptionError):
        keys.decrypt(token, associated_data("integration", "row-2", "credentials"))
    with pytest.raises(DecryptionError):
        keys.decrypt(token, associated_data("oauth_state", "row-1", "secrets"))


def test_tampered_ciphertext_fails():
    keys = ring(NEW)
    aad = associated_data("t", 1, "f")
    token = keys.encrypt(b"x", aad)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(DecryptionError, match="integrity"):
        keys.decrypt(flipped, aad)


def test_old_key_still_decrypts_and_unknown_key_is_named():
    aad = associated_data("t", 1, "f")
    sealed_by_old = ring(OLD).encrypt(b"x", aad)
    assert ring(NEW, OLD).decrypt(sealed_by_old, aad) == b"x"
    with pytest.raises(DecryptionError, match="'old'"):
        ring(NEW).decrypt(sealed_by_old, aad)


async def test_rotation_reencrypts_every_stored_secret(app, tenant, database_url):
    old_vault = Vault(ring(OLD))
    rows = []
    for n in range(3):
        row = Integration(workspace_id=tenant.id, platform="twitter", external_id=str(n), handle=f"h{n}")
        row.credentials = old_vault.seal_credentials(row.id, Credentials(tokens={"oauth_token": f"tok-{n}"}))
        await row.save()
        rows.append(row)

    vault = Vault(ring(NEW, OLD))
    assert await vault.rotate() == 3
    assert await vault.rotate() == 0  # idempotent
    for n, row in enumerate(rows):
        fresh = await Integration.get(id=row.id)
        assert vault.keyring.key_id_of(fresh.credentials) == "new"
        # the new key alone now reads it: the old one can be retired
        assert Vault(ring(NEW)).open_credentials(fresh).tokens == {"oauth_token": f"tok-{n}"}


async def test_no_secret_is_stored_in_plaintext(app, tenant, database_url, runtime):
    secret = "plaintext-canary-7f3a"
    row = Integration(workspace_id=tenant.id, platform="twitter", external_id="1", handle="h")
    row.credentials = runtime.vault.seal_credentials(row.id, Credentials(tokens={"oauth_token": secret}))
    await row.save()
    assert await scan_database_for(database_url, secret) == []
    for model, field in SECRET_FIELDS:  # every secret column is a ciphertext
        for value in await model.filter(**{f"{field}__isnull": False}).values_list(field, flat=True):
            assert value.startswith("v1.")


async def scan_database_for(database_url: str, needle: str) -> list[str]:
    """Every (table, column) of the public schema whose text contains ``needle``."""
    conn = await asyncpg.connect(database_url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        )
        found = []
        for column in columns:
            table, name = column["table_name"], column["column_name"]
            hit = await conn.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE "{name}"::text LIKE $1', f"%{needle}%"
            )
            if hit:
                found.append(f"{table}.{name}")
        return found
    finally:
        await conn.close()
