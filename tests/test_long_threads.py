"""Long threads are read a page at a time: the tree pages its top-level posts, each with its
first replies and a link to the rest; the time order and the API page by a cursor; a link to a
post lands on the page that holds it. Page sizes are made small here so a few posts span pages."""
from __future__ import annotations

import re

import pytest

from forum.keys import services_key
from forum.services import thread_pages
from forum.store import threads as thread_store
from tests.conftest import open_group


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    monkeypatch.setattr(thread_pages, "ROOTS_PER_PAGE", 3)
    monkeypatch.setattr(thread_pages, "PAGE_POSTS", 5)
    monkeypatch.setattr(thread_pages, "POSTS_PER_PAGE", 4)


def shown_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<li class="post[^"]*" id="post-(\d+)"', page)]


async def long_thread(admin):
    """p1 opens; a, b (under a), c, d, e, f answer p1; r2 .. r7 answer the discussion itself.
    In tree order: p1 a b c d e f, then r2 .. r7; seven top-level posts."""
    group = await open_group(admin)
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Lang", "body": "p1"}, expect=201)
    thread, ids = created["thread"]["id"], {"p1": created["post"]["id"]}

    async def post(name, parent=None):
        body = {"body": name, **({"parent_id": ids[parent]} if parent else {})}
        ids[name] = (await admin.post(f"/api/v1/threads/{thread}/posts", body, expect=201))["post"]["id"]

    await post("r2")
    await post("a", "p1")
    await post("b", "a")
    for name in "cdef":
        await post(name, "p1")
    for n in range(3, 8):
        await post(f"r{n}")
    return thread, ids


async def page_of(user, url: str, status: int = 200) -> str:
    response = await user.client.get(url)
    assert response.status == status, (url, response.status)
    return await response.text()


async def test_the_tree_pages_its_top_level_posts_with_their_first_replies(admin, anonymous):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    first = await page_of(visitor, f"/threads/{thread}")
    assert shown_ids(first) == [ids["p1"], ids["a"], ids["b"], ids["r2"], ids["r3"]]
    # the rest of p1's replies: a link opening at the first one not shown
    assert f'href="/threads/{thread}?under={ids["p1"]}#post-{ids["c"]}">Nog 4 reacties</a>' in first
    assert "Pagina 1 van 3" in first and f'href="/threads/{thread}?page=2#posts" rel="next"' in first
    assert 'data-last-page="0"' in first
    second = await page_of(visitor, f"/threads/{thread}?page=2")
    assert shown_ids(second) == [ids["r4"], ids["r5"], ids["r6"]]
    assert f'href="/threads/{thread}#posts" rel="prev"' in second and 'aria-current="page"' in second
    last = await page_of(visitor, f"/threads/{thread}?page=3")
    assert shown_ids(last) == [ids["r7"]] and 'data-last-page="1"' in last and 'rel="next"' not in last


async def test_a_roots_replies_page_on_their_own(admin, anonymous):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    under = await page_of(visitor, f"/threads/{thread}?under={ids['p1']}")
    assert shown_ids(under) == [ids["p1"], ids["a"], ids["b"], ids["c"], ids["d"]]
    assert "Alle reacties op het bericht van Beheerder." in under
    assert f'href="/threads/{thread}?post={ids["p1"]}#post-{ids["p1"]}">Terug naar de hele discussie' in under
    assert f'href="/threads/{thread}?under={ids["p1"]}&amp;page=2#posts" rel="next"' in under
    rest = await page_of(visitor, f"/threads/{thread}?under={ids['p1']}&page=2")
    assert shown_ids(rest) == [ids["e"], ids["f"]]
    # whose replies these are is said once above them, not under every one
    assert "Alle reacties op het bericht van Beheerder." in rest and "in reactie op <a" not in rest
    assert 'data-last-page="1"' in rest and f'data-under="{ids["p1"]}"' in rest


async def test_time_order_pages_and_names_parents_on_earlier_pages(admin, anonymous):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    page = await page_of(visitor, f"/threads/{thread}?view=chronological&page=2")
    assert shown_ids(page) == [ids["c"], ids["d"], ids["e"], ids["f"]]
    assert (f'in reactie op <a href="/threads/{thread}?view=chronological&amp;post={ids["p1"]}#post-{ids["p1"]}">'
            in page)
    assert f'href="/threads/{thread}?view=chronological&amp;page=3#posts" rel="next"' in page
    assert "Pagina 2 van 4" in page


