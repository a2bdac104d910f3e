"""Notifications: every kind and level, folding, read tracking across sessions, live pushes,
mail through a real SMTP server on loopback (batched, immediate, never, the digest),
unsubscribe without login, a restart in the middle of a mail batch, and loss of access."""
from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from forum.app import create_app
from forum.keys import scheduler_key, services_key
from forum.services import mailings
from tests.conftest import ApiUser, count, open_group, quiet


@pytest.fixture
def config(config, smtp_server):
    """This module's forum sends its mail to aiosmtpd on loopback."""
    _, port = smtp_server
    return replace(config, smtp_host="127.0.0.1", smtp_port=port, mail_from="forum@example.nl")


@pytest.fixture
def inbox(smtp_server):
    return smtp_server[0]


async def settle(server) -> None:
    """Run what the scheduler would run now (fan-out jobs, due mail, due digests), then hand
    every queued mail to the SMTP server. When this returns the inbox holds all the mail there
    is (aiosmtpd records a message before it answers 250), so "no mail" can be asserted at once."""
    await server.app[scheduler_key].run_once()
    await server.app[services_key].mailer.deliver_queued()


async def notes(user, *, every: bool = False):
    """The user's unread notifications (or all of them)."""
    return await user.get("/api/v1/notifications" + ("" if every else "?unread=1"))


@pytest.fixture
async def scene(admin, make_user):
    group = await open_group(admin, "Werkgroep Wonen", "closed")
    anna, bert, cees = [await make_user(name) for name in ("Anna de Boer", "Bert Smit", "Cees Veld")]
    for user in (anna, bert, cees):
        await user.post(f"/api/v1/groups/{group['id']}/join")
        await admin.post(f"/api/v1/groups/{group['id']}/members/{user.id}/approve")
    created = await anna.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Woningbouw", "body": "Plannen"},
                              expect=201)
    for user in (admin, anna, bert, cees):  # start from a clean slate (requests and approvals were told)
        await user.post("/api/v1/notifications/read", {"all": True})
    return {"group": group["id"], "thread": created["thread"]["id"], "first_post": created["post"]["id"],
            "admin": admin, "anna": anna, "bert": bert, "cees": cees}


async def reply(user, thread: int, body: str, parent: int | None = None) -> dict:
    data = {"body": body, **({"parent_id": parent} if parent else {})}
    return (await user.post(f"/api/v1/threads/{thread}/posts", data, expect=201))["post"]


async def test_handles_are_derived_unique_and_changeable(make_user, admin):
    one, two = await make_user("Jan de Vries"), await make_user("Jan de Vrïes")
    me_one, me_two = (await one.get("/api/v1/me"))["user"], (await two.get("/api/v1/me"))["user"]
    assert (me_one["handle"], me_two["handle"]) == ("jan-de-vries", "jan-de-vries-2")
    assert (await admin.get(f"/api/v1/users/{one.id}"))["user"]["handle"] == "jan-de-vries"
    changed = await two.patch("/api/v1/me", {"display_name": "Jan", "handle": "@JanV"})
    assert changed["user"]["handle"] == "janv"
    taken = await two.patch("/api/v1/me", {"display_name": "Jan", "handle": "jan-de-vries"}, expect=409)
    assert "handle" in taken["error"]["fields"]
    await two.patch("/api/v1/me", {"display_name": "Jan", "handle": "x y"}, expect=422)


