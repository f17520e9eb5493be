"""Fixtures of the posts tests: fast retry settings, an empty queue, real workers.

Workers run in-process on the app's runtime (``build_worker`` + a task), or as
``python -m gateway worker`` subprocesses with the session's environment when
a test kills one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from saq import Worker

from tests.conftest import REDIS_URL
from worker.main import build_worker

ROOT = Path(__file__).resolve().parents[2]

#: the settings every app and worker of these tests gets on top of the session's
FAST = {
    "GATEWAY_JOB_TIMEOUT": "5",  # the minimum: heartbeat 5 s, so a killed worker's job is found in seconds
    "GATEWAY_RETRY_DELAY_MS": "20",  # sub-second backoff
}


@pytest.fixture
def base_env(base_env: dict[str, str]) -> dict[str, str]:
    return {**base_env, **FAST}


@pytest.fixture(autouse=True)
async def empty_queue(namespace: str) -> None:
    """The session shares one queue name: start each test without jobs."""
    client = Redis.from_url(REDIS_URL)
    try:
        for pattern in (f"saq:{namespace}:*", f"saq:job:{namespace}:*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


StartWorker = Callable[..., Awaitable[Worker[Any]]]


@pytest.fixture
async def start_worker(runtime: Any) -> AsyncIterator[StartWorker]:
    """``await start_worker(concurrency=2)``: a real worker on the app's runtime, stopped at teardown."""
    running: list[tuple[Worker[Any], asyncio.Task[None]]] = []

    async def start(concurrency: int = 3) -> Worker[Any]:
        worker = build_worker(runtime, concurrency=concurrency, dequeue_timeout=0.2)
        worker.SIGNALS = []  # pytest owns the signals of this process
        task = asyncio.create_task(worker.start())
        running.append((worker, task))
        return worker

    yield start
    for worker, task in running:
        await worker.stop()
        await task


@pytest.fixture
async def worker(start_worker: StartWorker) -> Worker[Any]:
    return await start_worker()


class WorkerProcess:
    """``python -m gateway worker`` with the test's settings; its log is kept for failures."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> WorkerProcess:
        log = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "gateway", "worker", cwd=ROOT, env=self.env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        finally:
            log.close()
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def wait(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)


@pytest.fixture
async def worker_process(
    base_env: dict[str, str], tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[WorkerProcess]]]:
    """``await worker_process()``: a worker subprocess, killed at teardown if still running."""
    started: list[WorkerProcess] = []

    async def start() -> WorkerProcess:
        process = await WorkerProcess(base_env, tmp_path / f"worker-{len(started)}.log").start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc is not None and process.proc.returncode is None:
            process.proc.kill()
            await process.proc.wait()
