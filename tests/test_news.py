"""News: editors publish the site's news, a group's moderators their group's; each item is read
by exactly its audience (list and single item agree), appears at its publish time with its
notifications, keeps its revisions, and is commented on in an ordinary thread that disappears
with it (from the page, the search and the live replay) when it is withdrawn."""
from __future__ import annotations

import json
import re

import pytest

from forum.keys import scheduler_key
from tests.conftest import open_group, snapshot
from tests.test_live import next_frame, watch
from tests.test_pages import csrf_of


async def make_editor(admin, make_user, name="Eva Redacteur"):
    editor = await make_user(name)
    await admin.patch(f"/api/v1/admin/users/{editor.id}", {"role": "editor"})
    await editor.login()  # a new session carries the new role
    return editor


async def publish(user, expect=201, **fields):
    body = {"title": "Regiodeal Noordoost Fryslân", "body": "De **regiodeal** is rond.", **fields}
    answer = await user.post("/api/v1/news", body, expect=expect)
    return answer.get("news")


async def news_ids(user, query: str = "") -> set[int]:
    ids, cursor = set(), None
    while True:
        page = await user.get(f"/api/v1/news?{query}" + (f"&cursor={cursor}" if cursor else ""))
        ids |= {item["id"] for item in page["news"]}
        cursor = page["next"]
        if not cursor:
            return ids


async def page(user, path: str, status: int = 200) -> str:
    response = await user.client.get(path)
    assert response.status == status, (path, response.status)
    return await response.text()


async def moderated_group(admin, moderator, name: str, visibility: str = "open") -> dict:
    group = await open_group(admin, name, visibility=visibility)
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": moderator.id}, expect=201)
    await moderator.post(f"/api/v1/groups/{group['id']}/join")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    return group


@pytest.fixture
async def world(admin, make_user, anonymous, clock, server):
    """Every kind of item and every kind of reader."""
    editor = await make_editor(admin, make_user)
    moderator = await make_user("Mo Moderator")
    member_of_closed = await make_user("Carla Binnen")
    member = await make_user("Lid Zonder Groep")
    closed = await moderated_group(admin, moderator, "Besloten werkgroep", visibility="closed")
    opened = await moderated_group(admin, moderator, "Open werkgroep")
    await moderator.post(f"/api/v1/groups/{closed['id']}/invitations", {"user_id": member_of_closed.id}, expect=201)
    await member_of_closed.post(f"/api/v1/groups/{closed['id']}/join")
    items = {
        "public": await publish(editor, title="Openbaar nieuws"),
        "members": await publish(editor, title="Ledennieuws", visibility="members"),
        "open_group": await publish(moderator, title="Nieuws open groep", group_id=opened["id"]),
        "closed_group": await publish(moderator, title="Nieuws besloten groep", group_id=closed["id"]),
        "scheduled": await publish(editor, title="Morgen", publish_at="2026-11-29T10:00"),
        "withdrawn": await publish(editor, title="Ingetrokken"),
    }
    await editor.patch(f"/api/v1/news/{items['withdrawn']['id']}", {"published": False})
    await server.app[scheduler_key].run_once()  # the followers are told now, not during a test's snapshot
    return {"items": items, "closed": closed, "open": opened, "actors": {
        "visitor": await anonymous(), "member": member, "member_of_closed": member_of_closed,
        "moderator": moderator, "editor": editor, "admin": admin}}


READS = {
    "visitor": {"public", "open_group"},
    "member": {"public", "members", "open_group"},
    "member_of_closed": {"public", "members", "open_group", "closed_group"},
    "moderator": {"public", "members", "open_group", "closed_group"},
    # editors see what they may edit, scheduled and withdrawn too
    "editor": {"public", "members", "open_group", "scheduled", "withdrawn"},
    "admin": {"public", "members", "open_group", "closed_group", "scheduled", "withdrawn"},
}


@pytest.mark.parametrize("who", sorted(READS))
async def test_each_reader_lists_exactly_what_they_may_open(world, who):
    user, items = world["actors"][who], world["items"]
    expected = {items[name]["id"] for name in READS[who]}
    assert await news_ids(user) == expected
    for name, item in items.items():  # the single-item check agrees with the list, item by item
        await user.get(f"/api/v1/news/{item['id']}", expect=200 if name in READS[who] else 404)
        await page(user, f"/news/{item['id']}", 200 if name in READS[who] else 404)
    index = await page(user, "/news")
    for name, item in items.items():
        assert (f'href="/news/{item["id"]}"' in index) == (name in READS[who]), name


