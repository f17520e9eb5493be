"""What every installed platform plugin must honour, checked on each of them
(the bundled ones and the third-party example)."""

from __future__ import annotations

import inspect

import pytest

from gateway.plugins import create_plugin_manager
from gateway.types import Draft, PlatformInfo, SandboxPlatform

BUNDLED = ["twitter", "linkedin"]


@pytest.fixture(params=BUNDLED)
def plugin(request):
    pm = create_plugin_manager([request.param])
    return request.param, pm


def test_gateway_platforms_describes_the_platform(plugin):
    name, pm = plugin
    infos = [info for result in pm.hook.gateway_platforms() for info in result]
    assert [info.name for info in infos] == [name]
    info: PlatformInfo = infos[0]
    assert info.max_length > 0 and info.title
    assert info.auth_kind in ("oauth1", "oauth2")
    assert all(spec.name == spec.name.lower() for spec in info.settings)
    assert any(spec.secret for spec in info.settings), "OAuth apps have a secret setting"


def test_first_result_hooks_are_plain_functions(plugin):
    """An ``async def`` behind a first-result hook would answer for every platform."""
    _, pm = plugin
    for hook in ("gateway_authorize_start", "gateway_authorize_finish", "gateway_refresh_credentials",
                 "gateway_publish", "gateway_reconcile", "gateway_delete_post"):
        for impl in getattr(pm.hook, hook).get_hookimpls():
            assert not inspect.iscoroutinefunction(impl.function), f"{impl.plugin_name}.{hook} is async def"


def test_platform_hooks_ignore_other_platforms(plugin):
    _, pm = plugin

    class Ctx:
        platform = "some-other-platform"

    for hook in ("gateway_authorize_start", "gateway_publish", "gateway_reconcile",
                 "gateway_refresh_credentials", "gateway_delete_post"):
        kwargs = {name: None for name in getattr(pm.hook, hook).spec.argnames if name != "ctx"}
        assert getattr(pm.hook, hook)(ctx=Ctx(), **kwargs) is None, hook
    assert pm.hook.gateway_authorize_finish(ctx=Ctx(), params={}, secrets={}) is None
    assert [p for r in pm.hook.gateway_validate(draft=Draft("some-other-platform", "")) for p in r] == []


def test_gateway_validate_rejects_empty_text(plugin):
    name, pm = plugin
    problems = [p for r in pm.hook.gateway_validate(draft=Draft(name, "")) for p in r]
    assert [p.code for p in problems] == ["empty"]


def test_gateway_sandbox_provides_a_fake_and_its_settings(plugin):
    name, pm = plugin
    boxes: list[SandboxPlatform] = [box for result in pm.hook.gateway_sandbox() for box in result]
    assert [box.platform for box in boxes] == [name]
    env = boxes[0].settings_for("http://127.0.0.1:9")
    assert all(key.startswith(f"GATEWAY_{name.upper()}_") for key in env)
    assert "http://127.0.0.1:9" in env.values()
