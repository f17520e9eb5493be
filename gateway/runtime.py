"""The long-lived resources a gateway, worker or scheduler process holds.

One :class:`Runtime` per process: the database pool, Redis, the job queue, the
event bus, the plugin host, the vault and a shared HTTP client for platform
calls. :meth:`Runtime.open` checks that the database and Redis answer, with a
timeout, so a wrong URL stops the process with a message instead of a hang.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError
from saq import Queue
from saq.queue.redis import RedisQueue

from gateway import db
from gateway.crypto import KeyRing
from gateway.errors import ConfigError
from gateway.events import EventBus
from gateway.plugins import PluginHost
from gateway.settings import PREFIX, Settings
from gateway.vault import Vault

log = logging.getLogger(__name__)

PUBLISH_POST = "PUBLISH_POST"
CONNECT_TIMEOUT = 10.0


class ServiceUnavailable(ConfigError):
    """The database or Redis cannot be reached at start."""


def redis_client(url: str, *, max_connections: int = 50) -> Redis:
    # redis-py 8's asyncio pool raises at once past its limit; a blocking pool waits instead
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=10, socket_connect_timeout=CONNECT_TIMEOUT
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes its connections


@dataclass
class Runtime:
    settings: Settings
    plugins: PluginHost
    vault: Vault
    redis: Redis
    queue: Queue
    events: EventBus
    http: httpx.AsyncClient

    @classmethod
    async def open(
        cls, settings: Settings, *, plugins: PluginHost | None = None, pool_max: int = 10
    ) -> Runtime:
        database_url = settings.require_database()
        redis_url = settings.require_redis()
        vault = Vault(KeyRing(settings.require_keys()))
        plugins = plugins or PluginHost.from_settings(settings)
        await check_database(database_url)
        await db.init_db(database_url, pool_max=pool_max)
        redis = redis_client(redis_url)
        queue_redis = redis_client(redis_url)
        try:
            await _check_redis(redis, redis_url)
        except BaseException:
            await redis.aclose()
            await queue_redis.aclose()
            await db.close_db()
            raise
        queue = RedisQueue(queue_redis, name=settings.namespace)
        http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0), follow_redirects=False)
        return cls(settings, plugins, vault, redis, queue, EventBus(redis, settings.namespace), http)

    async def close(self) -> None:
        await self.http.aclose()
        await self.queue.disconnect()
        await self.redis.aclose()
        await db.close_db()

    @property
    def scheduler_channel(self) -> str:
        return f"{self.settings.namespace}:scheduler:wake"

    async def wake_scheduler(self) -> None:
        """Tell sleeping schedulers that the next due time may have changed.

        Called after a post is scheduled, rescheduled or cancelled. Best effort:
        a scheduler also wakes at its longest sleep, so a lost message costs
        latency, never a post.
        """
        try:
            await self.redis.publish(self.scheduler_channel, "wake")
        except RedisError as exc:
            log.warning("could not wake the scheduler (Redis: %s); it will notice on its next tick", exc)

    async def enqueue_publish(self, post_id: uuid.UUID | str, *, scheduled: float = 0) -> bool:
        """Queue PUBLISH_POST for a post, keyed by its id: at most one queued job per post.

        Returns False when a job for this post is already queued or running.
        ``scheduled`` is epoch seconds (SAQ's unit) for a delayed retry.
        """
        job = await self.queue.enqueue(
            PUBLISH_POST,
            key=str(post_id),
            post_id=str(post_id),
            timeout=self.settings.job_timeout,
            heartbeat=max(5, self.settings.job_timeout // 4),
            retries=3,  # a job SAQ sweeps off a dead worker is queued again at once (the job is idempotent)
            scheduled=int(scheduled),
        )
        return job is not None


async def check_database(url: str) -> None:
    import asyncpg

    dsn = url.replace("asyncpg://", "postgres://", 1)
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 1)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise ServiceUnavailable(
            f"{PREFIX}DATABASE_URL: cannot reach the database ({_reason(exc)})"
        ) from None
    await conn.close()


async def preflight(settings: Settings) -> None:
    """Check every setting and service a process needs, before it starts serving."""
    settings.require_keys()
    await check_database(settings.require_database())
    client = redis_client(settings.require_redis(), max_connections=1)
    try:
        await _check_redis(client, settings.require_redis())
    finally:
        await client.aclose()


async def _check_redis(redis: Redis, url: str) -> None:
    try:
        await asyncio.wait_for(redis.ping(), CONNECT_TIMEOUT + 1)
    except (RedisError, OSError, TimeoutError) as exc:
        raise ServiceUnavailable(f"{PREFIX}REDIS_URL: cannot reach Redis ({_reason(exc)})") from None


def _reason(exc: BaseException) -> Any:
    return str(exc) or type(exc).__name__