async def test_who_may_publish_where(world, make_user):
    actors, closed, opened = world["actors"], world["closed"], world["open"]
    await publish(actors["member"], expect=403)                                 # site news: editors only
    await publish(actors["member_of_closed"], expect=403, group_id=closed["id"])  # a member, no moderator
    await publish(actors["member"], expect=404, group_id=closed["id"])          # cannot even see the group
    await publish(actors["visitor"], expect=401)
    await publish(actors["moderator"], expect=403)                             # no site news for moderators
    # an editor does not moderate a group by that alone
    await publish(actors["editor"], expect=403, group_id=opened["id"])
    await publish(actors["admin"], group_id=closed["id"])
    item = world["items"]["open_group"]
    await actors["member"].patch(f"/api/v1/news/{item['id']}", {"title": "Gekaapt"}, expect=403)
    await actors["editor"].patch(f"/api/v1/news/{world['items']['closed_group']['id']}", {"title": "x"}, expect=404)


async def test_comments_are_a_thread_with_replies_mentions_and_live_updates(world, server):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    item = world["items"]["public"]
    ws = await member.client.ws_connect("/api/v1/live")
    await watch(ws, f"thread:{item['thread_id']}")
    first = (await member.post(f"/api/v1/threads/{item['thread_id']}/posts",
                               {"body": "Mooi werk, @eva-redacteur"}, expect=201))["post"]
    event = await next_frame(ws, "event", "post.created")
    assert event["data"]["post"]["id"] == first["id"]
    await editor.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "Dank!", "parent_id": first["id"]},
                      expect=201)
    await server.app[scheduler_key].run_once()
    notes = (await editor.get("/api/v1/notifications?unread=1"))["notifications"]
    assert [n["kind"] for n in notes] == ["mention"]
    html = await page(member, f"/news/{item['id']}")
    assert "Mooi werk" in html and "Dank!" in html and f'action="/threads/{item["thread_id"]}/reply#reply"' in html
    assert (await member.get(f"/api/v1/news/{item['id']}"))["news"]["comment_count"] == 2
    # the comment thread's own address leads to the item, and it is no discussion of a group
    response = await member.client.get(f"/threads/{item['thread_id']}?view=chronological", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == f"/news/{item['id']}?view=chronological"
    home = await page(member, "/")
    assert "Openbaar nieuws" in home
    recent = home[home.index('id="recent-h"'):]
    assert f"/threads/{item['thread_id']}" not in recent
    await editor.patch(f"/api/v1/threads/{item['thread_id']}", {"title": "Andere titel"}, expect=422)
    # a comment posted through the page's form lands back on the item's page
    form = await page(member, f"/news/{item['id']}")
    response = await member.client.post(f"/threads/{item['thread_id']}/reply",
                                        data={"csrf_token": csrf_of(form), "body": "Via het formulier"},
                                        allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith(f"/news/{item['id']}?post=")
    response = await member.client.post(f"/threads/{item['thread_id']}/reply",
                                        data={"csrf_token": csrf_of(form), "body": "  "})
    assert response.status == 422 and "<h1 id=\"news-title\">Openbaar nieuws</h1>" in await response.text()
    await ws.close()


async def test_scheduled_news_appears_and_notifies_at_its_time(admin, make_user, server, clock):
    moderator = await make_user("Mo Moderator")
    follower = await make_user("Fien Volger")
    group = await moderated_group(admin, moderator, "Werkgroep Wonen")
    await follower.post(f"/api/v1/groups/{group['id']}/join")
    await follower.put(f"/api/v1/groups/{group['id']}/subscription", {"level": "new_threads"})
    # clock: 2026-11-28 09:00 UTC = 10:00 in Amsterdam; this is an hour later, Dutch time
    item = await publish(moderator, group_id=group["id"], title="Woondeal getekend", publish_at="2026-11-28T11:00")
    assert item["state"] == "scheduled" and item["publish_at"].startswith("2026-11-28T10:00:00")
    await follower.get(f"/api/v1/news/{item['id']}", expect=404)
    await follower.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "te vroeg"}, expect=404)
    await server.app[scheduler_key].run_once()
    assert (await follower.get("/api/v1/notifications?unread=1"))["notifications"] == []
    assert "Woondeal" not in await page(follower, f"/groups/{group['id']}")
    clock.advance(minutes=61)
    await server.app[scheduler_key].run_once()
    assert (await follower.get(f"/api/v1/news/{item['id']}"))["news"]["state"] == "published"
    notes = (await follower.get("/api/v1/notifications?unread=1"))["notifications"]
    assert [n["kind"] for n in notes] == ["news"] and "Woondeal getekend" in notes[0]["text"]
    assert "Woondeal getekend" in await page(follower, f"/groups/{group['id']}")
    await follower.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "nu wel"}, expect=201)


