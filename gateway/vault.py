"""Where secrets are sealed into and opened from their rows.

Every encrypted column is listed in :data:`SECRET_FIELDS`; rotation and the
"no plaintext in the database" test walk that list, so a new secret column is
covered by both as soon as it is added here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from gateway.crypto import KeyRing, associated_data
from gateway.models import Integration, OAuthState
from gateway.types import Credentials

SECRET_FIELDS: tuple[tuple[type[Model], str], ...] = ((Integration, "credentials"), (OAuthState, "secrets"))


class Vault:
    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring

    def seal(self, model: type[Model], row_id: object, field: str, value: Mapping[str, Any]) -> str:
        return self.keyring.encrypt_json(value, associated_data(model._meta.db_table, row_id, field))

    def open(self, model: type[Model], row_id: object, field: str, token: str) -> dict[str, Any]:
        return self.keyring.decrypt_json(token, associated_data(model._meta.db_table, row_id, field))

    def seal_credentials(self, integration_id: object, credentials: Credentials) -> str:
        return self.seal(Integration, integration_id, "credentials", dict(credentials.tokens))

    def open_credentials(self, integration: Integration) -> Credentials:
        if integration.credentials is None:
            return Credentials(tokens={})
        tokens = self.open(Integration, integration.id, "credentials", integration.credentials)
        return Credentials(
            tokens=tokens,
            expires_at=integration.token_expires_at,
            refresh_expires_at=integration.refresh_expires_at,
        )

    async def rotate(self, *, batch: int = 500) -> int:
        """Re-encrypt every secret sealed by an older key; returns how many."""
        rotated = 0
        for model, field in SECRET_FIELDS:
            table = model._meta.db_table
            last: Any = None
            while True:
                query = model.filter(**{f"{field}__isnull": False}).order_by("id").limit(batch)
                if last is not None:
                    query = query.filter(id__gt=last)
                rows = await query.values_list("id", field)
                if not rows:
                    break
                async with in_transaction() as conn:
                    for row_id, token in rows:
                        if not self.keyring.needs_rotation(token):
                            continue
                        aad = associated_data(table, row_id, field)
                        fresh = self.keyring.encrypt(self.keyring.decrypt(token, aad), aad)
                        # compare-and-set so a concurrent write of a new secret is never overwritten
                        rotated += await model.filter(id=row_id, **{field: token}).using_db(conn).update(
                            **{field: fresh}
                        )
                last = rows[-1][0]
        return rotated