async def test_a_link_to_a_post_lands_on_the_page_that_holds_it(admin, anonymous):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    for name, holds in (("b", [ids["p1"], ids["a"], ids["b"]]), ("e", [ids["e"], ids["f"]]),
                        ("r5", [ids["r4"], ids["r5"], ids["r6"]]), ("r7", [ids["r7"]])):
        page = await page_of(visitor, f"/threads/{thread}?post={ids[name]}")
        assert shown_ids(page)[:len(holds)] == holds, name
    page = await page_of(visitor, f"/threads/{thread}?view=chronological&post={ids['r3']}")
    assert ids["r3"] in shown_ids(page) and "Pagina 3 van 4" in page
    # a post's own address (notifications, the audit log) goes there too
    response = await visitor.client.get(f"/posts/{ids['e']}", allow_redirects=False)
    assert response.headers["Location"] == f"/threads/{thread}?post={ids['e']}#post-{ids['e']}"
    assert ids["e"] in shown_ids(await page_of(visitor, response.headers["Location"]))


async def test_a_reply_link_opens_the_page_with_its_post_and_the_form_for_it(admin):
    thread, ids = await long_thread(admin)
    page = await page_of(admin, f"/threads/{thread}?reply_to={ids['r5']}")
    assert ids["r5"] in shown_ids(page) and f'name="parent_id" value="{ids["r5"]}"' in page
    # a stale reply link (the post is not in this thread) still opens the thread
    page = await page_of(admin, f"/threads/{thread}?reply_to=99999")
    assert shown_ids(page)[0] == ids["p1"]


async def test_pages_that_are_not_there_and_bad_numbers(admin, anonymous, make_user):
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    for url, status in ((f"/threads/{thread}?page=4", 404), (f"/threads/{thread}?page=0", 400),
                        (f"/threads/{thread}?page=abc", 400), (f"/threads/{thread}?page=-1", 400),
                        (f"/threads/{thread}?under={ids['a']}", 404),  # not a top-level post
                        (f"/threads/{thread}?under=99999", 404), (f"/threads/{thread}?post=99999", 404),
                        (f"/threads/{thread}?under=x", 400), (f"/threads/{thread}?view=chronological&page=5", 404)):
        page = await page_of(visitor, url, status)
        assert "Lang" not in page or status == 404
    # a post of another thread is not found through this one
    other = (await admin.post(f"/api/v1/groups/{(await open_group(admin, 'Ander'))['id']}/threads",
                              {"title": "Ander", "body": "x"}, expect=201))["post"]["id"]
    await page_of(visitor, f"/threads/{thread}?post={other}", 404)


async def test_a_closed_groups_thread_tells_a_stranger_nothing_of_its_posts(admin, make_user, anonymous):
    group = await open_group(admin, "Intern", visibility="closed")
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Geheim", "body": "x"}, expect=201)
    thread, post = created["thread"]["id"], created["post"]["id"]
    stranger = await make_user("Vreemde")
    for url in (f"/threads/{thread}?post={post}", f"/threads/{thread}?post=99999", f"/threads/{thread}?under={post}",
                f"/threads/{thread}?page=2", f"/threads/{thread}?page=1"):
        page = await page_of(stranger, url, 404)
        assert "Geheim" not in page
    await stranger.get(f"/api/v1/threads/{thread}?after={post}", expect=404)


async def test_the_api_pages_a_thread_by_cursor(admin, anonymous, monkeypatch):
    from forum.web.api import threads as api_threads
    monkeypatch.setattr(api_threads, "API_POSTS", 5)
    thread, ids = await long_thread(admin)
    visitor = await anonymous()
    seen, after, parts = [], "", 0
    while after is not None:
        part = await visitor.get(f"/api/v1/threads/{thread}?after={after}")
        assert part["thread"]["id"] == thread and part["last_event_id"] > 0
        seen += [post["id"] for post in part["posts"]]
        after, parts = part["next"], parts + 1
    assert seen == sorted(ids.values()) and parts == 3
    assert [p["id"] for p in (await visitor.get(f"/api/v1/threads/{thread}?limit=100"))["posts"]] == seen
    for bad in ("after=x", "limit=0", "limit=101", "limit=-3", "limit=abc"):
        assert (await visitor.get(f"/api/v1/threads/{thread}?{bad}", expect=400))["error"]
    assert (await visitor.get(f"/api/v1/threads/{thread}?after={max(ids.values())}"))["posts"] == []


async def test_reading_a_page_of_a_long_thread_keeps_first_unread_in_reach(admin, make_user):
    thread, ids = await long_thread(admin)
    reader = await make_user("Lezer")
    for number in range(1, 5):  # every page in time order: all read
        await page_of(reader, f"/threads/{thread}?view=chronological&page={number}")
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "nieuw", "parent_id": ids["a"]}, expect=201)
    page = await page_of(reader, f"/threads/{thread}?page=3")
    newest = max(ids.values()) + 1
    # the new reply is under a on page 1; the button on page 3 goes there
    assert f'href="/threads/{thread}?post={newest}#post-{newest}" class="button secondary" id="first-unread"' in page
    assert newest in shown_ids(await page_of(reader, f"/threads/{thread}?post={newest}"))


