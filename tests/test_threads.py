"""Discussions: who may start and reply, nested replies of any depth, both views, edits with
revisions, tombstones, safe Markdown, and keyset pagination of the thread list."""
from __future__ import annotations

import re

from tests.conftest import count, open_group


async def _group_with_members(admin, make_user, visibility="open"):
    group = await open_group(admin, visibility=visibility)
    member = await make_user("Jan de Vries")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    if visibility != "open":
        await admin.post(f"/api/v1/groups/{group['id']}/members/{member.id}/approve")
    return group, member


async def test_members_start_threads_and_outsiders_do_not(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    outsider = await make_user("Buiten")
    created = await member.post(f"/api/v1/groups/{group['id']}/threads",
                                {"title": "Regiodeal", "body": "Wie **doet** mee?"}, expect=201)
    assert created["thread"]["title"] == "Regiodeal"
    assert created["post"]["body_html"] == "<p>Wie <strong>doet</strong> mee?</p>\n"
    await outsider.post(f"/api/v1/groups/{group['id']}/threads", {"title": "x", "body": "y"}, expect=403)
    visitor = await anonymous()
    await visitor.post(f"/api/v1/groups/{group['id']}/threads", {"title": "x", "body": "y"}, expect=401)
    # but everyone reads an open group
    thread = await visitor.get(f"/api/v1/threads/{created['thread']['id']}")
    assert [p["body_html"] for p in thread["posts"]] == [created["post"]["body_html"]]


async def test_closed_group_content_is_404_for_non_members(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user, "closed")
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Intern", "body": "x"}, expect=201)
    tid = created["thread"]["id"]
    outsider = await make_user("Buiten")
    visitor = await anonymous()
    for user in (outsider, visitor):
        await user.get(f"/api/v1/threads/{tid}", expect=404)
        await user.get(f"/api/v1/posts/{created['post']['id']}", expect=404)
        await user.post(f"/api/v1/threads/{tid}/posts", {"body": "hoi"}, expect=404)
        await user.patch(f"/api/v1/posts/{created['post']['id']}", {"body": "weg"}, expect=404)


async def test_replies_nest_to_any_depth(admin, make_user):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Diep", "body": "Start"}, expect=201)
    tid = created["thread"]["id"]
    parent = created["post"]["id"]
    ids = []
    for level in range(10):
        post = (await admin.post(f"/api/v1/threads/{tid}/posts", {"body": f"niveau {level}", "parent_id": parent},
                                 expect=201))["post"]
        assert post["parent_id"] == parent and post["depth"] == level + 1
        ids.append(post["id"])
        parent = post["id"]
    top = (await admin.post(f"/api/v1/threads/{tid}/posts", {"body": "los"}, expect=201))["post"]
    assert top["parent_id"] is None
    thread = await member.get(f"/api/v1/threads/{tid}")
    assert thread["thread"]["reply_count"] == 11
    assert [p["id"] for p in thread["posts"]][1:] == ids + [top["id"]]


async def test_a_body_keeps_the_same_words_on_either_database(admin, make_user, svc):
    # PostgreSQL cannot store a NUL at all: control characters leave a post's text as they leave
    # every other text, so both databases keep (and show) the same words, and none answers 500
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads",
                                {"title": "Tekens", "body": "Start\x00 hier\u202e"}, expect=201)
    tid = created["thread"]["id"]

    async def stored(post_id: int) -> str:
        async with svc.db.read() as conn:
            return (await conn.execute_fetchall("SELECT body FROM posts WHERE id = ?", (post_id,)))[0][0]

    assert await stored(created["post"]["id"]) == "Start hier"
    reply = (await member.post(f"/api/v1/threads/{tid}/posts", {"body": "regel 1\r\nregel\x07 2\x00"},
                               expect=201))["post"]
    assert await stored(reply["id"]) == "regel 1\nregel 2"
    await member.patch(f"/api/v1/posts/{reply['id']}", {"body": "nieuw\x00"})
    assert await stored(reply["id"]) == "nieuw"
    before = await count(svc, "posts")
    for blank in ("\u200b\x00 \u00ad", "\u2800", "\u3164 \u200d"):
        refused = await member.post(f"/api/v1/threads/{tid}/posts", {"body": blank}, expect=422)
        assert "body" in refused["error"]["fields"]  # nothing to read is no reply
    assert await count(svc, "posts") == before
    # an emoji newer than Python's Unicode tables (🩷, Unicode 15) is a whole reply
    await member.post(f"/api/v1/threads/{tid}/posts", {"body": "\U0001fa77"}, expect=201)
    # a post stored before the cleaning, saved again unchanged, is no edit
    async with svc.db.write() as tx:
        await tx.execute("UPDATE posts SET body = ? WHERE id = ?", ("oud\r\nwoord", reply["id"]))
    await member.patch(f"/api/v1/posts/{reply['id']}", {"body": "oud\r\nwoord"})
    async with svc.db.read() as conn:
        revisions = (await conn.execute_fetchall("SELECT COUNT(*) FROM post_revisions WHERE post_id = ?",
                                                 (reply["id"],)))[0][0]
    assert revisions == 1  # the one real edit above


