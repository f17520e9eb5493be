"""The plugin host: builds the plugin manager and calls platform hooks.

The manager is built by :func:`create_plugin_manager`, never at import time.
It loads the ``gateway.plugins`` entry-point group (optionally limited by the
``GATEWAY_PLUGINS`` setting) and checks that every ``@hookimpl`` matches a hook
spec, so a misspelled hook fails loudly at start.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, cast

import httpx
import pluggy

from gateway import hookspecs
from gateway.errors import ConfigError, InvalidRequest, NotFound
from gateway.settings import PREFIX, Settings
from gateway.types import PlatformContext, PlatformInfo, Problem, SandboxPlatform

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "gateway.plugins"


def create_plugin_manager(
    enabled: Iterable[str] | None = None,
    *,
    load_entrypoints: bool = True,
    extra: Iterable[Any] = (),
) -> pluggy.PluginManager:
    """Build a plugin manager.

    ``enabled`` limits the entry points loaded to these names; a name that no
    installed distribution provides is a :class:`~gateway.errors.ConfigError`.
    ``extra`` registers plugin objects directly (tests, embedding).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entrypoints:
        available = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        wanted = list(available) if enabled is None else list(enabled)
        unknown = [name for name in wanted if name not in available]
        if unknown:
            known = ", ".join(sorted(available)) or "none installed"
            raise ConfigError(
                f"{PREFIX}PLUGINS: unknown plugin {', '.join(map(repr, unknown))} (installed: {known})"
            )
        for name in wanted:
            if pm.get_plugin(name) is None:
                try:
                    pm.register(available[name].load(), name=name)
                except pluggy.PluginValidationError as exc:
                    raise ConfigError(f"plugin {name!r} does not fit the hook specs: {exc}") from None
    try:
        for plugin in extra:
            pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"a plugin does not fit the hook specs: {exc}") from None
    return pm


async def await_result(value: Any) -> Any:
    """Await ``value`` if it is awaitable. The one place hook results are awaited."""
    if inspect.isawaitable(value):
        return await value
    return value


@dataclass(frozen=True)
class PlatformStatus:
    info: PlatformInfo
    plugin: str
    missing: tuple[str, ...]  #: required settings that are not set

    @property
    def configured(self) -> bool:
        return not self.missing


class PluginHost:
    """The gateway's view of its plugins: platforms, settings, and hook calls."""

    def __init__(self, pm: pluggy.PluginManager, settings: Settings) -> None:
        self.pm = pm
        self.settings = settings
        self.platforms: dict[str, PlatformInfo] = {}
        self._owners: dict[str, str] = {}
        for impl in pm.hook.gateway_platforms.get_hookimpls():
            infos = cast(list[PlatformInfo], impl.function() or [])
            for info in infos:
                if info.name in self.platforms:
                    raise ConfigError(
                        f"platform {info.name!r} is provided by both {self._owners[info.name]!r}"
                        f" and {impl.plugin_name!r}; limit {PREFIX}PLUGINS to one of them"
                    )
                self.platforms[info.name] = info
                self._owners[info.name] = impl.plugin_name

    @classmethod
    def from_settings(cls, settings: Settings, *, extra: Iterable[Any] = ()) -> PluginHost:
        return cls(create_plugin_manager(settings.plugins, extra=extra), settings)

    def status(self, platform: str) -> PlatformStatus:
        info = self.info(platform)
        section = self.settings.section(platform)
        missing = tuple(
            f"{PREFIX}{platform.upper()}_{spec.name.upper()}"
            for spec in info.settings
            if spec.required and spec.default is None and not section.get(spec.name)
        )
        return PlatformStatus(info, self._owners[platform], missing)

    def info(self, platform: str) -> PlatformInfo:
        try:
            return self.platforms[platform]
        except KeyError:
            raise NotFound(f"unknown platform {platform!r}", code="unknown_platform") from None

    def plugin_settings(self, platform: str) -> Mapping[str, str]:
        """The platform's section with the declared defaults filled in."""
        info = self.info(platform)
        values = {spec.name: spec.default for spec in info.settings if spec.default is not None}
        values.update(self.settings.section(platform))
        return values

    def context(self, platform: str, http: httpx.AsyncClient) -> PlatformContext:
        """A context for calling ``platform``; refuses one whose settings are missing."""
        status = self.status(platform)
        if not status.configured:
            raise InvalidRequest(
                f"{status.info.title} is not configured: set {', '.join(status.missing)}",
                code="platform_not_configured",
            )
        return PlatformContext(
            platform=platform,
            settings=self.plugin_settings(platform),
            http=http,
            callback_url=f"{self.settings.public_url}/api/auth/{platform}/callback",
            public_url=self.settings.public_url,
        )

    async def call(self, hook: str, ctx: PlatformContext, **kwargs: Any) -> Any:
        """Call a first-result, platform-dispatched hook and await its answer.

        Raises :class:`NotImplementedError` when no plugin answered for
        ``ctx.platform`` (an optional hook the plugin does not provide).
        """
        caller = getattr(self.pm.hook, hook)
        result = caller(ctx=ctx, **kwargs)
        if result is None:
            raise NotImplementedError(f"no plugin implements {hook} for {ctx.platform!r}")
        return await await_result(result)

    def implements(self, hook: str, platform: str) -> bool:
        """Whether the plugin that owns ``platform`` implements ``hook``."""
        owner = self._owners.get(platform)
        return any(impl.plugin_name == owner for impl in getattr(self.pm.hook, hook).get_hookimpls())

    def validate(self, draft: Any) -> list[Problem]:
        problems: list[Problem] = []
        for result in self.pm.hook.gateway_validate(draft=draft):
            problems.extend(result or ())
        return problems

    def sandboxes(self) -> list[SandboxPlatform]:
        return [box for result in self.pm.hook.gateway_sandbox() for box in result or ()]
