"""No token or secret in a log line, an API response, an event, or the database in plaintext."""

from __future__ import annotations

import json
import logging

from gateway.models import Event
from tests.conftest import Tenant, connect_linkedin, connect_twitter
from tests.test_crypto import scan_database_for


async def test_connecting_leaks_no_secret(client, tenant: Tenant, fake_x, fake_linkedin, runtime, database_url,
                                          base_env, caplog):
    caplog.set_level(logging.DEBUG)
    responses: list[str] = []
    x = await connect_twitter(client, tenant, fake_x)
    li = await connect_linkedin(client, tenant, fake_linkedin)
    for path in ("/api/integrations", f"/api/integrations/{x.id}", f"/api/integrations/{li.id}", "/api/platforms"):
        responses.append(await (await client.get(path, headers=tenant.headers)).get_data(as_text=True))

    secrets = [
        *runtime.vault.open_credentials(x).tokens.values(),
        *runtime.vault.open_credentials(li).tokens.values(),
        base_env["GATEWAY_TWITTER_CONSUMER_SECRET"],
        base_env["GATEWAY_LINKEDIN_CLIENT_SECRET"],
        *(token.secret for token in fake_x.request_tokens.values()),  # request-token secrets
    ]
    assert len(secrets) >= 6 and all(len(s) >= 8 for s in secrets)
    logs = "\n".join(record.getMessage() for record in caplog.records)
    events = json.dumps([e.payload for e in await Event.all()])
    for secret in secrets:
        assert secret not in logs
        assert secret not in events
        assert all(secret not in body for body in responses)
        assert await scan_database_for(database_url, secret) == []