async def test_parent_from_another_thread_is_refused(admin, make_user, svc):
    group, member = await _group_with_members(admin, make_user)
    one = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Een", "body": "1"}, expect=201)
    two = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Twee", "body": "2"}, expect=201)
    before = await count(svc, "posts")
    body = await member.post(f"/api/v1/threads/{one['thread']['id']}/posts",
                             {"body": "x", "parent_id": two["post"]["id"]}, expect=422)
    assert "parent_id" in body["error"]["fields"]
    assert await count(svc, "posts") == before


async def test_tree_page_caps_indent_and_names_the_parent(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Diep", "body": "Start"}, expect=201)
    tid = created["thread"]["id"]
    parent = created["post"]["id"]
    for level in range(9):
        parent = (await admin.post(f"/api/v1/threads/{tid}/posts", {"body": f"niveau {level}", "parent_id": parent},
                                   expect=201))["post"]["id"]
    late = (await member.post(f"/api/v1/threads/{tid}/posts", {"body": "los antwoord"}, expect=201))["post"]["id"]
    visitor = await anonymous()
    html = await (await visitor.client.get(f"/threads/{tid}")).text()
    indents = [int(n) for n in re.findall(r'class="post indent-(\d+)"', html)]
    assert indents == [0, 1, 2, 3, 4, 5, 6, 6, 6, 6, 0]
    assert html.count("in reactie op <a") == 3  # depth 7, 8 and 9 name their parent
    # chronological view: time order, flat, every reply names its parent
    flat = await (await visitor.client.get(f"/threads/{tid}?view=chronological")).text()
    order = [int(n) for n in re.findall(r'data-post-id="(\d+)"', flat)]
    assert order == sorted(order) and order[-1] == late
    assert set(re.findall(r'class="post indent-(\d+)"', flat)) == {"0"}
    assert flat.count("in reactie op <a") == 9  # every reply to a post; not the loose one


async def test_edit_keeps_revisions_and_shows_edited(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "eerste versie"},
                                expect=201)
    pid = created["post"]["id"]
    await member.patch(f"/api/v1/posts/{pid}", {"body": "tweede versie"})
    edited = (await member.patch(f"/api/v1/posts/{pid}", {"body": "derde versie"}))["post"]
    assert edited["edited_at"] and "derde" in edited["body_html"]
    revisions = (await member.get(f"/api/v1/posts/{pid}/revisions"))["revisions"]
    assert ["eerste" in r["body_html"] for r in revisions] == [True, False]
    assert "tweede" in revisions[1]["body_html"]
    visitor = await anonymous()
    page = await (await visitor.client.get(f"/threads/{created['thread']['id']}")).text()
    assert "bewerkt" in page and f"/posts/{pid}/revisions" in page