async def test_reply_to_my_post_is_told_live_folded_and_marked_read(scene, server):
    anna, bert, cees = scene["anna"], scene["bert"], scene["cees"]
    ws = await anna.client.ws_connect("/api/v1/live")
    await ws.send_json({"type": "subscribe", "channels": [f"user:{anna.id}"]})
    while json.loads((await ws.receive()).data)["type"] != "subscribed":
        pass
    await reply(bert, scene["thread"], "Goed plan", scene["first_post"])
    await settle(server)
    listed = await notes(anna)
    assert listed["unread_count"] == 1
    note = listed["notifications"][0]
    assert note["kind"] == "reply" and note["text"] == "Bert Smit reageerde op uw bericht in Woningbouw"
    assert note["url"].startswith(f"/threads/{scene['thread']}?post=") and note["excerpt"] == "Goed plan"
    pushed = json.loads((await asyncio.wait_for(ws.receive(), 3)).data)
    assert pushed["kind"] == "notification.created" and pushed["data"]["unread_count"] == 1
    # the event names the notification only; its words come from the API, which judges access
    assert pushed["data"]["notification"] == {"id": note["id"]}
    # more replies to Anna's post fold into the one unread notification
    await reply(cees, scene["thread"], "Ik ook", scene["first_post"])
    await reply(bert, scene["thread"], "Nog iets", scene["first_post"])
    await settle(server)
    listed = await notes(anna)
    assert listed["unread_count"] == 1 and listed["notifications"][0]["count"] == 3
    assert listed["notifications"][0]["text"] == "3 reacties op uw bericht in Woningbouw"
    await anna.post("/api/v1/notifications/read", {"ids": [listed["notifications"][0]["id"]]})
    assert (await notes(anna))["unread_count"] == 0
    while True:  # every open tab hears the new count
        frame = json.loads((await asyncio.wait_for(ws.receive(), 3)).data)
        if frame.get("kind") == "notification.read":
            assert frame["data"]["unread_count"] == 0
            break
    await ws.close()
    # Bert and Cees follow the thread they replied in: each new post tells them, folded per thread
    await reply(anna, scene["thread"], "Dank!")
    await settle(server)
    for user in (bert, cees):  # the other's reply and Anna's
        got = (await notes(user))["notifications"]
        assert [n["kind"] for n in got] == ["watched_post"] and got[0]["text"] == "2 nieuwe berichten in Woningbouw"


async def test_mentions_reach_members_only_and_beat_other_kinds(scene, server, make_user):
    anna, bert = scene["anna"], scene["bert"]
    outsider = await make_user("Olga Buiten")
    await reply(bert, scene["thread"], "Vraag aan @anna-de-boer en @cees-veld en @olga-buiten, niet `@bert-smit`",
                scene["first_post"])
    await settle(server)
    anna_notes = (await notes(anna))["notifications"]
    assert [n["kind"] for n in anna_notes] == ["mention"]  # one per post: the mention, not also the reply
    assert anna_notes[0]["text"] == "Bert Smit noemde u in Woningbouw"
    assert [n["kind"] for n in (await notes(scene["cees"]))["notifications"]] == ["mention"]
    assert (await notes(outsider))["notifications"] == []  # not a member: cannot be mentioned there
    suggestions = await bert.get(f"/api/v1/mentions?group_id={scene['group']}&q=an")
    assert [u["handle"] for u in suggestions["users"]] == ["anna-de-boer"]
    await outsider.get(f"/api/v1/mentions?group_id={scene['group']}&q=an", expect=404)
    await bert.get("/api/v1/mentions?q=an", expect=400)


