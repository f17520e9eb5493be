"""Plain data passed between the gateway and its platform plugins.

Plugins never touch the ORM, Redis or the queue: everything they need arrives
as one of these objects, and everything they produce leaves as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

AuthKind = Literal["oauth1", "oauth2"]


@dataclass(frozen=True)
class SettingSpec:
    """One setting a plugin reads, from ``GATEWAY_{PLATFORM}_{NAME}``."""

    name: str
    description: str
    required: bool = True
    secret: bool = False
    default: str | None = None


@dataclass(frozen=True)
class PlatformInfo:
    """What a plugin tells the gateway about its platform."""

    name: str  #: lower-case identifier used in URLs: ``twitter``
    title: str  #: shown to people: ``X (Twitter)``
    auth_kind: AuthKind
    max_length: int  #: the text limit, in the platform's own unit
    supports_threads: bool
    max_thread_parts: int = 1
    settings: tuple[SettingSpec, ...] = ()


@dataclass(frozen=True)
class PlatformContext:
    """What a plugin gets for a call: its settings and the gateway's HTTP client."""

    platform: str
    settings: Mapping[str, str]  #: this plugin's section, keys lower-case without prefix
    http: httpx.AsyncClient
    callback_url: str  #: where the platform must send the user back to
    public_url: str  #: the gateway's own base URL


@dataclass(frozen=True)
class AuthStart:
    """The first leg of an authorization.

    ``state_key`` is what the platform hands back on the callback and what the
    gateway looks the stored state up by (the OAuth 1.0a request token, or the
    OAuth 2.0 ``state``). ``secrets`` is stored encrypted until the callback and
    given back to :func:`gateway_authorize_finish` (request-token secret, PKCE
    verifier...).
    """

    authorize_url: str
    state_key: str
    secrets: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    """The identity of a connected account on its platform."""

    external_id: str
    handle: str
    name: str = ""
    url: str = ""


@dataclass(frozen=True)
class Credentials:
    """Tokens for one account. ``tokens`` is opaque to the gateway and stored encrypted.

    A ``None`` expiry means "does not expire" (OAuth 1.0a) or "not told".
    """

    tokens: Mapping[str, str]
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None


@dataclass(frozen=True)
class AuthResult:
    account: Account
    credentials: Credentials


@dataclass(frozen=True)
class Draft:
    """A post as the validate hook sees it, before anything is stored."""

    platform: str
    text: str
    thread: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """One validation problem: data, not an exception."""

    field: str  #: ``text``, ``thread[1]``, ``options.visibility``...
    code: str  #: stable machine-readable code: ``too_long``
    message: str  #: a sentence for a person


@dataclass(frozen=True)
class PublishRequest:
    """One post to publish for one account.

    ``progress`` holds the external ids of thread parts an earlier attempt
    already published; the plugin continues after them rather than repeating.
    ``attempt_started_at`` is when the earlier, unfinished attempt began (for
    reconcile, the lower bound of where to look).
    """

    post_id: str
    account: Account
    text: str
    thread: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    progress: tuple[str, ...] = ()
    attempt_started_at: datetime | None = None


@dataclass(frozen=True)
class PublishResult:
    external_id: str  #: the id of the first (head) part
    url: str
    part_ids: tuple[str, ...] = ()  #: every part's id, head first


@dataclass(frozen=True)
class ReconcileResult:
    """What a look on the platform found. ``found`` None means "cannot tell"."""

    found: bool | None
    result: PublishResult | None = None
    progress: tuple[str, ...] = ()  #: thread parts found published, head first


@dataclass(frozen=True)
class SandboxPlatform:
    """A fake of a platform that ``gateway sandbox`` serves on loopback.

    ``create_app`` builds the fake as an ASGI application; ``settings_for``
    takes the fake's base URL and returns the ``GATEWAY_*`` environment that
    points the plugin at it (base URLs, client ids and secrets the fake accepts).
    """

    platform: str
    create_app: Any  # Callable[[], ASGI application]
    settings_for: Any  # Callable[[str], dict[str, str]]