async def test_only_author_moderators_and_admins_edit_or_delete(admin, make_user):
    group, member = await _group_with_members(admin, make_user)
    other = await make_user("Ander")
    await other.post(f"/api/v1/groups/{group['id']}/join")
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "mijn tekst"},
                                expect=201)
    pid = created["post"]["id"]
    await other.patch(f"/api/v1/posts/{pid}", {"body": "gekaapt"}, expect=403)
    await other.delete(f"/api/v1/posts/{pid}", expect=403)
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{other.id}", {"role": "moderator"})
    await other.patch(f"/api/v1/posts/{pid}", {"body": "door moderator aangepast"})


async def test_delete_leaves_a_tombstone_and_keeps_the_tree(admin, make_user):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "start"}, expect=201)
    tid = created["thread"]["id"]
    middle = (await member.post(f"/api/v1/threads/{tid}/posts", {"body": "geheim"}, expect=201))["post"]["id"]
    child = (await admin.post(f"/api/v1/threads/{tid}/posts", {"body": "antwoord", "parent_id": middle},
                              expect=201))["post"]["id"]
    await member.delete(f"/api/v1/posts/{middle}")
    posts = {p["id"]: p for p in (await member.get(f"/api/v1/threads/{tid}"))["posts"]}
    assert posts[middle]["deleted"] and posts[middle]["body_html"] == ""
    assert posts[child]["parent_id"] == middle and not posts[child]["deleted"]
    await member.patch(f"/api/v1/posts/{middle}", {"body": "terug"}, expect=403)
    await member.delete(f"/api/v1/posts/{middle}", expect=403)
    page = await (await member.client.get(f"/threads/{tid}")).text()
    assert "geheim" not in page and "Dit bericht is verwijderd." in page


async def test_markdown_is_sanitised(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    body = ('<script>alert(1)</script> <img src=x onerror=alert(2)> [klik](javascript:alert(3)) '
            '[site](https://example.nl) <a href="https://evil.example" onclick="x()">a</a>')
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "<b>Titel</b>", "body": body},
                                expect=201)
    html = created["post"]["body_html"]
    tags = re.findall(r"<([a-z]+)([^>]*)>", html)
    assert {name for name, _ in tags} == {"p", "a"}
    assert all("javascript" not in attrs and " on" not in attrs for _, attrs in tags)
    assert '<a href="https://example.nl" rel="nofollow ugc noopener">site</a>' in html
    visitor = await anonymous()
    page = await (await visitor.client.get(f"/threads/{created['thread']['id']}")).text()
    assert "<script>alert" not in page and "<b>Titel</b>" not in page and "&lt;b&gt;Titel&lt;/b&gt;" in page


async def test_thread_list_is_keyset_paginated_by_last_activity(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    ids = []
    for n in range(65):
        ids.append((await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": f"T{n}", "body": "x"},
                                      expect=201))["thread"]["id"])
    # a reply moves an old thread to the top
    await admin.post(f"/api/v1/threads/{ids[3]}/posts", {"body": "omhoog"}, expect=201)
    expected = [ids[3]] + [i for i in reversed(ids) if i != ids[3]]
    visitor = await anonymous()
    seen, cursor = [], None
    while True:
        query = f"?before={cursor}" if cursor else ""
        page = await visitor.get(f"/api/v1/groups/{group['id']}/threads{query}")
        seen += [t["id"] for t in page["threads"]]
        assert len(page["threads"]) <= 30
        cursor = page["next"]
        if not cursor:
            break
    assert seen == expected
    first = (await visitor.get(f"/api/v1/groups/{group['id']}/threads"))["threads"][0]
    assert first["reply_count"] == 1 and first["last_poster"]["display_name"] == "Beheerder"
    await visitor.get(f"/api/v1/groups/{group['id']}/threads?before=%%%", expect=400)
    await visitor.get(f"/api/v1/groups/{group['id']}/threads?before=bm9ub25zZQ", expect=400)