async def test_levels_watching_normal_muted_for_threads_and_groups(scene, server):
    anna, bert, cees, admin = scene["anna"], scene["bert"], scene["cees"], scene["admin"]
    thread, group = scene["thread"], scene["group"]
    await anna.put(f"/api/v1/threads/{thread}/subscription", {"level": "muted"})
    await reply(bert, thread, "Voor Anna", scene["first_post"])
    await settle(server)
    assert (await notes(anna))["notifications"] == []  # muted: not even a reply to her
    await cees.put(f"/api/v1/groups/{group}/subscription", {"level": "watching"})
    await reply(admin, thread, "Van de beheerder")
    await settle(server)
    assert [n["kind"] for n in (await notes(cees))["notifications"]] == ["watched_post"]
    await bert.put(f"/api/v1/threads/{thread}/subscription", {"level": "normal"})
    await bert.post("/api/v1/notifications/read", {"all": True})
    await reply(admin, thread, "Nog een")
    await settle(server)
    assert (await notes(bert))["unread_count"] == 0  # normal: only replies and mentions
    await bert.put(f"/api/v1/groups/{group}/subscription", {"level": "new_threads"})
    started = await admin.post(f"/api/v1/groups/{group}/threads", {"title": "Mobiliteit", "body": "Bus"}, expect=201)
    await settle(server)
    for user in (bert, cees):
        got = (await notes(user))["notifications"][0]
        assert got["kind"] == "new_thread" and got["text"] == "Beheerder begon de discussie Mobiliteit in Werkgroep Wonen"
    await reply(anna, started["thread"]["id"], "Reactie")
    await settle(server)
    assert [n["kind"] for n in (await notes(bert))["notifications"]] == ["new_thread"]  # not every post
    await bert.put(f"/api/v1/threads/{thread}/subscription", {"level": "loud"}, expect=422)
    await bert.put(f"/api/v1/groups/{group}/subscription", {"level": 3}, expect=422)


async def test_membership_news_reaches_the_right_people(admin, make_user, server):
    group = await open_group(admin, "Besloten groep", "closed")
    moderator, asker, invitee = await make_user("Mia Mod"), await make_user("Ask Er"), await make_user("Ina Vite")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": moderator.id}, expect=201)
    await moderator.post(f"/api/v1/groups/{group['id']}/join")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    kinds = [n["kind"] for n in (await notes(moderator))["notifications"]]
    assert kinds == ["role_changed", "invitation"]
    assert (await notes(moderator))["notifications"][0]["text"] == "U bent nu moderator van Besloten groep"
    await moderator.put(f"/api/v1/groups/{group['id']}/subscription", {"level": "muted"})
    await asker.post(f"/api/v1/groups/{group['id']}/join")
    for user in (admin, moderator):  # moderators hear of requests whatever their level
        got = (await notes(user))["notifications"][0]
        assert got["kind"] == "join_request" and got["text"] == "Ask Er wil lid worden van Besloten groep"
        assert got["url"] == f"/groups/{group['id']}/members"
    await moderator.post(f"/api/v1/groups/{group['id']}/members/{asker.id}/approve")
    assert (await notes(asker))["notifications"][0]["text"] == "U bent nu lid van Besloten groep"
    await invitee.post(f"/api/v1/groups/{group['id']}/join")
    await moderator.post(f"/api/v1/groups/{group['id']}/members/{invitee.id}/reject")
    rejected = (await notes(invitee))["notifications"][0]
    assert rejected["kind"] == "request_rejected" and rejected["url"] == f"/groups/{group['id']}"
    page = await (await moderator.client.get(f"/groups/{group['id']}")).text()
    assert f'action="/groups/{group["id"]}/subscription"' in page
    assert (await notes(moderator))["unread_count"] == 0  # seeing the group read its news


async def test_new_since_last_visit_is_kept_on_the_server(scene, server, aiohttp_client):
    anna, bert, thread = scene["anna"], scene["bert"], scene["thread"]
    phone = ApiUser(await aiohttp_client(server), anna.email)  # a second session of the same person
    await phone.login()
    await (await anna.client.get(f"/threads/{thread}")).text()  # read on the laptop
    posted = [await reply(bert, thread, f"Nieuw {n}") for n in range(2)]
    page = await (await phone.client.get(f"/groups/{scene['group']}")).text()
    assert f'href="/threads/{thread}?post={posted[0]["id"]}#post-{posted[0]["id"]}">2 nieuw' in page
    seen = await (await phone.client.get(f"/threads/{thread}")).text()
    assert f'href="#post-{posted[0]["id"]}" class="button secondary" id="first-unread"' in seen
    laptop = await (await anna.client.get(f"/groups/{scene['group']}")).text()
    assert "nieuw</a>" not in laptop  # read on the phone, so read on the laptop too
    third = await reply(bert, thread, "Nog een")
    await phone.post(f"/api/v1/threads/{thread}/read", {"post_id": third["id"]})
    assert "nieuw</a>" not in await (await anna.client.get(f"/groups/{scene['group']}")).text()
    await reply(bert, thread, "En nog een")
    await anna.post(f"/api/v1/groups/{scene['group']}/read")
    assert "nieuw</a>" not in await (await anna.client.get(f"/groups/{scene['group']}")).text()
    await anna.post(f"/api/v1/threads/{thread}/read", {"post_id": 999999}, expect=422)
    await anna.post("/api/v1/threads/999999/read", {"post_id": third["id"]}, expect=404)


