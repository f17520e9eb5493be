"""Refreshing an integration's credentials from the worker, once per job, under a row lock.

Several jobs of one account may find its token expired at the same moment.
The refresh runs with the integration's row locked (``SELECT ... FOR
UPDATE``): the first job refreshes and stores the new tokens; the others wait
for the lock, see the ciphertext changed, and use what the first one stored
instead of spending the (possibly single-use) refresh token again. A refresh
token the platform did not replace is kept (:func:`gateway.connections.merge_credentials`).
"""

from __future__ import annotations

import logging

from tortoise.transactions import in_transaction

from gateway.connections import merge_credentials
from gateway.errors import AuthExpired, PermanentError, PlatformError, RateLimited, TransientError
from gateway.models import Integration, IntegrationStatus
from gateway.runtime import Runtime
from gateway.types import Credentials, PlatformContext

log = logging.getLogger(__name__)


class RefreshFailed(Exception):
    """The account cannot be refreshed (refresh token revoked or expired, or the platform
    cannot refresh at all): the user must reconnect it. ``reason`` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefreshDeferred(Exception):
    """The refresh could not be done now (rate limit, platform trouble): try the post later."""

    def __init__(self, cause: PlatformError) -> None:
        super().__init__(cause.message)
        self.cause = cause


async def refresh(rt: Runtime, integration: Integration, ctx: PlatformContext) -> Credentials:
    """New credentials for ``integration``, stored; ``integration`` is updated in place."""
    async with in_transaction() as conn:
        row = await Integration.filter(id=integration.id).using_db(conn).select_for_update().first()
        if row is None or row.credentials is None or row.status != IntegrationStatus.ACTIVE:
            raise RefreshFailed("the account was disconnected")
        if row.credentials != integration.credentials:  # another job refreshed while we held the old tokens
            _copy(row, integration)
            return rt.vault.open_credentials(row)
        current = rt.vault.open_credentials(row)
        try:
            fresh: Credentials = await rt.plugins.call("gateway_refresh_credentials", ctx, credentials=current)
        except NotImplementedError:
            raise RefreshFailed(f"{integration.platform} credentials cannot be refreshed") from None
        except (AuthExpired, PermanentError) as exc:
            raise RefreshFailed(exc.message) from exc
        except (RateLimited, TransientError) as exc:
            raise RefreshDeferred(exc) from exc
        except Exception as exc:  # a plugin bug: nothing was published, so retrying later is safe
            log.exception("refreshing integration %s failed unexpectedly", integration.id)
            raise RefreshDeferred(TransientError(f"Refreshing the credentials failed ({type(exc).__name__}).")) from exc
        merged = merge_credentials(current, fresh)
        row.credentials = rt.vault.seal_credentials(row.id, merged)
        row.token_expires_at = merged.expires_at
        row.refresh_expires_at = merged.refresh_expires_at
        row.expiry_warned_at = None
        await row.save(using_db=conn, update_fields=[
            "credentials", "token_expires_at", "refresh_expires_at", "expiry_warned_at", "updated_at"])
    _copy(row, integration)
    log.info("refreshed the credentials of integration %s", integration.id)
    return merged


def _copy(source: Integration, target: Integration) -> None:
    for name in ("credentials", "token_expires_at", "refresh_expires_at", "expiry_warned_at", "updated_at"):
        setattr(target, name, getattr(source, name))
