"""Search: accents, case and Dutch word forms; phrases and prefixes; only what the viewer may
read (decided inside the query, so the list agrees with the single-object API); escaped
snippets; bad input; the HTML page; the index changing in the same transaction as the content."""
from __future__ import annotations

import asyncio
import base64
from datetime import datetime
import json

import re
from urllib.parse import quote

import pytest

from forum.services import search, search_index, upkeep
from forum.store import insert_row
from tests.conftest import count, open_group, quiet, snapshot

FRYSLAN = 1  # the seeded open group "Noordoost Fryslân"


async def found(user, q: str, **params) -> list[tuple[str, int]]:
    query = "&".join(f"{key}={quote(str(value))}" for key, value in {"q": q, **params}.items())
    body = await user.get(f"/api/v1/search?{query}")
    return [(hit["type"], hit["id"]) for hit in body["results"]]


async def test_accents_case_and_dutch_word_forms(admin, anonymous):
    created = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                               {"title": "Samenwerking in Noordoost Fryslân",
                                "body": "De gemeenten in de regio werken samen aan de Waddenkust."}, expect=201)
    thread, post = ("thread", created["thread"]["id"]), ("post", created["post"]["id"])
    visitor = await anonymous()
    assert thread in await found(visitor, "fryslan samenwerkingen")  # as the issue asks
    assert thread in await found(visitor, "FRYSLÂN samenwerking")
    assert post in await found(visitor, "gemeente")                  # gemeenten ~ gemeente
    assert post in await found(visitor, "wADDENKUST")
    hits = (await visitor.get("/api/v1/search?q=fryslan+samenwerkingen"))["results"]
    first = next(hit for hit in hits if (hit["type"], hit["id"]) == thread)
    assert first["url"] == f"/threads/{thread[1]}" and first["group"] == {"id": FRYSLAN, "name": "Noordoost Fryslân"}
    assert "<mark>Fryslân</mark>" in first["snippet_html"] and "<mark>Samenwerking</mark>" in first["snippet_html"]
    assert ("group", FRYSLAN) in await found(visitor, "fryslan")      # the seeded groups are indexed at start
    assert await found(visitor, "fryslan samenwerkingen", type="post") == []


async def test_a_word_kept_for_prefixes_is_no_whole_word_hit(admin, anonymous):
    """The forms kept for prefixes ("wegen", stem "weeg") are no hit for a word whose stem they
    are ("wegens", stem "wegen"), and still reach a prefix."""
    roads = ("post", (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                                       {"title": "Onderhoud", "body": "De wegen zijn slecht onderhouden."},
                                       expect=201))["post"]["id"])
    visitor = await anonymous()
    assert roads not in await found(visitor, "wegens")
    assert roads in await found(visitor, "wegen")
    assert roads in await found(visitor, "onderhoude")  # the last word as a prefix of a marked form


async def test_plurals_with_an_apostrophe_are_the_word(admin, anonymous):
    """Dutch writes some plurals with an apostrophe: "regio's" is "regio" (it required a word "s" too)."""
    plain = (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kustregio", "body": "Eén foto van de regio."},
                              expect=201))["post"]["id"]
    plural = (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kustregio's",
                                                                      "body": "Foto’s uit de regio's."},
                               expect=201))["post"]["id"]
    visitor = await anonymous()
    for q in ("regio's", "foto's", "foto’s regio", "regio"):
        hits = await found(visitor, q, type="post")
        assert ("post", plain) in hits and ("post", plural) in hits, q
    hit = next(hit for hit in (await visitor.get("/api/v1/search?q=regio%27s&type=post"))["results"]
               if hit["id"] == plural)
    assert "<mark>regio</mark>" in hit["snippet_html"]


async def test_phrases_and_prefixes(admin, anonymous):
    created = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                               {"title": "Overleg", "body": "Het regionale energieloket opent in maart."}, expect=201)
    post = ("post", created["post"]["id"])
    visitor = await anonymous()
    assert post in await found(visitor, '"regionale energieloket"')
    assert post not in await found(visitor, '"energieloket regionale"')  # a phrase keeps its order
    assert post in await found(visitor, "regionale energiel")             # the last word while typing
    assert post not in await found(visitor, "energiel regionale")         # only the last one is a prefix
    assert post not in await found(visitor, "regionale energiel ")        # a space ends the word
    assert post in await found(visitor, 'maart "regionale energieloket')  # an unclosed quote: plain words


async def test_the_last_word_widens_as_a_prefix_only_when_whole_words_fall_short(admin, anonymous):
    loket = (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Wadloket", "body": "Het wadloket opent."},
                              expect=201))["post"]["id"]
    visitor = await anonymous()
    assert ("post", loket) in await found(visitor, "wadlo")  # nothing whole: the word as typed so far
    assert "Wadloket" in [hit["title"] for hit in (await visitor.get("/api/v1/search?q=wadlo&type=thread"))["results"]]
    for n in range(21):  # a page and more of the whole word
        await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": f"Wadlo {n}", "body": "x"}, expect=201)
    seen, cursor = [], None
    while True:
        page = await visitor.get("/api/v1/search?q=wadlo&type=thread" + (f"&cursor={cursor}" if cursor else ""))
        seen += [hit["title"] for hit in page["results"]]
        cursor = page["next"]
        if not cursor:
            break
    assert len(seen) == 21 and "Wadloket" not in seen  # every page keeps to whole words


