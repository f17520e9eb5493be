"""GET /api/platforms: what the installed plugins offer, and whether each is configured."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from gateway.api.auth import require_workspace
from gateway.api.common import runtime

blueprint = Blueprint("platforms", __name__, url_prefix="/api/platforms")
blueprint.before_request(require_workspace)


@blueprint.get("")
async def list_platforms() -> dict[str, Any]:
    host = runtime().plugins
    items = []
    for name in sorted(host.platforms):
        status = host.status(name)
        info = status.info
        items.append({
            "name": info.name,
            "title": info.title,
            "authKind": info.auth_kind,
            "maxLength": info.max_length,
            "supportsThreads": info.supports_threads,
            "maxThreadParts": info.max_thread_parts,
            "canReconcile": host.implements("gateway_reconcile", name),
            "canDelete": host.implements("gateway_delete_post", name),
            "configured": status.configured,
            "missingSettings": list(status.missing),
        })
    return {"platforms": items}
