"""The in-process caches never show what a write has changed: visitors' pages and session
lookups are valid only until the next commit (or, for a value that reads nothing of the
library, until the next commit outside it)."""
from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import aiohttp

from forum.db import AREAS
from forum.keys import page_cache_key, reader_page_cache_key, scheduler_key, services_key
from forum.security import token_hash
from forum.web.cookies import SESSION_COOKIE
from tests.conftest import open_group, quiet, table_names
from tests.test_documents import pdf, upload


async def test_visitor_pages_are_shared_but_never_stale(admin, make_user, anonymous, server):
    group = await open_group(admin)
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "eerste"},
                                expect=201))["thread"]["id"]
    one, two = await anonymous(), await anonymous()
    first = await one.client.get(f"/threads/{thread}")
    html = await first.text()
    assert "Set-Cookie" not in first.headers and "csrf_token" not in html  # nothing per visitor
    assert server.app[page_cache_key].get((f"/threads/{thread}", "nl")) is not None
    assert await (await two.client.get(f"/threads/{thread}")).text() == html
    await member.post(f"/api/v1/threads/{thread}/posts", {"body": "een verse reactie"}, expect=201)
    assert "een verse reactie" in await (await one.client.get(f"/threads/{thread}")).text()
    # language is part of the key
    english = await (await two.client.get(f"/threads/{thread}", headers={"Accept-Language": "en"})).text()
    assert 'lang="en"' in english
    # members never get a visitor's page
    mine = await (await member.client.get(f"/threads/{thread}")).text()
    assert "Bewerken" in mine and "csrf_token" in mine


async def test_a_page_rendered_across_a_write_is_not_kept(admin, server, svc):
    cache = server.app[page_cache_key]
    generation = svc.db.generation
    await admin.patch("/api/v1/me", {"display_name": "Nieuwe naam", "bio": "", "locale": "nl"})
    cache.put(("/x", "nl"), b"stale", generation)
    assert cache.get(("/x", "nl")) is None


async def test_cached_sessions_end_with_logout_and_suspension(admin, make_user):
    member = await make_user("Lid")
    await member.get("/api/v1/me")
    await member.get("/api/v1/me")  # now served from the session cache
    await admin.post(f"/api/v1/admin/users/{member.id}/suspend", {"reason": "test"})
    await member.get("/api/v1/me", expect=401)
    await admin.post(f"/api/v1/admin/users/{member.id}/unsuspend")
    await member.login()
    await member.get("/api/v1/me")
    await member.post("/api/v1/logout")
    await member.get("/api/v1/me", expect=401)


async def test_membership_changes_reach_a_cached_session_at_once(admin, make_user):
    group = await open_group(admin, "Besloten", "closed")
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await member.get(f"/api/v1/groups/{group['id']}/threads", expect=404)
    await admin.post(f"/api/v1/groups/{group['id']}/members/{member.id}/approve")
    await member.get(f"/api/v1/groups/{group['id']}/threads")
    await admin.delete(f"/api/v1/groups/{group['id']}/members/{member.id}", {"reason": "afgerond"})
    await member.get(f"/api/v1/groups/{group['id']}/threads", expect=404)


async def test_simultaneous_visitors_share_one_render(admin, anonymous, server, monkeypatch):
    from forum.web.pages import threads as thread_views
    group = await open_group(admin)
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"},
                               expect=201))["thread"]["id"]
    cache, visitors_in, renders = server.app[page_cache_key], asyncio.Event(), 0
    arrived, real_get = [], cache.get

    def counting_get(key, default=None, **counting):
        # past this lookup a visitor either renders or waits for the render, with no await between
        if key[0] == f"/threads/{thread}":
            arrived.append(key)
            if len(arrived) == 5:
                visitors_in.set()
        return real_get(key, default, **counting)

    original = thread_views.thread_pages.thread_page

    async def held_and_counted(*args, **kwargs):
        nonlocal renders
        renders += 1
        async with asyncio.timeout(10):
            await visitors_in.wait()  # every visitor is at the cache before this render ends
        return await original(*args, **kwargs)

    monkeypatch.setattr(cache, "get", counting_get)
    monkeypatch.setattr(thread_views.thread_pages, "thread_page", held_and_counted)
    visitors = [await anonymous() for _ in range(5)]

    async def visit(visitor):
        return await (await visitor.client.get(f"/threads/{thread}")).text()

    pages = await asyncio.gather(*[visit(v) for v in visitors])
    assert renders == 1 and len(set(pages)) == 1 and ">T</h1>" in pages[0]