async def test_a_post_deeper_than_the_tree_keeps_short_places_in_reply_order(admin):
    group = await open_group(admin)
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Diep", "body": "0"}, expect=201)
    thread, parent, chain = created["thread"]["id"], created["post"]["id"], [created["post"]["id"]]
    for level in range(1, thread_store.TREE_LEVELS + 4):
        parent = (await admin.post(f"/api/v1/threads/{thread}/posts", {"body": str(level), "parent_id": parent},
                                   expect=201))["post"]["id"]
        chain.append(parent)
    under = await page_of(admin, f"/threads/{thread}?under={chain[0]}&page=1")
    assert shown_ids(under) == chain[:5]
    async with admin.client.server.app[services_key].db.read() as conn:
        place = {row["id"]: row["tree_path"] for row in await thread_store.posts_by_id(conn, chain)}
    assert max(len(p) for p in place.values()) == (thread_store.TREE_LEVELS + 1) * thread_store.PLACE_DIGITS
    in_order = [place[post_id] for post_id in chain]
    assert in_order == sorted(in_order)  # the chain still reads in the order it was written


def test_the_room_for_replies_is_shared_out_evenly_and_a_short_thread_shows_whole():
    assert thread_pages.replies_shown([5, 0, 1, 3], 4) == [2, 0, 1, 1]
    assert thread_pages.replies_shown([9, 9, 9], 0) == [0, 0, 0]
    assert thread_pages.replies_shown([1] * 20, 10) == [1] * 10 + [0] * 10
    for counts in ([3, 0, 7], [10], [0, 0], [2, 2, 2, 2, 2]):
        assert thread_pages.replies_shown(counts, sum(counts)) == counts  # all fits: all shown
        assert sum(thread_pages.replies_shown(counts, sum(counts) - 1)) == sum(counts) - 1 or not sum(counts)


async def test_a_twenty_post_thread_of_any_shape_is_one_page(admin, anonymous, monkeypatch):
    """(with up to ten answers to the discussion itself, as 96% of the bench's threads have)"""
    monkeypatch.setattr(thread_pages, "ROOTS_PER_PAGE", 10)
    monkeypatch.setattr(thread_pages, "PAGE_POSTS", 25)
    monkeypatch.setattr(thread_pages, "POSTS_PER_PAGE", 20)
    group = await open_group(admin)
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Kort", "body": "0"}, expect=201)
    thread, ids = created["thread"]["id"], [created["post"]["id"]]
    for n in range(1, 20):  # a chain, a fan and roots mixed, as the bench's threads are
        parent = {"parent_id": ids[0] if n % 3 == 0 else ids[-1]} if n % 4 else {}
        ids.append((await admin.post(f"/api/v1/threads/{thread}/posts", {"body": str(n), **parent},
                                     expect=201))["post"]["id"])
    visitor = await anonymous()
    for url in (f"/threads/{thread}", f"/threads/{thread}?view=chronological"):
        page = await page_of(visitor, url)
        assert sorted(shown_ids(page)) == ids and "Pagina 1 van" not in page and "Nog " not in page


def test_the_pager_shows_the_pages_around_and_marks_a_gap():
    from forum.web.pages.threads import pager

    def numbers(number, count):
        page = thread_pages.PostsPage([], number, count)
        return [item and item[0] for item in pager(page, "/threads/1")["numbers"]]
    assert numbers(7, 20) == [1, None, 5, 6, 7, 8, 9, None, 20]
    assert numbers(4, 8) == [1, 2, 3, 4, 5, 6, 7, 8]  # a gap of one page shows that page
    assert numbers(1, 2) == [1, 2]
    assert pager(thread_pages.PostsPage([], 1, 1), "/threads/1") is None


async def test_the_other_view_and_a_reply_keep_the_readers_place(admin):
    thread, ids = await long_thread(admin)
    page = await page_of(admin, f"/threads/{thread}?page=2")
    assert f'href="/threads/{thread}?view=chronological&amp;post={ids["r4"]}#post-{ids["r4"]}">Toon op volgorde' in page
    assert "<title>Lang – pagina 2 van 3" in page
    page = await page_of(admin, f"/threads/{thread}?view=chronological&reply_to={ids['e']}")
    assert 'name="view" value="chronological"' in page and f'name="parent_id" value="{ids["e"]}"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = await admin.client.post(f"/threads/{thread}/reply", data={
        "csrf_token": csrf, "body": "in volgorde", "parent_id": str(ids["e"]), "view": "chronological"},
        allow_redirects=False)
    assert response.status == 303
    assert re.fullmatch(rf"/threads/{thread}\?view=chronological&post=(\d+)#post-\1", response.headers["Location"])
