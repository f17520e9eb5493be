"""The fake X's answers: X-style error bodies and the small HTML pages.

Kept apart from :mod:`gateway_twitter.fake` so the server logic stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from quart import Response

INVALID_REQUEST_TYPE = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json; charset=utf-8",
    )


def problem(status: int, detail: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """A v2 API error, as X sends it (RFC 7807 problem, ``type`` ``about:blank``)."""
    title = _TITLES.get(status, "Error")
    body = {"title": title, "type": "about:blank", "status": status, "detail": detail or title}
    return json_response(body, status, headers)


def invalid_request(message: str, parameters: Mapping[str, Any] | None = None) -> Response:
    """X's 400 for a malformed v2 request."""
    body = {
        "errors": [{"parameters": dict(parameters or {}), "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": INVALID_REQUEST_TYPE,
    }
    return json_response(body, 400)


def not_found(resource: str, value: str) -> Response:
    body = {
        "errors": [
            {
                "value": value,
                "detail": f"Could not find {resource} with id: [{value}].",
                "title": "Not Found Error",
                "resource_type": resource,
                "parameter": "id",
                "resource_id": value,
                "type": NOT_FOUND_TYPE,
            }
        ],
        "title": "Not Found Error",
        "detail": f"Could not find {resource} with id: [{value}].",
        "type": NOT_FOUND_TYPE,
    }
    return json_response(body, 404)


def v1_error(status: int, code: int, message: str) -> Response:
    """The OAuth endpoints' (v1.1 style) error: ``{"errors":[{"code":..,"message":..}]}``."""
    return json_response({"errors": [{"code": code, "message": message}]}, status)


def redirect_to(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}"
        ".tweet{border-bottom:1px solid #ddd;padding:.5rem 0}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def authorize_page(token: str, users: Iterable[tuple[str, str, str]], selected: str) -> Response:
    """The page a person sees in ``gateway sandbox``: pick an account, authorize or cancel.

    ``users`` are ``(id, username, name)``.
    """
    options = "".join(
        f"<option value='{escape(uid)}'{' selected' if uid == selected else ''}>"
        f"{escape(name)} (@{escape(username)})</option>"
        for uid, username, name in users
    )
    body = (
        "<p>An application wants to use your account: read your posts, post and delete on your"
        " behalf. This is the gateway's <strong>sandbox</strong> imitation of X.</p>"
        "<form method='post' action='/oauth/authorize'>"
        f"<input type='hidden' name='oauth_token' value='{escape(token)}'>"
        f"<p><label>Account <select name='user'>{options}</select></label></p>"
        "<button type='submit' name='action' value='authorize'>Authorize app</button>"
        "<button type='submit' name='action' value='cancel'>Cancel</button>"
        "</form>"
    )
    return html_page("Authorize access to your X account", body)


def pin_page(verifier: str) -> Response:
    return html_page("Authorized", f"<p>Enter this PIN in the application: <code>{escape(verifier)}</code></p>")


def timeline_page(rows: Iterable[tuple[str, str, str, str | None]]) -> Response:
    """The fake's home page: what was posted, newest first. ``(id, @user, text, reply_to)``."""
    items = "".join(
        f"<div class='tweet'><small>{escape(tid)} @{escape(user)}"
        f"{' replying to ' + escape(reply) if reply else ''}</small><br>{escape(text)}</div>"
        for tid, user, text, reply in rows
    )
    return html_page("Sandbox X", items or "<p>Nothing posted yet.</p>")
