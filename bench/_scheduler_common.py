"""What the scheduler benches share: a private database and Redis namespace, dropped at the end,
and scheduler processes started the way an operator starts them.

Loopback only: the defaults are the local PostgreSQL and Redis the tests use.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from gateway import db
from gateway.settings import Settings, generate_key_spec

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"

INSERT_DUE = """
INSERT INTO post (id, group_id, text, thread, options, part_ids, status, source, scheduled_for,
                  created_at, updated_at, workspace_id, integration_id)
SELECT gen_random_uuid(), gen_random_uuid(), 'bench post ' || n, '[]', '{}', '[]', 'SCHEDULED', 'api', $1,
       now(), now(), $2, $3
FROM generate_series(1, $4) AS n
"""


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin-url", default=ADMIN_URL,
                        help="PostgreSQL URL of a role that may CREATE DATABASE (default: %(default)s)")
    parser.add_argument("--redis-url", default=REDIS_URL, help="Redis URL (default: %(default)s)")


@dataclass
class BenchEnv:
    database_url: str
    redis_url: str
    namespace: str
    key_spec: str

    def env(self, **extra: str) -> dict[str, str]:
        """The GATEWAY_* environment of a process of this bench."""
        return {
            "GATEWAY_DATABASE_URL": self.database_url,
            "GATEWAY_REDIS_URL": self.redis_url,
            "GATEWAY_NAMESPACE": self.namespace,
            "GATEWAY_ENCRYPTION_KEYS": self.key_spec,
            "GATEWAY_PLUGINS": "",
            "GATEWAY_LOG_LEVEL": "WARNING",
            **extra,
        }

    def settings(self, **extra: str) -> Settings:
        return Settings.from_env(self.env(**extra))


@asynccontextmanager
async def bench_env(admin_url: str, redis_url: str) -> AsyncIterator[BenchEnv]:
    """A fresh, migrated database and a Redis namespace, both removed at the end."""
    name = f"gateway_bench_{os.getpid()}_{secrets.token_hex(3)}"
    base, _, _ = admin_url.rpartition("/")
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        env = BenchEnv(f"{base}/{name}", redis_url, f"gwbench-{secrets.token_hex(4)}", generate_key_spec("bench"))
        try:
            await db.migrate(env.database_url)
            yield env
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _drop_namespace(redis_url, env.namespace)
    finally:
        await admin.close()


async def _drop_namespace(redis_url: str, namespace: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        for pattern in (f"{namespace}:*", f"saq:{namespace}:*", f"saq:job:{namespace}:*"):
            batch = [key async for key in client.scan_iter(match=pattern, count=5000)]
            for start in range(0, len(batch), 5000):
                await client.delete(*batch[start:start + 5000])
    finally:
        await client.aclose()


async def add_account(conn: asyncpg.Connection, *, platform: str = "twitter", external_id: str = "1",
                      credentials: str | None = None) -> tuple[object, object]:
    """A workspace and one connected account in it: (workspace id, integration id)."""
    workspace = await conn.fetchval(
        "INSERT INTO workspace (id, name, created_at) VALUES (gen_random_uuid(), 'bench', now()) RETURNING id"
    )
    integration = await conn.fetchval(
        """INSERT INTO integration (id, workspace_id, platform, external_id, handle, name, url, status,
                                    status_reason, credentials, connected_at, updated_at)
           VALUES (gen_random_uuid(), $1, $2, $3, 'bench', 'Bench', '', 'active', '', $4, now(), now())
           RETURNING id""",
        workspace, platform, external_id, credentials,
    )
    return workspace, integration


class Process:
    """``python -m gateway <command>`` with the bench's environment."""

    def __init__(self, command: Sequence[str], env: dict[str, str]) -> None:
        self.command = list(command)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")} | env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Process:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", *self.command, env=self.env, cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
        )
        return self

    async def stop(self) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            return await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


def percentiles(values: Sequence[float]) -> str:
    """``p50 … p99 … max …`` in milliseconds."""
    if not values:
        return "no samples"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
            f"max {ordered[-1] * 1000:7.1f} ms   (n={len(ordered)})")