@pytest.fixture
async def scene(admin, make_user, anonymous, server):
    """An open, a closed and a hidden group, with content that may and may not be found by
    each actor: every searchable text holds the word "zonnepanelen"."""
    member, outsider, author = await make_user("Lid Zon"), await make_user("Buiten Zon"), await make_user("Schrijver")
    groups = {}
    for visibility in ("open", "closed", "hidden"):
        groups[visibility] = (await open_group(admin, f"Zonnegroep {visibility}", visibility))["id"]
        await admin.patch(f"/api/v1/groups/{groups[visibility]}",
                          {"name": f"Zonnegroep {visibility}", "visibility": visibility,
                           "description": "Alles over zonnepanelen"})
    await member.post(f"/api/v1/groups/{groups['closed']}/join")
    await admin.post(f"/api/v1/groups/{groups['closed']}/members/{member.id}/approve")
    await admin.post(f"/api/v1/groups/{groups['hidden']}/invitations", {"user_id": member.id}, expect=201)
    await member.post(f"/api/v1/groups/{groups['hidden']}/join")
    await author.post(f"/api/v1/groups/{groups['open']}/join")

    async def thread(group: str, title: str, by=admin):
        made = await by.post(f"/api/v1/groups/{groups[group]}/threads", {"title": title, "body": f"{title} tekst"},
                             expect=201)
        return made["thread"]["id"], made["post"]["id"]

    shown = {name: await thread(name, f"Zonnepanelen {name}") for name in groups}
    open_thread = shown["open"][0]
    deleted = (await author.post(f"/api/v1/threads/{open_thread}/posts", {"body": "zonnepanelen weg"}, expect=201))
    await author.delete(f"/api/v1/posts/{deleted['post']['id']}")
    hidden = await author.post(f"/api/v1/threads/{open_thread}/posts", {"body": "zonnepanelen verborgen"}, expect=201)
    await member.post(f"/api/v1/posts/{hidden['post']['id']}/reports", {"reason": "spam"}, expect=201)
    item = (await admin.get("/api/v1/moderation/queue"))["items"][0]["id"]
    await admin.post(f"/api/v1/moderation/queue/{item}/resolve", {"action": "hide", "reason": "reclame"})
    removed = await thread("open", "Zonnepanelen verdwenen")
    await admin.delete(f"/api/v1/threads/{removed[0]}")
    moved = await thread("open", "Zonnepanelen verhuisd")
    await admin.patch(f"/api/v1/threads/{moved[0]}", {"group_id": groups["hidden"]})
    await author.patch("/api/v1/me", {"display_name": "Schrijver", "bio": "Ik leg zonnepanelen aan."})
    suspended = await make_user("Geschorst")
    await suspended.patch("/api/v1/me", {"display_name": "Geschorst", "bio": "Ook zonnepanelen."})
    await admin.post(f"/api/v1/admin/users/{suspended.id}/suspend", {"reason": "spam"})
    await quiet(server.app)
    return {"groups": groups, "shown": shown, "moved": moved, "removed": removed, "author": author,
            "gone_posts": {deleted["post"]["id"], hidden["post"]["id"]}, "suspended": suspended.id,
            "actors": {"visitor": await anonymous(), "outsider": outsider, "member": member, "admin": admin}}


def expected(scene, who: str) -> set[tuple[str, int]]:
    groups, shown = scene["groups"], scene["shown"]
    readable = {"visitor": ["open"], "outsider": ["open"], "member": list(groups), "admin": list(groups)}[who]
    visible = {"visitor": ["open"], "outsider": ["open", "closed"], "member": list(groups), "admin": list(groups)}[who]
    # people, as the directory: for who is logged in (names stand beside public posts, not in a list)
    hits = {("user", scene["author"].id)} if who != "visitor" else set()
    hits |= {("group", groups[name]) for name in visible}
    for name in readable:
        hits |= {("thread", shown[name][0]), ("post", shown[name][1])}
    if "hidden" in readable:  # the moved thread is found only by those who read its new group
        hits |= {("thread", scene["moved"][0]), ("post", scene["moved"][1])}
    return hits


@pytest.mark.parametrize("who", ["visitor", "outsider", "member", "admin"])
async def test_search_finds_only_what_the_viewer_may_read(scene, who):
    user = scene["actors"][who]
    hits = await found(user, "zonnepanelen")
    assert len(hits) == len(set(hits))
    assert set(hits) == expected(scene, who)
    # the list agrees with the single-object API for every result
    paths = {"thread": "/api/v1/threads/", "post": "/api/v1/posts/", "group": "/api/v1/groups/", "user": "/api/v1/users/"}
    for kind, ident in hits:
        await user.get(f"{paths[kind]}{ident}")
    # and what it does not list is refused there too, or was never findable by anyone
    for kind, ident in [("thread", scene["removed"][0]), *[("post", p) for p in scene["gone_posts"]]]:
        assert (kind, ident) not in hits
    assert ("user", scene["suspended"]) not in hits
    # filters narrow within what may be read, never widen it
    assert set(await found(user, "zonnepanelen", group_id=scene["groups"]["hidden"])) == \
        {hit for hit in expected(scene, who) if hit[0] != "user"} & set(
            await found(scene["actors"]["admin"], "zonnepanelen", group_id=scene["groups"]["hidden"]))
    assert set(await found(user, "zonnepanelen", type="group")) == {h for h in expected(scene, who) if h[0] == "group"}
    by_author = await found(user, "zonnepanelen", author_id=scene["author"].id)
    assert by_author == []  # the author's posts here are deleted or hidden; people have no author


