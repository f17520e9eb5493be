"""The gateway's exceptions, in one tree.

Plugins raise these so the worker can decide what to do with a failure without
knowing anything about the platform::

    GatewayError                 message safe to show a user
    ├── ConfigError              a setting is missing or malformed
    ├── NotFound                 no such row in the caller's workspace
    ├── Conflict                 the row is not in a state that allows this
    ├── InvalidRequest           the request itself is malformed
    ├── AuthorizationFailed      an OAuth flow could not be completed
    └── PlatformError            a platform answered (or failed to) a call
        ├── RateLimited          retry at ``retry_at``
        ├── TransientError       retry later with backoff (5xx, refused connection)
        ├── AuthExpired          refresh the credentials once, then retry
        ├── PermanentError       give up; carries the platform's message and code
        └── OutcomeUnknown       the request may have reached the platform: reconcile

Validation problems are data (:class:`gateway.types.Problem`), not exceptions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class GatewayError(Exception):
    """Base error. ``message`` is always safe to show to the user who caused it."""

    code = "gateway_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ConfigError(GatewayError):
    code = "config_error"


class NotFound(GatewayError):
    code = "not_found"
    status = 404


class Conflict(GatewayError):
    code = "conflict"
    status = 409


class InvalidRequest(GatewayError):
    code = "invalid_request"
    status = 400


class AuthorizationFailed(GatewayError):
    """An OAuth connection could not be completed (denied, replayed, expired...)."""

    code = "authorization_failed"
    status = 400


class PlatformError(GatewayError):
    """A platform call failed. ``platform_code`` is the platform's own code, if any."""

    code = "platform_error"
    status = 502

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        platform_code: str | None = None,
        status_code: int | None = None,
        details: Any = None,
        progress: list[str] | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.platform_code = platform_code
        self.status_code = status_code
        #: external ids of thread parts that did go out before the failure,
        #: so a retry continues the thread instead of starting it again
        self.progress = list(progress or [])


class RateLimited(PlatformError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_at = retry_at


class TransientError(PlatformError):
    code = "transient_error"


class AuthExpired(PlatformError):
    code = "auth_expired"


class PermanentError(PlatformError):
    code = "permanent_error"


class OutcomeUnknown(PlatformError):
    code = "outcome_unknown"