async def test_withdrawn_news_leaves_page_comments_search_and_live_replay(world, server):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    item = world["items"]["members"]
    comment = (await member.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "Zuiderzeelijn geheim"},
                                 expect=201))["post"]
    assert (await member.get("/api/v1/search?q=zuiderzeelijn"))["results"]
    assert (await member.get("/api/v1/search?q=ledennieuws&type=news"))["results"]
    await editor.patch(f"/api/v1/news/{item['id']}", {"published": False})
    await member.get(f"/api/v1/news/{item['id']}", expect=404)
    await member.get(f"/api/v1/posts/{comment['id']}", expect=404)
    await member.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "nog eentje"}, expect=404)
    assert (await member.get("/api/v1/search?q=zuiderzeelijn"))["results"] == []
    assert (await member.get("/api/v1/search?q=ledennieuws"))["results"] == []
    await page(member, f"/news/{item['id']}", 404)
    # a socket catching up from the start replays nothing of it
    ws = await member.client.ws_connect("/api/v1/live")
    await ws.send_json({"type": "subscribe", "channels": ["members", "site"], "last_event_id": 0})
    frames = []
    while True:
        frame = await next_frame(ws)
        if frame["type"] == "subscribed":
            break
        frames.append(frame)
    replay = json.dumps(frames)
    assert "Ledennieuws" not in replay and "Zuiderzeelijn" not in replay
    # put back: the item, its comment and its search entries return
    await editor.patch(f"/api/v1/news/{item['id']}", {"published": True})
    assert (await member.get(f"/api/v1/news/{item['id']}"))["news"]["state"] == "published"
    assert "Zuiderzeelijn geheim" in (await member.get(f"/api/v1/posts/{comment['id']}"))["post"]["body_html"]
    assert (await member.get("/api/v1/search?q=zuiderzeelijn"))["results"]
    await ws.close()


async def test_news_arrives_live_for_its_audience_only(world, anonymous):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    visitor = await anonymous()
    member_ws = await member.client.ws_connect("/api/v1/live")
    await watch(member_ws, "site", "members")
    visitor_ws = await visitor.client.ws_connect("/api/v1/live")
    await visitor_ws.send_json({"type": "subscribe", "channels": ["members"]})
    refused = await next_frame(visitor_ws)
    assert refused["type"] == "error"
    await watch(visitor_ws, "site")
    await publish(editor, title="Alleen voor leden", visibility="members")
    await publish(editor, title="Voor iedereen")
    got = await next_frame(member_ws, "event", "news.published")
    assert got["data"]["news"]["title"] == "Alleen voor leden"
    got = await next_frame(visitor_ws, "event", "news.published")
    assert got["data"]["news"]["title"] == "Voor iedereen"  # the members' item never reached it
    await member_ws.close()
    await visitor_ws.close()


