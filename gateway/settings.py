"""One settings object, read once from ``GATEWAY_``-prefixed environment variables.

Nothing else in the gateway reads the environment. A missing or malformed value
raises :class:`SettingsError` naming the variable; the CLI turns that into one
line and a non-zero exit.

Plugin settings live in a section per platform: ``GATEWAY_TWITTER_CONSUMER_KEY``
is ``consumer_key`` in the ``twitter`` section. The core does not know which
sections exist; the plugins' :class:`~gateway.types.SettingSpec` say what each
needs, and :meth:`Settings.section` hands a plugin its own.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.errors import ConfigError

PREFIX = "GATEWAY_"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ConfigError):
    """A setting is missing or malformed. The message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    secret: bytes = field(repr=False)


def parse_keys(value: str, variable: str = PREFIX + "ENCRYPTION_KEYS") -> tuple[EncryptionKey, ...]:
    """Parse ``id:base64key,id:base64key``; the first key encrypts, all decrypt."""
    keys: list[EncryptionKey] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise SettingsError(
                variable, "each key must look like ID:BASE64 with an ID of letters, digits, _ or -"
            )
        try:
            secret = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise SettingsError(variable, f"key {key_id!r} is not valid base64") from None
        if len(secret) != 32:
            raise SettingsError(
                variable, f"key {key_id!r} must be 32 bytes (AES-256), got {len(secret)}"
            )
        if any(k.key_id == key_id for k in keys):
            raise SettingsError(variable, f"key id {key_id!r} appears twice")
        keys.append(EncryptionKey(key_id, secret))
    if not keys:
        raise SettingsError(variable, "no key given")
    return tuple(keys)


def generate_key_spec(key_id: str) -> str:
    """A fresh ``id:base64`` key, as ``gateway crypto genkey`` prints it."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    redis_url: str | None = None
    public_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    encryption_keys: tuple[EncryptionKey, ...] = ()
    secret_key: str | None = field(default=None, repr=False)
    data_dir: Path = field(default_factory=lambda: Path.home() / ".gateway")
    log_level: str = "INFO"
    plugins: tuple[str, ...] | None = None
    namespace: str = "gateway"
    worker_concurrency: int = 10
    job_timeout: int = 120
    retry_delay_ms: int = 10_000  # first delay of the worker's backoff after a transient error
    oauth_state_ttl: int = 600
    max_lateness: int | None = None
    scheduler_batch: int = 500
    expiry_warning_days: int = 7
    sse_keepalive: float = 15.0  # seconds between SSE keepalive comments
    sse_client_buffer: int = 1000  # events queued for one SSE client before it is cut off
    sections: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        reader = _Reader(env)
        settings = cls(
            database_url=reader.url("DATABASE_URL", ("postgres", "postgresql", "asyncpg")),
            redis_url=reader.url("REDIS_URL", ("redis", "rediss", "unix")),
            public_url=(reader.url("PUBLIC_URL", ("http", "https")) or cls.public_url).rstrip("/"),
            host=reader.text("HOST") or cls.host,
            port=reader.integer("PORT", cls.port, minimum=0, maximum=65535),
            encryption_keys=reader.keys("ENCRYPTION_KEYS"),
            secret_key=reader.text("SECRET_KEY"),
            data_dir=Path(reader.text("DATA_DIR") or Path.home() / ".gateway").expanduser(),
            log_level=reader.choice("LOG_LEVEL", _LOG_LEVELS, "INFO"),
            plugins=reader.names("PLUGINS"),
            namespace=reader.text("NAMESPACE") or cls.namespace,
            worker_concurrency=reader.integer("WORKER_CONCURRENCY", cls.worker_concurrency, minimum=1),
            job_timeout=reader.integer("JOB_TIMEOUT", cls.job_timeout, minimum=5),
            retry_delay_ms=reader.integer("RETRY_DELAY_MS", cls.retry_delay_ms, minimum=0),
            oauth_state_ttl=reader.integer("OAUTH_STATE_TTL", cls.oauth_state_ttl, minimum=30),
            max_lateness=reader.optional_int("MAX_LATENESS", minimum=1),
            scheduler_batch=reader.integer("SCHEDULER_BATCH", cls.scheduler_batch, minimum=1, maximum=10_000),
            expiry_warning_days=reader.integer("EXPIRY_WARNING_DAYS", cls.expiry_warning_days, minimum=0),
            sse_keepalive=reader.integer("SSE_KEEPALIVE", int(cls.sse_keepalive), minimum=1, maximum=300),
            sse_client_buffer=reader.integer("SSE_CLIENT_BUFFER", cls.sse_client_buffer, minimum=10),
            sections=_sections(env, reader.consumed),
        )
        return settings

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def section(self, platform: str) -> Mapping[str, str]:
        """A plugin's own settings: ``GATEWAY_TWITTER_API_URL`` -> ``{"api_url": ...}``."""
        return self.sections.get(platform.lower(), {})

    def require_database(self) -> str:
        if not self.database_url:
            raise SettingsError(PREFIX + "DATABASE_URL", "not set (or run `gateway up`, which embeds one)")
        return self.database_url

    def require_redis(self) -> str:
        if not self.redis_url:
            raise SettingsError(PREFIX + "REDIS_URL", "not set (or run `gateway up`, which embeds one)")
        return self.redis_url

    def require_keys(self) -> tuple[EncryptionKey, ...]:
        if not self.encryption_keys:
            raise SettingsError(
                PREFIX + "ENCRYPTION_KEYS",
                "not set; generate one with `gateway crypto genkey`",
            )
        return self.encryption_keys


def _sections(env: Mapping[str, str], consumed: set[str]) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith(PREFIX) or name in consumed:
            continue
        rest = name[len(PREFIX):]
        platform, sep, key = rest.partition("_")
        if sep and key:
            sections.setdefault(platform.lower(), {})[key.lower()] = value
    return sections


class _Reader:
    """Reads and checks one variable at a time, remembering which it consumed."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.consumed: set[str] = set()

    def text(self, name: str) -> str | None:
        full = PREFIX + name
        self.consumed.add(full)
        value = self.env.get(full)
        if value is None or value.strip() == "":
            return None
        return value.strip()

    def integer(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.optional_int(name, minimum=minimum, maximum=maximum)
        return default if value is None else value

    def optional_int(self, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(PREFIX + name, f"expected a whole number, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise SettingsError(PREFIX + name, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingsError(PREFIX + name, f"must be at most {maximum}, got {value}")
        return value

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in schemes or not (parts.netloc or parts.path):
            raise SettingsError(
                PREFIX + name, f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return raw

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        if raw.upper() not in choices:
            raise SettingsError(PREFIX + name, f"expected one of {', '.join(choices)}, got {raw!r}")
        return raw.upper()

    def names(self, name: str) -> tuple[str, ...] | None:
        raw = self.text(name)
        if raw is None:
            return None
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def keys(self, name: str) -> tuple[EncryptionKey, ...]:
        raw = self.text(name)
        return () if raw is None else parse_keys(raw, PREFIX + name)
