"""The X (Twitter) plugin against its fake, served for real on loopback.

Every test talks HTTP: the plugin's own signing and httpx client on one side,
the fake X (which recomputes every OAuth 1.0a signature) on the other, hooks
called through a real ``PluginHost``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import gateway_twitter
import httpx
import pytest
from authlib.oauth1 import ClientAuth
from gateway_twitter.client import XClient
from gateway_twitter.fake import FakeUser, FakeX, create_fake_x
from gateway_twitter.oauth1 import Signer, base_string, query_params
from gateway_twitter.text import weighted_length

from gateway import hookimpl
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
from gateway.types import (
    Account,
    AuthStart,
    Credentials,
    Draft,
    PlatformContext,
    PlatformInfo,
    PublishRequest,
    PublishResult,
)

# -- harness -------------------------------------------------------------------------------


@dataclass
class Env:
    fake: FakeX
    base: str
    host: PluginHost
    http: httpx.AsyncClient

    def ctx(self, platform: str = "twitter") -> PlatformContext:
        return self.host.context(platform, self.http)

    async def call(self, hook: str, **kwargs: Any) -> Any:
        return await self.host.call(hook, self.ctx(), **kwargs)

    def credentials(self, user: FakeUser | None = None) -> Credentials:
        token = self.fake.issue_access_token(user)
        return Credentials(tokens={"oauth_token": token.token, "oauth_token_secret": token.secret})

    def request(
        self,
        text: str,
        thread: tuple[str, ...] = (),
        *,
        progress: tuple[str, ...] = (),
        started: datetime | None = None,
        user: FakeUser | None = None,
    ) -> PublishRequest:
        user = user or self.fake.default_user
        account = Account(external_id=user.id, handle=user.username, name=user.name)
        return PublishRequest(
            post_id="post-1",
            account=account,
            text=text,
            thread=thread,
            progress=progress,
            attempt_started_at=started,
        )

    async def publish(self, text: str, thread: tuple[str, ...] = (), **kwargs: Any) -> PublishResult:
        request = self.request(text, thread, **kwargs)
        result: PublishResult = await self.call("gateway_publish", credentials=self.credentials(), request=request)
        return result

    async def reconcile(self, request: PublishRequest) -> Any:
        return await self.call("gateway_reconcile", credentials=self.credentials(), request=request)


def make_host(environ: dict[str, str], extra: tuple[Any, ...] = ()) -> PluginHost:
    return PluginHost(create_plugin_manager(["twitter"], extra=extra), Settings.from_env(environ))


@asynccontextmanager
async def running(fake: FakeX | None = None, **settings: str) -> AsyncIterator[Env]:
    """The fake X on loopback, and a host configured the way ``gateway sandbox`` does it."""
    fake = fake or create_fake_x()
    (box,) = [b for b in make_host({}).sandboxes() if b.platform == "twitter"]
    async with serve_asgi(fake.app) as base, httpx.AsyncClient() as http:
        environ = {**box.settings_for(base), "GATEWAY_TWITTER_TIMEOUT": "5"}
        environ.update({f"GATEWAY_TWITTER_{k.upper()}": v for k, v in settings.items()})
        try:
            yield Env(fake, base, make_host(environ), http)
        finally:
            fake.faults.clear()  # let held requests answer so the server can stop


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    async with running() as value:
        yield value


async def authorize(env: Env, *, user: str | None = None, action: str = "authorize") -> tuple[AuthStart, dict]:
    """Start, open the authorize page and press a button as a person would; the callback's params."""
    start: AuthStart = await env.call("gateway_authorize_start")
    page = await env.http.get(start.authorize_url + (f"&user={user}" if user else ""))
    assert page.status_code == 200
    assert "Authorize app" in page.text and "Cancel" in page.text
    assert "action='/oauth/authorize'" in page.text
    form = {"oauth_token": start.state_key, "action": action, "user": user or ""}
    answer = await env.http.post(f"{env.base}/oauth/authorize", data=form)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(env.ctx().callback_url + "?")
    return start, dict(parse_qsl(urlsplit(location).query))


# -- signing -------------------------------------------------------------------------------

X_DOCS_BASE_STRING = (
    "POST&https%3A%2F%2Fapi.twitter.com%2F1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue"
    "%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"
    "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958"
    "%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0"
    "%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
)


