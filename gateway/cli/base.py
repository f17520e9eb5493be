"""The ``gateway`` click group and what its commands share.

Each command reads the settings, builds the object that does the work and runs
it. A :class:`~gateway.errors.GatewayError` (a bad setting, an unreachable
database) ends the command with one line on stderr and exit code 2, never a
traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click

from gateway.errors import GatewayError
from gateway.settings import Settings

T = TypeVar("T")

EXIT_CONFIG = 2


class GatewayGroup(click.Group):
    """Turns gateway errors raised by any command into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewayError as exc:
            click.secho(f"error: {exc.message}", fg="red", err=True)
            ctx.exit(EXIT_CONFIG)


def settings_from(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_object(Settings) or Settings.from_env()
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # request lines of the HTTP clients carry OAuth tokens in query strings; the ORM is chatty
    for noisy in ("httpx", "httpcore", "hpack", "tortoise", "aerich", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@click.group(cls=GatewayGroup)
@click.version_option(package_name="social-gateway")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Publish and schedule posts on social platforms."""
    settings = Settings.from_env()
    ctx.obj = settings
    configure_logging(settings)


def _with_db(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    from gateway import db
    from gateway.runtime import check_database

    async def main() -> T:
        url = settings.require_database()
        await check_database(url)
        await db.init_db(url, pool_max=2)
        try:
            return await work()
        finally:
            await db.close_db()

    return run(main())