async def test_unseen_notifications_are_mailed_once_after_ten_minutes(scene, server, inbox, clock):
    anna, bert = scene["anna"], scene["bert"]
    await anna.put("/api/v1/me/settings", {"locale": "en"})
    await reply(bert, scene["thread"], "Eerste", scene["first_post"])
    await reply(bert, scene["thread"], "Hallo @anna-de-boer")
    await settle(server)
    assert inbox.messages == []  # not yet: she may still see them in the app
    clock.advance(minutes=11)
    await settle(server)
    (recipients, message), = inbox.messages
    assert recipients == [anna.email]
    assert message["Subject"] == "2 new notifications on Maak verschil"  # her language
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8080/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Bert Smit replied to your post in Woningbouw" in text and "Bert Smit mentioned you" in text
    assert "<a href=\"http://127.0.0.1:8080/threads/" in html and "/unsubscribe/" in html
    clock.advance(minutes=30)
    await settle(server)
    assert len(inbox.messages) == 1  # mailed once
    # read in the app before the ten minutes are up: no mail
    await reply(scene["cees"], scene["thread"], "Voor Anna", scene["first_post"])
    await settle(server)
    await anna.post("/api/v1/notifications/read", {"all": True})
    clock.advance(minutes=11)
    await settle(server)  # Bert watches the thread: his mail comes; none for Anna: she had read it
    assert [r for r, _ in inbox.messages] == [[anna.email], [bert.email]]


async def test_immediately_and_never(scene, server, inbox):
    anna, bert = scene["anna"], scene["bert"]
    await anna.put("/api/v1/me/settings", {"email_notifications": "immediately"})
    await bert.put("/api/v1/me/settings", {"email_notifications": "never"})
    await reply(bert, scene["thread"], "Snel", scene["first_post"])
    await reply(anna, scene["thread"], "Voor Bert @bert-smit")
    await settle(server)
    assert [m[0] for m in inbox.messages] == [[anna.email]]
    assert (await anna.put("/api/v1/me/settings", {"digest": "daily"}))["digest"] == "daily"
    await anna.put("/api/v1/me/settings", {"digest": "hourly"}, expect=422)
    await anna.put("/api/v1/me/settings", {}, expect=422)


async def test_digest_gathers_the_groups_activity(scene, server, inbox, clock, svc):
    await scene["cees"].put("/api/v1/me/settings", {"digest": "daily", "email_notifications": "never"})
    await reply(scene["bert"], scene["thread"], "Activiteit 1")
    await reply(scene["anna"], scene["thread"], "Activiteit 2")
    clock.advance(days=1, minutes=1)
    await settle(server)
    digest = next(m for r, m in inbox.messages if r == [scene["cees"].email])
    assert digest["Subject"] == "Uw overzicht van Maak verschil"
    assert "Woningbouw (Werkgroep Wonen): 3 nieuwe berichten" in digest.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" in digest
    before = len(inbox.messages)
    clock.advance(days=1, minutes=1)  # nothing happened since: no empty digest
    await settle(server)
    assert [r for r, _ in inbox.messages[before:] if r == [scene["cees"].email]] == []


