"""Attacker review of long threads paged: no query value gives a 500; the API's cursor keeps
no copy per value; opening one page never counts another page's posts as read."""
from __future__ import annotations

from tests.conftest import open_group
from tests import test_long_threads
from tests.test_long_threads import long_thread, page_of, shown_ids

small_pages = test_long_threads.small_pages  # the same small pages (an autouse fixture)


async def test_query_values_never_500(admin, anonymous, make_user):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    member = await make_user("Lid")
    big = str(2**63 - 1)
    values = ["", "0", "-1", "1.5", "1e3", "abc", "٣", "²", "%00", "1%00", " 1", "1 ", "+1", "0x10", "00001",
              big, str(2**63), "9" * 40, "1&page=2", "%E2%80%8B1"]
    status = {}
    for name in ("page", "under", "post", "reply_to", "view", "after", "limit"):
        for value in values:
            for base in (f"/threads/{thread}", f"/threads/{thread}?view=chronological",
                         f"/api/v1/threads/{thread}"):
                sep = "&" if "?" in base else "?"
                url = f"{base}{sep}{name}={value}"
                for user in (visitor, member):
                    response = await user.client.get(url, allow_redirects=False)
                    status[(url, user is member)] = response.status
                    assert response.status < 500, (url, response.status, await response.text())
    # repeated params: the first wins, never a 500
    for url in (f"/threads/{thread}?page=2&page=x", f"/threads/{thread}?under={ids['p1']}&under={ids['a']}",
                f"/threads/{thread}?post={ids['b']}&under={ids['p1']}&page=99",
                f"/threads/{thread}?post={ids['b']}&view=chronological&view=tree",
                f"/threads/{thread}?reply_to={ids['b']}&post={ids['r7']}",
                f"/threads/{thread}?view=chronological&under={ids['p1']}&page=3"):
        response = await visitor.client.get(url)
        assert response.status < 500, (url, response.status)
    assert set(status.values()) <= {200, 400, 404}


async def test_the_api_cursor_caches_one_copy_per_after_value(admin, anonymous):
    """after= need not be a post id: every value below the thread's first post gives the same
    100 posts under a key of its own in the read cache (1000 entries), each a fresh copy."""
    import gc
    import os
    from forum.keys import services_key
    from forum.store import threads as store
    group = await open_group(admin)
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Groot", "body": "x"}, expect=201)
    thread = created["thread"]["id"]
    svc = admin.client.server.app[services_key]
    body = "woord " * 8000   # 48 KB, under MAX_BODY
    async with svc.db.write() as tx:
        for n in range(100):
            await store.insert_post(tx, thread_id=thread, parent_id=None, depth=0, author_id=admin.id,
                                    body=body, body_html=f"<p>{body}</p>", now=svc.now())
    visitor = await anonymous()

    def rss() -> int:
        gc.collect()
        with open(f"/proc/{os.getpid()}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    for after in range(1, 101):  # the allocator's high-water mark for answers of 5 MB is reached
        await (await visitor.client.get(f"/api/v1/threads/{thread}?limit=100&after={after}")).read()
    before = rss()
    for after in range(101, 401):
        response = await visitor.client.get(f"/api/v1/threads/{thread}?limit=100&after={after}")
        assert response.status == 200
        await response.read()
    grown = rss() - before
    assert grown < 30e6, grown  # kept per cursor, 300 copies of 5 MB grew it by 726 MB


async def test_opening_one_page_marks_posts_on_other_pages_read(admin, make_user):
    """open_thread records the newest id on the page opened: a reply on page 1 newer than an
    unseen post on page 3 makes the latter read, and 'first unread' never points to it."""
    thread, ids = await long_thread(admin)
    reader = await make_user("Lezer")
    for number in range(1, 5):  # every page in time order: all read so far
        await page_of(reader, f"/threads/{thread}?view=chronological&page={number}")
    unseen = (await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "r8"}, expect=201))["post"]["id"]
    newer = (await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "onder r2", "parent_id": ids["r2"]},
                              expect=201))["post"]["id"]
    first = await page_of(reader, f"/threads/{thread}")  # page 1 of the tree: holds `newer`, not `unseen`
    assert newer in shown_ids(first) and unseen not in shown_ids(first)
    again = await page_of(reader, f"/threads/{thread}")
    assert f'post={unseen}' in again and 'id="first-unread"' in again, "r8 was never shown yet counts as read"
