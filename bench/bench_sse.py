"""How many SSE clients one gateway process holds, and how fast an event reaches them.

Starts ``python -m gateway serve`` (Hypercorn) on 127.0.0.1 against a private
database and Redis namespace (both removed at the end), opens N streams of one
workspace from this process over raw sockets, writes events the way every
writer does (``EventBus.transaction()``), and prints, per level:

- clients held: streams open and receiving every event;
- delivery latency from the start of the event's write (before BEGIN) to its
  receipt by each client: p50, p99, max;
- the gateway's resident memory and CPU time;
- two reconnect storms: the clients drop and resume at once with
  ``Last-Event-ID`` from before the level's first event, first all but one
  (the workspace's feed stays and replays from memory), then all of them
  (replays from the table): how many got exactly the level's events back, and
  how long it took from the first reconnect to the last replayed event;

and at the end, how long the gateway takes to stop on SIGTERM with the last
level's streams open. One workspace is the worst case: every event goes to
every client. The clients share this process's event loop (one core), so the
latency includes their own reading: an upper bound.

    python bench/bench_sse.py                  # 1,000 and 5,000 clients
    python bench/bench_sse.py --clients 200 --events 10

Loopback only, bounded in clients (20,000) and time (every phase has a deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway import db  # noqa: E402
from gateway.apikeys import create_key  # noqa: E402
from gateway.events import EventBus  # noqa: E402
from gateway.models import Workspace  # noqa: E402
from gateway.settings import generate_key_spec  # noqa: E402
from gateway.testing import free_port  # noqa: E402

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
MAX_CLIENTS = 20_000
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ID_LINE = re.compile(rb"(?m)^id: (\d+)$")


@dataclass
class Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    receipts: list[tuple[int, float]] = field(default_factory=list)
    ended: bool = False
    task: asyncio.Task[None] | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing {url}: this bench only talks to loopback addresses")
    return url


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, needed)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# -- setup -----------------------------------------------------------------


@asynccontextmanager
async def private_services(admin_url: str, redis_url: str) -> AsyncIterator[dict[str, str]]:
    """A fresh migrated database and a Redis namespace; the GATEWAY_* environment for them."""
    name = f"gateway_bench_sse_{os.getpid()}_{secrets.token_hex(3)}"
    base, _, _ = admin_url.rpartition("/")
    namespace = f"gwbench-sse-{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    env = {
        "GATEWAY_DATABASE_URL": f"{base}/{name}",
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_NAMESPACE": namespace,
        "GATEWAY_ENCRYPTION_KEYS": generate_key_spec("bench"),
        "GATEWAY_PLUGINS": "",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    try:
        await db.migrate(env["GATEWAY_DATABASE_URL"])
        yield env
    finally:
        redis = Redis.from_url(redis_url)
        try:
            async for key in redis.scan_iter(match=f"{namespace}:*", count=1000):
                await redis.delete(key)
        finally:
            await redis.aclose()
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


class Gateway:
    """``gateway serve`` in a child process."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url_host = "127.0.0.1"
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
        )

    async def ready(self, deadline: float = 60) -> None:
        async with asyncio.timeout(deadline):
            while True:
                if self.proc.poll() is not None:
                    raise SystemExit(f"gateway serve exited at start:\n{self.log_path.read_text()}")
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.1)
                    continue
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                status = await reader.readline()
                writer.close()
                await writer.wait_closed()
                if b" 200 " in status:
                    return
                await asyncio.sleep(0.1)

    def cpu_seconds(self) -> float:
        """User + system CPU time the gateway process used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    async def stop(self, deadline: float = 30) -> float:
        """SIGTERM, and the seconds until the process exited."""
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), deadline)
        except TimeoutError:
            self.proc.kill()
            self.proc.wait()
            return float("inf")
        finally:
            self.log.close()
        return time.perf_counter() - started


# -- clients ---------------------------------------------------------------


async def open_client(port: int, key: str, last_event_id: int | None = None) -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**20)
    resume = "" if last_event_id is None else f"Last-Event-ID: {last_event_id}\r\n"
    writer.write(
        f"GET /api/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {key}\r\n{resume}"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
    client = Client(reader, writer)
    await reader.readuntil(b"retry:")  # the preamble: from here on every event reaches it
    return client


async def read_events(client: Client) -> None:
    """Record (event id, receipt time) for each frame; a chunk ends in a whole frame."""
    tail = b""
    while True:
        data = await client.reader.read(65536)
        if not data:
            client.ended = True
            return
        now = time.perf_counter()
        buffer = tail + data
        end = buffer.rfind(b"\n\n")
        if end < 0:
            tail = buffer
            continue
        for match in ID_LINE.finditer(buffer, 0, end):
            client.receipts.append((int(match.group(1)), now))
        tail = buffer[end + 2:]


async def open_clients(port: int, key: str, count: int, *, parallel: int = 100, deadline: float = 180,
                       last_event_id: int | None = None) -> tuple[list[Client], int]:
    clients: list[Client] = []
    failures = 0
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        nonlocal failures
        async with gate:
            try:
                client = await asyncio.wait_for(open_client(port, key, last_event_id), 30)
            except (OSError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
                failures += 1
                return
        client.task = asyncio.create_task(read_events(client))
        clients.append(client)

    async with asyncio.timeout(deadline):
        await asyncio.gather(*(one() for _ in range(count)))
    return clients, failures


async def close_clients(clients: list[Client]) -> None:
    for client in clients:
        client.writer.close()
    for client in clients:
        if client.task is not None:
            client.task.cancel()
    await asyncio.gather(*(c.task for c in clients if c.task is not None), return_exceptions=True)
    await asyncio.gather(*(c.writer.wait_closed() for c in clients), return_exceptions=True)


# -- one level -------------------------------------------------------------


@dataclass
class Level:
    clients: int
    connected: int
    failed: int
    held: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    write_p50_ms: float
    rss_mb: float
    connect_s: float
    server_cpu_s: float  # the gateway's CPU time while the events were delivered
    client_cpu_s: float  # this process's (the clients') CPU time meanwhile
    wall_s: float
    # reconnect storms: clients that resumed with exactly the level's events, and the seconds it took
    table_resumed: int = 0
    table_resume_s: float = float("nan")
    memory_resumed: int = 0
    memory_resume_s: float = float("nan")


async def run_level(gateway: Gateway, bus: EventBus, workspace: Workspace, key: str, count: int,
                    events: int, interval: float, keep_open: bool) -> tuple[Level, list[Client]]:
    started = time.perf_counter()
    clients, failed = await open_clients(gateway.port, key, count)
    connect_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    server_cpu, client_cpu, wall = gateway.cpu_seconds(), time.process_time(), time.perf_counter()
    write_started: dict[int, float] = {}
    write_took: list[float] = []
    for n in range(events):
        begun = time.perf_counter()
        async with bus.transaction() as tx:
            event = await tx.emit(workspace.id, "post.published", post_id=uuid.uuid4(),
                                  payload={"status": "PUBLISHED", "externalUrl": f"https://x.test/status/{n}"})
        write_took.append(time.perf_counter() - begun)
        write_started[event.id] = begun
        await asyncio.sleep(interval)
    wanted = set(write_started)
    try:
        async with asyncio.timeout(60):
            while any(len(c.receipts) < events and not c.ended for c in clients):
                await asyncio.sleep(0.1)
    except TimeoutError:
        pass
    server_cpu, client_cpu = gateway.cpu_seconds() - server_cpu, time.process_time() - client_cpu
    wall = time.perf_counter() - wall
    latencies = [(at - write_started[i]) * 1000 for c in clients for i, at in c.receipts if i in wanted]
    held = sum(1 for c in clients if {i for i, _ in c.receipts} >= wanted)
    level = Level(
        clients=count, connected=len(clients), failed=failed, held=held,
        p50_ms=percentile(latencies, 50) if latencies else float("nan"),
        p99_ms=percentile(latencies, 99) if latencies else float("nan"),
        max_ms=max(latencies) if latencies else float("nan"),
        write_p50_ms=statistics.median(write_took) * 1000,
        rss_mb=gateway.rss_mb(), connect_s=connect_s,
        server_cpu_s=server_cpu, client_cpu_s=client_cpu, wall_s=wall,
    )
    # reconnect storms: the clients drop and resume at once from before the level's first event;
    # first all but one (the workspace's feed stays: replays come from its memory), then all of
    # them (the feed goes away: replays come from the table)
    for anchored in (True, False):
        anchor, dropped = (clients[:1], clients[1:]) if anchored else ([], clients)
        await close_clients(dropped)
        started = time.perf_counter()
        resumed, _ = await open_clients(gateway.port, key, len(dropped), last_event_id=min(wanted) - 1)
        try:
            async with asyncio.timeout(120):
                while any(len(c.receipts) < events and not c.ended for c in resumed):
                    await asyncio.sleep(0.02)
        except TimeoutError:
            pass
        took = time.perf_counter() - started
        exact = sum(1 for c in resumed if [i for i, _ in c.receipts] == sorted(wanted))
        if anchored:
            level.memory_resumed, level.memory_resume_s = exact + len(anchor), took
        else:
            level.table_resumed, level.table_resume_s = exact, took
        clients = anchor + resumed
    if not keep_open:
        await close_clients(clients)
        clients = []
    return level, clients


async def main(args: argparse.Namespace) -> None:
    levels = [int(n) for n in args.clients.split(",")]
    if max(levels) > MAX_CLIENTS or min(levels) < 1:
        raise SystemExit(f"--clients must be between 1 and {MAX_CLIENTS}")
    limit = raise_fd_limit(max(levels) * 2 + 200)
    if limit < max(levels) + 100:
        raise SystemExit(f"the open-file limit is {limit}: too low for {max(levels)} clients")
    async with private_services(loopback_only(args.admin_url), loopback_only(args.redis_url)) as env:
        await db.init_db(env["GATEWAY_DATABASE_URL"], pool_max=4)
        redis = Redis.from_url(env["GATEWAY_REDIS_URL"])
        workspace = await Workspace.create(name="bench")
        _, key = await create_key(workspace, "bench")
        bus = EventBus(redis, env["GATEWAY_NAMESPACE"])
        with tempfile.TemporaryDirectory() as tmp:
            gateway = Gateway({**env, "GATEWAY_SSE_KEEPALIVE": "15"}, Path(tmp) / "gateway.log")
            open_at_stop: list[Client] = []
            try:
                await gateway.ready()
                print(f"gateway pid {gateway.proc.pid} on 127.0.0.1:{gateway.port}; "
                      f"{args.events} events per level, {args.interval}s apart, one workspace")
                print(f"{'clients':>8} {'held':>6} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
                      f"{'write ms':>8} {'RSS MB':>7} {'connect s':>9} {'gw CPU s':>8} {'cl CPU s':>8} {'wall s':>6} "
                      f"{'memory resume':>14} {'table resume':>14}")
                for index, count in enumerate(levels):
                    last = index == len(levels) - 1
                    level, open_at_stop = await run_level(gateway, bus, workspace, key, count, args.events,
                                                          args.interval, keep_open=last)
                    print(f"{level.clients:>8} {level.held:>6} {level.failed:>6} {level.p50_ms:>8.1f} "
                          f"{level.p99_ms:>8.1f} {level.max_ms:>8.1f} {level.write_p50_ms:>8.1f} "
                          f"{level.rss_mb:>7.0f} {level.connect_s:>9.1f} {level.server_cpu_s:>8.1f} "
                          f"{level.client_cpu_s:>8.1f} {level.wall_s:>6.1f} "
                          f"{level.memory_resumed:>6} {level.memory_resume_s:>5.1f}s "
                          f"{level.table_resumed:>6} {level.table_resume_s:>5.1f}s", flush=True)
                took = await gateway.stop()
                ended = 0
                try:
                    async with asyncio.timeout(10):
                        while sum(c.ended for c in open_at_stop) < len(open_at_stop):
                            await asyncio.sleep(0.05)
                except TimeoutError:
                    pass
                ended = sum(c.ended for c in open_at_stop)
                print(f"SIGTERM with {len(open_at_stop)} streams open: exited in {took:.2f}s "
                      f"(graceful_timeout 5s); {ended} streams ended by the server")
            finally:
                if gateway.proc.poll() is None:
                    gateway.proc.kill()
                    gateway.proc.wait()
                await close_clients(open_at_stop)
        await redis.aclose()
        await db.close_db()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1000,5000", help="comma-separated client counts (default: %(default)s)")
    parser.add_argument("--events", type=int, default=20, help="events per level (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between events (default: %(default)s)")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--redis-url", default=REDIS_URL)
    asyncio.run(main(parser.parse_args()))
