"""Removed means removed, on every path: once a post is deleted or hidden, or a thread goes or
moves, its words are gone from the live backlog, the revisions, the notifications and the mail
not sent yet; and the websocket answers any malformed frame with an error, never a crash."""
from __future__ import annotations

import asyncio
import json

import aiohttp

from forum.keys import hub_key, scheduler_key, services_key
from forum.services import live
from tests.conftest import open_group

SECRET = "Zeepbelgeheim"  # a word that must not be seen again once its post is gone


async def replay(user, channels: list[str]) -> list[str]:
    """Every frame a fresh socket gets when it asks for everything since event 0, as text, up to
    its "subscribed". What the hub has not dispatched yet would come after that, live: the hub
    first catches up with everything written so far (under load in CI it can lag a moment)."""
    app = user.client.server.app
    _, newest = await live.event_id_range(app[services_key])
    for _ in range(500):
        if app[hub_key].delivered_id >= newest:
            break
        app[hub_key].wake()
        await asyncio.sleep(0.01)
    assert app[hub_key].delivered_id >= newest, "the hub did not catch up"
    ws = await user.client.ws_connect("/api/v1/live")
    await ws.send_json({"type": "subscribe", "channels": channels, "last_event_id": 0})
    frames = []
    while True:
        message = await asyncio.wait_for(ws.receive(), 3)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frames.append(message.data)
        kind = json.loads(message.data)["type"]
        if kind == "subscribed" or (kind == "error" and len(channels) == 1):
            break
    await ws.close()
    return frames


def events(frames: list[str], kind: str) -> list[dict]:
    found = [json.loads(f) for f in frames]
    return [f for f in found if f["type"] == "event" and f["kind"] == kind]


async def hide(moderator, reporter, post_id: int, reason: str = "kwetsend") -> None:
    item = (await reporter.post(f"/api/v1/posts/{post_id}/reports", {"reason": "inappropriate"}, expect=201))["item_id"]
    await moderator.post(f"/api/v1/moderation/queue/{item}/resolve", {"action": "hide", "reason": reason})


async def thread_in(user, group_id: int, title: str = "Plannen", body: str = "start"):
    created = await user.post(f"/api/v1/groups/{group_id}/threads", {"title": title, "body": body}, expect=201)
    return created["thread"]["id"], created["post"]["id"]


async def write(user, thread_id: int, body: str, parent: int | None = None) -> int:
    data = {"body": body, **({"parent_id": parent} if parent else {})}
    return (await user.post(f"/api/v1/threads/{thread_id}/posts", data, expect=201))["post"]["id"]


# --- the live backlog -------------------------------------------------------------------------

async def test_replay_keeps_the_place_of_deleted_and_hidden_posts_not_their_words(admin, make_user):
    group = await open_group(admin, "Open werkgroep")
    author, reader, stranger = await make_user("Schrijver"), await make_user("Lezer"), await make_user("Vreemde")
    await author.post(f"/api/v1/groups/{group['id']}/join")
    thread, _ = await thread_in(admin, group["id"])
    deleted = await write(author, thread, f"{SECRET} een")
    hidden = await write(author, thread, "nog niets")
    await author.patch(f"/api/v1/posts/{hidden}", {"body": f"{SECRET} twee"})  # post.edited carries it too
    await author.delete(f"/api/v1/posts/{deleted}")
    await hide(admin, reader, hidden)
    for user in (stranger, reader):
        frames = await replay(user, [f"thread:{thread}", f"group:{group['id']}"])
        assert not [f for f in frames if SECRET in f]
        placed = {e["data"]["post"]["id"]: e["data"]["post"] for e in events(frames, "post.created")}
        assert placed[deleted]["deleted"] and placed[hidden]["hidden"]  # the tree keeps their place
        assert placed[hidden]["redacted"] and "body_html" not in placed[hidden]
        assert {e["data"]["post_id"] for e in events(frames, "post.deleted")} == {deleted}


async def test_replay_of_a_group_forgets_a_removed_thread(admin, make_user):
    group = await open_group(admin, "Open werkgroep")
    stranger = await make_user("Vreemde")
    thread, _ = await thread_in(admin, group["id"], title=f"{SECRET} plan")
    await write(admin, thread, "een reactie")
    await admin.patch(f"/api/v1/threads/{thread}", {"title": f"{SECRET} plan 2"})
    await admin.delete(f"/api/v1/threads/{thread}")
    frames = await replay(stranger, [f"group:{group['id']}"])
    assert not [f for f in frames if SECRET in f]
    assert [e["data"] for e in events(frames, "thread.removed")] == [{"thread_id": thread}]
    assert all(e["data"]["thread"] == {"id": thread, "redacted": True} for e in events(frames, "thread.created"))
    # its own channel takes nobody now
    refused = await replay(stranger, [f"thread:{thread}"])
    assert json.loads(refused[-1])["code"] == "not_found"


