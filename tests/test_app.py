"""The app's envelope: health, readiness, authentication, JSON errors, scoping."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gateway.models import ApiKey, Integration
from tests.conftest import Tenant


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_readyz_reports_each_dependency(client):
    response = await client.get("/readyz")
    body = await response.get_json()
    assert response.status_code == 200, body
    assert body["checks"] == {"database": "ok", "redis": "ok", "migrations": "ok"}


async def test_missing_key_is_401_json(client):
    response = await client.get("/api/integrations")
    assert response.status_code == 401
    body = await response.get_json()
    assert body["error"]["code"] == "unauthorized"


async def test_invalid_key_is_401_json(client, tenant: Tenant):
    forged = tenant.key[:-4] + "AAAA"
    for header in (f"Bearer {forged}", "Bearer gw_nope", "Basic abc", "Bearer "):
        response = await client.get("/api/integrations", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert (await response.get_json())["error"]["code"] == "unauthorized"


async def test_revoked_key_is_401(client, tenant: Tenant):
    assert (await client.get("/api/integrations", headers=tenant.headers)).status_code == 200
    await ApiKey.filter(workspace_id=tenant.id).update(revoked_at=datetime.now(UTC))
    response = await client.get("/api/integrations", headers=tenant.headers)
    assert response.status_code == 401
    assert "revoked" in (await response.get_json())["error"]["message"]


async def test_unknown_route_and_method_are_json(client, tenant: Tenant):
    response = await client.get("/nope")
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"
    response = await client.put("/healthz")
    assert response.status_code == 405
    assert (await response.get_json())["error"]["code"] == "method_not_allowed"


async def test_another_workspaces_row_is_404(client, tenant: Tenant, other_tenant: Tenant):
    theirs = await Integration.create(
        workspace_id=other_tenant.id, platform="twitter", external_id="1", handle="them"
    )
    response = await client.get(f"/api/integrations/{theirs.id}", headers=tenant.headers)
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"
    response = await client.delete(f"/api/integrations/{theirs.id}", headers=tenant.headers)
    assert response.status_code == 404
    assert await Integration.filter(id=theirs.id, disconnected_at__isnull=True).exists()
    # their owner does see it
    response = await client.get(f"/api/integrations/{theirs.id}", headers=other_tenant.headers)
    assert response.status_code == 200


async def test_malformed_ids_are_404_not_500(client, tenant: Tenant):
    for ref in ("not-a-uuid", "1", str(uuid.uuid4())):
        response = await client.get(f"/api/integrations/{ref}", headers=tenant.headers)
        assert response.status_code == 404, ref


async def test_platforms_lists_configuration_state(client, tenant: Tenant):
    response = await client.get("/api/platforms", headers=tenant.headers)
    body = await response.get_json()
    names = {p["name"]: p for p in body["platforms"]}
    assert set(names) == {"twitter", "linkedin"}
    assert names["twitter"]["configured"] is True  # the session points it at the fake X
    assert names["twitter"]["missingSettings"] == []
    assert names["twitter"]["maxLength"] == 280 and names["linkedin"]["maxLength"] == 3000
    assert names["twitter"]["canReconcile"] and names["linkedin"]["canDelete"]