async def test_unsubscribe_without_logging_in(scene, server, anonymous, svc):
    anna = scene["anna"]
    token = mailings.unsubscribe_token(svc, anna.id, "notifications")
    visitor = await anonymous()
    page = await visitor.client.get(f"/unsubscribe/{token}")
    assert page.status == 200 and "Ja, afmelden" in await page.text()
    done = await visitor.client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200 and "geen e-mail meer over meldingen" in await done.text()
    assert (await anna.get("/api/v1/me"))["user"]["email_notifications"] == "never"
    digest_token = mailings.unsubscribe_token(svc, anna.id, "digest")
    answer = await visitor.post(f"/api/v1/unsubscribe/{digest_token}")
    assert answer == {"unsubscribed": "digest"}
    assert (await anna.get("/api/v1/me"))["user"]["digest"] == "never"
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    assert (await visitor.client.get(f"/unsubscribe/{forged}")).status == 404
    assert (await visitor.client.post(f"/unsubscribe/{anna.id}.everything.x")).status == 404


async def test_a_crash_in_the_middle_of_a_batch_sends_nothing_twice(scene, server, inbox, clock, monkeypatch,
                                                                    aiohttp_client, config):
    for user in (scene["bert"], scene["cees"]):
        await reply(user, scene["thread"], f"Hoi @anna-de-boer, {user.email}")
    await reply(scene["anna"], scene["thread"], "Hoi @bert-smit en @cees-veld")
    await quiet(server.app)  # this test plays the scheduler and the mailer itself
    await settle(server)
    clock.advance(minutes=11)
    real_render, calls = mailings.render, []

    def render_then_crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_render(*args, **kwargs)

    monkeypatch.setattr(mailings, "render", render_then_crash)
    with pytest.raises(RuntimeError):
        await mailings.send_due_mail(server.app[services_key])
    monkeypatch.setattr(mailings, "render", real_render)
    # a new server on the same database picks up the rest
    restarted = await aiohttp_client(create_app(config, clock=clock))
    await settle(restarted.server)
    assert sorted(r[0] for r, _ in inbox.messages) == sorted(
        [scene["anna"].email, scene["bert"].email, scene["cees"].email])


async def test_lost_access_hides_notifications_and_stops_their_mail(scene, server, inbox, clock, admin):
    bert, cees = scene["bert"], scene["cees"]
    await reply(cees, scene["thread"], "Voor Bert: @bert-smit, geheim plan")
    await settle(server)
    before = (await notes(bert))["notifications"][0]
    assert "Woningbouw" in before["text"] and before["excerpt"]
    await admin.delete(f"/api/v1/groups/{scene['group']}/members/{bert.id}", {"reason": "afgerond"})
    after_all = (await notes(bert))["notifications"]
    assert after_all[0]["kind"] == "member_removed"  # told that they were removed (and by whom)
    (after,) = [note for note in after_all if note["id"] == before["id"]]
    assert "Woningbouw" not in after["text"] and after["excerpt"] == "" and after["url"] is None
    assert after["thread_id"] is None and after["actor"] is None
    clock.advance(minutes=11)
    await settle(server)
    to_bert = [message.get_body(("plain",)).get_content() for r, message in inbox.messages if r == [bert.email]]
    assert to_bert and not any("Woningbouw" in text for text in to_bert)  # the queued mail about it is not sent
    assert any("U bent uit" in text for text in to_bert)  # only that of the removal itself
    await reply(cees, scene["thread"], "Weer @bert-smit")  # no longer a member: no new notification
    await settle(server)
    assert len((await notes(bert))["notifications"]) == 2  # the old mention and the removal
    page = await (await bert.client.get("/notifications")).text()
    assert "geheim" not in page and "Woningbouw" not in page