async def test_removed_words_leave_the_index_in_the_same_transaction(scene, svc):
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT kind, object_id FROM search_docs WHERE (kind = 'post' AND object_id IN (?, ?))"
            " OR (kind IN ('thread', 'post') AND object_id IN (?, ?))",
            (*scene["gone_posts"], *scene["removed"]))
    assert list(rows) == []
    admin = scene["actors"]["admin"]
    thread_id, post_id = scene["shown"]["open"]
    assert ("post", post_id) in await found(admin, "zonnepanelen")
    await admin.delete(f"/api/v1/threads/{thread_id}")  # the very next search no longer finds it
    hits = await found(admin, "zonnepanelen")
    assert ("thread", thread_id) not in hits and ("post", post_id) not in hits
    await admin.patch(f"/api/v1/threads/{scene['shown']['closed'][0]}", {"title": "Windmolens"})
    assert ("thread", scene["shown"]["closed"][0]) in await found(admin, "windmolen")


async def test_snippets_escape_user_text_and_only_add_mark(admin, anonymous):
    title = '<script>alert(1)</script> zonnepanelen "><img src=x onerror=alert(1)>'
    body = 'Tekst <mark>nep</mark> "><img src=x onerror=alert(2)> over zonnepanelen & <b>meer</b>'
    await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": title, "body": body}, expect=201)
    visitor = await anonymous()
    results = (await visitor.get("/api/v1/search?q=zonnepanelen"))["results"]
    assert {hit["type"] for hit in results} == {"thread", "post"}
    for hit in results:
        html = hit["snippet_html"]
        assert set(re.findall(r"<[^>]*>", html)) == {"<mark>", "</mark>"}, html
        assert "<mark>zonnepanelen</mark>" in html
    post = next(hit for hit in results if hit["type"] == "post")["snippet_html"]
    assert "nep&lt;/mark&gt;" in post and "&lt;img src=x onerror=alert(2)&gt;" in post
    page = await (await visitor.client.get("/search?q=zonnepanelen")).text()
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "&lt;script&gt;alert(1)" in page


@pytest.mark.parametrize("query, field", [
    ("", "q"), ("q=", "q"), ("q=%20%20", "q"), ("q=" + "a" * 501, "q"), ('q=%22*%3A-()%5E%22', "q"),
    ("q=zon&type=article", "type"), ("q=zon&sort=best", "sort"), ("q=zon&from=2026-13-01", "from"),
    ("q=zon&to=gisteren", "to"), ("q=zon&from=2026-12-02&to=2026-12-01", "to"), ("q=zon&group_id=abc", "group_id"),
    ("q=zon&author_id=-1", "author_id"), ("q=zon&cursor=abc.def", "cursor"), ("q=zon&cursor=%00%FF", "cursor"),
    ("q=" + "+".join(f"w{n}" for n in range(11)), "q"),            # more words than one search may ask
    ("q=" + quote('"een twee drie vier vijf zes zeven"'), "q"),       # a phrase of seven words
    ("q=zon&to=9999-12-31", "to"),
])
async def test_bad_input_names_the_field_and_changes_nothing(anonymous, svc, query, field):
    visitor = await anonymous()
    before = await snapshot(svc)
    body = await visitor.get(f"/api/v1/search?{query}", expect=422)
    assert field in body["error"]["fields"], body
    assert await snapshot(svc) == before


@pytest.mark.parametrize("q", ['NEAR(zon wind)', "zon OR wind", "zon AND NOT wind", '"zon', "-zon*", "title:zon",
                               "^zon", "zon)", "(zon", "zon NEAR/2 wind", "{title}: zon", "*", "zon\x00", "🙂 zon"])
async def test_fts_syntax_typed_by_users_is_plain_words(admin, anonymous, q):
    await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "zon", "body": "x"}, expect=201)
    visitor = await anonymous()
    response = await visitor.client.get("/api/v1/search", params={"q": q})
    assert response.status in (200, 422), await response.text()
    if q.strip("*") and response.status == 200:
        assert "results" in await response.json()


async def test_cursor_pages_are_disjoint_and_tamper_proof(admin, anonymous, clock):
    for n in range(25):
        clock.advance(minutes=1)
        await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": f"Fietspad {n}", "body": "fietspad"},
                         expect=201)
    visitor = await anonymous()
    for sort in ("relevance", "date"):
        first = await visitor.get(f"/api/v1/search?q=fietspad&type=thread&sort={sort}")
        assert len(first["results"]) == 20 and first["next"]
        second = await visitor.get(f"/api/v1/search?q=fietspad&type=thread&sort={sort}&cursor={first['next']}")
        ids = [hit["id"] for hit in first["results"] + second["results"]]
        assert len(ids) == 25 and len(set(ids)) == 25 and second["next"] is None
        if sort == "date":
            dates = [hit["created_at"] for hit in first["results"] + second["results"]]
            assert dates == sorted(dates, reverse=True)
        payload, _, signature = first["next"].partition(".")
        tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
        body = await visitor.get(f"/api/v1/search?q=fietspad&type=thread&sort={sort}&cursor={tampered}", expect=422)
        assert "cursor" in body["error"]["fields"]
        # a cursor belongs to its own query, and to its own viewer
        await visitor.get(f"/api/v1/search?q=fietspaden&type=thread&sort={sort}&cursor={first['next']}", expect=422)
        await admin.get(f"/api/v1/search?q=fietspad&type=thread&sort={sort}&cursor={first['next']}", expect=422)
        # what a cursor carries: by relevance only an offset (bm25 scores count words where the
        # viewer may not read), by date the last visible hit
        key = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        assert key == [20, False] if sort == "relevance" else len(key) == 2


