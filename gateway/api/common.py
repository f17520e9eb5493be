"""What handlers share: the runtime, the caller's scope, JSON bodies and errors."""

from __future__ import annotations

from typing import Any

from quart import current_app, g, request
from werkzeug.exceptions import BadRequest

from gateway.errors import InvalidRequest
from gateway.runtime import Runtime
from gateway.scoping import Scope


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["gateway.runtime"]
    return rt


def scope() -> Scope:
    """The caller's workspace scope, set by authentication before the handler runs."""
    found: Scope = g.scope
    return found


async def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.is_json:
        raise InvalidRequest("send a JSON object with Content-Type: application/json", code="invalid_json")
    try:
        body = await request.get_json()
    except BadRequest:
        raise InvalidRequest("the body is not valid JSON", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object", code="invalid_json")
    return body


def wants_json() -> bool:
    """Whether the caller is a program (asks for JSON or sends a key) rather than a browser."""
    accept = request.accept_mimetypes
    if "Authorization" in request.headers:
        return True
    return accept.best_match(["application/json", "text/html"]) == "application/json"
