"""The LinkedIn plugin against the fake LinkedIn, served for real on loopback.

Every hook is called through a real :class:`~gateway.plugins.PluginHost` with a
real ``httpx.AsyncClient``; the fake checks what LinkedIn checks, so a request
of the wrong shape fails here as it would in production.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import gateway_linkedin
import httpx
import pytest
from gateway_linkedin.fake import DEFAULT_SUB, FakeLinkedIn, create_fake_linkedin

from gateway.errors import (
    AuthExpired,
    AuthorizationFailed,
    OutcomeUnknown,
    PermanentError,
    RateLimited,
    TransientError,
)
from gateway.plugins import PluginHost, create_plugin_manager
from gateway.settings import Settings
from gateway.testing import free_port, serve_asgi
from gateway.types import Account, AuthResult, Credentials, Draft, PlatformContext, PublishRequest

PUBLIC_URL = "http://gateway.test"
CALLBACK = f"{PUBLIC_URL}/api/auth/linkedin/callback"
ME = f"urn:li:person:{DEFAULT_SUB}"


def make_host(base: str, **overrides: str) -> PluginHost:
    environ = {
        "GATEWAY_PUBLIC_URL": PUBLIC_URL,
        "GATEWAY_LINKEDIN_API_URL": base,
        "GATEWAY_LINKEDIN_AUTH_URL": base,
        "GATEWAY_LINKEDIN_CLIENT_ID": "sandbox-client-id",
        "GATEWAY_LINKEDIN_CLIENT_SECRET": "sandbox-client-secret",
    }
    environ.update({f"GATEWAY_LINKEDIN_{k.upper()}": v for k, v in overrides.items()})
    return PluginHost(create_plugin_manager(["linkedin"]), Settings.from_env(environ))


@dataclass
class Env:
    fake: FakeLinkedIn
    base: str
    host: PluginHost
    http: httpx.AsyncClient

    def ctx(self, http: httpx.AsyncClient | None = None) -> PlatformContext:
        return self.host.context("linkedin", http or self.http)

    async def call(self, hook: str, **kwargs: Any) -> Any:
        return await self.host.call(hook, self.ctx(), **kwargs)

    def with_settings(self, **overrides: str) -> Env:
        return Env(self.fake, self.base, make_host(self.base, **overrides), self.http)

    def token(self, *scopes: str) -> Credentials:
        issued = self.fake.issue_token(scopes=scopes or None)
        return Credentials(tokens={"access_token": issued})


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    fake = create_fake_linkedin()
    async with serve_asgi(fake.app) as base, httpx.AsyncClient(timeout=5) as http:
        try:
            yield Env(fake, base, make_host(base), http)
        finally:
            fake.faults.clear()


def request(
    text: str,
    *thread: str,
    progress: tuple[str, ...] = (),
    options: Mapping[str, Any] | None = None,
    started: datetime | None = None,
) -> PublishRequest:
    return PublishRequest(
        post_id="post-1",
        account=Account(external_id=DEFAULT_SUB, handle="Sandbox Member"),
        text=text,
        thread=thread,
        options=options or {},
        progress=progress,
        attempt_started_at=started,
    )


async def consent(
    http: httpx.AsyncClient, authorize_url: str, *, action: str = "allow", member: str | None = None
) -> dict[str, str]:
    """Play the member on the fake's consent page; return the callback's query."""
    page = await http.get(authorize_url)
    assert page.status_code == 200, page.text
    form_action = re.search(r"<form method='post' action='([^']+)'", page.text)
    request_id = re.search(r"name='request_id' value='([^']+)'", page.text)
    assert form_action and request_id
    form = {"request_id": request_id.group(1), "action": action}
    if member:
        form["member"] = member
    answer = await http.post(urljoin(authorize_url, form_action.group(1)), data=form)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def connect(env: Env, **kwargs: Any) -> AuthResult:
    start = await env.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url, **kwargs)
    assert params["state"] == start.state_key
    result: AuthResult = await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    return result


# -- description and dispatch ---------------------------------------------------


async def test_platform_info(env: Env) -> None:
    info = env.host.info("linkedin")
    assert (info.title, info.auth_kind, info.max_length) == ("LinkedIn", "oauth2", 3000)
    assert info.supports_threads and info.max_thread_parts == 10
    assert env.host.implements("gateway_reconcile", "linkedin")
    assert env.host.implements("gateway_delete_post", "linkedin")
    settings = {spec.name: spec for spec in info.settings}
    assert settings["client_secret"].secret and settings["client_id"].required
    assert settings["api_url"].default == "https://api.linkedin.com"
    assert settings["auth_url"].default == "https://www.linkedin.com"
    assert env.host.status("linkedin").configured


async def test_hooks_answer_only_for_linkedin(env: Env) -> None:
    other = PlatformContext("twitter", {}, env.http, CALLBACK, PUBLIC_URL)
    creds = Credentials(tokens={"access_token": "x"})
    assert gateway_linkedin.gateway_authorize_start(other) is None
    assert gateway_linkedin.gateway_authorize_finish(other, {}, {}) is None
    assert gateway_linkedin.gateway_refresh_credentials(other, creds) is None
    assert gateway_linkedin.gateway_publish(other, creds, request("hi")) is None
    assert gateway_linkedin.gateway_reconcile(other, creds, request("hi")) is None
    assert gateway_linkedin.gateway_delete_post(other, creds, ["urn:li:share:1"]) is None
    assert gateway_linkedin.gateway_validate(Draft(platform="twitter", text="")) == []
    with pytest.raises(NotImplementedError):
        await env.host.call("gateway_publish", other, credentials=creds, request=request("hi"))


# -- OAuth -----------------------------------------------------------------------


async def test_authorize_start_builds_linkedins_url(env: Env) -> None:
    start = await env.call("gateway_authorize_start")
    url = urlsplit(start.authorize_url)
    assert f"{url.scheme}://{url.netloc}" == env.base and url.path == "/oauth/v2/authorization"
    assert "scope=openid%20profile%20w_member_social" in url.query
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query["response_type"] == "code" and query["client_id"] == "sandbox-client-id"
    assert query["redirect_uri"] == CALLBACK
    assert query["state"] == start.state_key and len(start.state_key) >= 43
    assert "code_challenge" not in query
    assert start.secrets == {"redirect_uri": CALLBACK}
    again = await env.call("gateway_authorize_start")
    assert again.state_key != start.state_key


async def test_connect_gives_account_tokens_and_expiries(env: Env) -> None:
    before = datetime.now(UTC)
    result = await connect(env)
    after = datetime.now(UTC)
    assert result.account.external_id == DEFAULT_SUB
    assert result.account.handle == result.account.name == "Sandbox Member"
    creds = result.credentials
    assert creds.tokens["access_token"] in env.fake.tokens
    assert creds.tokens["refresh_token"] in env.fake.refresh_tokens
    assert creds.expires_at is not None and creds.refresh_expires_at is not None
    assert before + timedelta(seconds=5_184_000) <= creds.expires_at <= after + timedelta(seconds=5_184_000)
    year = timedelta(seconds=31_536_000)
    assert before + year <= creds.refresh_expires_at <= after + year
    assert env.fake.counters["POST /oauth/v2/accessToken"] == 1
    assert env.fake.counters["GET /v2/userinfo"] == 1


async def test_connect_as_another_member(env: Env) -> None:
    env.fake.add_member("Zq3xK9", "Ada Lovelace")
    result = await connect(env, member="Zq3xK9")
    assert result.account.external_id == "Zq3xK9" and result.account.handle == "Ada Lovelace"


async def test_connect_without_refresh_tokens(env: Env) -> None:
    env.fake.grant_refresh_tokens = False
    creds = (await connect(env)).credentials
    assert "refresh_token" not in creds.tokens and creds.refresh_expires_at is None


async def test_pkce_sends_challenge_and_verifier(env: Env) -> None:
    pkce = env.with_settings(pkce="true")
    start = await pkce.call("gateway_authorize_start")
    query = parse_qs(urlsplit(start.authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert len(start.secrets["code_verifier"]) >= 43
    params = await consent(env.http, start.authorize_url)
    result = await pkce.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert result.account.external_id == DEFAULT_SUB

    start = await pkce.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    wrong = {**start.secrets, "code_verifier": "x" * 64}
    with pytest.raises(AuthorizationFailed):
        await pkce.call("gateway_authorize_finish", params=params, secrets=wrong)
    assert env.fake.token_errors[-1] == "code_verifier_mismatch"


async def test_cancel_is_access_denied(env: Env) -> None:
    start = await env.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url, action="cancel")
    assert params["error"] == "user_cancelled_authorize" and params["state"] == start.state_key
    with pytest.raises(AuthorizationFailed) as caught:
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert caught.value.code == "access_denied"
    assert caught.value.message == "You cancelled the LinkedIn authorization."
    assert env.fake.counters["POST /oauth/v2/accessToken"] == 0


async def test_code_is_single_use(env: Env) -> None:
    start = await env.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    with pytest.raises(AuthorizationFailed) as caught:
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert "Unable to retrieve access token" in caught.value.message
    assert env.fake.token_errors == ["code_reused"]


async def test_expired_code(env: Env) -> None:
    env.fake.code_ttl = 0
    start = await env.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    with pytest.raises(AuthorizationFailed):
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert env.fake.token_errors == ["code_expired"]


async def test_redirect_uri_must_match_the_authorization(env: Env) -> None:
    start = await env.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    tampered = {**start.secrets, "redirect_uri": "http://elsewhere.test/callback"}
    with pytest.raises(AuthorizationFailed):
        await env.call("gateway_authorize_finish", params=params, secrets=tampered)
    assert env.fake.token_errors == ["redirect_uri_mismatch"]


async def test_wrong_client_secret(env: Env) -> None:
    wrong = env.with_settings(client_secret="not-the-secret")
    start = await wrong.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    with pytest.raises(AuthorizationFailed) as caught:
        await wrong.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert "Client authentication failed" in caught.value.message
    assert "GATEWAY_LINKEDIN_CLIENT_SECRET" in caught.value.message
    assert env.fake.token_errors == ["invalid_client"]


async def test_authorization_page_checks_the_request(env: Env) -> None:
    start = await env.call("gateway_authorize_start")
    url = start.authorize_url
    assert (await env.http.get(url.replace("sandbox-client-id", "nope"))).status_code == 400
    assert (await env.http.get(re.sub(r"&state=[^&]+", "", url))).status_code == 400
    env.fake.redirect_uris = {"http://registered.test/callback"}
    assert (await env.http.get(url)).status_code == 400
    env.fake.redirect_uris = {CALLBACK}
    assert (await env.http.get(url)).status_code == 200


async def test_unauthorized_scope_comes_back_as_failure(env: Env) -> None:
    greedy = env.with_settings(scope="openid profile w_member_social r_compliance")
    start = await greedy.call("gateway_authorize_start")
    answer = await env.http.get(start.authorize_url)
    assert answer.status_code == 302
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    assert params["error"] == "unauthorized_scope_error"
    with pytest.raises(AuthorizationFailed) as caught:
        await greedy.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert caught.value.code != "access_denied" and "r_compliance" in caught.value.message


async def test_userinfo_needs_the_openid_product(env: Env) -> None:
    bare = env.with_settings(scope="w_member_social")
    start = await bare.call("gateway_authorize_start")
    params = await consent(env.http, start.authorize_url)
    with pytest.raises(AuthorizationFailed) as caught:
        await bare.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert "OpenID Connect" in caught.value.message


# -- refresh -----------------------------------------------------------------------


async def test_refresh_mints_a_new_access_token(env: Env) -> None:
    creds = (await connect(env)).credentials
    env.fake.expire_token(creds.tokens["access_token"])
    fresh = await env.call("gateway_refresh_credentials", credentials=creds)
    assert fresh.tokens["access_token"] != creds.tokens["access_token"]
    assert fresh.tokens["refresh_token"] == creds.tokens["refresh_token"]
    assert fresh.expires_at is not None and fresh.refresh_expires_at is not None
    assert creds.refresh_expires_at is not None and fresh.refresh_expires_at <= creds.refresh_expires_at
    result = await env.call("gateway_publish", credentials=fresh, request=request("After a refresh"))
    assert env.fake.posts[result.external_id].text == "After a refresh"


async def test_refresh_leaves_out_a_refresh_token_the_answer_lacks(env: Env) -> None:
    creds = (await connect(env)).credentials
    env.fake.refresh_includes_refresh_token = False
    fresh = await env.call("gateway_refresh_credentials", credentials=creds)
    assert "refresh_token" not in fresh.tokens and fresh.refresh_expires_at is None
    assert fresh.tokens["access_token"] in env.fake.tokens


@pytest.mark.parametrize("how", ["revoke", "expire"])
async def test_refresh_failing_is_auth_expired(env: Env, how: str) -> None:
    creds = (await connect(env)).credentials
    if how == "revoke":
        env.fake.revoke_refresh_token(creds.tokens["refresh_token"])
    else:
        env.fake.expire_refresh_token(creds.tokens["refresh_token"])
    with pytest.raises(AuthExpired) as caught:
        await env.call("gateway_refresh_credentials", credentials=creds)
    assert "reconnect" in caught.value.message


async def test_refresh_without_refresh_token(env: Env) -> None:
    with pytest.raises(AuthExpired) as caught:
        await env.call("gateway_refresh_credentials", credentials=env.token())
    assert caught.value.message == "This LinkedIn connection has no refresh token; reconnect the account."
    assert env.fake.counters["POST /oauth/v2/accessToken"] == 0


async def test_refresh_with_wrong_app_secret_is_a_config_error(env: Env) -> None:
    creds = (await connect(env)).credentials
    wrong = env.with_settings(client_secret="rotated-away")
    with pytest.raises(PermanentError) as caught:
        await wrong.call("gateway_refresh_credentials", credentials=creds)
    assert not isinstance(caught.value, AuthExpired) and caught.value.code == "config_error"
    assert "GATEWAY_LINKEDIN_CLIENT_SECRET" in caught.value.message


async def test_refresh_when_linkedin_is_down_is_transient(env: Env) -> None:
    creds = (await connect(env)).credentials
    env.fake.faults.inject("POST /oauth/v2/accessToken", "status", status=502)
    with pytest.raises(TransientError):
        await env.call("gateway_refresh_credentials", credentials=creds)


# -- validation ----------------------------------------------------------------------


def codes(draft: Draft, env: Env) -> list[tuple[str, str]]:
    return [(p.field, p.code) for p in env.host.validate(draft)]


async def test_validation_limits(env: Env) -> None:
    assert codes(Draft("linkedin", "x" * 3000), env) == []
    assert codes(Draft("linkedin", "é" * 3000), env) == []
    assert codes(Draft("linkedin", "x" * 3001), env) == [("text", "too_long")]
    assert codes(Draft("linkedin", ""), env) == [("text", "empty")]
    assert codes(Draft("linkedin", "  \n"), env) == [("text", "empty")]
    assert codes(Draft("linkedin", "head", ("c" * 1250,)), env) == []
    assert codes(Draft("linkedin", "head", ("ok", "c" * 1251)), env) == [("thread[1]", "too_long")]
    assert codes(Draft("linkedin", "head", ("ok", "")), env) == [("thread[1]", "empty")]
    assert codes(Draft("linkedin", "head", ("c",) * 9), env) == []
    assert codes(Draft("linkedin", "head", ("c",) * 10), env) == [("thread", "too_many_parts")]
    assert codes(Draft("linkedin", "head", options={"visibility": "connections"}), env) == []
    assert codes(Draft("linkedin", "head", options={"visibility": "FRIENDS"}), env) == [
        ("options.visibility", "invalid_option")
    ]


# -- publish -------------------------------------------------------------------------


async def test_publish_one_share(env: Env) -> None:
    text = "Hello LinkedIn (sandbox) — with ünïcode & #hashtags"
    result = await env.call("gateway_publish", credentials=env.token(), request=request(text))
    assert result.external_id.startswith("urn:li:share:")
    assert result.url == f"{env.base}/feed/update/{result.external_id}/"
    assert result.part_ids == (result.external_id,)
    share = env.fake.posts[result.external_id]
    assert (share.author, share.text, share.visibility) == (ME, text, "PUBLIC")
    assert env.fake.counters["POST /v2/ugcPosts"] == 1
    assert (await env.http.get(result.url)).status_code == 200


async def test_publish_to_connections(env: Env) -> None:
    req = request("Only for my network", options={"visibility": "CONNECTIONS"})
    result = await env.call("gateway_publish", credentials=env.token(), request=req)
    assert env.fake.posts[result.external_id].visibility == "CONNECTIONS"


async def test_thread_parts_become_comments_by_the_author(env: Env) -> None:
    req = request("1/3 the share", "2/3 first comment", "3/3 second comment")
    result = await env.call("gateway_publish", credentials=env.token(), request=req)
    comments = env.fake.comments_on(result.external_id)
    assert [c.text for c in comments] == ["2/3 first comment", "3/3 second comment"]
    assert all(c.actor == ME for c in comments)
    assert result.part_ids == (result.external_id, *(c.urn for c in comments))
    assert len(env.fake.posts) == 1


async def test_failure_mid_thread_carries_progress_and_retry_continues(env: Env) -> None:
    creds = env.token()
    comments = "POST /v2/socialActions/{urn}/comments"
    env.fake.faults.inject(comments, "latency", seconds=0)  # the first comment goes through
    env.fake.faults.inject(comments, "rate_limit", reset_in=30)
    with pytest.raises(RateLimited) as caught:
        await env.call("gateway_publish", credentials=creds, request=request("head", "one", "two", "three"))
    (share,) = env.fake.posts
    first = env.fake.comments_on(share)[0].urn
    assert caught.value.progress == [share, first]

    env.fake.faults.inject(comments, "status", status=503)
    retry = request("head", "one", "two", "three", progress=(share, first))
    with pytest.raises(TransientError) as again:
        await env.call("gateway_publish", credentials=creds, request=retry)
    assert again.value.progress == [share, first]

    done = await env.call("gateway_publish", credentials=creds, request=retry)
    assert [c.text for c in env.fake.comments_on(share)] == ["one", "two", "three"]
    assert done.external_id == share and done.part_ids[:2] == (share, first) and len(done.part_ids) == 4
    assert env.fake.counters["POST /v2/ugcPosts"] == 1 and len(env.fake.posts) == 1


async def test_duplicate_is_permanent(env: Env) -> None:
    creds = env.token()
    first = await env.call("gateway_publish", credentials=creds, request=request("Same words"))
    with pytest.raises(PermanentError) as caught:
        await env.call("gateway_publish", credentials=creds, request=request("Same words"))
    assert caught.value.code == "duplicate"
    assert f"Content is a duplicate of {first.external_id}" in caught.value.message
    assert caught.value.details == {"duplicate_of": first.external_id}
    assert caught.value.status_code == 422 and len(env.fake.posts) == 1


async def test_expired_access_token_is_auth_expired(env: Env) -> None:
    creds = env.token()
    env.fake.expire_token(creds.tokens["access_token"])
    with pytest.raises(AuthExpired) as caught:
        await env.call("gateway_publish", credentials=creds, request=request("hi"))
    assert caught.value.platform_code == "65601" and not env.fake.posts
    with pytest.raises(AuthExpired) as unknown:
        await env.call(
            "gateway_publish", credentials=Credentials(tokens={"access_token": "nope"}), request=request("hi")
        )
    assert unknown.value.platform_code == "65600"


async def test_rate_limited(env: Env) -> None:
    creds = env.token()
    env.fake.faults.inject("POST /v2/ugcPosts", "rate_limit", reset_in=120)
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as told:
        await env.call("gateway_publish", credentials=creds, request=request("hi"))
    assert told.value.retry_at is not None and told.value.retry_at >= before + timedelta(seconds=120)
    assert told.value.retry_at <= datetime.now(UTC) + timedelta(seconds=121)

    env.fake.post_limit = 0  # the member's daily quota, sent without Retry-After
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as quota:
        await env.call("gateway_publish", credentials=creds, request=request("hi"))
    assert quota.value.retry_at is not None and quota.value.retry_at >= before + timedelta(seconds=60)
    assert "MEMBER DAY" in quota.value.message and not env.fake.posts


async def test_server_error_is_transient(env: Env) -> None:
    env.fake.faults.inject("POST /v2/ugcPosts", "status", status=503)
    with pytest.raises(TransientError) as caught:
        await env.call("gateway_publish", credentials=env.token(), request=request("hi"))
    assert caught.value.status_code == 503 and not env.fake.posts


async def test_refused_connection_is_transient(env: Env) -> None:
    nowhere = env.with_settings(api_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TransientError) as caught:
        await nowhere.call("gateway_publish", credentials=env.token(), request=request("hi"))
    assert not isinstance(caught.value, OutcomeUnknown)


async def test_other_refusals_are_permanent(env: Env) -> None:
    env.fake.faults.inject("POST /v2/ugcPosts", "status", status=400, message="Bad thing")
    with pytest.raises(PermanentError) as caught:
        await env.call("gateway_publish", credentials=env.token(), request=request("hi"))
    assert "Bad thing" in caught.value.message and caught.value.code == "permanent_error"
    with pytest.raises(PermanentError) as scope:
        await env.call("gateway_publish", credentials=env.token("openid", "profile"), request=request("hi"))
    assert scope.value.platform_code == "100" and scope.value.status_code == 403


# -- outcome unknown and reconcile --------------------------------------------------------


async def test_dropped_answer_is_unknown_then_reconcile_finds_the_share(env: Env) -> None:
    creds = env.token()
    started = datetime.now(UTC)
    env.fake.faults.inject("POST /v2/ugcPosts", "drop_after_store")
    with pytest.raises(OutcomeUnknown):
        await env.call("gateway_publish", credentials=creds, request=request("Did it go out?"))
    (urn,) = env.fake.posts
    found = await env.call("gateway_reconcile", credentials=creds, request=request("Did it go out?", started=started))
    assert found.found is True and found.result.external_id == urn
    assert found.result.url == f"{env.base}/feed/update/{urn}/" and found.progress == (urn,)
    assert env.fake.counters["GET /v2/ugcPosts"] == 1


async def test_hanging_answer_is_unknown(env: Env) -> None:
    creds = env.token()
    env.fake.faults.inject("POST /v2/ugcPosts", "hang_after_store")
    async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.3)) as impatient:
        with pytest.raises(OutcomeUnknown):
            await env.host.call("gateway_publish", env.ctx(impatient), credentials=creds, request=request("Slow one"))
    env.fake.faults.release()
    found = await env.call(
        "gateway_reconcile",
        credentials=creds,
        request=request("Slow one", started=datetime.now(UTC) - timedelta(minutes=1)),
    )
    assert found.found is True


async def test_drop_before_storing_reconciles_to_not_found(env: Env) -> None:
    creds = env.token()
    env.fake.faults.inject("POST /v2/ugcPosts", "drop_before")
    with pytest.raises(OutcomeUnknown):
        await env.call("gateway_publish", credentials=creds, request=request("Lost"))
    found = await env.call("gateway_reconcile", credentials=creds, request=request("Lost", started=datetime.now(UTC)))
    assert found.found is False and found.result is None and not env.fake.posts


async def test_reconcile_nothing_and_older_shares(env: Env) -> None:
    creds = env.token()
    await env.call("gateway_publish", credentials=creds, request=request("Old news"))
    nothing = await env.call(
        "gateway_reconcile", credentials=creds, request=request("Never sent", started=datetime.now(UTC))
    )
    assert nothing.found is False
    later = await env.call(
        "gateway_reconcile",
        credentials=creds,
        request=request("Old news", started=datetime.now(UTC) + timedelta(hours=1)),
    )
    assert later.found is False


async def test_reconcile_without_read_permission_cannot_tell(env: Env) -> None:
    creds = env.token("openid", "profile", "w_member_social")
    found = await env.call(
        "gateway_reconcile", credentials=creds, request=request("Anything", started=datetime.now(UTC))
    )
    assert found.found is None and found.result is None


async def test_reconcile_with_expired_token_asks_for_refresh(env: Env) -> None:
    creds = env.token()
    env.fake.expire_token(creds.tokens["access_token"])
    with pytest.raises(AuthExpired):
        await env.call("gateway_reconcile", credentials=creds, request=request("x", started=datetime.now(UTC)))


async def test_reconcile_a_partial_thread_then_finish_it(env: Env) -> None:
    creds = env.token()
    started = datetime.now(UTC)
    req = request("head", "one", "two", "three", started=started)
    env.fake.faults.inject("POST /v2/socialActions/{urn}/comments", "drop_after_store")
    # the first comment's answer is lost after it was stored
    with pytest.raises(OutcomeUnknown) as caught:
        await env.call("gateway_publish", credentials=creds, request=req)
    (share,) = env.fake.posts
    assert caught.value.progress == [share]
    partial = await env.call("gateway_reconcile", credentials=creds, request=req)
    first_comment = env.fake.comments_on(share)[0].urn
    assert partial.found is False and partial.progress == (share, first_comment)
    done = await env.call(
        "gateway_publish", credentials=creds, request=request("head", "one", "two", "three", progress=partial.progress)
    )
    assert [c.text for c in env.fake.comments_on(share)] == ["one", "two", "three"]
    whole = await env.call("gateway_reconcile", credentials=creds, request=req)
    assert whole.found is True and whole.result.part_ids == done.part_ids


# -- delete --------------------------------------------------------------------------


async def test_delete_removes_the_share_and_its_comments(env: Env) -> None:
    creds = env.token()
    result = await env.call("gateway_publish", credentials=creds, request=request("Bye", "comment"))
    await env.call("gateway_delete_post", credentials=creds, external_ids=list(result.part_ids))
    assert not env.fake.posts and not env.fake.comments and env.fake.deleted == [result.external_id]
    # already gone counts as deleted
    await env.call("gateway_delete_post", credentials=creds, external_ids=list(result.part_ids))
    assert env.fake.counters["DELETE /v2/ugcPosts/{urn}"] == 2


# -- the fake itself refuses what LinkedIn refuses ---------------------------------------------


async def test_fake_rejects_malformed_share_requests(env: Env) -> None:
    token = env.fake.issue_token()
    url = f"{env.base}/v2/ugcPosts"
    auth = {"Authorization": f"Bearer {token}"}
    restli = {**auth, "X-Restli-Protocol-Version": "2.0.0"}
    body = gateway_linkedin.posts.share_body(ME, "text", {})

    assert (await env.http.post(url, json=body)).status_code == 401
    assert (await env.http.post(url, json=body, headers=auth)).status_code == 400
    assert (await env.http.post(url, headers={**restli, "Content-Type": "application/json"})).status_code == 400
    extra = await env.http.post(url, json={**body, "content": {}}, headers=restli)
    assert extra.status_code == 422 and "/content" in extra.json()["message"]
    nested = {**body, "specificContent": {"com.linkedin.ugc.ShareContent": {"shareCommentary": {"text": "x"}}}}
    missing = await env.http.post(url, json=nested, headers=restli)
    assert missing.status_code == 422 and "shareMediaCategory" in missing.json()["message"]
    other = await env.http.post(url, json={**body, "author": "urn:li:person:someoneElse"}, headers=restli)
    assert other.status_code == 403
    long = gateway_linkedin.posts.share_body(ME, "x" * 3001, {})
    too_long = await env.http.post(url, json=long, headers=restli)
    assert too_long.status_code == 422 and "3001" in too_long.json()["message"]
    assert not env.fake.posts
    assert (await env.http.post(url, json=body, headers=restli)).status_code == 201

    raw_list = f"{url}?q=authors&authors=List({ME})"
    assert (await env.http.get(raw_list, headers=restli)).status_code == 400
    encoded = f"{url}?q=authors&authors=List({quote(ME, safe='')})"
    assert (await env.http.get(encoded, headers=restli)).status_code == 200


# -- the sandbox --------------------------------------------------------------------------


async def test_sandbox_serves_a_working_linkedin(env: Env) -> None:
    (box,) = env.host.sandboxes()
    assert box.platform == "linkedin"
    async with serve_asgi(box.create_app()) as base:
        environ = {"GATEWAY_PUBLIC_URL": PUBLIC_URL, **box.settings_for(base)}
        host = PluginHost(create_plugin_manager(["linkedin"]), Settings.from_env(environ))
        sandbox = Env(env.fake, base, host, env.http)
        result = await connect(sandbox)
        started = datetime.now(UTC)
        published = await sandbox.call(
            "gateway_publish", credentials=result.credentials, request=request("From the sandbox", "and a comment")
        )
        found = await sandbox.call(
            "gateway_reconcile",
            credentials=result.credentials,
            request=request("From the sandbox", "and a comment", started=started),
        )
        assert found.found is True and found.result == published