async def test_notification_pages_bell_and_settings(scene, server):
    anna, bert = scene["anna"], scene["bert"]
    await reply(bert, scene["thread"], "Voor de bel", scene["first_post"])
    await settle(server)
    home = await (await anna.client.get("/")).text()
    assert 'id="bell-count">1<' in home
    page = await (await anna.client.get("/notifications")).text()
    assert "Bert Smit reageerde op uw bericht in Woningbouw" in page and "Voor de bel" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    done = await anna.client.post("/notifications/read", data={"csrf_token": token, "id": "all"},
                                  allow_redirects=False)
    assert done.status == 303
    assert 'id="bell-count" hidden' in await (await anna.client.get("/")).text()
    form = await (await anna.client.get("/settings/notifications")).text()
    assert 'value="batched" checked' in form and 'value="weekly" checked' in form
    saved = await anna.client.post("/settings/notifications", data={
        "csrf_token": token, "email_notifications": "never", "digest": "daily"})
    assert saved.status == 200 and "opgeslagen" in await saved.text()
    bad = await anna.client.post("/settings/notifications", data={
        "csrf_token": token, "email_notifications": "loud", "digest": "daily"})
    assert bad.status == 422
    thread_page = await (await anna.client.get(f"/threads/{scene['thread']}")).text()
    assert 'action="/threads/%d/subscription"' % scene["thread"] in thread_page
    assert '<option value="watching" selected>' in thread_page  # she started it
    muted = await anna.client.post(f"/threads/{scene['thread']}/subscription",
                                   data={"csrf_token": token, "level": "muted"}, allow_redirects=False)
    assert muted.status == 303
    assert '<option value="muted" selected>' in await (await anna.client.get(f"/threads/{scene['thread']}")).text()
    await anna.get("/api/v1/notifications?before=abc", expect=400)
    await anna.post("/api/v1/notifications/read", {"ids": [], "all": False}, expect=422)
    await anna.post("/api/v1/notifications/read", {"ids": [1], "all": True}, expect=400)
    await anna.post("/api/v1/notifications/read", {"ids": ["1"]}, expect=422)


async def test_fan_out_to_many_watchers_is_one_durable_job(scene, server, svc, make_user, monkeypatch):
    group = await open_group(scene["admin"], "Open werkgroep")
    thread = (await scene["admin"].post(f"/api/v1/groups/{group['id']}/threads", {"title": "Open", "body": "x"},
                                        expect=201))["thread"]["id"]
    watchers = [await make_user(f"Volger {n}") for n in range(5)]
    for user in watchers:
        await user.put(f"/api/v1/threads/{thread}/subscription", {"level": "watching"})
    from forum.services import notifications as note_service
    monkeypatch.setattr(note_service, "FANOUT_CHUNK", 2)  # several chunks, each its own transaction
    await server.app[scheduler_key].stop()  # so the job is seen waiting
    await settle(server)
    await reply(scene["admin"], thread, "Voor iedereen")
    assert await count(svc, "jobs") == 1  # durable with the reply itself
    await settle(server)
    assert await count(svc, "jobs") == 0
    for user in watchers:  # an open group: watchers need not be members
        assert [n["kind"] for n in (await notes(user))["notifications"]] == ["watched_post"]
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT user_id, COUNT(*) FROM notifications WHERE kind = 'watched_post' GROUP BY user_id HAVING COUNT(*) > 1")
    assert rows == []


async def test_live_bell_receives_over_the_socket(scene, server):
    anna = scene["anna"]
    ws = await anna.client.ws_connect("/api/v1/live")
    await ws.send_json({"type": "subscribe", "channels": [f"user:{scene['bert'].id}"]})
    error = json.loads((await ws.receive()).data)
    assert error["type"] == "error" and error["code"] == "not_found"  # another's notifications
    await ws.close()


