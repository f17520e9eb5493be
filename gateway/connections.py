"""Connecting accounts: both legs of OAuth, around the plugins' hooks.

The first leg stores the plugin's secrets in an :class:`OAuthState` row:
encrypted, single-use, expiring, bound to the workspace that started it. The
callback carries none of our credentials; consuming that row (a
compare-and-set on ``consumed_at``) is what ties it to its workspace, and what
makes a replayed callback fail.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.errors import AuthorizationFailed
from gateway.models import Integration, IntegrationStatus, OAuthState, Post, PostStatus, Source
from gateway.posting.transitions import move
from gateway.runtime import Runtime
from gateway.serializers import integration_json
from gateway.types import AuthResult, AuthStart, Credentials

log = logging.getLogger(__name__)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    authorize_url: str
    expires_at: datetime


async def start(rt: Runtime, workspace_id: uuid.UUID, platform: str, source: Source) -> Started:
    ctx = rt.plugins.context(platform, rt.http)
    begun: AuthStart = await rt.plugins.call("gateway_authorize_start", ctx)
    state_id = uuid.uuid4()
    expires_at = datetime.now(UTC) + timedelta(seconds=rt.settings.oauth_state_ttl)
    await OAuthState.create(
        id=state_id,
        workspace_id=workspace_id,
        platform=platform,
        key_hash=_hash(begun.state_key),
        secrets=rt.vault.seal(OAuthState, state_id, "secrets", dict(begun.secrets)),
        source=source,
        expires_at=expires_at,
    )
    log.info("authorization started for %s in workspace %s", platform, workspace_id)
    return Started(begun.authorize_url, expires_at)


def state_key_of(rt: Runtime, platform: str, params: Mapping[str, str]) -> str:
    """The value the platform handed back that names our stored state."""
    if rt.plugins.info(platform).auth_kind == "oauth1":
        key = params.get("oauth_token") or params.get("denied")
    else:
        key = params.get("state")
    if not key:
        raise AuthorizationFailed(
            "The callback carries no authorization state; start connecting again.", code="missing_state"
        )
    return key


async def consume_state(
    rt: Runtime, platform: str, params: Mapping[str, str], *, session_workspace: str | None
) -> tuple[OAuthState, dict[str, str]]:
    """Take the stored state for this callback, exactly once, or explain why not."""
    key_hash = _hash(state_key_of(rt, platform, params))
    now = datetime.now(UTC)
    row = await OAuthState.filter(key_hash=key_hash, platform=platform).first()
    if row is None:
        raise AuthorizationFailed(
            "This authorization link is unknown; start connecting again.", code="unknown_state"
        )
    if session_workspace is not None and session_workspace != str(row.workspace_id):
        raise AuthorizationFailed(
            "This authorization was started from another workspace.", code="state_workspace_mismatch"
        )
    taken = await OAuthState.filter(id=row.id, consumed_at__isnull=True, expires_at__gt=now).update(
        consumed_at=now
    )
    if not taken:
        if row.consumed_at is not None:
            raise AuthorizationFailed(
                "This authorization was already used; start connecting again.", code="state_used"
            )
        raise AuthorizationFailed(
            "This authorization expired; start connecting again.", code="state_expired"
        )
    secrets = rt.vault.open(OAuthState, row.id, "secrets", row.secrets)
    return row, {k: str(v) for k, v in secrets.items()}


async def finish(
    rt: Runtime, platform: str, params: Mapping[str, str], *, session_workspace: str | None
) -> Integration:
    state, secrets = await consume_state(rt, platform, params, session_workspace=session_workspace)
    ctx = rt.plugins.context(platform, rt.http)
    result: AuthResult = await rt.plugins.call(
        "gateway_authorize_finish", ctx, params=dict(params), secrets=secrets
    )
    integration = await save_integration(rt, state.workspace_id, platform, result)
    log.info("connected %s account %s in workspace %s", platform, integration.id, state.workspace_id)
    return integration


async def save_integration(
    rt: Runtime, workspace_id: uuid.UUID, platform: str, result: AuthResult
) -> Integration:
    """Insert the account, or update it when it is a reconnection.

    A refresh token the new grant did not replace is kept.
    """
    account = result.account
    async with rt.events.transaction() as tx:
        existing = (
            await Integration.filter(workspace_id=workspace_id, platform=platform, external_id=account.external_id)
            .using_db(tx.conn)
            .select_for_update()
            .first()
        )
        credentials = result.credentials
        if existing is not None:
            credentials = merge_credentials(rt.vault.open_credentials(existing), credentials)
            row = existing
        else:
            row = Integration(id=uuid.uuid4(), workspace_id=workspace_id, platform=platform,
                              external_id=account.external_id)
        row.handle = account.handle
        row.name = account.name
        row.url = account.url
        row.status = IntegrationStatus.ACTIVE
        row.status_reason = ""
        row.credentials = rt.vault.seal_credentials(row.id, credentials)
        row.token_expires_at = credentials.expires_at
        row.refresh_expires_at = credentials.refresh_expires_at
        row.expiry_warned_at = None
        row.disconnected_at = None
        await row.save(using_db=tx.conn)
        await tx.emit(workspace_id, "integration.connected", integration_id=row.id,
                      payload={"integration": integration_json(row), "reconnected": existing is not None})
    return row


def merge_credentials(old: Credentials, new: Credentials) -> Credentials:
    tokens = dict(new.tokens)
    refresh_expires_at = new.refresh_expires_at
    if "refresh_token" not in tokens and old.tokens.get("refresh_token"):
        tokens["refresh_token"] = old.tokens["refresh_token"]
        refresh_expires_at = refresh_expires_at or old.refresh_expires_at
    return Credentials(tokens=tokens, expires_at=new.expires_at, refresh_expires_at=refresh_expires_at)


async def disconnect(rt: Runtime, integration: Integration, *, reason: str) -> int:
    """Wipe the credentials and cancel the account's scheduled posts. Returns how many."""
    now = datetime.now(UTC)
    async with rt.events.transaction() as tx:
        await Integration.filter(id=integration.id).using_db(tx.conn).update(
            credentials=None, status=IntegrationStatus.DISABLED, status_reason=reason,
            disconnected_at=now, token_expires_at=None, refresh_expires_at=None, updated_at=now,
        )
        posts = await Post.filter(integration_id=integration.id, status=PostStatus.SCHEDULED).using_db(
            tx.conn
        ).select_for_update()
        reason_text = f"Cancelled: the {integration.platform} account @{integration.handle} was disconnected."
        for post in posts:
            await move(tx, post, expect=PostStatus.SCHEDULED, to=PostStatus.CANCELLED, event="post.cancelled",
                       error_code="integration_disconnected", error_message=reason_text)
        await tx.emit(integration.workspace_id, "integration.disconnected", integration_id=integration.id,
                      payload={"reason": reason, "cancelledPosts": len(posts)})
    if posts:
        await rt.wake_scheduler()
    return len(posts)