async def test_edits_keep_revisions_and_a_visibility_change_follows_the_new_audience(world):
    editor, member, visitor = world["actors"]["editor"], world["actors"]["member"], world["actors"]["visitor"]
    item = world["items"]["public"]
    await editor.patch(f"/api/v1/news/{item['id']}", {"title": "Nieuwe titel", "body": "Nieuwe *tekst*",
                                                      "tags": ["Energie", "wonen"], "kind": "interview"})
    revisions = (await visitor.get(f"/api/v1/news/{item['id']}/revisions"))["revisions"]
    assert [r["title"] for r in revisions] == ["Openbaar nieuws"]
    now = (await visitor.get(f"/api/v1/news/{item['id']}"))["news"]
    assert now["title"] == "Nieuwe titel" and now["tags"] == ["energie", "wonen"] and now["kind"] == "interview"
    assert "<em>tekst</em>" in now["body_html"]
    html = await page(visitor, f"/news/{item['id']}/revisions")
    assert "Openbaar nieuws" in html and "<strong>regiodeal</strong>" in html
    assert item["id"] in await news_ids(visitor, "tag=energie")
    assert item["id"] in await news_ids(visitor, "kind=interview")
    assert item["id"] not in await news_ids(visitor, "kind=report")
    await editor.patch(f"/api/v1/news/{item['id']}", {"visibility": "members"})
    await visitor.get(f"/api/v1/news/{item['id']}", expect=404)
    assert (await member.get(f"/api/v1/news/{item['id']}"))["news"]["visibility"] == "members"


XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


async def test_hostile_titles_summaries_tags_and_bodies_stay_text(world):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    item = await publish(editor, title=f"Kop {XSS}", summary=f"Samenvatting {XSS}", tags=["<b>vet</b>"],
                         body=f"Tekst {XSS} [klik](javascript:alert(3))")
    for path in (f"/news/{item['id']}", "/news", "/", "/news?tag=%3Cb%3Evet%3C/b%3E"):
        html = await page(member, path)
        assert not re.search(r"<script>alert|<img[^>]*onerror|href=\"javascript", html), path
    html = await page(member, f"/news/{item['id']}")
    assert "Kop &lt;script&gt;" in html and "&lt;b&gt;vet&lt;/b&gt;" in html


@pytest.mark.parametrize("fields, field", [
    ({"kind": "roddel"}, "kind"),
    ({"tags": ["x" * 41]}, "tags"),
    ({"tags": [f"t{n}" for n in range(11)]}, "tags"),
    ({"publish_at": "morgen"}, "publish_at"),
    ({"publish_at": "2026-13-01T10:00"}, "publish_at"),
    ({"visibility": "group"}, "visibility"),
    ({"visibility": "geheim"}, "visibility"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"body": ""}, "body"),
    ({"summary": "x" * 501}, "summary"),
])
async def test_bad_fields_are_named_and_change_nothing(admin, svc, fields, field):
    before = await snapshot(svc)
    body = await publish(admin, expect=422, **fields)
    assert body is None
    answer = await admin.post("/api/v1/news", {"title": "t", "body": "b", **fields}, expect=422)
    assert field in answer["error"]["fields"], answer
    assert await snapshot(svc) == before


async def test_wrong_types_unknown_ids_and_bad_queries(world, svc):
    editor = world["actors"]["editor"]
    before = await snapshot(svc)
    for body in ({"title": 5, "body": "b"}, {"title": "t", "body": "b", "tags": "a,b"},
                 {"title": "t", "body": "b", "group_id": "3"}, {"title": ["t"], "body": "b"}):
        await editor.post("/api/v1/news", body, expect=422)
    response = await editor.client.post("/api/v1/news", data="{niet json", headers={
        "X-CSRF-Token": editor.csrf, "Content-Type": "application/json"})
    assert response.status == 400
    await editor.post("/api/v1/news", {"title": "t", "body": "b", "group_id": 999999}, expect=404)
    await editor.get("/api/v1/news/999999", expect=404)
    await editor.patch("/api/v1/news/999999", {"title": "x"}, expect=404)
    await editor.patch(f"/api/v1/news/{world['items']['public']['id']}", {"published": "ja"}, expect=422)
    await editor.delete("/api/v1/news/999999", expect=404)
    await editor.get("/api/v1/news?kind=roddel", expect=422)
    await editor.get("/api/v1/news?group_id=abc", expect=422)
    await editor.get("/api/v1/news?cursor=rommel", expect=400)
    await editor.get("/api/v1/news/abc", expect=404)
    assert (await editor.client.get("/news?kind=roddel")).status == 422
    assert (await editor.client.get("/news/abc")).status == 404
    assert await snapshot(svc) == before