async def test_posts_write_events_in_their_transaction(admin, make_user, svc):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"}, expect=201)
    tid = created["thread"]["id"]
    reply = (await admin.post(f"/api/v1/threads/{tid}/posts", {"body": "y"}, expect=201))["post"]
    await admin.patch(f"/api/v1/posts/{reply['id']}", {"body": "z"})
    await admin.delete(f"/api/v1/posts/{reply['id']}")
    async with svc.db.read() as conn:
        rows = await (await conn.execute(
            "SELECT channel, kind FROM events WHERE channel IN (?, ?) ORDER BY id",
            (f"thread:{tid}", f"group:{group['id']}"))).fetchall()
    kinds = [tuple(r) for r in rows if r["kind"] != "membership.changed"]
    assert kinds == [(f"group:{group['id']}", "thread.created"), (f"thread:{tid}", "post.created"),
                     (f"group:{group['id']}", "thread.updated"), (f"thread:{tid}", "post.edited"),
                     (f"thread:{tid}", "post.deleted")]


async def test_a_failed_write_leaves_no_event(admin, make_user, svc):
    group, member = await _group_with_members(admin, make_user)
    created = await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"}, expect=201)
    events, posts = await count(svc, "events"), await count(svc, "posts")
    await member.post(f"/api/v1/threads/{created['thread']['id']}/posts", {"body": "x", "parent_id": 10**9}, expect=422)
    await member.post(f"/api/v1/threads/{created['thread']['id']}/posts", {"body": "   "}, expect=422)
    assert await count(svc, "events") == events and await count(svc, "posts") == posts


async def test_authors_rename_and_moderators_lock_and_pin(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    other = await make_user("Ander lid")
    await other.post(f"/api/v1/groups/{group['id']}/join")
    tid = (await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Eerst", "body": "x"},
                             expect=201))["thread"]["id"]
    renamed = await member.patch(f"/api/v1/threads/{tid}", {"title": "  Beter   onderwerp "})
    assert renamed["thread"]["title"] == "Beter onderwerp"
    await other.patch(f"/api/v1/threads/{tid}", {"title": "Van mij"}, expect=403)
    await member.patch(f"/api/v1/threads/{tid}", {"locked": True}, expect=403)  # authors do not lock
    await (await anonymous()).patch(f"/api/v1/threads/{tid}", {"pinned": True}, expect=401)
    locked = await admin.patch(f"/api/v1/threads/{tid}", {"locked": True, "pinned": True})
    assert locked["thread"]["locked"] and locked["thread"]["pinned"]
    refused = await member.post(f"/api/v1/threads/{tid}/posts", {"body": "nog iets"}, expect=403)
    assert refused["error"]["code"] == "forbidden"
    await admin.post(f"/api/v1/threads/{tid}/posts", {"body": "als moderator"}, expect=201)
    page = await (await member.client.get(f"/threads/{tid}")).text()
    assert "Deze discussie is gesloten" in page and 'action="/threads/%d/reply#reply"' % tid not in page
    # sent from a page opened before the lock (without JavaScript): the words come back to copy
    from tests.test_pages import csrf_of
    sent = await member.client.post(f"/threads/{tid}/reply", data={"csrf_token": csrf_of(page),
                                                                  "body": "Mijn <lange> reactie"})
    back = await sent.text()
    assert sent.status == 409 and "gesloten terwijl u schreef" in back
    assert '<textarea id="unsent" rows="6" readonly>Mijn &lt;lange&gt; reactie</textarea>' in back
    assert (await member.client.post(f"/threads/{tid}/reply", data={"csrf_token": other.csrf,
                                                                    "body": "x"})).status == 403  # a foreign token
    assert len((await member.get(f"/api/v1/threads/{tid}"))["posts"]) == 2  # nothing was added
    await admin.patch(f"/api/v1/threads/{tid}", {"locked": False})
    await member.post(f"/api/v1/threads/{tid}/posts", {"body": "weer open"}, expect=201)


