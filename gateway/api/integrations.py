"""Connected accounts: list, show, disconnect. Never a token in any answer."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from gateway import connections
from gateway.api.auth import require_workspace
from gateway.api.common import runtime, scope
from gateway.models import Integration
from gateway.serializers import integration_json

blueprint = Blueprint("integrations", __name__, url_prefix="/api/integrations")
blueprint.before_request(require_workspace)


@blueprint.get("")
async def list_integrations() -> dict[str, Any]:
    rows = await scope().query(Integration).filter(disconnected_at__isnull=True).order_by("connected_at")
    return {"integrations": [integration_json(row) for row in rows]}


@blueprint.get("/<integration_id>")
async def get_integration(integration_id: str) -> dict[str, Any]:
    return integration_json(await scope().get(Integration, integration_id))


@blueprint.delete("/<integration_id>")
async def delete_integration(integration_id: str) -> dict[str, Any]:
    row = await scope().get(Integration, integration_id, disconnected_at__isnull=True)
    cancelled = await connections.disconnect(runtime(), row, reason="disconnected by the user")
    return {"disconnected": str(row.id), "cancelledPosts": cancelled}