async def test_read_cache_loads_once_for_simultaneous_misses_and_shares_failures(svc):
    calls, callers = 0, 10
    all_in = asyncio.Event()
    asked = 0

    async def ask(key, load):
        nonlocal asked
        asked += 1
        if asked == callers:
            all_in.set()  # the load resumes only after this caller, too, is waiting in get_or_load
        return await svc.reads.get_or_load(key, load)

    async def load():
        nonlocal calls
        calls += 1
        async with asyncio.timeout(10):
            await all_in.wait()
        return {"value": 1}

    results = await asyncio.gather(*[ask(("k",), load) for _ in range(callers)])
    assert calls == 1 and all(r == {"value": 1} for r in results)

    asked, all_in, callers = 0, asyncio.Event(), 3

    async def broken():
        nonlocal calls
        calls += 1
        async with asyncio.timeout(10):
            await all_in.wait()
        raise RuntimeError("disk")

    calls = 0
    outcomes = await asyncio.gather(*[ask(("b",), broken) for _ in range(callers)], return_exceptions=True)
    assert calls == 1 and all(isinstance(o, RuntimeError) for o in outcomes)
    assert svc.reads.get(("b",)) is None


async def _tables(conn) -> dict:
    found = {}
    for name in await table_names(conn):
        rows = await conn.execute_fetchall(f'SELECT * FROM "{name}"')
        found[name] = sorted(tuple(str(value) for value in row) for row in rows)
    return found


def _area_table(name: str) -> str:
    return "search_fts" if name.startswith("search_fts") else name  # the index's shadow tables are the index


async def test_writes_confined_to_the_library_change_nothing_outside_it(admin, make_user, server, svc, monkeypatch):
    """Cached thread pages and sessions outlive library writes only because those writes change
    nothing such a value reads: every confined write is checked, table by table, as it runs."""
    group = await open_group(admin)
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    real_write, outside = svc.db.write, []

    @asynccontextmanager
    async def checked_write(*, visible=True, only=None):
        async with real_write(visible=visible, only=only) as tx:
            before = await _tables(tx) if only else {}
            yield tx
            if only:
                after = await _tables(tx)
                changed = {_area_table(name) for name in before.keys() | after.keys()
                           if before.get(name) != after.get(name)}
                outside.append((only, changed))

    monkeypatch.setattr(svc.db, "write", checked_write)
    doc = await upload(member, group["id"], pdf("Rapport over de energietransitie"), "rapport.pdf")
    await server.app[scheduler_key].run_once()  # the words read out of the file: a confined write too
    response = await member.client.post(f"/api/v1/documents/{doc['id']}/versions", headers={"X-CSRF-Token": member.csrf},
                                        data=_file_form(pdf("Tweede versie"), "rapport-v2.pdf"))
    assert response.status == 201, await response.text()
    folder = (await member.post(f"/api/v1/groups/{group['id']}/folders", {"name": "Verslagen"}, expect=201))["folder"]
    await member.patch(f"/api/v1/documents/{doc['id']}", {"title": "Rapport", "folder_id": folder["id"]})
    await member.delete(f"/api/v1/documents/{doc['id']}")
    await member.patch(f"/api/v1/folders/{folder['id']}", {"name": "Oude verslagen"})
    await member.delete(f"/api/v1/folders/{folder['id']}")
    assert len(outside) >= 8 and any("documents" in changed for _, changed in outside)
    assert any("folders" in changed for _, changed in outside[-2:])
    for area, changed in outside:
        assert changed <= AREAS[area], (area, changed - AREAS[area])


def _file_form(content: bytes, filename: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("file", content, filename=filename, content_type="application/pdf")
    return data


async def test_a_thread_page_outlives_uploads_but_not_a_reply(admin, make_user, anonymous, server, svc):
    group = await open_group(admin)
    member = await make_user("Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    thread = (await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "eerste"},
                                expect=201))["thread"]["id"]
    await server.app[scheduler_key].run_once()  # the new thread's fan-out job is a write of its own
    visitor, cache = await anonymous(), server.app[page_cache_key]
    key, library_key = (f"/threads/{thread}", "nl"), (f"/groups/{group['id']}/documents", "nl")
    page = await (await visitor.client.get(key[0])).text()
    assert "rapport-nieuw" not in await (await visitor.client.get(library_key[0])).text()
    kept, generation = cache.get(key), svc.db.generation
    assert kept is not None
    await upload(member, group["id"], pdf("Rapport"), "rapport-nieuw.pdf")
    await server.app[scheduler_key].run_once()
    assert svc.db.generation > generation  # the upload did commit
    assert cache.get(key) is kept and await (await visitor.client.get(key[0])).text() == page
    # a page that shows the library is rendered afresh
    assert cache.get(library_key) is None
    assert "rapport-nieuw" in await (await visitor.client.get(library_key[0])).text()
    # and a write outside the library voids the thread page as before
    await member.post(f"/api/v1/threads/{thread}/posts", {"body": "een verse reactie"}, expect=201)
    assert cache.get(key) is None
    assert "een verse reactie" in await (await visitor.client.get(key[0])).text()