async def test_the_search_page_with_and_without_results(admin, anonymous):
    await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                     {"title": "Samenwerking in Noordoost Fryslân", "body": "Over de Waddenkust."}, expect=201)
    visitor = await anonymous()
    home = await (await visitor.client.get("/")).text()
    assert 'role="search"' in home and 'action="/search"' in home
    empty_form = await visitor.client.get("/search")
    assert empty_form.status == 200 and "Geen resultaten gevonden" not in await empty_form.text()
    page = await (await visitor.client.get("/search?q=fryslan+samenwerkingen")).text()
    assert "Samenwerking in Noordoost Fryslân" in page and "<mark>" in page
    assert "Resultaten voor “fryslan samenwerkingen”" in page
    assert '<p class="meta">Discussie' in page  # one of each, where the filter names them in the plural
    post_page = await (await visitor.client.get("/search?q=waddenkust")).text()
    assert '<p class="meta">Bericht in een discussie' in post_page
    assert 'value="fryslan samenwerkingen"' in page
    nothing = await visitor.client.get("/search?q=onvindbaarwoord&type=post&from=2026-01-01")
    text = await nothing.text()
    assert nothing.status == 200 and "Geen resultaten gevonden" in text
    assert 'value="onvindbaarwoord"' in text and 'value="post" selected' in text and 'value="2026-01-01"' in text
    assert "vanaf vier letters" not in text
    typing = await (await visitor.client.get("/search?q=onvindbaarwoord+wad")).text()
    assert "Geen resultaten gevonden" in typing and "vanaf vier letters" in typing  # "wad" is no prefix yet
    assert "haal een of meer filters weg" in text
    wrong = await visitor.client.get("/search?q=zon&from=2026-12-02&to=2026-12-01")
    assert wrong.status == 422 and "De einddatum ligt voor de begindatum." in await wrong.text()
    english = await visitor.client.get("/search?q=onvindbaarwoord", cookies={"lang": "en"})
    assert english.status == 200


async def test_content_from_before_search_is_indexed_once_at_start(admin, anonymous, svc):
    created = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Dijkversterking", "body": "x"},
                               expect=201)
    async with svc.db.write() as tx:  # as a database made before search existed
        await tx.execute("DELETE FROM search_docs")
        await tx.execute("DELETE FROM search_fts")
        await tx.execute("DELETE FROM site_settings WHERE key = 'search_indexed'")
    visitor = await anonymous()
    assert await found(visitor, "dijkversterking") == []
    assert await upkeep.index_for_search(svc) > 0
    assert ("thread", created["thread"]["id"]) in await found(visitor, "dijkversterking")
    before = await count(svc, "search_docs")
    assert await upkeep.index_for_search(svc) == 0 and await count(svc, "search_docs") == before


