"""Connecting accounts over HTTP: the seed's ``/api/auth/{platform}`` and its callback."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, g, redirect, request, session
from werkzeug.wrappers.response import Response as BaseResponse

from gateway import connections
from gateway.api import pages
from gateway.api.auth import require_workspace
from gateway.api.common import runtime, scope, wants_json
from gateway.api.errors import error_response
from gateway.errors import AuthorizationFailed, GatewayError
from gateway.models import Source

api_blueprint = Blueprint("connect", __name__, url_prefix="/api/auth")
api_blueprint.before_request(require_workspace)

# The callback is reached by the user's browser coming back from the platform:
# it carries no key of ours. The stored single-use state identifies the workspace.
callback_blueprint = Blueprint("connect_callback", __name__, url_prefix="/api/auth")


@api_blueprint.get("/<platform>")
async def start(platform: str) -> BaseResponse | dict[str, Any]:
    """Begin connecting: JSON with the authorize URL for programs, a redirect for the dashboard."""
    source = Source.DASHBOARD if g.via == "dashboard" else Source.API
    started = await connections.start(runtime(), scope().workspace_id, platform, source)
    if source is Source.DASHBOARD:
        return redirect(started.authorize_url)
    return {"platform": platform, "authorizeUrl": started.authorize_url,
            "expiresAt": started.expires_at.isoformat()}


@callback_blueprint.get("/<platform>/callback")
async def callback(platform: str) -> Response | BaseResponse | tuple[str, int]:
    rt = runtime()
    rt.plugins.info(platform)  # an unknown platform is a 404
    try:
        integration = await connections.finish(
            rt, platform, request.args.to_dict(), session_workspace=session.get("workspace_id")
        )
    except AuthorizationFailed as exc:
        if exc.code == "access_denied":
            pages.flash("error", exc.message)
            return redirect("/dashboard")
        return _failure(exc)
    except GatewayError as exc:
        return _failure(exc)
    title = rt.plugins.info(platform).title
    pages.flash("connected", f"Connected {title} account @{integration.handle}"
                + (f" ({integration.name})" if integration.name else "") + ".")
    return redirect("/dashboard")


def _failure(exc: GatewayError) -> Response | BaseResponse | tuple[str, int]:
    status = exc.status if exc.status < 500 else 502
    if wants_json():
        return error_response(status, exc.code, exc.message)
    return pages.render_message("Connection failed", exc.message, status=status)