async def test_an_editor_works_through_the_forms(world, clock):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    form = await page(editor, "/news/new")
    assert 'type="datetime-local"' in form and 'value="site"' in form
    response = await editor.client.post("/news/new", data={
        "csrf_token": csrf_of(form), "where": "site", "title": "", "body": "Alleen tekst", "kind": "report",
        "tags": "energie, wonen", "visibility": "members", "publish_at": ""})
    assert response.status == 422
    kept = await response.text()
    assert "Alleen tekst" in kept and 'value="energie, wonen"' in kept and 'id="e-title"' in kept
    response = await editor.client.post("/news/new", data={
        "csrf_token": csrf_of(form), "where": "site", "title": "Verslag werkconferentie", "body": "Alleen tekst",
        "kind": "report", "tags": "energie, wonen", "visibility": "members", "publish_at": "2026-12-01T09:30"})
    news_id = int(re.search(r"/news/(\d+)$", str(response.url)).group(1))
    html = await response.text()
    assert "Gepland" in html and "Reageren kan zodra het bericht is gepubliceerd." in html
    item = (await editor.get(f"/api/v1/news/{news_id}"))["news"]
    assert item["publish_at"].startswith("2026-12-01T08:30:00") and item["tags"] == ["energie", "wonen"]
    await member.get(f"/api/v1/news/{news_id}", expect=404)
    edit = await page(editor, f"/news/{news_id}/edit")
    assert 'value="2026-12-01T09:30"' in edit  # shown again in Dutch time
    response = await editor.client.post(f"/news/{news_id}/edit", data={
        "csrf_token": csrf_of(edit), "title": "Verslag werkconferentie", "body": "Alleen tekst", "kind": "report",
        "tags": "energie", "visibility": "members", "publish_at": "2026-11-28T09:00"})  # already past: out now
    assert response.status == 200
    assert (await member.get(f"/api/v1/news/{news_id}"))["news"]["state"] == "published"
    html = await page(editor, f"/news/{news_id}")
    response = await editor.client.post(f"/news/{news_id}/state", data={"csrf_token": csrf_of(html),
                                                                         "action": "withdraw"})
    assert "Teruggetrokken" in await response.text()
    await member.get(f"/api/v1/news/{news_id}", expect=404)
    response = await editor.client.post(f"/news/{news_id}/state", data={"csrf_token": csrf_of(html),
                                                                         "action": "delete"})
    assert response.status == 422  # without the confirmation page's yes nothing is deleted
    confirm = await page(editor, f"/news/{news_id}/delete")
    response = await editor.client.post(f"/news/{news_id}/state", data={
        "csrf_token": csrf_of(confirm), "action": "delete", "confirm": "yes"})
    assert str(response.url).endswith("/news?deleted=1")
    assert "Het bericht is verwijderd." in await response.text()
    await editor.get(f"/api/v1/news/{news_id}", expect=404)
    # the member may not reach the form at all
    assert (await member.client.get("/news/new")).status == 403
    assert (await member.client.get(f"/news/{world['items']['public']['id']}/edit")).status == 403


async def test_index_filters_and_pages(world):
    editor, visitor = world["actors"]["editor"], world["actors"]["visitor"]
    for n in range(25):
        await publish(editor, title=f"Bericht {n:02d}", kind="blog" if n % 5 == 0 else "news",
                      tags=["reeks"] if n % 2 else [])
    html = await page(visitor, "/news")
    assert html.count('class="news-entry"') == 20 and 'rel="next"' in html
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    second = await page(visitor, next_url)
    assert second.count('class="news-entry"') == 7  # 25 + public + open group's, minus the first 20
    blogs = await page(visitor, "/news?kind=blog")
    assert blogs.count('class="news-entry"') == 5
    assert (await page(visitor, "/news?tag=reeks")).count('class="news-entry"') == 12
    empty = await page(visitor, "/news?tag=bestaatniet")
    assert "Geen nieuws met deze keuze." in empty and 'value="bestaatniet"' in empty and "Alle filters wissen" in empty
    group_page = await page(visitor, f"/news?group_id={world['open']['id']}")
    assert group_page.count('class="news-entry"') == 1 and "Nieuws open groep" in group_page
    group_html = await page(visitor, f"/groups/{world['open']['id']}")
    assert "Nieuws open groep" in group_html


