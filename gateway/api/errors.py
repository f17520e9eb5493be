"""Every error leaves as JSON: ``{"error": {"code", "message", "details"}}``.

Never an HTML page, never a stack trace; a 500 is logged with its traceback
and answered with a generic message.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from gateway.errors import GatewayError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(GatewayError)
    async def gateway_error(exc: GatewayError) -> Response:
        if exc.status >= 500:
            log.error("request failed: %s", exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = (exc.name or "error").lower().replace(" ", "_").replace("'", "")
        response = error_response(status, code, exc.description or exc.name or "error")
        for name, value in (exc.get_headers() if hasattr(exc, "get_headers") else []):
            if name.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "something went wrong on our side; it has been logged")