async def test_a_group_closed_to_outsiders_and_a_suspension_stop_what_was_queued(admin, make_user, server, inbox,
                                                                                 clock):
    group = await open_group(admin, "Open overleg")
    thread = (await admin.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Begroting", "body": "x"},
                               expect=201))["thread"]["id"]
    outsider, member = await make_user("Otto Buiten"), await make_user("Mila Lid")
    await member.post(f"/api/v1/groups/{group['id']}/join")
    await outsider.put(f"/api/v1/threads/{thread}/subscription", {"level": "watching"})  # open: anyone may read
    await member.put(f"/api/v1/threads/{thread}/subscription", {"level": "watching"})
    await reply(admin, thread, "Cijfers voor 2027")
    await settle(server)
    for user in (outsider, member):
        assert "Begroting" in (await notes(user))["notifications"][0]["text"]
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "Open overleg", "visibility": "closed"})
    hidden = (await notes(outsider))["notifications"][0]
    assert "Begroting" not in hidden["text"] and hidden["url"] is None
    await admin.post(f"/api/v1/admin/users/{member.id}/suspend", {"reason": "test"})
    clock.advance(minutes=11)
    await settle(server)
    # neither the outsider's nor the suspended member's notification mail went out: only the
    # mail that tells the member of the suspension (they cannot log in to read a notification)
    assert [(to, message["Subject"]) for to, message in inbox.messages] == [([member.email], "Uw account is geschorst")]


async def test_a_muted_group_silences_mentions_in_threads_not_followed(scene, server):
    await scene["cees"].put(f"/api/v1/groups/{scene['group']}/subscription", {"level": "muted"})
    await scene["admin"].post(f"/api/v1/groups/{scene['group']}/threads",
                              {"title": "Nieuw", "body": "Wat denk jij, @cees-veld?"}, expect=201)
    await settle(server)
    assert (await notes(scene["cees"]))["notifications"] == []
    await scene["anna"].post(f"/api/v1/groups/{scene['group']}/threads",
                             {"title": "Ander", "body": "En jij, @bert-smit?"}, expect=201)
    await settle(server)
    assert [n["kind"] for n in (await notes(scene["bert"]))["notifications"]] == ["mention"]


async def test_someone_removed_from_a_hidden_group_learns_nothing_it_became_since(admin, make_user):
    """Told of a removal or ban, one reads the group's name as it was then; renamed afterwards
    (a hidden group, "vertrouwelijk"), its new name, id and link are not theirs to see."""
    group = await open_group(admin, "Projectgroep", "hidden")
    anna = await make_user("Anna")
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": anna.id}, expect=201)
    await anna.post(f"/api/v1/groups/{group['id']}/join")
    await admin.delete(f"/api/v1/groups/{group['id']}/members/{anna.id}", {"reason": "afgerond"})
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "Fusie X (vertrouwelijk)", "visibility": "hidden"})
    told = [n for n in (await anna.get("/api/v1/notifications"))["notifications"] if n["kind"] == "member_removed"]
    assert len(told) == 1 and told[0]["text"] == "U bent uit Projectgroep verwijderd: afgerond"
    assert told[0]["group_id"] is None and told[0]["url"] == "/notifications"
    page = await (await anna.client.get("/notifications")).text()
    assert "Fusie" not in page and f"/groups/{group['id']}" not in page
    await anna.get(f"/api/v1/groups/{group['id']}", expect=404)
    # banned, renamed, lifted: the ban's end is told with the name she was told with the ban
    await admin.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": anna.id}, expect=201)
    await anna.post(f"/api/v1/groups/{group['id']}/join")
    await admin.post(f"/api/v1/groups/{group['id']}/bans", {"user_id": anna.id, "reason": "lekken"}, expect=201)
    await admin.patch(f"/api/v1/groups/{group['id']}", {"name": "Fusie Y (geheim)", "visibility": "hidden"})
    await admin.delete(f"/api/v1/groups/{group['id']}/bans/{anna.id}")
    texts = [n["text"] for n in (await anna.get("/api/v1/notifications"))["notifications"]]
    assert "U bent niet langer geweerd uit Fusie X (vertrouwelijk): u kunt weer lid worden" in texts
    assert not any("Fusie Y" in text for text in texts)