async def add_news(svc, title: str, *, author_id: int, visibility: str = "public", group_id: int | None = None,
                   published: bool = True, withdrawn: bool = False, tags=(), comment: str = "") -> dict:
    """A news item written straight into the tables (as forum/services/news.py will), with its
    comment thread (removed while the item is not shown) and the index calls it makes."""
    shown = published and not withdrawn
    async with svc.db.write() as tx:
        now = svc.now()
        if group_id is None:
            home = (await tx.execute_fetchall("SELECT id FROM groups WHERE kind = 'site' AND visibility = ?",
                                              ("members" if visibility == "members" else "public",)))[0][0]
        else:
            home = group_id
        thread_id = await insert_row(tx,
            "INSERT INTO threads (group_id, author_id, title, created_at, last_activity_at, deleted_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (home, author_id, title, now, now, None if shown else now))
        news_id = await insert_row(tx,
            "INSERT INTO news (group_id, thread_id, author_id, title, summary, body, body_html, kind, visibility,"
            " publish_at, published_at, unpublished_at, created_at) VALUES (?, ?, ?, ?, ?, ?, '', 'news', ?, ?, ?, ?, ?)"
            " RETURNING id",
            (group_id, thread_id, author_id, title, f"{title} in het kort", f"Over {title}.", visibility,
             now if published else "2999-01-01T00:00:00.000000Z",  # not due: the scheduler leaves it be
             now if published else None, now if withdrawn else None, now))
        await tx.execute("UPDATE threads SET news_id = ? WHERE id = ?", (news_id, thread_id))
        await tx.executemany("INSERT INTO news_tags (news_id, tag) VALUES (?, ?)", [(news_id, tag) for tag in tags])
        post_id = None
        if comment:
            post_id = await insert_row(tx,
                "INSERT INTO posts (thread_id, author_id, body, body_html, created_at) VALUES (?, ?, ?, '', ?)"
                " RETURNING id", (thread_id, author_id, comment, now))
            await search_index.index_post(tx, post_id)
        await search_index.index_thread(tx, thread_id)
        await search_index.index_news(tx, news_id)
    return {"id": news_id, "thread_id": thread_id, "post_id": post_id}


@pytest.fixture
async def news_scene(admin, make_user, anonymous, svc):
    """News of every audience and state, each holding the word "waddenfonds"; a closed group
    with one member."""
    member, insider = await make_user("Lid Wad"), await make_user("Binnen Wad")
    closed = (await open_group(admin, "Wadgroep dicht", "closed"))["id"]
    await insider.post(f"/api/v1/groups/{closed}/join")
    await admin.post(f"/api/v1/groups/{closed}/members/{insider.id}/approve")
    items = {
        "public": await add_news(svc, "Waddenfonds open", author_id=admin.id, tags=["kust"],
                                 comment="Mooi nieuws over het waddenfonds"),
        "members": await add_news(svc, "Waddenfonds leden", author_id=admin.id, visibility="members"),
        "scheduled": await add_news(svc, "Waddenfonds morgen", author_id=admin.id, published=False,
                                    comment="waddenfonds vooraf"),
        "withdrawn": await add_news(svc, "Waddenfonds ingetrokken", author_id=admin.id, withdrawn=True),
        "closed": await add_news(svc, "Waddenfonds groep", author_id=admin.id, visibility="group", group_id=closed),
    }
    return {"items": items, "closed": closed,
            "actors": {"visitor": await anonymous(), "member": member, "insider": insider, "admin": admin}}


@pytest.mark.parametrize("who, readable", [
    ("visitor", {"public"}), ("member", {"public", "members"}), ("insider", {"public", "members", "closed"}),
    ("admin", {"public", "members", "closed"}),  # not drafts, not withdrawn: they are no finds, for anyone
])
async def test_news_is_found_only_by_its_audience_and_only_while_published(news_scene, who, readable):
    user, items = news_scene["actors"][who], news_scene["items"]
    hits = await found(user, "waddenfonds")
    assert {hit for hit in hits if hit[0] == "news"} == {("news", items[name]["id"]) for name in readable}
    assert set(await found(user, "waddenfonds", type="news")) == {("news", items[name]["id"]) for name in readable}
    # comments of a shown item are found as posts; the comment thread itself is no hit, and the
    # comments of an item not shown are not found
    assert ("post", items["public"]["post_id"]) in hits and ("post", items["scheduled"]["post_id"]) not in hits
    assert not {hit for hit in hits if hit[0] == "thread"}
    assert set(await found(user, "waddenfonds", group_id=news_scene["closed"])) == \
        ({("news", items["closed"]["id"])} if "closed" in readable else set())


async def test_news_results_link_to_the_news_page(news_scene, svc):
    visitor, item = news_scene["actors"]["visitor"], news_scene["items"]["public"]
    results = {(hit["type"], hit["id"]): hit for hit in (await visitor.get("/api/v1/search?q=waddenfonds"))["results"]}
    news = results[("news", item["id"])]
    assert news["url"] == f"/news/{item['id']}" and news["group"] is None and news["title"] == "Waddenfonds open"
    assert "<mark>Waddenfonds</mark>" in news["snippet_html"]
    comment = results[("post", item["post_id"])]
    assert comment["url"] == f"/news/{item['id']}?post={item['post_id']}#post-{item['post_id']}"
    assert comment["group"] is None  # the site's own group for news comments has no page
    assert ("news", item["id"]) in await found(visitor, "kust")  # a tag finds it
    page = await (await visitor.client.get("/search?q=waddenfonds&type=news")).text()
    assert f'href="/news/{item["id"]}"' in page and 'value="news" selected' in page


async def test_withdrawing_and_republishing_news_takes_its_comments_along(news_scene, svc):
    visitor, item = news_scene["actors"]["visitor"], news_scene["items"]["public"]
    async with svc.db.write() as tx:  # as the news service withdraws an item
        await tx.execute("UPDATE news SET unpublished_at = ? WHERE id = ?", (svc.now(), item["id"]))
        await tx.execute("UPDATE threads SET deleted_at = ? WHERE id = ?", (svc.now(), item["thread_id"]))
        await search_index.index_thread(tx, item["thread_id"])
        await search_index.index_news(tx, item["id"])
    assert not {hit for hit in await found(visitor, "waddenfonds") if hit in {
        ("news", item["id"]), ("post", item["post_id"])}}
    async with svc.db.write() as tx:
        await tx.execute("UPDATE news SET unpublished_at = NULL, title = 'Waddenfonds terug' WHERE id = ?",
                         (item["id"],))
        await tx.execute("UPDATE threads SET deleted_at = NULL WHERE id = ?", (item["thread_id"],))
        await search_index.index_thread(tx, item["thread_id"])
        await search_index.index_news(tx, item["id"])
    hits = await found(visitor, "waddenfonds terug")
    assert ("news", item["id"]) in hits
    assert ("post", item["post_id"]) in await found(visitor, "waddenfonds")
    async with svc.db.write() as tx:  # a deleted item leaves the index
        await tx.execute("DELETE FROM news_tags WHERE news_id = ?", (item["id"],))
        await tx.execute("UPDATE threads SET news_id = NULL, deleted_at = ? WHERE id = ?", (svc.now(), item["thread_id"]))
        await tx.execute("DELETE FROM news WHERE id = ?", (item["id"],))
        await search_index.index_news(tx, item["id"])
        await search_index.index_thread(tx, item["thread_id"])
    assert ("news", item["id"]) not in await found(visitor, "waddenfonds terug")
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT 1 FROM search_docs WHERE kind = 'news' AND object_id = ?",
                                           (item["id"],))
    assert list(rows) == []


