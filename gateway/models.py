"""The data model. PostgreSQL is the source of truth; every time is UTC-aware.

Tenant data (everything but :class:`Workspace`) carries ``workspace_id`` and is
only ever read through :mod:`gateway.scoping`, so no handler can forget it.
Secrets (:attr:`Integration.credentials`, :attr:`OAuthState.secrets`) are
AES-GCM ciphertexts bound to their row and field (:mod:`gateway.crypto`).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index, PartialIndex
from tortoise.models import Model


class PostStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    PUBLISHING = "PUBLISHING"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


class IntegrationStatus(StrEnum):
    ACTIVE = "active"
    REFRESH_NEEDED = "refresh_needed"
    DISABLED = "disabled"


class Source(StrEnum):
    """Who created a post."""

    API = "api"
    MCP = "mcp"
    DASHBOARD = "dashboard"


class AttemptOutcome(StrEnum):
    PUBLISHED = "published"
    RETRY = "retry"  # failed in a way that will be tried again
    FAILED = "failed"
    UNKNOWN = "unknown"  # the request may have reached the platform
    RECONCILED = "reconciled"  # a later look found what this attempt published
    ABANDONED = "abandoned"  # the worker died; found unfinished by a later job


class Workspace(Model):
    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    name = fields.CharField(max_length=200, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "workspace"


class ApiKey(Model):
    """An API key. Only a SHA-256 hash of the secret is stored."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="api_keys", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    name = fields.CharField(max_length=200)
    prefix = fields.CharField(max_length=16, unique=True)  # public part, shown in listings
    secret_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_key"


class OAuthState(Model):
    """A connection in progress: single-use, expiring, bound to its workspace."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="oauth_states", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    platform = fields.CharField(max_length=50)
    key_hash = fields.CharField(max_length=64, unique=True)  # SHA-256 of the state / request token
    secrets = fields.TextField()  # encrypted JSON
    source = fields.CharEnumField(Source, max_length=16, default=Source.API)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    consumed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_state"


class Integration(Model):
    """One connected account. Reconnecting the same account updates this row."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="integrations", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    platform = fields.CharField(max_length=50)
    external_id = fields.CharField(max_length=255)
    handle = fields.CharField(max_length=255)
    name = fields.CharField(max_length=255, default="")
    url = fields.CharField(max_length=1000, default="")
    status = fields.CharEnumField(IntegrationStatus, max_length=20, default=IntegrationStatus.ACTIVE)
    status_reason = fields.TextField(default="")
    credentials = fields.TextField(null=True)  # encrypted JSON; NULL once disconnected
    token_expires_at = fields.DatetimeField(null=True)
    refresh_expires_at = fields.DatetimeField(null=True)
    expiry_warned_at = fields.DatetimeField(null=True)
    connected_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    disconnected_at = fields.DatetimeField(null=True)

    class Meta:
        table = "integration"
        unique_together = (("workspace", "platform", "external_id"),)
        indexes = (Index(fields=("status", "token_expires_at")),)


class Post(Model):
    """One piece of content for one integration."""

    id = fields.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="posts", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    integration: fields.ForeignKeyRelation[Integration] = fields.ForeignKeyField(
        "models.Integration", related_name="posts", on_delete=fields.RESTRICT
    )
    integration_id: uuid.UUID
    group_id = fields.UUIDField(default=uuid.uuid4)
    text = fields.TextField()
    thread: fields.Field[list[str]] = fields.JSONField(default=list)
    options: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    scheduled_for = fields.DatetimeField(null=True)
    time_zone = fields.CharField(max_length=64, null=True)  # the IANA zone the client gave
    status = fields.CharEnumField(PostStatus, max_length=16)
    external_id = fields.CharField(max_length=255, null=True)
    external_url = fields.CharField(max_length=1000, null=True)
    part_ids: fields.Field[list[str]] = fields.JSONField(default=list)  # ids of the parts already out, head first
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    idempotency_key = fields.CharField(max_length=255, null=True)
    request_hash = fields.CharField(max_length=64, null=True)
    source = fields.CharEnumField(Source, max_length=16, default=Source.API)
    retry_at = fields.DatetimeField(null=True)  # when a retry is due, while PUBLISHING
    failures = fields.IntField(default=0)  # consecutive retryable failures of this publish: drives the backoff
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "post"
        unique_together = (("workspace", "idempotency_key", "integration"),)
        indexes = (
            # the scheduler's wake-up: the earliest due SCHEDULED post, an index lookup
            PartialIndex(fields=("scheduled_for",), condition={"status": "SCHEDULED"}, name="post_due_idx"),
            Index(fields=("status", "updated_at")),
            Index(fields=("workspace_id", "created_at", "id")),
            Index(fields=("integration_id", "status")),
            Index(fields=("group_id",)),
        )


class PublishAttempt(Model):
    """One try to publish a post, committed before the platform is called."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="attempts", on_delete=fields.CASCADE
    )
    post_id: uuid.UUID
    number = fields.IntField()
    started_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    outcome = fields.CharEnumField(AttemptOutcome, max_length=16, null=True)
    error_code = fields.CharField(max_length=64, null=True)
    error_message = fields.TextField(null=True)
    worker = fields.CharField(max_length=255, default="")

    class Meta:
        table = "publish_attempt"
        unique_together = (("post", "number"),)


class Event(Model):
    """The durable log of everything that happened: audit trail and SSE replay.

    ``id`` only grows, and is the SSE ``id:``. ``post_id`` and
    ``integration_id`` are plain columns, not foreign keys, so the history
    outlives a deleted post.
    """

    id = fields.BigIntField(primary_key=True)
    workspace: fields.ForeignKeyRelation[Workspace] = fields.ForeignKeyField(
        "models.Workspace", related_name="events", on_delete=fields.CASCADE
    )
    workspace_id: uuid.UUID
    type = fields.CharField(max_length=64)
    post_id = fields.UUIDField(null=True)
    integration_id = fields.UUIDField(null=True)
    payload: fields.Field[dict[str, Any]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event"
        indexes = (
            Index(fields=("workspace_id", "id")),
            Index(fields=("post_id", "id")),
            Index(fields=("integration_id", "id")),
        )
