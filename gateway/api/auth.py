"""Who is calling: a Bearer API key (programs) or the dashboard's session cookie."""

from __future__ import annotations

import uuid

from quart import g, request, session

from gateway.apikeys import authenticate
from gateway.errors import GatewayError
from gateway.scoping import Scope


class Unauthorized(GatewayError):
    code = "unauthorized"
    status = 401


async def require_workspace() -> None:
    """``before_request`` of every tenant blueprint: sets ``g.scope`` or answers 401."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("use 'Authorization: Bearer <api key>'")
        workspace_id = await authenticate(key.strip())
        if workspace_id is None:
            raise Unauthorized("the API key is invalid or has been revoked")
        g.scope = Scope(workspace_id)
        g.via = "api"
        return
    session_workspace = session.get("workspace_id")
    if session_workspace:
        g.scope = Scope(uuid.UUID(session_workspace))
        g.via = "dashboard"
        return
    raise Unauthorized("authentication required: send 'Authorization: Bearer <api key>'")