async def test_site_pages_are_found_by_everyone_and_leave_with_them(admin, anonymous):
    for slug in ("voorwaarden", "privacy", "toegankelijkheid", "contact"):  # the starting pages: this test writes its own
        await admin.delete(f"/api/v1/pages/{slug}")
    await admin.post("/api/v1/pages", {"slug": "privacy", "title": "Privacyverklaring",
                                       "body": "Wij bewaren uw gegevens zorgvuldig.", "menu": "footer",
                                       "menu_order": 1}, expect=201)
    visitor = await anonymous()
    hits = (await visitor.get("/api/v1/search?q=gegeven&type=page"))["results"]
    assert [(hit["type"], hit["url"], hit["title"]) for hit in hits] == [("page", "/pages/privacy", "Privacyverklaring")]
    await admin.patch("/api/v1/pages/privacy", {"body": "Wij bewaren niets."})
    assert await found(visitor, "gegevens") == [] and len(await found(visitor, "privacyverklaring bewaren")) == 1
    await admin.delete("/api/v1/pages/privacy")
    assert await found(visitor, "privacyverklaring") == []


async def test_date_filters_and_date_order_follow_when_things_were_written(admin, anonymous, clock):
    made = {}
    for day in ("2026-12-01", "2026-12-02", "2026-12-03"):
        clock.moment = datetime.fromisoformat(f"{day}T23:59:30+00:00")  # the last minute of the day
        made[day] = (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                                      {"title": "Dijkgraaf", "body": "x"}, expect=201))["thread"]["id"]
    visitor = await anonymous()
    assert await found(visitor, "dijkgraaf", type="thread", sort="date") == [("thread", made[d]) for d in
                                                                             ("2026-12-03", "2026-12-02", "2026-12-01")]
    assert await found(visitor, "dijkgraaf", type="thread", **{"from": "2026-12-02", "to": "2026-12-02"}) == \
        [("thread", made["2026-12-02"])]
    assert await found(visitor, "dijkgraaf", type="thread", **{"from": "2026-12-02"}, sort="date") == \
        [("thread", made["2026-12-03"]), ("thread", made["2026-12-02"])]
    assert await found(visitor, "dijkgraaf", type="thread", to="2026-12-01") == [("thread", made["2026-12-01"])]


async def test_relevance_ranks_readable_candidates_only(admin, anonymous, monkeypatch):
    """Only the newest CANDIDATES matches are ranked; matches the viewer may not read never take
    a place among them (the policy's filter runs inside the scan), so a visitor still gets
    every place filled with what they may read."""
    monkeypatch.setattr(search.store, "CANDIDATES", 3)
    closed = (await open_group(admin, "Dichte dijkgroep", "closed"))["id"]
    readable = [(await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kwelder", "body": "x"},
                                  expect=201))["thread"]["id"] for _ in range(4)]
    for _ in range(5):  # newer, and not for visitors
        await admin.post(f"/api/v1/groups/{closed}/threads", {"title": "Kwelder", "body": "x"}, expect=201)
    visitor = await anonymous()
    first = await visitor.get("/api/v1/search?q=kwelder&type=thread")
    assert [hit["id"] for hit in first["results"]] == readable[:0:-1] and first["next"] is None
    assert len(await found(admin, "kwelder", type="thread")) == 3


def test_ids_are_ordered_by_minute_and_a_full_minute_spills_over():
    base = search.store.minute_key("2026-12-01T10:00:59.999999Z")
    assert base == search.store.minute_key("2026-12-01T10:00:00Z") < search.store.minute_key("2026-12-01T10:01:00Z")
    assert search.store.minute_key("2026-12-01T10:00:00") == base  # no zone: UTC
    slots = 1 << search.store.SLOT_BITS
    taken = {base: base + slots - 2}
    assert search.store.assign_ids([base, base, base], taken) == [base + slots - 1, base + slots, base + slots + 1]
    assert search.store.assign_ids([base - slots], taken) == [base - slots]


async def test_news_published_later_takes_its_place_by_date(news_scene, svc, clock):
    visitor, item = news_scene["actors"]["visitor"], news_scene["items"]["scheduled"]
    clock.advance(days=2)
    later = svc.now()
    before = await visitor.get("/api/v1/search?q=waddenfonds&sort=date")
    assert ("news", item["id"]) not in [(hit["type"], hit["id"]) for hit in before["results"]]  # not yet out
    async with svc.db.write() as tx:  # as the scheduler publishes it
        await tx.execute("UPDATE news SET published_at = ?, publish_at = ? WHERE id = ?", (later, later, item["id"]))
        await tx.execute("UPDATE threads SET deleted_at = NULL WHERE id = ?", (item["thread_id"],))
        await search_index.index_thread(tx, item["thread_id"])
        await search_index.index_news(tx, item["id"])
    hits = await visitor.get("/api/v1/search?q=waddenfonds&sort=date")
    # first by date: it counts from its publication, two days after it and the others were written
    assert (hits["results"][0]["type"], hits["results"][0]["id"]) == ("news", item["id"])
    assert hits["results"][0]["created_at"] == later