def test_signature_matches_x_docs_vector() -> None:
    """X's "Creating a signature" example: same base string, same signature."""
    signer = Signer(
        "xvz1evFS4wEEPTGEFPHBog",
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    url = "https://api.twitter.com/1/statuses/update.json?include_entities=true"
    form = [("status", "Hello Ladies + Gentlemen, a signed OAuth request!")]
    fixed = {"nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", "timestamp": "1318622958"}
    oauth = signer.oauth_params(**fixed)
    assert base_string("POST", url, [*query_params(url), *form, *oauth]) == X_DOCS_BASE_STRING
    header = signer.sign("POST", url, form=form, **fixed)
    assert 'oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D"' in header
    assert header.startswith("OAuth ")


def test_signature_matches_oauth_core_example() -> None:
    """OAuth Core 1.0 appendix A.5 (photos.example.net), a GET with a query string."""
    signer = Signer("dpf43f3p2l4k3l03", "kd94hf93k423kf44", "nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")
    header = signer.sign(
        "GET",
        "http://photos.example.net/photos?file=vacation.jpg&size=original",
        nonce="kllo9940pd9333jh",
        timestamp="1191242096",
    )
    assert 'oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D"' in header


# -- describing the platform ------------------------------------------------------------------


async def test_platform_info_and_defaults(env: Env) -> None:
    info = env.host.info("twitter")
    assert (info.title, info.auth_kind, info.max_length) == ("X (Twitter)", "oauth1", 280)
    assert info.supports_threads and info.max_thread_parts == 25
    assert env.host.implements("gateway_reconcile", "twitter") and env.host.implements("gateway_delete_post", "twitter")
    secrets = {s.name for s in info.settings if s.secret}
    assert secrets == {"consumer_key", "consumer_secret"}
    assert env.host.status("twitter").configured
    bare = make_host({})
    assert bare.status("twitter").missing == ("GATEWAY_TWITTER_CONSUMER_KEY", "GATEWAY_TWITTER_CONSUMER_SECRET")
    assert bare.plugin_settings("twitter")["api_url"] == "https://api.x.com"
    assert bare.plugin_settings("twitter")["auth_url"] == "https://api.x.com"


# -- connecting an account -------------------------------------------------------------------


async def test_authorize_connects_the_default_account(env: Env) -> None:
    start, params = await authorize(env)
    assert start.authorize_url == f"{env.base}/oauth/authorize?oauth_token={start.state_key}"
    assert set(start.secrets) == {"oauth_token_secret"}
    result = await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert result.account == Account(
        external_id="2244994945", handle="sandbox_user", name="Sandbox User", url="https://x.com/sandbox_user"
    )
    assert result.credentials.expires_at is None
    # the credentials are a working access token
    published = await env.call(
        "gateway_publish", credentials=result.credentials, request=env.request("first post from the gateway")
    )
    assert env.fake.tweet(published.external_id).author_id == "2244994945"
    assert not env.fake.auth_failures


async def test_authorize_as_another_account(env: Env) -> None:
    env.fake.add_user("second", name="Second Account", user_id="42")
    start, params = await authorize(env, user="second")
    result = await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    account = result.account
    assert (account.external_id, account.handle, account.name) == ("42", "second", "Second Account")


async def test_authorize_denied(env: Env) -> None:
    start, params = await authorize(env, action="cancel")
    assert params == {"denied": start.state_key}
    with pytest.raises(AuthorizationFailed) as caught:
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert caught.value.code == "access_denied"
    assert caught.value.message == "You declined to connect your X account."


async def test_replayed_verifier_is_refused(env: Env) -> None:
    start, params = await authorize(env)
    await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    with pytest.raises(AuthorizationFailed) as caught:
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert caught.value.code == "token_rejected"
    assert "Invalid or expired token" in caught.value.message
    assert env.fake.requests["POST /oauth/access_token"] == 2


async def test_wrong_verifier_uses_up_the_request_token(env: Env) -> None:
    start, params = await authorize(env)
    with pytest.raises(AuthorizationFailed):
        await env.call("gateway_authorize_finish", params={**params, "oauth_verifier": "guess"}, secrets=start.secrets)
    with pytest.raises(AuthorizationFailed):
        await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert env.fake.auth_failures["bad_verifier"] == 1


async def test_authorize_page_refuses_a_used_request_token(env: Env) -> None:
    start, _ = await authorize(env)
    again = await env.http.get(start.authorize_url)
    assert again.status_code == 400


async def test_wrong_consumer_secret_fails_to_start() -> None:
    async with running(consumer_secret="not-the-secret") as env:
        with pytest.raises(AuthorizationFailed) as caught:
            await env.call("gateway_authorize_start")
    assert caught.value.code == "app_rejected"
    assert env.fake.auth_failures == {"bad_signature": 1}


async def test_identity_falls_back_when_users_me_is_unavailable(env: Env) -> None:
    start, params = await authorize(env)
    env.fake.faults.inject("GET /2/users/me", "status", status=503)
    result = await env.call("gateway_authorize_finish", params=params, secrets=start.secrets)
    assert (result.account.external_id, result.account.handle) == ("2244994945", "sandbox_user")


async def test_refresh_is_impossible(env: Env) -> None:
    with pytest.raises(AuthExpired) as caught:
        await env.call("gateway_refresh_credentials", credentials=env.credentials())
    assert caught.value.message == "X access tokens cannot be refreshed; reconnect the account"


# -- the fake checks what X checks -----------------------------------------------------------


def signed_me(env: Env, signer: Signer, *, url: str | None = None, **kwargs: str) -> tuple[str, str]:
    url = url or f"{env.base}/2/users/me"
    return url, signer.sign("GET", url, **kwargs)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("tampered_signature", "bad_signature"),
        ("wrong_consumer_secret", "bad_signature"),
        ("wrong_token_secret", "bad_signature"),
        ("query_changed_after_signing", "bad_signature"),
        ("wrong_consumer_key", "unknown_consumer"),
        ("unknown_token", "unknown_token"),
        ("old_timestamp", "timestamp"),
        ("no_authorization", "missing_auth"),
    ],
)
async def test_fake_refuses_bad_oauth(env: Env, case: str, reason: str) -> None:
    token = env.fake.issue_access_token()
    good = Signer(env.fake.consumer_key, env.fake.consumer_secret, token.token, token.secret)
    url = f"{env.base}/2/users/me"
    signer = {
        "wrong_consumer_secret": Signer(good.consumer_key, "nope", token.token, token.secret),
        "wrong_token_secret": Signer(good.consumer_key, good.consumer_secret, token.token, "nope"),
        "wrong_consumer_key": Signer("someone-else", good.consumer_secret, token.token, token.secret),
        "unknown_token": Signer(good.consumer_key, good.consumer_secret, "2244994945-nope", token.secret),
    }.get(case, good)
    stamp = {"timestamp": str(int(datetime.now(UTC).timestamp()) - 3600)} if case == "old_timestamp" else {}
    header = signer.sign("GET", url + ("?a=1" if case == "query_changed_after_signing" else ""), **stamp)
    if case == "tampered_signature":
        header = header.replace('oauth_signature="', 'oauth_signature="x')
    headers = {} if case == "no_authorization" else {"Authorization": header}
    sent = url + ("?a=2" if case == "query_changed_after_signing" else "")
    answer = await env.http.get(sent, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["title"] == "Unauthorized"
    assert env.fake.auth_failures == {reason: 1}
    # the same request, signed properly, goes through
    ok = await env.http.get(url, headers={"Authorization": good.sign("GET", url)})
    assert ok.status_code == 200


async def test_fake_refuses_a_replayed_nonce(env: Env) -> None:
    token = env.fake.issue_access_token()
    url = f"{env.base}/2/users/me"
    header = Signer(env.fake.consumer_key, env.fake.consumer_secret, token.token, token.secret).sign("GET", url)
    assert (await env.http.get(url, headers={"Authorization": header})).status_code == 200
    assert (await env.http.get(url, headers={"Authorization": header})).status_code == 401
    assert env.fake.auth_failures == {"nonce_replay": 1}


async def test_fake_requires_the_json_body_to_arrive(env: Env) -> None:
    """The Authlib pitfall: without force_include_body a JSON POST goes out empty, and X says 400."""
    token = env.fake.issue_access_token()
    url = f"{env.base}/2/tweets"
    payload = json.dumps({"text": "is the body there?"}).encode()
    plain = ClientAuth(env.fake.consumer_key, env.fake.consumer_secret, token=token.token, token_secret=token.secret)
    uri, headers, body = plain.prepare("POST", url, {"Content-Type": "application/json"}, payload)
    assert body == b""  # what Authlib's clients do by default
    answer = await env.http.post(uri, headers=headers, content=body)
    assert answer.status_code == 400
    assert answer.json()["title"] == "Invalid Request"
    assert env.fake.tweets == [] and not env.fake.auth_failures  # signed fine, refused for the body

    forced = ClientAuth(
        env.fake.consumer_key,
        env.fake.consumer_secret,
        token=token.token,
        token_secret=token.secret,
        force_include_body=True,
    )
    uri, headers, body = forced.prepare("POST", url, {"Content-Type": "application/json"}, payload)
    assert (await env.http.post(uri, headers=headers, content=body)).status_code == 201

    # and the plugin's own client sends it
    result = await env.publish("the plugin sends the body")
    assert env.fake.tweet(result.external_id).text == "the plugin sends the body"


async def test_fake_refuses_a_form_body_for_tweets(env: Env) -> None:
    token = env.fake.issue_access_token()
    client = XClient(env.ctx(), token=token.token, token_secret=token.secret)
    answer = await client.send("POST", "/2/tweets", form=[("text", "as a form")])
    assert answer.status_code == 400
    assert "content-type of application/json" in answer.text


# -- publishing ------------------------------------------------------------------------------


async def test_publish_single(env: Env) -> None:
    result = await env.publish("Hello from the gateway & friends <3")
    (tweet,) = env.fake.tweets
    assert tweet.text == "Hello from the gateway & friends <3"
    assert tweet.in_reply_to is None
    assert result == PublishResult(
        external_id=tweet.id, url=f"https://x.com/sandbox_user/status/{tweet.id}", part_ids=(tweet.id,)
    )


async def test_publish_thread_replies_in_a_chain(env: Env) -> None:
    result = await env.publish("1/3 head", ("2/3 middle", "3/3 end"))
    head, middle, end = env.fake.tweets
    assert [t.text for t in env.fake.tweets] == ["1/3 head", "2/3 middle", "3/3 end"]
    assert (head.in_reply_to, middle.in_reply_to, end.in_reply_to) == (None, head.id, middle.id)
    assert result.part_ids == (head.id, middle.id, end.id)
    assert result.external_id == head.id


async def test_publish_continues_after_progress(env: Env) -> None:
    head = env.fake.store_tweet(env.fake.default_user, "head already out")
    result = await env.publish("head already out", ("second", "third"), progress=(head.id,))
    assert [t.text for t in env.fake.tweets] == ["head already out", "second", "third"]
    assert env.fake.tweets[1].in_reply_to == head.id
    assert env.fake.tweets[2].in_reply_to == env.fake.tweets[1].id
    assert result.part_ids == tuple(t.id for t in env.fake.tweets)
    assert env.fake.requests["POST /2/tweets"] == 2


async def test_publish_with_everything_in_progress_sends_nothing(env: Env) -> None:
    result = await env.publish("done", ("done too",), progress=("1", "2"))
    assert result.part_ids == ("1", "2")
    assert env.fake.requests["POST /2/tweets"] == 0


async def test_too_long_is_a_validation_problem_and_a_permanent_error(env: Env) -> None:
    text = "x" * 281
    (problem,) = env.host.validate(Draft(platform="twitter", text=text))
    assert (problem.field, problem.code) == ("text", "too_long")
    assert "weighted length 281 of 280" in problem.message
    with pytest.raises(PermanentError) as caught:
        await env.publish(text)
    assert caught.value.status_code == 403
    assert caught.value.message.startswith("Your Tweet text is too long.")
    assert env.fake.tweets == []


async def test_duplicate_is_permanent(env: Env) -> None:
    await env.publish("say it once")
    with pytest.raises(PermanentError) as caught:
        await env.publish("say it once")
    assert caught.value.code == "duplicate"
    assert caught.value.message == "You are not allowed to create a Tweet with duplicate content."
    assert caught.value.progress == []


async def test_reply_to_a_missing_post_is_permanent(env: Env) -> None:
    with pytest.raises(PermanentError) as caught:
        await env.publish("head", ("reply",), progress=("1000",))
    assert "deleted or not visible" in caught.value.message
    assert caught.value.progress == ["1000"]


async def test_rate_limit_retry_at_is_the_reset_header() -> None:
    async with running(create_fake_x(rate_limits={"POST /2/tweets": (1, 900)})) as env:
        await env.publish("one")
        with pytest.raises(RateLimited) as caught:
            await env.publish("two")
        token = env.fake.issue_access_token()
        client = XClient(env.ctx(), token=token.token, token_secret=token.secret)
        answer = await client.send("POST", "/2/tweets", json_body={"text": "three"})
    assert answer.status_code == 429
    reset = int(answer.headers["x-rate-limit-reset"])
    assert caught.value.retry_at == datetime.fromtimestamp(reset, UTC)
    assert answer.headers["x-rate-limit-remaining"] == "0"


async def test_rate_limit_fault(env: Env) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    env.fake.faults.inject("POST /2/tweets", "rate_limit", reset_in=120)
    with pytest.raises(RateLimited) as caught:
        await env.publish("limited")
    assert caught.value.retry_at is not None
    assert before + timedelta(seconds=119) <= caught.value.retry_at <= datetime.now(UTC) + timedelta(seconds=120)


async def test_server_error_is_transient(env: Env) -> None:
    env.fake.faults.inject("POST /2/tweets", "status", status=503)
    with pytest.raises(TransientError) as caught:
        await env.publish("try later")
    assert caught.value.status_code == 503
    assert env.fake.tweets == []


async def test_connection_refused_is_transient() -> None:
    host = make_host(
        {
            "GATEWAY_TWITTER_API_URL": f"http://127.0.0.1:{free_port()}",
            "GATEWAY_TWITTER_CONSUMER_KEY": "k",
            "GATEWAY_TWITTER_CONSUMER_SECRET": "s",
        }
    )
    account = Account(external_id="1", handle="someone")
    credentials = Credentials(tokens={"oauth_token": "t", "oauth_token_secret": "s"})
    async with httpx.AsyncClient() as http:
        with pytest.raises(TransientError):
            await host.call(
                "gateway_publish",
                host.context("twitter", http),
                credentials=credentials,
                request=PublishRequest(post_id="p", account=account, text="hi"),
            )


async def test_revoked_token_is_auth_expired(env: Env) -> None:
    credentials = env.credentials()
    env.fake.revoke()
    with pytest.raises(AuthExpired) as caught:
        await env.call("gateway_publish", credentials=credentials, request=env.request("hello?"))
    assert caught.value.status_code == 401


async def test_error_mid_thread_carries_progress_and_retry_continues(env: Env) -> None:
    env.fake.faults.inject("POST /2/tweets", "latency", seconds=0)  # the head passes
    env.fake.faults.inject("POST /2/tweets", "status", status=503)  # the second part fails
    with pytest.raises(TransientError) as caught:
        await env.publish("a head", ("a middle", "an end"))
    (head,) = env.fake.tweets
    assert caught.value.progress == [head.id]
    result = await env.publish("a head", ("a middle", "an end"), progress=tuple(caught.value.progress))
    assert [t.text for t in env.fake.tweets] == ["a head", "a middle", "an end"]
    assert result.part_ids[0] == head.id and env.fake.tweets[1].in_reply_to == head.id


# -- outcome unknown and reconcile -----------------------------------------------------------


async def test_dropped_answer_is_unknown_and_reconcile_finds_the_post(env: Env) -> None:
    started = datetime.now(UTC)
    env.fake.faults.inject("POST /2/tweets", "drop_after_store")
    with pytest.raises(OutcomeUnknown) as caught:
        await env.publish("did it go out? https://example.com/page")
    assert caught.value.progress == []
    (tweet,) = env.fake.tweets
    found = await env.reconcile(env.request("did it go out? https://example.com/page", started=started))
    assert found.found is True
    assert found.result.external_id == tweet.id
    assert found.result.url == f"https://x.com/sandbox_user/status/{tweet.id}"
    assert found.progress == (tweet.id,)


async def test_timeout_after_sending_is_unknown() -> None:
    async with running(timeout="0.3") as env:
        env.fake.faults.inject("POST /2/tweets", "hang_after_store")
        with pytest.raises(OutcomeUnknown):
            await env.publish("slow answer")
        assert env.fake.faults.holding == 1
        found = await env.reconcile(env.request("slow answer", started=datetime.now(UTC)))
        assert found.found is True and found.result.external_id == env.fake.tweets[0].id


async def test_dropped_before_storing_reconciles_as_not_found(env: Env) -> None:
    env.fake.faults.inject("POST /2/tweets", "drop_before")
    with pytest.raises(OutcomeUnknown):
        await env.publish("never stored")
    found = await env.reconcile(env.request("never stored", started=datetime.now(UTC)))
    assert (found.found, found.progress) == (False, ())


async def test_reconcile_finds_nothing(env: Env) -> None:
    await env.publish("something else entirely")
    found = await env.reconcile(env.request("not posted", ("nor this",), started=datetime.now(UTC)))
    assert (found.found, found.result, found.progress) == (False, None, ())


async def test_unknown_mid_thread_reconciles_the_part_and_publishing_finishes(env: Env) -> None:
    """The exactly-once path: head out, second part stored but its answer lost, third never sent."""
    parts = ("thread head", ("thread middle", "thread end"))
    started = datetime.now(UTC)
    env.fake.faults.inject("POST /2/tweets", "latency", seconds=0)
    env.fake.faults.inject("POST /2/tweets", "drop_after_store")
    with pytest.raises(OutcomeUnknown) as caught:
        await env.publish(*parts)
    head, middle = env.fake.tweets
    assert caught.value.progress == [head.id]

    found = await env.reconcile(env.request(*parts, progress=(head.id,), started=started))
    assert (found.found, found.progress) == (False, (head.id, middle.id))

    result = await env.publish(*parts, progress=found.progress)
    assert [t.text for t in env.fake.tweets] == ["thread head", "thread middle", "thread end"]
    assert env.fake.tweets[2].in_reply_to == middle.id
    assert result.part_ids == tuple(t.id for t in env.fake.tweets)

    again = await env.reconcile(env.request(*parts, started=started))
    assert again.found is True and again.result == result


async def test_retry_after_unknown_adopts_its_own_duplicate(env: Env) -> None:
    """Reconcile missed the post (X's timeline lags); the retry meets X's duplicate rule and adopts it."""
    started = datetime.now(UTC)
    env.fake.faults.inject("POST /2/tweets", "latency", seconds=0)
    env.fake.faults.inject("POST /2/tweets", "drop_after_store")
    with pytest.raises(OutcomeUnknown) as caught:
        await env.publish("lagging head", ("lagging reply", "last"))
    head, reply = env.fake.tweets
    result = await env.publish(
        "lagging head", ("lagging reply", "last"), progress=tuple(caught.value.progress), started=started
    )
    assert result.part_ids[:2] == (head.id, reply.id)
    assert [t.text for t in env.fake.tweets] == ["lagging head", "lagging reply", "last"]
    assert env.fake.tweets[2].in_reply_to == reply.id


async def test_reconcile_pages_through_the_timeline(env: Env) -> None:
    started = datetime.now(UTC)
    target = env.fake.store_tweet(env.fake.default_user, "the one we look for")
    for n in range(120):
        env.fake.store_tweet(env.fake.default_user, f"later post {n}")
    found = await env.reconcile(env.request("the one we look for", started=started))
    assert found.found is True and found.result.external_id == target.id
    assert env.fake.requests["GET /2/users/:id/tweets"] == 2


async def test_reconcile_cannot_tell_when_the_lookup_fails(env: Env) -> None:
    env.fake.faults.inject("GET /2/users/:id/tweets", "status", status=503)
    found = await env.reconcile(env.request("anything", progress=("5",), started=datetime.now(UTC)))
    assert (found.found, found.progress) == (None, ("5",))


# -- deleting --------------------------------------------------------------------------------


async def test_delete_removes_every_part(env: Env) -> None:
    keep = await env.publish("keep me")
    result = await env.publish("delete me", ("and me",))
    await env.call("gateway_delete_post", credentials=env.credentials(), external_ids=list(result.part_ids))
    assert [t.id for t in env.fake.tweets] == [keep.external_id]
    # deleting what is already gone is fine
    await env.call("gateway_delete_post", credentials=env.credentials(), external_ids=list(result.part_ids))


# -- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("a" * 280, 280),
        ("a" * 281, 281),
        ("https://example.com/" + "p" * 200, 23),
        ("read https://example.com/x and example.org.", 5 + 23 + 5 + 23 + 1),
        ("日本語", 6),
        ("한국어 text", 6 + 5),
        ("😀", 2),
        ("👨\u200d👩\u200d👧\u200d👦", 2),
        ("👍🏽", 2),
        ("🇫🇷", 2),
        ("e\u0301", 1),  # NFC: one character
        ("— “quoted” —", 12),
        ("file.py and v1.2", 16),
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length


def test_validate(env: Env) -> None:
    def codes(draft: Draft) -> list[tuple[str, str]]:
        return [(p.field, p.code) for p in env.host.validate(draft)]

    assert codes(Draft(platform="twitter", text="a" * 280)) == []
    assert codes(Draft(platform="twitter", text="日" * 140)) == []
    assert codes(Draft(platform="twitter", text="日" * 141)) == [("text", "too_long")]
    assert codes(Draft(platform="twitter", text="  ")) == [("text", "empty")]
    assert codes(Draft(platform="twitter", text="ok", thread=("fine", "", "b" * 300))) == [
        ("thread[1]", "empty"),
        ("thread[2]", "too_long"),
    ]
    assert codes(Draft(platform="twitter", text="same", thread=("same",))) == [("thread[0]", "duplicate")]
    many = tuple(f"part {n}" for n in range(25))
    assert codes(Draft(platform="twitter", text="head", thread=many)) == [("thread", "too_many_parts")]
    assert codes(Draft(platform="linkedin", text="a" * 1000)) == []


# -- dispatch between plugins ----------------------------------------------------------------


class DummyPlatform:
    """A tiny plugin for another platform, written the way the hook specs ask."""

    @hookimpl
    def gateway_platforms(self) -> list[PlatformInfo]:
        return [PlatformInfo(name="dummy", title="Dummy", auth_kind="oauth2", max_length=10, supports_threads=False)]

    @hookimpl
    def gateway_publish(self, ctx: PlatformContext, credentials: Credentials, request: PublishRequest) -> Any:
        if ctx.platform != "dummy":
            return None

        async def publish() -> PublishResult:
            return PublishResult(external_id="d-1", url="https://dummy.example/d-1")

        return publish()


@pytest.mark.parametrize("twitter_first", [True, False])
async def test_each_platform_reaches_its_own_plugin(env: Env, twitter_first: bool) -> None:
    order = [gateway_twitter, DummyPlatform()] if twitter_first else [DummyPlatform(), gateway_twitter]
    environ = {k: v for k, v in env.host.settings.sections["twitter"].items()}
    host = PluginHost(
        create_plugin_manager(load_entrypoints=False, extra=order),
        Settings.from_env({f"GATEWAY_TWITTER_{k.upper()}": v for k, v in environ.items()}),
    )
    dummy = await host.call(
        "gateway_publish", host.context("dummy", env.http), credentials=Credentials(tokens={}), request=env.request("d")
    )
    assert dummy.external_id == "d-1"
    assert env.fake.tweets == []
    real = await host.call(
        "gateway_publish", host.context("twitter", env.http), credentials=env.credentials(), request=env.request("x")
    )
    assert env.fake.tweet(real.external_id).text == "x"


def test_hooks_answer_none_for_other_platforms(env: Env) -> None:
    ctx = PlatformContext("dummy", {}, env.http, "http://cb", "http://gw")
    credentials = Credentials(tokens={})
    assert gateway_twitter.gateway_publish(ctx, credentials, env.request("x")) is None
    assert gateway_twitter.gateway_reconcile(ctx, credentials, env.request("x")) is None
    assert gateway_twitter.gateway_delete_post(ctx, credentials, ["1"]) is None
    assert gateway_twitter.gateway_authorize_start(ctx) is None
    assert gateway_twitter.gateway_authorize_finish(ctx, {}, {}) is None
    assert gateway_twitter.gateway_refresh_credentials(ctx, credentials) is None


async def test_sandbox_home_page_lists_posts(env: Env) -> None:
    await env.publish("visible in the sandbox")
    page = await env.http.get(env.base + "/")
    assert "visible in the sandbox" in page.text