async def test_atom_feeds_carry_public_news_and_open_groups_only(world, anonymous):
    import feedparser
    editor, moderator = world["actors"]["editor"], world["actors"]["moderator"]
    await publish(editor, title="Kop met <tags> & tekens", summary="Kort", body="**Vet** nieuws")
    await moderator.post(f"/api/v1/groups/{world['open']['id']}/threads", {"title": "Nieuwe vraag", "body": "Wie?"},
                         expect=201)
    # a reader that sends the editor's cookie still gets the public feed: nothing personal in it
    response = await editor.client.get("/feeds/news.atom")
    assert response.status == 200 and response.headers["Content-Type"].startswith("application/atom+xml")
    assert "public" in response.headers["Cache-Control"]
    feed = feedparser.parse(await response.read())
    assert not feed.bozo, feed.bozo_exception
    titles = [entry.title for entry in feed.entries]
    assert titles == ["Kop met <tags> & tekens", "Openbaar nieuws"]  # no members', scheduled or group news
    assert feed.entries[0].link == "http://127.0.0.1:8080/news/" + str(max(world["items"][n]["id"]
                                                                           for n in world["items"]) + 1)
    assert "<strong>Vet</strong>" in feed.entries[0].content[0].value
    # what RFC 4287 requires of a feed and of each entry
    assert feed.version == "atom10" and feed.feed.id and feed.feed.title and feed.feed.updated_parsed
    assert any(link.rel == "self" for link in feed.feed.links)
    for entry in feed.entries:
        assert entry.id and entry.title and entry.updated_parsed and entry.link and entry.author
    visitor = await anonymous()
    group_feed = feedparser.parse(await (await visitor.client.get(f"/feeds/groups/{world['open']['id']}.atom")).read())
    assert not group_feed.bozo
    assert [entry.title for entry in group_feed.entries] == ["Discussie: Nieuwe vraag", "Nieuws open groep"]
    assert all(entry.id and entry.updated_parsed for entry in group_feed.entries)
    for path in (f"/feeds/groups/{world['closed']['id']}.atom", "/feeds/groups/999999.atom", "/feeds/groups/x.atom"):
        assert (await editor.client.get(path)).status == 404, path  # closed groups have no feed, for anyone
    home = await page(visitor, "/")
    assert 'type="application/atom+xml"' in home and 'href="/feeds/news.atom"' in home


async def test_putting_back_or_widening_tells_nobody_twice(world, server):
    editor, member = world["actors"]["editor"], world["actors"]["member"]
    item = await publish(editor, title="Vermelding", body="Voor @lid-zonder-groep", visibility="members")
    await server.app[scheduler_key].run_once()
    told = lambda notes: [n for n in notes if "Vermelding" in n["text"]]  # noqa: E731
    assert len(told((await member.get("/api/v1/notifications"))["notifications"])) == 1
    for change in ({"published": False}, {"published": True}, {"visibility": "public"}, {"visibility": "members"}):
        await editor.patch(f"/api/v1/news/{item['id']}", change)
    await server.app[scheduler_key].run_once()
    assert len(told((await member.get("/api/v1/notifications"))["notifications"])) == 1


async def test_drafts_stay_out_of_the_history_and_ids_are_never_reused(world):
    editor, visitor = world["actors"]["editor"], world["actors"]["visitor"]
    item = await publish(editor, title="Embargo", body="CONCEPT met interne cijfers", publish_at="2026-11-28T11:00")
    await editor.patch(f"/api/v1/news/{item['id']}", {"body": "Definitieve tekst"})
    await editor.patch(f"/api/v1/news/{item['id']}", {"publish_at": "2026-11-28T09:00"})  # out now
    assert (await visitor.get(f"/api/v1/news/{item['id']}/revisions"))["revisions"] == []
    await editor.patch(f"/api/v1/news/{item['id']}", {"body": "Gecorrigeerde tekst"})
    assert [r["body_html"] for r in (await visitor.get(f"/api/v1/news/{item['id']}/revisions"))["revisions"]] == \
        ["<p>Definitieve tekst</p>\n"]
    await editor.delete(f"/api/v1/news/{item['id']}")
    await visitor.get(f"/api/v1/news/{item['id']}/revisions", expect=404)
    again = await publish(editor, title="Na het verwijderen")
    assert again["id"] > item["id"]