async def test_a_word_asked_for_twice_costs_once(admin, anonymous):
    created = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Dijk", "body": "De dijk houdt."},
                               expect=201)
    visitor = await anonymous()
    many = " ".join(["dijk"] * 60)  # one word sixty times: one term, not a 422 and not sixty scans
    assert ("thread", created["thread"]["id"]) in await found(visitor, many)


async def test_new_posts_are_indexed_after_their_commit_and_found_by_the_next_search(admin, anonymous, server, svc):
    """Posting does not wait for the index: a new post's entry is written after its commit (by
    the scheduler, here stopped), and a search first writes what waits, so it misses nothing
    committed before it."""
    await quiet(server.app)
    made = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads",
                            {"title": "Kwelderherstel", "body": "Samenwerkingen rond de kwelders"}, expect=201)
    reply = await admin.post(f"/api/v1/threads/{made['thread']['id']}/posts",
                             {"body": "De gemeenten werken samen aan kwelderherstel."}, expect=201)
    assert await count(svc, "search_queue") == 2
    async with svc.db.read() as conn:
        assert await conn.execute_fetchall("SELECT 1 FROM search_docs WHERE kind = 'post' AND object_id IN (?, ?)",
                                           (made["post"]["id"], reply["post"]["id"])) == []
    visitor = await anonymous()
    assert ("post", reply["post"]["id"]) in await found(visitor, "kwelderherstel")
    assert await count(svc, "search_queue") == 0
    assert ("post", made["post"]["id"]) in await found(visitor, "kwelders")


async def test_a_post_removed_hidden_or_moved_before_its_entry_is_written(admin, anonymous, make_user, server, svc):
    await quiet(server.app)
    closed = (await open_group(admin, "Dichte kweldergroep", "closed"))["id"]
    member = await make_user("Lid Kwelder")
    await member.post(f"/api/v1/groups/{FRYSLAN}/join")
    made = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Slibvang", "body": "slibvang"},
                            expect=201)
    thread_id = made["thread"]["id"]
    removed = (await member.post(f"/api/v1/threads/{thread_id}/posts", {"body": "slibvang weg"}, expect=201))["post"]
    hidden = (await member.post(f"/api/v1/threads/{thread_id}/posts", {"body": "slibvang reclame"},
                                expect=201))["post"]
    kept = (await member.post(f"/api/v1/threads/{thread_id}/posts", {"body": "slibvang blijft"}, expect=201))["post"]
    await member.delete(f"/api/v1/posts/{removed['id']}")
    await admin.post(f"/api/v1/posts/{hidden['id']}/reports", {"reason": "spam"}, expect=201)
    item = (await admin.get("/api/v1/moderation/queue"))["items"][0]["id"]
    await admin.post(f"/api/v1/moderation/queue/{item}/resolve", {"action": "hide", "reason": "reclame"})
    await admin.patch(f"/api/v1/threads/{thread_id}", {"group_id": closed})
    assert await count(svc, "search_queue") == 4
    assert await search_index.index_queued(svc) == 4
    hits = await found(admin, "slibvang", type="post")
    assert ("post", kept["id"]) in hits and ("post", made["post"]["id"]) in hits
    assert ("post", removed["id"]) not in hits and ("post", hidden["id"]) not in hits
    async with svc.db.read() as conn:
        groups = {row[0] for row in await conn.execute_fetchall(
            "SELECT group_id FROM search_docs WHERE kind = 'post' AND object_id IN (?, ?)",
            (kept["id"], made["post"]["id"]))}
    assert groups == {closed}  # found only through the group it is in now
    assert await found(await anonymous(), "slibvang", type="post") == []


async def test_a_queue_left_by_an_earlier_run_is_written_before_the_first_search(admin, anonymous, server, svc):
    await quiet(server.app)
    made = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Zoutwinning", "body": "zoutwinning"},
                            expect=201)
    svc.search_queued = False  # as a new process sees it: it knows nothing of the queue yet ...
    assert ("post", made["post"]["id"]) not in await found(await anonymous(), "zoutwinning")
    svc.search_queued = True  # ... but starts believing there may be one
    assert ("post", made["post"]["id"]) in await found(await anonymous(), "zoutwinning")