async def test_replay_of_the_old_group_forgets_a_thread_moved_away(admin, make_user):
    old = await open_group(admin, "Oude groep")
    new = await open_group(admin, "Besloten groep", "closed")
    old_member, stranger = await make_user("Oud Lid"), await make_user("Vreemde")
    await old_member.post(f"/api/v1/groups/{old['id']}/join")
    thread, _ = await thread_in(admin, old["id"], title=f"{SECRET} verhuist", body=f"{SECRET} inhoud")
    await write(admin, thread, f"{SECRET} reactie")
    await admin.patch(f"/api/v1/threads/{thread}", {"group_id": new["id"]})
    for user in (old_member, stranger):
        frames = await replay(user, [f"group:{old['id']}"])
        assert not [f for f in frames if SECRET in f]
        assert {e["data"]["thread_id"] for e in events(frames, "thread.removed")} == {thread}
        refused = await replay(user, [f"thread:{thread}"])
        assert json.loads(refused[-1])["code"] == "not_found"
    # the new group's readers still see it arrive
    frames = await replay(admin, [f"group:{new['id']}"])
    assert any(SECRET in e["data"]["thread"]["title"] for e in events(frames, "thread.created"))


# --- revisions, reports, the API -------------------------------------------------------------

async def test_revisions_of_a_hidden_post_are_for_its_author_and_moderators(admin, make_user):
    group = await open_group(admin, "Open werkgroep")
    author, reader = await make_user("Schrijver"), await make_user("Lezer")
    await author.post(f"/api/v1/groups/{group['id']}/join")
    thread, _ = await thread_in(admin, group["id"])
    post = await write(author, thread, f"{SECRET} eerste versie")
    await hide(admin, reader, post)
    await author.patch(f"/api/v1/posts/{post}", {"body": "netjes nu"})  # the hidden words become a revision
    for user in (reader,):
        body = await user.get(f"/api/v1/posts/{post}/revisions", expect=None)
        assert "revisions" not in body and body["error"]["code"] in ("forbidden", "not_found")
        page = await user.client.get(f"/posts/{post}/revisions")
        assert page.status in (403, 404) and SECRET not in await page.text()
    for user in (author, admin):
        revisions = (await user.get(f"/api/v1/posts/{post}/revisions"))["revisions"]
        assert SECRET in revisions[0]["body_html"]


async def test_a_hidden_post_cannot_be_reported(admin, make_user, svc):
    group = await open_group(admin, "Open werkgroep")
    author, reader, other = await make_user("Schrijver"), await make_user("Lezer"), await make_user("Ander")
    await author.post(f"/api/v1/groups/{group['id']}/join")
    thread, _ = await thread_in(admin, group["id"])
    post = await write(author, thread, "iets")
    await hide(admin, reader, post)
    refused = await other.post(f"/api/v1/posts/{post}/reports", {"reason": "spam"}, expect=None)
    assert refused["error"]["code"] in ("forbidden", "not_found")
    assert (await other.client.get(f"/posts/{post}/report")).status in (403, 404)  # no form offered either
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT COUNT(*) FROM reports")
    assert rows[0][0] == 1  # only the report that led to the hiding


async def test_the_hidden_reason_and_words_reach_the_author_and_moderators_only(admin, make_user):
    group = await open_group(admin, "Open werkgroep")
    author, reader = await make_user("Schrijver"), await make_user("Lezer")
    await author.post(f"/api/v1/groups/{group['id']}/join")
    thread, _ = await thread_in(admin, group["id"])
    post = await write(author, thread, f"{SECRET} tekst")
    await hide(admin, reader, post, reason="persoonlijke aanval")
    for user, sees in ((author, True), (admin, True), (reader, False)):
        listed = next(p for p in (await user.get(f"/api/v1/threads/{thread}"))["posts"] if p["id"] == post)
        single = (await user.get(f"/api/v1/posts/{post}"))["post"]
        for shown in (listed, single):
            assert shown["hidden"]
            assert (shown.get("hidden_reason") == "persoonlijke aanval") is sees
            assert (SECRET in shown["body_html"]) is sees
    page = await (await author.client.get(f"/threads/{thread}")).text()
    assert "persoonlijke aanval" in page
    page = await (await reader.client.get(f"/threads/{thread}")).text()
    assert "persoonlijke aanval" not in page and SECRET not in page


