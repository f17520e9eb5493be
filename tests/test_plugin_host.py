"""The plugin host: entry points, GATEWAY_PLUGINS, check_pending, first-result dispatch,
and a third-party plugin discovered with no change to the core."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable
from pathlib import Path

import httpx
import pytest

from gateway import hookimpl, hookspecs
from gateway.errors import ConfigError
from gateway.plugins import PluginHost, await_result, create_plugin_manager
from gateway.settings import Settings
from gateway.types import PlatformContext, PlatformInfo, PublishResult

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = Path(__file__).parent / "example_plugin"


def hook_names() -> list[str]:
    return sorted(name for name in dir(hookspecs) if name.startswith("gateway_"))


@pytest.fixture
def example_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install tests/example_plugin as a real distribution: its package plus a dist-info
    with its entry point, on sys.path, the way pip lays it out in site-packages."""
    site = tmp_path / "site"
    info = site / "gateway_example-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gateway-example\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text('[gateway.plugins]\nexample = gateway_example\n')
    (site / "gateway_example").symlink_to(EXAMPLE / "gateway_example")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_third_party_plugin_is_found_through_its_entry_point(example_distribution):
    host = PluginHost(create_plugin_manager(), Settings.from_env({"GATEWAY_EXAMPLE_API_URL": "http://e"}))
    assert {"twitter", "linkedin", "example"} <= set(host.platforms)
    assert host.status("example").configured
    assert host.status("example").plugin == "example"


def test_gateway_plugins_limits_what_loads(example_distribution):
    pm = create_plugin_manager(["example"])
    assert [name for name, _ in pm.list_name_plugin()] == ["example"]


def test_unknown_plugin_name_is_a_config_error():
    with pytest.raises(ConfigError) as caught:
        create_plugin_manager(["twitter", "mastodon"])
    assert "GATEWAY_PLUGINS" in caught.value.message
    assert "'mastodon'" in caught.value.message
    assert "twitter" in caught.value.message  # lists what is installed


def test_misspelled_hook_fails_loudly():
    class Typo:
        @hookimpl
        def gateway_publsh(self, ctx):  # not a hook
            return None

    with pytest.raises(ConfigError, match="gateway_publsh"):
        create_plugin_manager(load_entrypoints=False, extra=[Typo()])


def make_platform(name: str, calls: list[str]):
    class Platform:
        @hookimpl
        def gateway_platforms(self) -> list[PlatformInfo]:
            return [PlatformInfo(name, name.title(), "oauth2", 100, False)]

        @hookimpl
        def gateway_publish(self, ctx, credentials, request) -> Awaitable[PublishResult] | None:
            if ctx.platform != name:
                return None

            async def publish() -> PublishResult:
                calls.append(name)
                return PublishResult(f"{name}-1", f"https://{name}/1")

            return publish()

    return Platform()


async def test_first_result_dispatch_reaches_the_right_plugin():
    calls: list[str] = []
    pm = create_plugin_manager(load_entrypoints=False, extra=[make_platform("alpha", calls),
                                                                make_platform("beta", calls)])
    host = PluginHost(pm, Settings.from_env({}))
    async with httpx.AsyncClient() as http:
        for name in ("alpha", "beta", "alpha"):
            result = await host.call("gateway_publish", host.context(name, http), credentials=None, request=None)
            assert result.external_id == f"{name}-1"
    assert calls == ["alpha", "beta", "alpha"]


async def test_an_async_def_implementation_would_win_for_every_platform():
    """Why platform hooks are plain ``def``: a coroutine is never None."""

    class Greedy:
        @hookimpl
        async def gateway_publish(self, ctx, credentials, request):
            return None

    pm = create_plugin_manager(load_entrypoints=False, extra=[Greedy()])
    result = pm.hook.gateway_publish(ctx=None, credentials=None, request=None)
    assert result is not None  # the trap: pluggy took the coroutine as an answer
    assert await await_result(result) is None


async def test_await_result_passes_plain_values_through():
    assert await await_result(3) == 3


def test_two_plugins_claiming_one_platform_is_a_config_error():
    calls: list[str] = []
    pm = create_plugin_manager(load_entrypoints=False, extra=[make_platform("alpha", calls),
                                                                make_platform("alpha", calls)])
    with pytest.raises(ConfigError, match="provided by both"):
        PluginHost(pm, Settings.from_env({}))


def test_unconfigured_platform_names_its_missing_settings():
    host = PluginHost.from_settings(Settings.from_env({"GATEWAY_PLUGINS": "twitter"}))
    with pytest.raises(Exception) as caught:
        host.context("twitter", None)  # type: ignore[arg-type]
    assert "GATEWAY_TWITTER_CONSUMER_KEY" in str(caught.value)


def test_plugin_commands_join_the_cli(example_distribution):
    """gateway_register_commands: the example plugin's command joins the ``gateway`` CLI."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(example_distribution), str(ROOT)])}
    env.pop("GATEWAY_PLUGINS", None)
    done = subprocess.run([sys.executable, "-m", "gateway", "example-hello"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from a third-party plugin"


def test_every_hook_is_documented_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text()
    missing = [name for name in hook_names() if f"`{name}`" not in guide]
    assert not missing, f"docs/plugins.md does not explain {missing}"


def test_every_hook_has_a_docstring_and_a_test():
    tests = "".join(path.read_text() for path in Path(__file__).parent.rglob("test_*.py"))
    for name in hook_names():
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"
        assert name in tests, f"no test exercises {name}"


def test_platform_context_carries_the_plugin_section():
    host = PluginHost.from_settings(Settings.from_env({
        "GATEWAY_PLUGINS": "linkedin", "GATEWAY_LINKEDIN_CLIENT_ID": "a", "GATEWAY_LINKEDIN_CLIENT_SECRET": "b",
        "GATEWAY_PUBLIC_URL": "https://gw.example"}))
    ctx: PlatformContext = host.context("linkedin", None)  # type: ignore[arg-type]
    assert ctx.settings["client_id"] == "a"
    assert ctx.callback_url == "https://gw.example/api/auth/linkedin/callback"
