"""`gateway sandbox` + `gateway serve` as separate processes, clicked through like a person would."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.testing import free_port
from tests.conftest import make_tenant

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def free_pair() -> int:
    """A port whose next port is free too: the sandbox serves one fake per port from there."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port + 1)) != 0:
                return port
    raise AssertionError("no two free ports in a row")


async def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            assert process.poll() is None, process.communicate()
            try:
                await http.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


async def test_click_through_the_sandbox(base_env, app):
    tenant = await make_tenant("sandboxers")
    fake_port, gateway_port = free_pair(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({k: v for k, v in base_env.items() if not k.startswith(("GATEWAY_TWITTER", "GATEWAY_LINKEDIN"))})
    env["GATEWAY_PUBLIC_URL"] = f"http://127.0.0.1:{gateway_port}"
    exported = subprocess.run([sys.executable, "-m", "gateway", "sandbox", "--env", "--port", str(fake_port)],
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    for line in exported.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value
    assert env["GATEWAY_TWITTER_API_URL"] == f"http://127.0.0.1:{fake_port + 1}"  # linkedin first, then twitter

    processes = [
        subprocess.Popen([sys.executable, "-m", "gateway", "sandbox", "--port", str(fake_port)], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
        subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--port", str(gateway_port)], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
    ]
    try:
        await wait_until_up(f"http://127.0.0.1:{fake_port}/", processes[0])
        await wait_until_up(f"http://127.0.0.1:{fake_port + 1}/", processes[0])
        await wait_until_up(f"http://127.0.0.1:{gateway_port}/healthz", processes[1])
        async with httpx.AsyncClient(follow_redirects=True, timeout=20) as browser:
            start = await browser.get(f"http://127.0.0.1:{gateway_port}/api/auth/twitter", headers=tenant.headers)
            assert start.status_code == 200, start.text
            page = await browser.get(start.json()["authorizeUrl"])
            assert "Authorize app" in page.text
            token = page.text.split("name='oauth_token' value='")[1].split("'")[0]
            landed = await browser.post(f"http://127.0.0.1:{fake_port + 1}/oauth/authorize",
                                        data={"oauth_token": token, "action": "authorize"})
            assert landed.url.path == "/dashboard"
            assert "Connected X (Twitter) account @sandbox_user" in landed.text
            listing = await browser.get(f"http://127.0.0.1:{gateway_port}/api/integrations", headers=tenant.headers)
            assert [i["handle"] for i in listing.json()["integrations"]] == ["sandbox_user"]
    finally:
        for process in processes:
            process.terminate()
        logs = [process.communicate(timeout=20)[0] for process in processes]
    assert all(process.returncode == 0 for process in processes), logs
    # the access log shows paths, never the tokens in their query strings
    assert "oauth_verifier" not in logs[1] and "/api/auth/twitter/callback" in logs[1]
