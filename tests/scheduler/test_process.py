"""``gateway scheduler`` as an operator runs it: subprocesses, signals, several at once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.models import Post, PostStatus
from scheduler.loop import Scheduler
from scheduler.sweep import Sweeper
from tests.scheduler.conftest import InsertPosts, eventually, publishing_events, queued_keys

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


class SchedulerProcess:
    """One ``python -m gateway scheduler`` with the session's settings; its stderr is kept."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> SchedulerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "scheduler", env=self.env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())
        await eventually(self._running, within=30)
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace").rstrip())

    async def _running(self) -> bool:
        assert self.proc is not None
        if self.proc.returncode is not None:
            raise AssertionError(f"scheduler exited {self.proc.returncode}: {self.log}")
        return "scheduler running" in self.log

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.proc is not None and self._reader is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signum)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await self._reader
        return code


@pytest.fixture
async def spawn(base_env: dict[str, str]) -> AsyncIterator[Callable[..., SchedulerProcess]]:
    started: list[SchedulerProcess] = []

    def make(**extra: str) -> SchedulerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        env.update(base_env, PYTHONUNBUFFERED="1", GATEWAY_LOG_LEVEL="INFO", **extra)
        process = SchedulerProcess(env)
        started.append(process)
        return process

    yield make
    for process in started:  # a failed test must not leave schedulers behind
        if process.proc is not None and process.proc.returncode is None:
            await process.stop(signal.SIGKILL)


async def test_three_scheduler_processes_enqueue_each_post_once_and_stop_on_signals(
    runtime, insert_posts: InsertPosts, spawn
):
    processes = await asyncio.gather(*(spawn(GATEWAY_SCHEDULER_BATCH="100").start() for _ in range(3)))
    ids = await insert_posts(2000, due_in=0.5)  # all due at one instant, while the three sleep
    await runtime.wake_scheduler()

    await eventually(lambda: _has_jobs(runtime, 2000), within=60)
    codes = [await processes[0].stop(signal.SIGINT), *[await p.stop() for p in processes[1:]]]

    assert codes == [0, 0, 0], [p.log for p in processes]
    for process in processes:
        assert "stopping after the current batch" in process.log
        assert "scheduler stopped" in process.log
        assert "Traceback" not in process.log
    keys = await queued_keys(runtime)
    assert len(keys) == 2000 and set(keys) == {str(pid) for pid in ids}
    assert set((await publishing_events(ids)).values()) == {1}


async def test_a_scheduler_killed_mid_batch_still_leads_to_each_post_enqueued_once(
    runtime, insert_posts: InsertPosts, spawn
):
    ids = await insert_posts(4000, due_in=-1)
    victim = await spawn(GATEWAY_SCHEDULER_BATCH="2000").start()
    # kill -9 as soon as a claim has committed: most likely while its 2000 enqueues are under way
    await eventually(lambda: Post.filter(status=PostStatus.PUBLISHING).exists(), every=0.002)
    assert await victim.stop(signal.SIGKILL) == -signal.SIGKILL

    survivor = Scheduler(runtime, batch=500, sweeper=Sweeper(runtime, stuck_after=0))
    task = asyncio.create_task(survivor.run())
    try:
        await eventually(lambda: _has_jobs(runtime, 4000), within=60)
    finally:
        survivor.stop()
        await task
    keys = await queued_keys(runtime)
    assert len(keys) == 4000 and set(keys) == {str(pid) for pid in ids}
    assert set((await publishing_events(ids)).values()) == {1}
    assert await Post.filter(status=PostStatus.PUBLISHING).count() == 4000


async def test_a_wrong_database_url_is_one_line_and_exit_2(base_env: dict[str, str], database_url: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(base_env, GATEWAY_DATABASE_URL="postgres://postgres@127.0.0.1:1/nope")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "scheduler", env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err
    assert b"GATEWAY_DATABASE_URL" in err and b"Traceback" not in err


async def _has_jobs(runtime, count: int) -> bool:
    return len(await queued_keys(runtime)) >= count
