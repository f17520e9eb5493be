"""How late scheduled posts go out: a steady stream of posts against a fake X answering in ~50 ms.

    python bench/bench_scheduler_lateness.py                  # 20 posts/s for 30 s
    python bench/bench_scheduler_lateness.py --rate 50 --seconds 20

Posts are created through the post service (as ``POST /api/posts`` does, which
wakes the scheduler), each for a random instant 1 to 3 s ahead. One
``gateway scheduler`` and one ``gateway worker`` process run as an operator
runs them; the fake X is served on loopback by this script, every
``POST /2/tweets`` delayed by ``--latency``. Printed: lateness percentiles of

- the hand-over: the post.publishing event (claimed by the scheduler) minus ``scheduledFor``;
- the publication: ``publishedAt`` (the worker recorded X's answer) minus ``scheduledFor``.

All processes share this machine's clock. A private database and Redis
namespace are created and removed. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from _scheduler_common import Process, add_account, add_service_arguments, bench_env, percentiles
from gateway_twitter.fake import create_fake_x

from gateway.crypto import KeyRing
from gateway.models import Source
from gateway.plugins import PluginHost
from gateway.posting import create_posts
from gateway.runtime import Runtime
from gateway.scoping import Scope
from gateway.settings import parse_keys
from gateway.testing import serve_asgi
from gateway.types import Credentials
from gateway.vault import Vault

RESULTS = """
SELECT p.status, p.scheduled_for, p.published_at, e.created_at AS claimed_at
FROM post p LEFT JOIN event e ON e.post_id = p.id AND e.type = 'post.publishing'
"""


async def run(args: argparse.Namespace) -> None:
    total = int(args.rate * args.seconds)
    fake = create_fake_x(rate_limits={})
    fake.faults.inject("POST /2/tweets", "latency", times=total * 2, seconds=args.latency)
    async with bench_env(args.admin_url, args.redis_url) as env, serve_asgi(fake.app) as fake_url:
        base = env.settings(GATEWAY_PLUGINS="twitter")
        [box] = [b for b in PluginHost.from_settings(base).sandboxes() if b.platform == "twitter"]
        env_vars = env.env(GATEWAY_PLUGINS="twitter", GATEWAY_WORKER_CONCURRENCY=str(args.concurrency),
                           **box.settings_for(fake_url))
        workspace, integration = await _account(env.database_url, env.key_spec, fake)
        processes = [await Process(["scheduler"], env_vars).start(), await Process(["worker"], env_vars).start()]
        rt = await Runtime.open(env.settings(**env_vars), pool_max=4)
        try:
            await asyncio.sleep(args.warmup)  # both processes connected and waiting
            print(f"{total} posts, {args.rate:g}/s for {args.seconds:g} s, each due 1-3 s after its creation; "
                  f"fake X answers POST /2/tweets after {args.latency * 1000:.0f} ms; "
                  f"worker concurrency {args.concurrency}")
            await _stream(rt, Scope(workspace), integration, total, args.rate)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                rows = await _results(env.database_url)
                if all(row["status"] not in ("SCHEDULED", "PUBLISHING") for row in rows):
                    break
                await asyncio.sleep(0.2)
        finally:
            await rt.close()
            codes = [await p.stop() for p in processes]
        _report(rows, codes, len(fake.tweets))


async def _account(database_url: str, key_spec: str, fake: object) -> tuple[uuid.UUID, uuid.UUID]:
    token = fake.issue_access_token()  # type: ignore[attr-defined]
    vault = Vault(KeyRing(parse_keys(key_spec)))
    conn = await asyncpg.connect(database_url)
    try:
        workspace, integration = await add_account(conn, external_id=token.user_id)
        sealed = vault.seal_credentials(
            integration, Credentials(tokens={"oauth_token": token.token, "oauth_token_secret": token.secret})
        )
        await conn.execute("UPDATE integration SET credentials = $1 WHERE id = $2", sealed, integration)
    finally:
        await conn.close()
    return workspace, integration  # type: ignore[return-value]


async def _stream(rt: Runtime, scope: Scope, integration: uuid.UUID, total: int, rate: float) -> None:
    rng = random.Random(42)
    start = time.monotonic()
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        at = datetime.now(UTC) + timedelta(seconds=rng.uniform(1.0, 3.0))
        body = {"text": f"lateness bench post {n} {uuid.uuid4().hex[:8]}", "integrationIds": [str(integration)],
                "scheduledFor": at.isoformat()}
        await create_posts(rt, scope, body, via=Source.API)


async def _results(database_url: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(RESULTS))
    finally:
        await conn.close()


def _report(rows: list[asyncpg.Record], codes: list[int], tweets: int) -> None:
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    handover = [(r["claimed_at"] - r["scheduled_for"]).total_seconds() for r in rows if r["claimed_at"]]
    published = [(r["published_at"] - r["scheduled_for"]).total_seconds() for r in rows if r["published_at"]]
    early = sum(1 for value in handover if value < 0)
    print(f"\nstatuses {statuses}; tweets on the fake X: {tweets}; exit codes {codes} (SIGTERM)")
    print(f"hand-over   (claimed - scheduledFor)    {percentiles(handover)}")
    print(f"publication (publishedAt - scheduledFor) {percentiles(published)}")
    print(f"claimed before scheduledFor: {early}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_service_arguments(parser)
    parser.add_argument("--rate", type=float, default=20, help="posts created per second (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=30, help="how long posts are created (default %(default)s)")
    parser.add_argument("--latency", type=float, default=0.05, help="fake X answer delay, s (default %(default)s)")
    parser.add_argument("--concurrency", type=int, default=10, help="worker concurrency (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=4, help="seconds for the processes to start")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
