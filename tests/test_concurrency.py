"""One writer, many readers: concurrent requests never meet "database is locked" and every
acknowledged write is there afterwards."""
from __future__ import annotations

import asyncio

from tests.conftest import quiet, count, open_group


async def test_concurrent_writers_and_readers(admin, make_user, anonymous, svc):
    group = await open_group(admin)
    writers = [await make_user(f"Schrijver {n}") for n in range(5)]
    for writer in writers:
        await writer.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Druk", "body": "start"},
                               expect=201))["thread"]["id"]
    reader = await anonymous()
    acknowledged: list[int] = []

    async def write(writer, n):
        body = await writer.post(f"/api/v1/threads/{thread}/posts", {"body": f"bericht {n}"}, expect=201)
        acknowledged.append(body["post"]["id"])

    async def read():
        await reader.get(f"/api/v1/threads/{thread}")
        await reader.get(f"/api/v1/groups/{group['id']}/threads")

    jobs = [write(writers[n % len(writers)], n) for n in range(60)] + [read() for _ in range(60)]
    await asyncio.gather(*jobs)
    posts = (await reader.get(f"/api/v1/threads/{thread}?limit=100"))["posts"]
    assert set(acknowledged) <= {p["id"] for p in posts}
    assert len(acknowledged) == 60
    assert (await reader.get(f"/api/v1/threads/{thread}"))["thread"]["reply_count"] == 60
    assert await count(svc, "events") >= 60


async def test_searches_go_to_the_least_busy_reader(server, svc):
    """A search does not queue behind a long read while another reader stands idle (taken in
    turn, every other read here would wait for the one held open)."""
    await quiet(server.app)  # the scheduler's own reads at start would make the other reader busy too
    async with svc.db.read() as busy:
        for _ in range(4):
            async with svc.db.read(least_busy=True) as other:
                assert other is not busy
                assert (await other.execute_fetchall("SELECT 1"))[0][0] == 1
