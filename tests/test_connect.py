"""Connecting accounts end to end: the real gateway, the real plugins, the fake platforms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx

from gateway.models import Event, Integration, IntegrationStatus, OAuthState
from tests.conftest import Tenant, connect_linkedin, connect_twitter


async def test_twitter_seed_flow(client, tenant: Tenant, fake_x):
    integration = await connect_twitter(client, tenant, fake_x)
    assert integration.platform == "twitter"
    assert integration.handle == "sandbox_user"
    assert integration.external_id == "2244994945"
    assert integration.status is IntegrationStatus.ACTIVE
    assert integration.credentials.startswith("v1.")
    # the page the browser lands on shows the account
    page = await client.get("/dashboard")
    assert "@sandbox_user" in await page.get_data(as_text=True)
    # the state is consumed, the event recorded
    assert await OAuthState.filter(consumed_at__isnull=True).count() == 0
    assert await Event.filter(type="integration.connected", integration_id=integration.id).count() == 1
    listing = await (await client.get("/api/integrations", headers=tenant.headers)).get_json()
    assert [i["handle"] for i in listing["integrations"]] == ["sandbox_user"]


async def test_linkedin_flow_records_expiry_and_refresh_token(client, tenant: Tenant, fake_linkedin, runtime):
    integration = await connect_linkedin(client, tenant, fake_linkedin)
    assert integration.platform == "linkedin"
    assert integration.external_id == "782bbtaQ"
    assert integration.token_expires_at > datetime.now(UTC) + timedelta(days=50)
    assert integration.refresh_expires_at is not None
    tokens = runtime.vault.open_credentials(integration).tokens
    assert tokens["access_token"] in fake_linkedin.tokens
    assert tokens["refresh_token"]


async def test_dashboard_session_gets_a_redirect(client, tenant: Tenant, fake_x):
    async with client.session_transaction() as session:
        session["workspace_id"] = str(tenant.id)
    response = await client.get("/api/auth/twitter")
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"{fake_x.url}/oauth/authorize?oauth_token=")


async def test_denied_on_x_lands_on_the_dashboard_with_a_message(client, tenant: Tenant, fake_x):
    url = (await (await client.get("/api/auth/twitter", headers=tenant.headers)).get_json())["authorizeUrl"]
    token = parse_qs(urlsplit(url).query)["oauth_token"][0]
    async with httpx.AsyncClient() as http:
        decision = await http.post(f"{fake_x.url}/oauth/authorize", data={"oauth_token": token, "action": "cancel"})
    location = urlsplit(decision.headers["location"])
    assert "denied=" in location.query
    callback = await client.get(f"{location.path}?{location.query}")
    assert callback.status_code == 302 and callback.headers["location"] == "/dashboard"
    page = await (await client.get("/dashboard")).get_data(as_text=True)
    assert "declined" in page
    assert await Integration.all().count() == 0
    assert await OAuthState.filter(consumed_at__isnull=True).count() == 0


async def test_cancelled_on_linkedin_lands_on_the_dashboard_with_a_message(client, tenant: Tenant, fake_linkedin):
    url = (await (await client.get("/api/auth/linkedin", headers=tenant.headers)).get_json())["authorizeUrl"]
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        request_id = page.text.split("name='request_id' value='")[1].split("'")[0]
        decision = await http.post(f"{fake_linkedin.url}/oauth/v2/authorization/decision",
                                   data={"request_id": request_id, "action": "cancel"})
    location = urlsplit(decision.headers["location"])
    callback = await client.get(f"{location.path}?{location.query}")
    assert callback.status_code == 302
    assert "cancelled" in (await (await client.get("/dashboard")).get_data(as_text=True)).lower()
    assert await Integration.all().count() == 0
    assert await OAuthState.filter(consumed_at__isnull=True).count() == 0


async def _approved_callback(client, tenant, fake_x) -> str:
    url = (await (await client.get("/api/auth/twitter", headers=tenant.headers)).get_json())["authorizeUrl"]
    token = parse_qs(urlsplit(url).query)["oauth_token"][0]
    async with httpx.AsyncClient() as http:
        decision = await http.post(f"{fake_x.url}/oauth/authorize", data={"oauth_token": token, "action": "ok"})
    location = urlsplit(decision.headers["location"])
    return f"{location.path}?{location.query}"


async def test_replayed_callback_is_a_400(client, tenant: Tenant, fake_x):
    callback = await _approved_callback(client, tenant, fake_x)
    assert (await client.get(callback)).status_code == 302
    replay = await client.get(callback, headers={"Accept": "application/json"})
    assert replay.status_code == 400
    assert (await replay.get_json())["error"]["code"] == "state_used"
    assert await Integration.all().count() == 1


async def test_expired_state_is_a_400_and_stores_nothing(client, tenant: Tenant, fake_x):
    callback = await _approved_callback(client, tenant, fake_x)
    await OAuthState.all().update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await client.get(callback)
    assert response.status_code == 400
    assert "expired" in await response.get_data(as_text=True)
    assert await Integration.all().count() == 0


async def test_unknown_state_is_a_400(client, fake_x):
    for query in ("oauth_token=nope&oauth_verifier=x", "", "denied=nope"):
        response = await client.get(f"/api/auth/twitter/callback?{query}", headers={"Accept": "application/json"})
        assert response.status_code == 400, query
        assert (await response.get_json())["error"]["code"] in ("unknown_state", "missing_state")
    response = await client.get("/api/auth/linkedin/callback?code=abc&state=forged")
    assert response.status_code == 400


async def test_state_started_by_another_workspace_is_refused(client, tenant: Tenant, other_tenant: Tenant, fake_x):
    callback = await _approved_callback(client, tenant, fake_x)
    async with client.session_transaction() as session:  # a browser logged into the other workspace
        session["workspace_id"] = str(other_tenant.id)
    response = await client.get(callback, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert (await response.get_json())["error"]["code"] == "state_workspace_mismatch"
    assert await Integration.all().count() == 0


async def test_tampered_verifier_is_a_400(client, tenant: Tenant, fake_x):
    callback = await _approved_callback(client, tenant, fake_x)
    tampered = callback.replace("oauth_verifier=", "oauth_verifier=x")
    response = await client.get(tampered, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert await Integration.all().count() == 0
    # and the state cannot be retried with the right verifier: single use
    assert (await client.get(callback)).status_code == 400


async def test_tampered_linkedin_code_is_a_400(client, tenant: Tenant, fake_linkedin):
    url = (await (await client.get("/api/auth/linkedin", headers=tenant.headers)).get_json())["authorizeUrl"]
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        request_id = page.text.split("name='request_id' value='")[1].split("'")[0]
        decision = await http.post(f"{fake_linkedin.url}/oauth/v2/authorization/decision",
                                   data={"request_id": request_id, "action": "allow"})
    location = urlsplit(decision.headers["location"])
    params = parse_qs(location.query)
    response = await client.get(f"{location.path}?code=forged{params['code'][0]}&state={params['state'][0]}")
    assert response.status_code == 400
    assert await Integration.all().count() == 0


async def test_reconnecting_updates_the_same_row_and_keeps_the_refresh_token(
    client, tenant: Tenant, fake_linkedin, runtime
):
    first = await connect_linkedin(client, tenant, fake_linkedin)
    refresh = runtime.vault.open_credentials(first).tokens["refresh_token"]
    fake_linkedin.grant_refresh_tokens = False  # this grant brings no refresh token
    second = await connect_linkedin(client, tenant, fake_linkedin)
    assert second.id == first.id
    assert await Integration.all().count() == 1
    tokens = runtime.vault.open_credentials(second).tokens
    assert tokens["refresh_token"] == refresh
    assert tokens["access_token"] != runtime.vault.open_credentials(first).tokens["access_token"]
    assert second.refresh_expires_at == first.refresh_expires_at


async def test_integrations_never_show_a_token(client, tenant: Tenant, fake_x, runtime):
    integration = await connect_twitter(client, tenant, fake_x)
    tokens = runtime.vault.open_credentials(integration).tokens
    for path in ("/api/integrations", f"/api/integrations/{integration.id}"):
        text = await (await client.get(path, headers=tenant.headers)).get_data(as_text=True)
        for secret in tokens.values():
            assert secret not in text
    detail = await (await client.get(f"/api/integrations/{integration.id}", headers=tenant.headers)).get_json()
    assert detail["handle"] == "sandbox_user" and detail["status"] == "active"
    assert "credentials" not in detail


async def test_disconnect_wipes_credentials_and_cancels_scheduled_posts(client, tenant: Tenant, fake_x):
    from gateway.models import Post, PostStatus

    integration = await connect_twitter(client, tenant, fake_x)
    scheduled = await Post.create(workspace_id=tenant.id, integration_id=integration.id, text="later",
                                  status=PostStatus.SCHEDULED, scheduled_for=datetime.now(UTC) + timedelta(days=1))
    published = await Post.create(workspace_id=tenant.id, integration_id=integration.id, text="done",
                                  status=PostStatus.PUBLISHED)
    response = await client.delete(f"/api/integrations/{integration.id}", headers=tenant.headers)
    assert response.status_code == 200
    assert (await response.get_json())["cancelledPosts"] == 1
    row = await Integration.get(id=integration.id)
    assert row.credentials is None and row.status is IntegrationStatus.DISABLED
    assert (await Post.get(id=scheduled.id)).status is PostStatus.CANCELLED
    assert "disconnected" in (await Post.get(id=scheduled.id)).error_message
    assert (await Post.get(id=published.id)).status is PostStatus.PUBLISHED
    assert await Event.filter(type="integration.disconnected").count() == 1
    listing = await (await client.get("/api/integrations", headers=tenant.headers)).get_json()
    assert listing["integrations"] == []


async def test_unknown_or_unconfigured_platform(client, tenant: Tenant):
    response = await client.get("/api/auth/myspace", headers=tenant.headers)
    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "unknown_platform"


