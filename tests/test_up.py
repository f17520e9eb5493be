"""`gateway up` on a machine with nothing configured: embedded PostgreSQL and Redis,
a generated key, the three processes labelled in one log, a clean Ctrl-C, data reused."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def start_up(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_DATA_DIR": str(data_dir), "GATEWAY_PORT": str(port), "GATEWAY_PLUGINS": "twitter,linkedin"})
    return subprocess.Popen([sys.executable, "-m", "gateway", "up"], env=env, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("gateway up never became ready")


def stop(process: subprocess.Popen[str]) -> str:
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole group
    output, _ = process.communicate(timeout=60)
    return output


def test_up_embeds_everything_and_reuses_its_data(tmp_path: Path):
    data_dir, port = tmp_path / "data", free_port()
    first = start_up(data_dir, port)
    try:
        wait_healthy(port, first)
        key = (data_dir / "encryption.key")
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    finally:
        output = stop(first)
    assert first.returncode == 0, output
    assert "generated an encryption key" in output
    api_key = next(line.strip() for line in output.splitlines() if line.strip().startswith("gw_"))
    for label in ("gateway", "worker", "scheduler"):
        assert any(line.lstrip().startswith(label) for line in output.splitlines()), f"no {label} lines:\n{output}"

    second = start_up(data_dir, port)
    try:
        wait_healthy(port, second)
        listing = httpx.get(f"http://127.0.0.1:{port}/api/integrations",
                            headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
        assert listing.status_code == 200, listing.text  # the same database: the first run's key works
    finally:
        output = stop(second)
    assert second.returncode == 0, output
    assert "generated an encryption key" not in output
    assert not any(line.strip().startswith("gw_") for line in output.splitlines())