async def test_every_reader_sees_exactly_what_a_render_without_caches_shows(admin, make_user, anonymous, server,
                                                                             config, clock, aiohttp_client):
    # The same site served twice: by the app under test, its caches warm (pages, reads,
    # fragments, sessions), and by a second app on the same database that keeps nothing. Each
    # reader's page must be byte for byte what the cacheless render gives them, before and
    # after each kind of write; all writes go through the app under test, as its users' would.
    from dataclasses import replace
    from forum.app import create_app
    cacheless_app = create_app(replace(config, page_cache_entries=0, reader_page_cache_entries=0, read_cache_entries=0,
                                       fragment_cache_bytes=0),
                               clock=clock)
    cacheless = await aiohttp_client(cacheless_app)
    # only the app under test writes (the other's background work would write behind its back)
    await cacheless_app[scheduler_key].stop()
    await cacheless_app[services_key].mailer.stop()
    cacheless_app[services_key].sessions.max_entries = 0  # sessions too: each request reads its own
    await quiet(server.app)  # and its background work runs when told, between the comparisons
    moderator = await make_user("Moderator")
    author, member, banned = await make_user("Auteur"), await make_user("Lid"), await make_user("Verbannen")
    group = await open_group(admin)  # its owner
    for user in (moderator, author, member, banned):
        await user.post(f"/api/v1/groups/{group['id']}/join")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    created = await author.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Samen", "body": "Eerste woord"},
                                expect=201)
    thread = created["thread"]["id"]
    reply = (await member.post(f"/api/v1/threads/{thread}/posts", {"body": "Een reactie van een lid"},
                               expect=201))["post"]
    visitor = await anonymous()
    # the visitor first: the pages it leaves in the visitors' cache must reach none of the others
    readers = {"visitor": visitor, "admin": admin, "moderator": moderator, "author": author, "member": member,
               "banned": banned}
    pages = [f"/threads/{thread}", f"/threads/{thread}?view=chronological", f"/groups/{group['id']}", "/",
             "/groups", "/notifications"]

    async def compare(moment: str) -> None:
        await server.app[scheduler_key].run_once()  # the write's fan-out, as it would follow it
        kept = 0
        for name, reader in readers.items():
            cookies = {c.key: c.value for c in reader.client.session.cookie_jar}
            for page in pages:
                for _ in range(2):  # the second time from whatever the first one left in the caches
                    served = await reader.client.get(page, allow_redirects=False)
                    body = await served.text()
                if SESSION_COOKIE in cookies:
                    key = (token_hash(cookies[SESSION_COOKIE]), page, "nl")
                    kept += server.app[reader_page_cache_key].get(key) is not None
                async with cacheless.session.get(cacheless.make_url(page), cookies=cookies,
                                                 allow_redirects=False) as fresh:
                    expected = await fresh.text()
                    assert served.status == fresh.status, (moment, name, page)
                assert body == expected, (moment, name, page)
        assert kept >= 20, kept  # most of the logged-in readers' pages were answered from their copies

    await compare("at first")
    await member.post(f"/api/v1/threads/{thread}/posts", {"body": "Nog een reactie", "parent_id": reply["id"]},
                      expect=201)
    await compare("after a reply")
    await member.patch(f"/api/v1/posts/{reply['id']}", {"body": "Een bewerkte reactie"})
    await compare("after an edit")
    await author.post(f"/api/v1/posts/{reply['id']}/reports", {"reason": "spam"}, expect=201)
    (item,) = (await moderator.get(f"/api/v1/moderation/queue?group_id={group['id']}"))["items"]
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "hide", "reason": "reclame"})
    await compare("after a hide")
    await moderator.post(f"/api/v1/groups/{group['id']}/bans", {"user_id": banned.id, "reason": "gedrag"}, expect=201)
    await compare("after a ban")