async def test_filters_by_a_group_chosen_from_a_list_and_an_author_by_username(admin, anonymous, make_user):
    hidden = (await open_group(admin, "Verborgen kwelderoverleg", "hidden"))["id"]
    closed = (await open_group(admin, "Besloten kwelderoverleg", "closed"))["id"]
    writer = await make_user("Schrijver Kwelder")
    await writer.patch("/api/v1/me", {"display_name": "Schrijver Kwelder", "handle": "schrijver-kwelder"})
    await writer.post(f"/api/v1/groups/{FRYSLAN}/join")
    theirs = (await writer.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kwelderwerk", "body": "kwelderwerk"},
                                expect=201))["post"]["id"]
    others = (await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kwelderwerk ook", "body": "kwelderwerk"},
                               expect=201))["post"]["id"]
    visitor = await anonymous()
    form = await (await visitor.client.get("/search")).text()
    assert f'<option value="{FRYSLAN}">Noordoost Fryslân</option>' in form
    assert "Verborgen kwelderoverleg" not in form and f'value="{hidden}"' not in form  # only groups the viewer sees
    for author in ("schrijver-kwelder", "@Schrijver-Kwelder"):
        hits = await found(visitor, "kwelderwerk", type="post", author=author)
        assert ("post", theirs) in hits and ("post", others) not in hits, author
    page = await (await visitor.client.get("/search?q=kwelderwerk&author=schrijver-kwelder")).text()
    assert "/threads/" in page and 'value="schrijver-kwelder"' in page
    # a visitor learns no one's existence from it: a handle that is nobody's finds nothing, as
    # one of someone who wrote nothing here does (attacker review); who is logged in is told
    silent = await make_user("Stille Lezer")
    await silent.patch("/api/v1/me", {"display_name": "Stille Lezer", "handle": "stille-lezer"})
    for handle in ("niemand-hier", "stille-lezer"):
        assert (await visitor.get(f"/api/v1/search?q=kwelderwerk&author={handle}"))["results"] == []
        assert (await visitor.client.get(f"/search?q=kwelderwerk&author={handle}")).status == 200
    body = await writer.get("/api/v1/search?q=kwelderwerk&author=niemand-hier", expect=422)
    assert "author" in body["error"]["fields"]
    body = await visitor.get("/api/v1/search?q=kwelderwerk&author=Geen%20naam!", expect=422)  # no handle's form
    assert "author" in body["error"]["fields"]
    unknown = await writer.client.get("/search?q=kwelderwerk&author=niemand-hier")
    assert unknown.status == 422 and 'aria-invalid="true"' in await unknown.text()
    profile = await (await admin.client.get(f"/users/{writer.id}")).text()
    assert "@schrijver-kwelder" in profile and "/search?author=schrijver-kwelder" in profile
    # following that link: the form, the author filled in, asking for the one thing missing
    linked = await visitor.client.get("/search?author=schrijver-kwelder")
    text = await linked.text()
    assert linked.status == 200 and 'value="schrijver-kwelder"' in text and "Geef een zoekterm op." in text
    # a name typed in the form wins over an id left in the URL
    hits = await found(visitor, "kwelderwerk", type="post", author="schrijver-kwelder", author_id=1)
    assert ("post", theirs) in hits and ("post", others) not in hits
    # the group choice offers what the viewer reads: a closed group's content is not for a stranger
    stranger_form = await (await writer.client.get("/search")).text()
    assert f'value="{FRYSLAN}"' in stranger_form and f'value="{closed}"' not in stranger_form
    assert f'value="{closed}"' in await (await admin.client.get("/search")).text()


def test_snippets_show_the_words_not_the_markdown():
    query = search.parse({"q": "samenwerkingen"})
    markdown = "# Regio\nDe provincie steunt **samenwerkingen** met [gemeenten](https://x.nl)."
    html = search.snippet_html(search.plain_text(markdown), query)
    assert "**" not in html and "](" not in html and "#" not in html
    assert "<mark>samenwerkingen</mark> met gemeenten" in html


def test_snippets_keep_only_ordinary_words_between_searches():
    """Folded words are kept between snippets, but not long ones (a post may be one word of
    50,000 characters; 50,000 of those would be gigabytes)."""
    query = search.parse({"q": "kwelder"})
    before = search._normal_kept.cache_info().currsize
    search.snippet_html("kwelder " + "𠀀" * 5_000 + " " + "x" * 3_000, query)
    assert search._normal_kept.cache_info().currsize - before <= 1  # at most "kwelder" itself
    assert "<mark>kwelder</mark>" in search.snippet_html("Een kwelder", query)


async def test_an_author_filter_confirms_only_profiles_the_viewer_may_see(admin, anonymous, make_user):
    suspended = await make_user("Geschorste Schrijver")
    await suspended.patch("/api/v1/me", {"display_name": "Geschorste Schrijver", "handle": "geschorste-schrijver"})
    await admin.post(f"/api/v1/admin/users/{suspended.id}/suspend", {"reason": "spam"})
    member = await make_user("Lid")
    gone = await member.get("/api/v1/search?q=kwelder&author=geschorste-schrijver", expect=422)
    nobody = await member.get("/api/v1/search?q=kwelder&author=niemand-hier", expect=422)
    assert gone["error"]["fields"] == nobody["error"]["fields"]  # the same answer as for no one at all
    visitor = await anonymous()  # a visitor: nothing found, for both
    for handle in ("geschorste-schrijver", "niemand-hier"):
        assert (await visitor.get(f"/api/v1/search?q=kwelder&author={handle}"))["results"] == []
    await admin.get("/api/v1/search?q=kwelder&author=geschorste-schrijver")  # admins see the profile


async def test_searches_arriving_together_write_the_queue_once(admin, anonymous, server, svc, monkeypatch):
    await quiet(server.app)
    made = await admin.post(f"/api/v1/groups/{FRYSLAN}/threads", {"title": "Kweldergras", "body": "kweldergras"},
                            expect=201)
    writes = []
    original = svc.db.write

    def counted(**kwargs):
        writes.append(kwargs)
        return original(**kwargs)
    monkeypatch.setattr(svc.db, "write", counted)
    visitors = [await anonymous() for _ in range(6)]
    results = await asyncio.gather(*(found(visitor, "kweldergras") for visitor in visitors))
    assert all(("post", made["post"]["id"]) in hits for hits in results)
    assert len(writes) == 1  # the first search wrote the queue; the others waited for it