async def test_pinned_threads_head_the_first_page_only(admin, make_user, anonymous):
    group, member = await _group_with_members(admin, make_user)
    ids = [(await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": f"T{n}", "body": "x"},
                              expect=201))["thread"]["id"] for n in range(35)]
    await admin.patch(f"/api/v1/threads/{ids[0]}", {"pinned": True})
    visitor = await anonymous()
    first = await visitor.get(f"/api/v1/groups/{group['id']}/threads")
    assert first["threads"][0]["id"] == ids[0] and first["threads"][0]["pinned"]
    second = await visitor.get(f"/api/v1/groups/{group['id']}/threads?before={first['next']}")
    listed = [t["id"] for t in first["threads"] + second["threads"]]
    assert sorted(listed) == sorted(ids) and len(listed) == len(set(listed))  # none lost, none twice
    page = await (await visitor.client.get(f"/groups/{group['id']}")).text()
    assert page.index(f'data-thread-id="{ids[0]}"') < page.index(f'data-thread-id="{ids[-1]}"')
    assert "Vastgezet" in page


async def test_thread_forms_rename_lock_and_pin(admin, make_user):
    group, member = await _group_with_members(admin, make_user)
    tid = (await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Oud", "body": "x"},
                             expect=201))["thread"]["id"]
    page = await (await member.client.get(f"/threads/{tid}")).text()
    assert f'href="/threads/{tid}/edit"' in page and f'action="/threads/{tid}/moderate"' not in page
    form = await member.client.get(f"/threads/{tid}/edit")
    assert form.status == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', await form.text()).group(1)
    empty = await member.client.post(f"/threads/{tid}/edit", data={"csrf_token": token, "title": ""})
    assert empty.status == 422 and "Dit veld is verplicht." in await empty.text()
    done = await member.client.post(f"/threads/{tid}/edit", data={"csrf_token": token, "title": "Nieuw"},
                                    allow_redirects=False)
    assert done.status == 303
    assert (await member.get(f"/api/v1/threads/{tid}"))["thread"]["title"] == "Nieuw"
    page = await (await admin.client.get(f"/threads/{tid}")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    asked = await admin.client.post(f"/threads/{tid}/moderate", data={"csrf_token": token, "action": "lock"},
                                    allow_redirects=False)  # locking asks first, for a reason to tell the author
    assert asked.status == 200 and 'name="reason"' in await asked.text()
    assert not (await member.get(f"/api/v1/threads/{tid}"))["thread"]["locked"]
    for action, confirmed in (("lock", {"confirm": "yes", "reason": "Afgerond"}), ("pin", {})):
        answer = await admin.client.post(f"/threads/{tid}/moderate", allow_redirects=False,
                                         data={"csrf_token": token, "action": action, **confirmed})
        assert answer.status == 303
    told = (await member.get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "thread_locked" and told["text"] == "Een moderator sloot uw discussie Nieuw: Afgerond"
    thread = (await member.get(f"/api/v1/threads/{tid}"))["thread"]
    assert thread["locked"] and thread["pinned"]
    odd = await admin.client.post(f"/threads/{tid}/moderate", data={"csrf_token": token, "action": "explode"})
    assert odd.status == 400
    own_token = re.search(r'name="csrf_token" value="([^"]+)"',
                          await (await member.client.get(f"/threads/{tid}/edit")).text()).group(1)
    sneaky = await member.client.post(f"/threads/{tid}/moderate", data={"csrf_token": own_token, "action": "unlock"})
    assert sneaky.status == 403
    assert (await member.get(f"/api/v1/threads/{tid}"))["thread"]["locked"]


async def test_the_reply_forms_address_opened_as_a_page_leads_to_the_reply_box(anonymous):
    visitor = await anonymous()
    answer = await visitor.client.get("/threads/1/reply", allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/threads/1#reply"
    assert (await visitor.client.get("/threads/abc/reply", allow_redirects=False)).status == 404