async def test_a_kept_visitors_page_goes_gzipped_to_whoever_takes_gzip_and_plain_to_the_rest(admin, anonymous):
    import gzip

    group = await open_group(admin)
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Zip", "body": "woorden " * 200},
                               expect=201))["thread"]["id"]
    visitor = await anonymous()
    first = await visitor.client.get(f"/threads/{thread}", headers={"Accept-Encoding": "identity"})
    page = await first.read()  # rendered, and kept
    for asked, packed in (("gzip, deflate, br", True), ("br;q=1.0, gzip;q=0.5", True), ("identity", False),
                          ("gzip;q=0", False), ("*, gzip;q=0", False)):
        response = await visitor.client.get(f"/threads/{thread}", headers={"Accept-Encoding": asked},
                                            auto_decompress=False)
        raw = await response.read()
        assert response.headers.get("Content-Encoding") == ("gzip" if packed else None), asked
        assert response.headers["Vary"] == "Accept-Encoding"
        assert (gzip.decompress(raw) if packed else raw) == page, asked
        assert not packed or len(raw) < len(page) / 3
    # a logged-in reader's page is never one of these (it holds their form token)
    response = await admin.client.get(f"/threads/{thread}", auto_decompress=False)
    assert "Content-Encoding" not in response.headers and b'name="csrf_token"' in await response.read()


async def test_a_kept_visitors_page_is_answered_at_the_front_door_exactly_as_the_long_way_would(
        aiohttp_server, aiohttp_client, config, clock, caplog):
    """The front door (forum/web/page_cache.py open_front_door) answers before aiohttp routes the
    request: if aiohttp stopped calling it, kept pages would be routed again (this fails). Its
    answer carries the headers every answer gets, the access log names it like any other, and
    whoever has a session, or asks for anything but a kept page, is routed as before."""
    import dataclasses
    import logging

    from forum.app import create_app
    from forum.web.access_log import RedactingAccessLogger

    caplog.set_level(logging.INFO, logger="aiohttp.access")  # before the connection: it asks once
    app = create_app(dataclasses.replace(config, site_url="https://forum.example.nl"), clock=clock)
    server = await aiohttp_server(app, access_log_class=RedactingAccessLogger)
    routed = []
    resolve = app.router.resolve

    async def counting(request):
        routed.append(request.path)
        return await resolve(request)

    app.router.resolve = counting
    visitor = await aiohttp_client(server)
    rendered = await visitor.get("/")
    assert rendered.status == 200 and routed == ["/"]
    kept = await visitor.get("/")
    assert await kept.text() == await rendered.text()
    assert routed == ["/"]  # answered without routing
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Strict-Transport-Security",
                 "Content-Type", "Cache-Control"):
        assert kept.headers[name] == rendered.headers[name], name
    assert kept.headers["Vary"] == "Accept-Encoding" and kept.headers["Cache-Control"] == "no-cache"
    # its own id, like every answer (forum/web/request_info.py)
    assert kept.headers["X-Request-Id"] and kept.headers["X-Request-Id"] != rendered.headers["X-Request-Id"]
    # not kept, another method, the API, or a cookie of a session: routed
    await visitor.get("/?x=1")
    await visitor.head("/")
    await visitor.get("/api/v1/groups")
    await visitor.get("/", headers={"Cookie": "forum_session=whatever"})
    assert routed == ["/", "/", "/", "/api/v1/groups", "/"]
    await asyncio.sleep(0.05)  # a line is written once its answer has gone
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 6 and lines[1].startswith('127.0.0.1 "GET / HTTP/1.1" 200')  # the kept page's, like any


async def test_query_variants_of_a_large_page_cannot_fill_memory(admin, server, aiohttp_client, config):
    """Pages are kept per path as sent, query string and all: the cache is bounded in bytes as
    well as entries (attacker review: 2,000 variants of an 800 KB page grew a process to 1.7 GB)."""
    cache = server.app[page_cache_key]
    assert cache.max_bytes == config.page_cache_bytes == server.app[reader_page_cache_key].max_bytes
    cache.max_bytes = 300_000
    group = await open_group(admin)
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads",
                               {"title": "Groot", "body": "lange woorden " * 3000}, expect=201))["thread"]["id"]
    visitor = await aiohttp_client(server)
    for n in range(40):
        assert (await visitor.get(f"/threads/{thread}?v={n}")).status == 200
        assert cache.total_bytes <= 300_000
    kept = list(cache._entries)
    assert 2 <= len(kept) < 40 and (f"/threads/{thread}?v=39", "nl") in kept  # the newest stay
    assert cache.total_bytes == sum(entry[3] for entry in cache._entries.values())
    await admin.post(f"/api/v1/threads/{thread}/posts", {"body": "nieuw"}, expect=201)
    for key in kept:
        assert cache.get(key) is None  # stale after the write, and counted out
    assert cache.total_bytes == 0
