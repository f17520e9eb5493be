"""The real worker publishing through the real plugins to the fake platforms, and every class of error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gateway.models import Event, Integration, IntegrationStatus, Post, PostStatus
from tests.posts.helpers import attempts, create, create_one, event_types, wait_for, wait_status


async def test_publishes_to_x_once(client, tenant, fake_x, twitter_account, worker):
    post = await create_one(client, tenant, twitter_account, "Hello, X")
    done = await wait_status(post["id"], "PUBLISHED")
    [tweet] = fake_x.tweets
    assert tweet.text == "Hello, X"
    assert done.external_id == tweet.id and done.part_ids == [tweet.id]
    assert done.external_url == f"https://x.com/{fake_x.default_user.username}/status/{tweet.id}"
    assert [(a.number, a.outcome) for a in await attempts(post["id"])] == [(1, "published")]
    assert await event_types(post["id"]) == ["post.created", "post.publishing", "post.published"]
    body = await (await client.get(f"/api/posts/{post['id']}", headers=tenant.headers)).get_json()
    assert body["status"] == "PUBLISHED" and body["externalUrl"] == done.external_url
    assert body["attempts"][0]["outcome"] == "published"


async def test_an_x_thread_is_a_reply_chain(client, tenant, fake_x, twitter_account, worker):
    post = await create_one(client, tenant, twitter_account, "1/3 a thread", thread=["2/3 more", "3/3 end"])
    done = await wait_status(post["id"], "PUBLISHED")
    head, second, third = fake_x.tweets
    assert (head.in_reply_to, second.in_reply_to, third.in_reply_to) == (None, head.id, second.id)
    assert done.part_ids == [head.id, second.id, third.id]


async def test_a_linkedin_thread_is_a_share_with_comments(client, tenant, fake_linkedin, linkedin_account, worker):
    post = await create_one(client, tenant, linkedin_account, "A share", thread=["first comment", "second"],
                            options={"visibility": "CONNECTIONS"})
    done = await wait_status(post["id"], "PUBLISHED")
    [share] = fake_linkedin.posts.values()
    assert share.text == "A share" and share.visibility == "CONNECTIONS"
    assert [c.text for c in fake_linkedin.comments_on(share.urn)] == ["first comment", "second"]
    assert done.external_id == share.urn and len(done.part_ids) == 3


async def test_one_request_to_both_platforms(client, tenant, fake_x, fake_linkedin, twitter_account,
                                             linkedin_account, worker):
    response = await create(client, tenant, text="Everywhere",
                            integrationIds=[str(twitter_account.id), str(linkedin_account.id)])
    posts = (await response.get_json())["posts"]
    for post in posts:
        await wait_status(post["id"], "PUBLISHED")
    assert len(fake_x.tweets) == 1 and len(fake_linkedin.posts) == 1


async def test_rate_limited_then_published_at_the_reset_time(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "rate_limit", reset_in=2)
    post = await create_one(client, tenant, twitter_account, "Patience")
    done = await wait_status(post["id"], "PUBLISHED")
    first, second = await attempts(post["id"])
    assert (first.outcome, first.error_code) == ("retry", "rate_limited")
    retrying = await Event.get(post_id=post["id"], type="post.retrying")
    reset = datetime.fromisoformat(retrying.payload["retryAt"])
    assert second.started_at >= reset  # not before the platform said
    assert second.outcome == "published" and len(fake_x.tweets) == 1
    assert done.retry_at is None and done.failures == 0 and done.error_code is None


async def test_transient_errors_back_off_then_publish(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "status", times=2, status=503)
    post = await create_one(client, tenant, twitter_account, "Third time lucky")
    await wait_status(post["id"], "PUBLISHED")
    assert [(a.outcome, a.error_code) for a in await attempts(post["id"])] == [
        ("retry", "transient_error"), ("retry", "transient_error"), ("published", None)]
    assert len(fake_x.tweets) == 1


async def test_transient_errors_give_up_after_five_tries(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "status", times=10, status=502)
    post = await create_one(client, tenant, twitter_account, "Never")
    failed = await wait_status(post["id"], "FAILED")
    assert len(await attempts(post["id"])) == 5
    assert failed.error_code == "transient_error" and "Gave up after 5 tries" in failed.error_message
    assert fake_x.tweets == []


async def test_a_permanent_refusal_fails_with_the_platforms_message(client, tenant, fake_x, twitter_account, worker):
    first = await create_one(client, tenant, twitter_account, "Said it once")
    await wait_status(first["id"], "PUBLISHED")
    second = await create_one(client, tenant, twitter_account, "Said it once")
    failed = await wait_status(second["id"], "FAILED")
    assert failed.error_message == "You are not allowed to create a Tweet with duplicate content."
    assert failed.error_code == "duplicate"
    [attempt] = await attempts(second["id"])
    assert attempt.outcome == "failed" and attempt.error_message == failed.error_message
    body = await (await client.get(f"/api/posts/{second['id']}", headers=tenant.headers)).get_json()
    assert body["lastError"] == {"code": "duplicate", "message": failed.error_message}
    assert len(fake_x.tweets) == 1
    assert (await event_types(second["id"]))[-1] == "post.failed"


async def test_a_failed_post_can_be_retried(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "status", times=1, status=400, detail="Something was off.")
    post = await create_one(client, tenant, twitter_account, "Try me again")
    failed = await wait_status(post["id"], "FAILED")
    assert failed.error_message == "Something was off."
    response = await client.post(f"/api/posts/{post['id']}/retry", headers=tenant.headers)
    assert response.status_code == 202
    await wait_status(post["id"], "PUBLISHED")
    assert len(fake_x.tweets) == 1


async def _linkedin_tokens(runtime, integration):
    row = await Integration.get(id=integration.id)
    return row, runtime.vault.open_credentials(row).tokens


async def test_linkedin_401_refreshes_once_and_publishes(client, tenant, runtime, fake_linkedin,
                                                         linkedin_account, worker):
    _, tokens = await _linkedin_tokens(runtime, linkedin_account)
    fake_linkedin.expire_token(tokens["access_token"])
    post = await create_one(client, tenant, linkedin_account, "After a refresh")
    await wait_status(post["id"], "PUBLISHED")
    assert [(a.outcome, a.error_code) for a in await attempts(post["id"])] == [
        ("retry", "auth_expired"), ("published", None)]
    row, fresh = await _linkedin_tokens(runtime, linkedin_account)
    assert fresh["access_token"] != tokens["access_token"]
    assert fresh["refresh_token"]
    assert row.status == IntegrationStatus.ACTIVE and row.token_expires_at > datetime.now(UTC)
    assert len(fake_linkedin.posts) == 1


async def test_expired_token_is_refreshed_before_publishing(client, tenant, runtime, fake_linkedin,
                                                            linkedin_account, worker):
    await Integration.filter(id=linkedin_account.id).update(token_expires_at=datetime.now(UTC) - timedelta(minutes=1))
    _, tokens = await _linkedin_tokens(runtime, linkedin_account)
    post = await create_one(client, tenant, linkedin_account, "Fresh token first")
    await wait_status(post["id"], "PUBLISHED")
    assert [a.outcome for a in await attempts(post["id"])] == ["published"]  # no 401 on the way
    _, fresh = await _linkedin_tokens(runtime, linkedin_account)
    assert fresh["access_token"] != tokens["access_token"]


async def test_refresh_refused_makes_the_integration_refresh_needed(client, tenant, runtime, fake_linkedin,
                                                                     linkedin_account, worker):
    _, tokens = await _linkedin_tokens(runtime, linkedin_account)
    fake_linkedin.expire_token(tokens["access_token"])
    fake_linkedin.revoke_refresh_token(tokens["refresh_token"])
    post = await create_one(client, tenant, linkedin_account, "Cannot go out")
    failed = await wait_status(post["id"], "FAILED")
    assert failed.error_code == "refresh_needed" and "reconnected" in failed.error_message
    row = await Integration.get(id=linkedin_account.id)
    assert row.status == IntegrationStatus.REFRESH_NEEDED and row.status_reason
    event = await Event.get(integration_id=row.id, type="integration.refresh_needed")
    assert event.payload["reason"] == row.status_reason
    assert fake_linkedin.posts == {}
    refused = await create(client, tenant, text="again", integrationIds=[str(row.id)])
    assert refused.status_code == 422  # the account must be reconnected first


async def test_x_revoked_access_fails_and_asks_to_reconnect(client, tenant, fake_x, twitter_account, worker):
    fake_x.revoke()
    post = await create_one(client, tenant, twitter_account, "Revoked")
    failed = await wait_status(post["id"], "FAILED")
    assert failed.error_code == "refresh_needed"
    assert (await Integration.get(id=twitter_account.id)).status == IntegrationStatus.REFRESH_NEEDED


async def test_an_inactive_integration_fails_its_queued_posts(client, tenant, runtime, fake_x, twitter_account,
                                                              start_worker):
    post = await create_one(client, tenant, twitter_account, "Queued before the disconnect")
    await Integration.filter(id=twitter_account.id).update(status=IntegrationStatus.DISABLED)
    await start_worker()
    failed = await wait_status(post["id"], "FAILED")
    assert failed.error_code == "integration_inactive"
    assert fake_x.tweets == []


async def test_cancelled_while_waiting_for_a_retry(client, tenant, runtime, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "rate_limit", reset_in=3600)
    post = await create_one(client, tenant, twitter_account, "Never mind")

    async def waiting() -> bool:
        row = await Post.get(id=post["id"])
        return row.retry_at is not None

    await wait_for(waiting, what="the retry to be scheduled")
    response = await client.post(f"/api/posts/{post['id']}/cancel", headers=tenant.headers)
    assert response.status_code == 200
    job = await runtime.queue.job(post["id"])
    assert job is not None and job.scheduled > datetime.now(UTC).timestamp()  # the retry is queued for later
    assert (await Post.get(id=post["id"])).status == PostStatus.CANCELLED


async def test_delete_from_the_platform_removes_every_part(client, tenant, fake_x, twitter_account, worker):
    post = await create_one(client, tenant, twitter_account, "1/2 short-lived", thread=["2/2 gone too"])
    await wait_status(post["id"], "PUBLISHED")
    assert len(fake_x.tweets) == 2
    response = await client.delete(f"/api/posts/{post['id']}?fromPlatform=true", headers=tenant.headers)
    assert response.status_code == 204
    assert fake_x.tweets == []
    assert await Post.get_or_none(id=post["id"]) is None
    event = await Event.filter(post_id=post["id"]).order_by("-id").first()
    assert event.type == "post.deleted" and event.payload["removedFromPlatform"] is True


async def test_a_refused_platform_delete_keeps_the_post(client, tenant, fake_x, twitter_account, worker):
    post = await create_one(client, tenant, twitter_account, "Sticky")
    await wait_status(post["id"], "PUBLISHED")
    fake_x.faults.inject("DELETE /2/tweets/:id", "status", status=403, detail="Not yours.")
    response = await client.delete(f"/api/posts/{post['id']}?fromPlatform=true", headers=tenant.headers)
    assert response.status_code == 502
    assert (await response.get_json())["error"]["message"] == "Not yours."
    assert await Post.get_or_none(id=post["id"]) is not None and len(fake_x.tweets) == 1