# --- notifications and mail ------------------------------------------------------------------

async def test_notifications_and_unsent_mail_lose_the_words_of_a_hidden_post(admin, make_user, server, clock, svc):
    group = await open_group(admin, "Open werkgroep")
    anna, bert, cees = await make_user("Anna"), await make_user("Bert"), await make_user("Cees")
    for user in (anna, bert):
        await user.post(f"/api/v1/groups/{group['id']}/join")
    thread, first = await thread_in(anna, group["id"])
    await anna.put("/api/v1/me/settings", {"email_notifications": "batched"})
    await anna.post("/api/v1/notifications/read", {"all": True})
    post = await write(bert, thread, f"{SECRET} @anna", parent=first)
    await server.app[scheduler_key].run_once()  # fan-out: the mail is due later
    before = (await anna.get("/api/v1/notifications"))["notifications"]
    assert any(SECRET in n["excerpt"] for n in before)  # (the check below could fail)
    await hide(admin, cees, post)
    after = (await anna.get("/api/v1/notifications"))["notifications"]
    assert after and not [n for n in after if SECRET in json.dumps(n)]
    page = await (await anna.client.get("/notifications")).text()
    assert SECRET not in page
    clock.advance(hours=2)
    await server.app[scheduler_key].run_once()
    await svc.mailer.deliver_queued()
    async with svc.db.read() as conn:
        mails = [dict(row) for row in await conn.execute_fetchall("SELECT * FROM outbox")]
    assert mails and any("anna" in m["to_addr"] for m in mails)  # the mail went, without the words
    assert not [m for m in mails if SECRET in json.dumps(m)]


async def test_the_user_channel_backlog_carries_no_words_after_access_is_lost(admin, make_user, server):
    group = await open_group(admin, "Besloten", "closed")
    anna = await make_user("Anna")
    await anna.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/members/{anna.id}/approve")
    thread, _ = await thread_in(admin, group["id"], title=f"{SECRET} titel")
    await write(admin, thread, f"{SECRET} voor @anna")
    await server.app[scheduler_key].run_once()
    assert (await anna.get("/api/v1/notifications?unread=1"))["unread_count"] >= 1
    await admin.delete(f"/api/v1/groups/{group['id']}/members/{anna.id}", {"reason": "afgerond"})
    frames = await replay(anna, [f"user:{anna.id}"])
    created = events(frames, "notification.created")
    assert created and all(set(e["data"]["notification"]) == {"id"} for e in created)
    assert not [f for f in frames if SECRET in f]
    listed = (await anna.get("/api/v1/notifications"))["notifications"]
    assert not [n for n in listed if SECRET in json.dumps(n)]


# --- malformed frames ------------------------------------------------------------------------

async def test_deep_and_strange_frames_get_an_error_and_the_socket_lives_on(admin, make_user):
    group = await open_group(admin, "Open werkgroep")
    thread, _ = await thread_in(admin, group["id"])
    user = await make_user("Lezer")
    ws = await user.client.ws_connect("/api/v1/live")
    for bad in ["[" * 60000, "{\"a\":" * 12000, "[" * 40 + "]" * 40,
                '{"type": "subscribe", "channels": ["\\ud800"]}', '{"type": "\\udfff"}',
                '{"type": "typing", "thread_id": 1e400}', '{"type": "subscribe", "channels": ["thread:1"], '
                                                            '"last_event_id": -1}']:
        await ws.send_str(bad)
        message = await asyncio.wait_for(ws.receive(), 3)
        assert message.type == aiohttp.WSMsgType.TEXT, (bad[:40], message)
        answer = json.loads(message.data)
        assert answer["type"] == "error" and answer["code"] in ("bad_request", "not_found"), answer
    # not UTF-8 at all (a lone surrogate encoded raw): the socket is closed with a code, not a 500
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{thread}"]})
    while json.loads((await asyncio.wait_for(ws.receive(), 3)).data)["type"] != "subscribed":
        pass
    await ws.send_frame(b"{\"type\": \"\xed\xa0\x80\"}", aiohttp.WSMsgType.TEXT)
    message = await asyncio.wait_for(ws.receive(), 3)
    while message.type == aiohttp.WSMsgType.TEXT:
        message = await asyncio.wait_for(ws.receive(), 3)
    assert ws.close_code in (1002, 1007)
    # the server is fine: a new socket works
    again = await user.client.ws_connect("/api/v1/live")
    await again.send_json({"type": "subscribe", "channels": [f"thread:{thread}"]})
    assert json.loads((await asyncio.wait_for(again.receive(), 3)).data)["type"] == "subscribed"
    await again.close()
