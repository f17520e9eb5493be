"""A connection that cannot be refreshed warns before it expires, and asks for a reconnect at expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.expiry import check_expiry
from gateway.models import Event, Integration, IntegrationStatus
from tests.conftest import Tenant, connect_linkedin


async def test_linkedin_without_refresh_token_warns_then_needs_a_refresh(client, tenant: Tenant, fake_linkedin,
                                                                         runtime):
    fake_linkedin.grant_refresh_tokens = False
    fake_linkedin.access_token_ttl = 3 * 86400  # inside the 7-day warning window
    integration = await connect_linkedin(client, tenant, fake_linkedin)
    assert integration.refresh_expires_at is None

    report = await check_expiry(runtime)
    assert (report.warned, report.expired) == (1, 0)
    assert (await check_expiry(runtime)).warned == 0  # once
    warning = await Event.get(type="integration.expiring", integration_id=integration.id)
    assert "reconnect" in warning.payload["message"]

    later = integration.token_expires_at + timedelta(seconds=1)
    assert (await check_expiry(runtime, now=later)).expired == 1
    row = await Integration.get(id=integration.id)
    assert row.status is IntegrationStatus.REFRESH_NEEDED
    assert "reconnect" in row.status_reason
    assert await Event.filter(type="integration.refresh_needed", integration_id=integration.id).count() == 1
    assert (await check_expiry(runtime, now=later)).expired == 0

    # reconnecting makes it active again and re-arms the warning
    fake_linkedin.access_token_ttl = 60 * 86400
    again = await connect_linkedin(client, tenant, fake_linkedin)
    assert again.id == integration.id and again.status is IntegrationStatus.ACTIVE
    assert again.expiry_warned_at is None


async def test_a_valid_refresh_token_is_no_deadline(client, tenant: Tenant, fake_linkedin, runtime):
    fake_linkedin.access_token_ttl = 3600  # the access token expires soon, the refresh token does not
    integration = await connect_linkedin(client, tenant, fake_linkedin)
    assert integration.refresh_expires_at > datetime.now(UTC) + timedelta(days=30)
    report = await check_expiry(runtime, now=datetime.now(UTC) + timedelta(hours=2))
    assert (report.warned, report.expired) == (0, 0)
    assert (await Integration.get(id=integration.id)).status is IntegrationStatus.ACTIVE


async def test_the_scheduler_runs_the_expiry_check(client, tenant: Tenant, fake_linkedin, runtime):
    from scheduler.loop import Scheduler

    fake_linkedin.grant_refresh_tokens = False
    integration = await connect_linkedin(client, tenant, fake_linkedin)
    await Integration.filter(id=integration.id).update(token_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    await Scheduler(runtime).run_once()  # a fresh scheduler sweeps on its first pass
    assert (await Integration.get(id=integration.id)).status is IntegrationStatus.REFRESH_NEEDED