async def test_site_groups_are_no_groups_to_anyone(world, svc):
    from forum.store import news as news_store
    admin, editor, visitor = world["actors"]["admin"], world["actors"]["editor"], world["actors"]["visitor"]
    async with svc.db.read() as conn:
        site_groups = await news_store.site_group_ids(conn)
    before = await snapshot(svc)
    for group_id in site_groups:
        for user in (admin, editor, visitor):
            await user.get(f"/api/v1/groups/{group_id}", expect=404)
            await user.get(f"/api/v1/groups/{group_id}/members", expect=404)
            await user.get(f"/api/v1/groups/{group_id}/threads", expect=404)
            assert (await user.client.get(f"/groups/{group_id}")).status == 404
            assert (await user.client.get(f"/feeds/groups/{group_id}.atom")).status == 404
        await admin.patch(f"/api/v1/groups/{group_id}", {"name": "Overgenomen", "visibility": "open",
                                                          "description": ""}, expect=404)
        await editor.post(f"/api/v1/groups/{group_id}/bans", {"user_id": world["actors"]["member"].id, "reason": "spam"}, expect=404)
        await editor.post(f"/api/v1/groups/{group_id}/invitations", {"user_id": world["actors"]["member"].id},
                          expect=404)
        await editor.post(f"/api/v1/groups/{group_id}/threads", {"title": "t", "body": "b"}, expect=404)
    assert await snapshot(svc) == before


async def test_editors_handle_reports_on_site_news_comments(world):
    editor, member, other = world["actors"]["editor"], world["actors"]["member"], world["actors"]["member_of_closed"]
    item = world["items"]["public"]
    post = (await member.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "Koop nu!"}, expect=201))["post"]
    await other.post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam"}, expect=201)
    queue = (await editor.get("/api/v1/moderation/queue"))["items"]
    assert [entry["post"]["id"] for entry in queue] == [post["id"]]
    await editor.post(f"/api/v1/moderation/queue/{queue[0]['id']}/resolve", {"action": "hide", "reason": "reclame"})
    html = await page(other, f"/news/{item['id']}")
    assert "Koop nu!" not in html
    # the comment thread of a withdrawn item: its open reports still resolve without an error
    post2 = (await member.post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "Nog eens"}, expect=201))["post"]
    await other.post(f"/api/v1/posts/{post2['id']}/reports", {"reason": "spam"}, expect=201)
    await editor.patch(f"/api/v1/news/{item['id']}", {"published": False})
    queue = (await editor.get("/api/v1/moderation/queue"))["items"]
    await editor.post(f"/api/v1/moderation/queue/{queue[0]['id']}/resolve", {"action": "delete", "reason": "spam"})


async def test_odd_ids_times_and_characters_get_answers_not_errors(world, svc):
    editor, moderator = world["actors"]["editor"], world["actors"]["moderator"]
    for moment in ("0001-01-01T00:00", "0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "1999-12-31T23:00"):
        answer = await editor.post("/api/v1/news", {"title": "t", "body": "b", "publish_at": moment}, expect=422)
        assert "publish_at" in answer["error"]["fields"]
    await editor.post("/api/v1/news", {"title": "t", "body": "b", "group_id": 2**70}, expect=422)
    for path, status in (("/news?group_id=²", 422), ("/news/²", 404), ("/feeds/groups/².atom", 404),
                         ("/threads/²", 404), (f"/news/{world['items']['public']['id']}?reply_to=²", 200)):
        assert (await editor.client.get(path)).status == status, path
    await editor.get("/api/v1/news?group_id=²", expect=422)
    await editor.get("/api/v1/news/²", expect=404)
    # characters XML cannot carry do not take a feed down
    opened = world["open"]["id"]
    await moderator.post(f"/api/v1/groups/{opened}/threads", {"title": "Vraag\ufffe", "body": "Tekst\ufffe\x01"},
                         expect=201)
    import feedparser
    feed = feedparser.parse(await (await editor.client.get(f"/feeds/groups/{opened}.atom")).read())
    assert not feed.bozo and feed.entries[0].title == "Discussie: Vraag"
    # a group whose news thread has no comments yet can be marked read
    await moderator.post(f"/api/v1/groups/{opened}/read")
