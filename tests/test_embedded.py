"""The embedded PostgreSQL and Redis: real servers, started in a temporary data directory."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis

from gateway.embedded import EmbeddedError, EmbeddedServices

REPO = Path(__file__).resolve().parents[1]


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) == 0


def _sql(url: str, *statements: str) -> list[asyncpg.Record]:
    """Run statements on a fresh connection; return the rows of the last one."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            for statement in statements[:-1]:
                await conn.execute(statement)
            return await conn.fetch(statements[-1])
        finally:
            await conn.close()

    return asyncio.run(run())


def test_start_use_stop_and_restart_on_the_same_data(tmp_path: Path) -> None:
    lines: list[str] = []
    with EmbeddedServices(tmp_path, log=lines.append) as services:
        assert services.database_url is not None and services.redis_url is not None
        first = (services.database_url, services.redis_url)
        assert urlsplit(services.database_url).path == "/gateway"
        assert _sql(services.database_url, "select 1 as one")[0]["one"] == 1
        _sql(services.database_url, "create table kept (v text)", "insert into kept values ('hello')",
             "select 1")
        client = redis.Redis.from_url(services.redis_url)
        try:
            client.set("k", "v")
            assert client.get("k") == b"v"
        finally:
            client.close()
    assert services.database_url is None and services.redis_url is None
    assert not any(_listening(url) for url in first)
    assert sum("creating a new cluster" in line for line in lines) == 1

    with EmbeddedServices(tmp_path, log=lines.append) as services:
        assert services.database_url is not None and services.redis_url is not None
        assert (services.database_url, services.redis_url) == first  # stable ports, reused while free
        assert [r["v"] for r in _sql(services.database_url, "select v from kept")] == ["hello"]
        client = redis.Redis.from_url(services.redis_url)
        try:
            assert client.get("k") == b"v"  # the AOF survived the restart
        finally:
            client.close()
    assert sum("creating a new cluster" in line for line in lines) == 1
    assert not any(_listening(url) for url in first)


def test_only_the_services_asked_for_are_started(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path, postgres=False, log=lambda line: None) as services:
        assert services.database_url is None
        assert services.redis_url is not None
        assert _listening(services.redis_url)
    assert not (tmp_path / "postgres").exists()


def test_a_second_user_of_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    with EmbeddedServices(tmp_path, log=lambda line: None) as services:
        assert services.database_url is not None
        with pytest.raises(EmbeddedError, match="already in use"):
            EmbeddedServices(tmp_path, log=lambda line: None).start()
        assert _sql(services.database_url, "select 1 as one")[0]["one"] == 1


def test_a_failed_start_stops_what_it_started_and_says_where_the_log_is(tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "appendonly.aof").write_text("this is not an append-only file\n")
    started: list[str] = []

    def log(line: str) -> None:
        if "embedded postgres: starting on" in line:
            started.append(line.split("starting on ")[1].split(",")[0])

    services = EmbeddedServices(tmp_path, log=log)
    with pytest.raises(EmbeddedError) as raised:
        services.start()
    message = str(raised.value)
    assert "\n" not in message
    assert "Redis did not start" in message
    assert str(tmp_path / "redis" / "redis.log") in message
    assert len(started) == 1
    assert not _listening(f"postgres://{started[0]}/")
    assert services.database_url is None and services.redis_url is None


def test_servers_orphaned_by_a_killed_run_are_stopped_then_restarted(tmp_path: Path) -> None:
    script = (
        "import os, pathlib\n"
        "from gateway.embedded import EmbeddedServices\n"
        f"s = EmbeddedServices(pathlib.Path({str(tmp_path)!r}), log=lambda line: None)\n"
        "s.start()\n"
        "print(s.database_url, s.redis_url, flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == -9, result.stderr
    orphans = result.stdout.split()
    assert all(_listening(url) for url in orphans)

    lines: list[str] = []
    with EmbeddedServices(tmp_path, log=lines.append) as services:
        assert [services.database_url, services.redis_url] == orphans
        assert _sql(services.database_url, "select 1 as one")[0]["one"] == 1
    assert sum("left running by an earlier run" in line for line in lines) == 2
    assert not any(_listening(url) for url in orphans)
