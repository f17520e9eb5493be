"""Publishing exactly once: crashes, lost answers and concurrent workers never duplicate or lose a post."""

from __future__ import annotations

import asyncio
import signal

from gateway.models import Post
from tests.posts.helpers import attempts, create, create_one, event_types, wait_for, wait_status


async def test_a_worker_killed_mid_call_is_reconciled_not_repeated(
    client, tenant, fake_x, twitter_account, worker_process, start_worker
):
    fake_x.faults.inject("POST /2/tweets", "hang_after_store")
    doomed = await worker_process()
    post = await create_one(client, tenant, twitter_account, "This must go out exactly once")
    await asyncio.wait_for(fake_x.faults.held.wait(), 30)  # X stored the tweet and holds its answer
    assert len(fake_x.tweets) == 1
    [attempt] = await attempts(post["id"])
    assert attempt.outcome is None and attempt.finished_at is None  # committed before the call

    assert doomed.proc is not None
    doomed.proc.send_signal(signal.SIGKILL)
    assert await doomed.wait() == -signal.SIGKILL
    fake_x.faults.release()

    await start_worker()  # a new worker: SAQ's sweep finds the dead job, the job reconciles
    done = await wait_status(post["id"], "PUBLISHED", timeout=45)
    [tweet] = fake_x.tweets
    assert done.external_id == tweet.id
    [attempt] = await attempts(post["id"])
    assert (attempt.outcome, attempt.error_code) == ("reconciled", "worker_lost")
    assert fake_x.requests["POST /2/tweets"] == 1
    event = (await event_types(post["id"]))[-1]
    assert event == "post.published"


async def test_x_answer_lost_after_store_is_found_not_repeated(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "drop_after_store")
    post = await create_one(client, tenant, twitter_account, "Dropped but delivered")
    done = await wait_status(post["id"], "PUBLISHED")
    [tweet] = fake_x.tweets
    assert done.external_id == tweet.id
    [attempt] = await attempts(post["id"])
    assert (attempt.outcome, attempt.error_code) == ("reconciled", "outcome_unknown")
    assert fake_x.requests["POST /2/tweets"] == 1
    assert await event_types(post["id"]) == [
        "post.created", "post.publishing", "post.retrying", "post.published"]


async def test_linkedin_answer_lost_after_store_is_found_not_repeated(
    client, tenant, fake_linkedin, linkedin_account, worker
):
    fake_linkedin.faults.inject("POST /v2/ugcPosts", "drop_after_store")
    post = await create_one(client, tenant, linkedin_account, "Dropped share")
    done = await wait_status(post["id"], "PUBLISHED")
    [share] = fake_linkedin.posts.values()
    assert done.external_id == share.urn
    assert fake_linkedin.counters["POST /v2/ugcPosts"] == 1


async def test_a_thread_continues_after_the_parts_that_are_out(client, tenant, fake_x, twitter_account, worker):
    fake_x.faults.inject("POST /2/tweets", "latency", seconds=0)  # the first part goes out as usual
    fake_x.faults.inject("POST /2/tweets", "drop_after_store")  # the answer to the second is lost
    post = await create_one(client, tenant, twitter_account, "1/3 thread", thread=["2/3 lost answer", "3/3 end"])
    done = await wait_status(post["id"], "PUBLISHED")
    texts = [(t.text, t.in_reply_to) for t in fake_x.tweets]
    ids = [t.id for t in fake_x.tweets]
    assert texts == [("1/3 thread", None), ("2/3 lost answer", ids[0]), ("3/3 end", ids[1])]
    assert done.part_ids == ids
    assert fake_x.requests["POST /2/tweets"] == 3


async def test_linkedin_comment_answer_lost_continues_the_thread(
    client, tenant, fake_linkedin, linkedin_account, worker
):
    fake_linkedin.faults.inject("POST /v2/socialActions/{urn}/comments", "drop_after_store")
    post = await create_one(client, tenant, linkedin_account, "Share", thread=["comment one", "comment two"])
    done = await wait_status(post["id"], "PUBLISHED")
    [share] = fake_linkedin.posts.values()
    assert [c.text for c in fake_linkedin.comments_on(share.urn)] == ["comment one", "comment two"]
    assert len(done.part_ids) == 3


async def test_no_way_to_tell_leaves_the_post_unknown_until_the_user_retries(
    client, tenant, fake_x, twitter_account, worker
):
    fake_x.faults.inject("POST /2/tweets", "drop_before")  # the connection breaks: did X get it?
    fake_x.faults.inject("GET /2/users/:id/tweets", "status", times=10, status=503)  # and X cannot be searched
    post = await create_one(client, tenant, twitter_account, "Schrodinger's post")
    unknown = await wait_status(post["id"], "UNKNOWN")
    assert unknown.error_code == "outcome_unknown"
    assert "Check the account @" in unknown.error_message
    assert fake_x.tweets == []
    assert (await event_types(post["id"]))[-1] == "post.unknown"
    fake_x.faults.clear()
    response = await client.post(f"/api/posts/{post['id']}/retry", headers=tenant.headers)  # the user looked
    assert response.status_code == 202
    await wait_status(post["id"], "PUBLISHED")
    assert len(fake_x.tweets) == 1
    assert [a.outcome for a in await attempts(post["id"])] == ["unknown", "published"]


async def test_two_workers_on_one_queue_publish_each_post_once(
    client, tenant, runtime, fake_x, fake_linkedin, twitter_account, linkedin_account, start_worker
):
    await start_worker(concurrency=3)
    await start_worker(concurrency=3)
    ids = []
    for n in range(8):
        response = await create(client, tenant, text=f"post number {n}",
                                integrationIds=[str(twitter_account.id), str(linkedin_account.id)])
        ids += [p["id"] for p in (await response.get_json())["posts"]]
        for post_id in ids[-2:]:
            await runtime.enqueue_publish(post_id)  # a second enqueue is refused or finds the post done

    async def all_published() -> bool:
        return await Post.filter(id__in=ids, status="PUBLISHED").count() == len(ids)

    await wait_for(all_published, timeout=30, what="every post to be published")
    assert sorted(t.text for t in fake_x.tweets) == sorted(f"post number {n}" for n in range(8))
    assert sorted(s.text for s in fake_linkedin.posts.values()) == sorted(f"post number {n}" for n in range(8))
    assert fake_x.requests["POST /2/tweets"] == 8
    assert fake_linkedin.counters["POST /v2/ugcPosts"] == 8
    workers = set()
    for post_id in ids:
        [attempt] = await attempts(post_id)
        assert attempt.outcome == "published"
        workers.add(attempt.worker)
    assert len(workers) == 2  # both took a share


async def test_sigterm_lets_the_job_in_hand_finish(client, tenant, fake_x, twitter_account, worker_process):
    fake_x.faults.inject("POST /2/tweets", "latency", seconds=1.5)
    process = await worker_process()
    post = await create_one(client, tenant, twitter_account, "Finish me first")

    async def arrived() -> bool:
        return fake_x.requests["POST /2/tweets"] == 1

    await wait_for(arrived, timeout=30, what="the worker to call X")
    assert process.proc is not None
    process.proc.send_signal(signal.SIGTERM)
    assert await process.wait(timeout=30) == 0, process.log
    done = await Post.get(id=post["id"])
    assert done.status == "PUBLISHED", process.log
    assert len(fake_x.tweets) == 1
