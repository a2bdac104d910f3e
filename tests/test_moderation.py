"""Moderation and administration: every moderator and admin action lands in the audit log,
which admins read whole, moderators for their own groups, and nobody can change; timed
suspensions; bans."""
from __future__ import annotations

import json
import sqlite3

import psycopg

import pytest

from tests.conftest import PASSWORD, open_group

REFUSED = (sqlite3.IntegrityError, psycopg.IntegrityError)  # the audit log's triggers, on either database


@pytest.fixture
async def scene(admin, make_user):
    group = await open_group(admin, "Werkgroep Water", "closed")
    other = await open_group(admin, "Werkgroep Wind", "closed")
    moderator, member, outsider = await make_user("Mo Derator"), await make_user("Lid Een"), await make_user("Buiten")
    for user in (moderator, member):
        await user.post(f"/api/v1/groups/{group['id']}/join")
        await admin.post(f"/api/v1/groups/{group['id']}/members/{user.id}/approve")
    await admin.patch(f"/api/v1/groups/{group['id']}/members/{moderator.id}", {"role": "moderator"})
    thread = (await member.post(f"/api/v1/groups/{group['id']}/threads", {"title": "Dijken", "body": "x"},
                                expect=201))["thread"]["id"]
    for user in (admin, moderator, member):  # start from no unread notifications
        await user.post("/api/v1/notifications/read", {"all": True})
    return {"group": group["id"], "other": other["id"], "thread": thread, "admin": admin, "moderator": moderator,
            "member": member, "outsider": outsider}


async def test_actions_are_audited_and_scoped(scene, svc):
    admin, moderator, member = scene["admin"], scene["moderator"], scene["member"]
    await moderator.patch(f"/api/v1/threads/{scene['thread']}", {"locked": True, "title": "Dijken (dicht)"})
    await admin.patch(f"/api/v1/threads/{scene['thread']}", {"pinned": True})
    await admin.post(f"/api/v1/admin/users/{scene['outsider'].id}/suspend", {"reason": "spam", "until": "2099-01-01"})
    mine = await moderator.get(f"/api/v1/audit?group_id={scene['group']}")
    actions = [e["action"] for e in mine["entries"]]
    assert actions[:3] == ["thread.pin", "thread.rename", "thread.lock"] and "member.role" in actions
    assert all(e["group"]["id"] == scene["group"] for e in mine["entries"])  # not the site's suspensions
    assert mine["entries"][1]["data"] == {"was": "Dijken"} and mine["entries"][0]["actor"]["display_name"] == "Beheerder"
    everything = await admin.get("/api/v1/audit?action=user.suspend")
    (suspension,) = everything["entries"]
    assert suspension["reason"] == "spam" and suspension["target"]["label"] == "Buiten"
    # a date without a time is the start of that day in Dutch time (CET in winter: 23:00 UTC the day before)
    assert suspension["data"]["until"].startswith("2098-12-31T23:00:00")
    await moderator.get(f"/api/v1/audit?group_id={scene['other']}", expect=404)  # not their group
    await member.get("/api/v1/audit", expect=404)
    await moderator.get("/api/v1/audit?group_id=abc", expect=400)
    page = await (await moderator.client.get(f"/audit?group_id={scene['group']}")).text()
    log = page.split('<ol class="audit-log">')[1]
    assert "heeft de discussie" in log and "gesloten" in log and "geschorst" not in log
    assert (await member.client.get("/audit")).status == 404
    # append-only, whatever code runs
    async with svc.db.write() as tx:
        with pytest.raises(REFUSED):
            await tx.execute("UPDATE audit_log SET reason = 'niets'")
    async with svc.db.write() as tx:
        with pytest.raises(REFUSED):
            await tx.execute("DELETE FROM audit_log")


async def test_timed_suspension_refuses_login_with_the_reason_then_ends(scene, clock, anonymous):
    outsider, admin = scene["outsider"], scene["admin"]
    await admin.post(f"/api/v1/admin/users/{outsider.id}/suspend", {"reason": "afkoelen", "until": "2026-11-30"})
    await outsider.get("/api/v1/me", expect=401)  # its session ended at once
    visitor = await anonymous()
    refused = await visitor.post("/api/v1/login", {"email": outsider.email, "password": PASSWORD}, expect=403)
    assert "afkoelen" in refused["error"]["message"]
    clock.advance(days=3)
    await visitor.post("/api/v1/login", {"email": outsider.email, "password": PASSWORD})
    await admin.post(f"/api/v1/admin/users/{outsider.id}/suspend", {"reason": "x", "until": "gisteren"}, expect=422)
    await admin.post(f"/api/v1/admin/users/{outsider.id}/suspend", {"reason": "x", "until": "2020-01-01"}, expect=422)


async def test_a_banned_member_cannot_rejoin_or_ask(scene):
    moderator, member, group = scene["moderator"], scene["member"], scene["group"]
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "reason": "herhaald spam"}, expect=201)
    await member.get(f"/api/v1/threads/{scene['thread']}", expect=404)  # closed group: no longer readable
    refused = await member.post(f"/api/v1/groups/{group}/join", expect=403)
    assert refused["error"]["code"] == "forbidden"
    await moderator.post(f"/api/v1/groups/{group}/invitations", {"user_id": member.id}, expect=409)
    bans = (await moderator.get(f"/api/v1/groups/{group}/bans"))["bans"]
    assert [(b["user_id"], b["reason"]) for b in bans] == [(member.id, "herhaald spam")]
    await member.get(f"/api/v1/groups/{group}/bans", expect=403)
    await moderator.post(f"/api/v1/groups/{scene['other']}/bans", {"user_id": member.id, "reason": "spam"}, expect=403)  # not theirs
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": scene["admin"].id, "reason": "spam"}, expect=409)  # the owner
    audit = await moderator.get(f"/api/v1/audit?group_id={group}&action=member.ban")
    assert audit["entries"][0]["reason"] == "herhaald spam"
    await moderator.delete(f"/api/v1/groups/{group}/bans/{member.id}")
    assert (await member.post(f"/api/v1/groups/{group}/join"))["membership"]["role"] == "pending"
    await moderator.delete(f"/api/v1/groups/{group}/bans/{member.id}", expect=404)


async def test_moving_a_thread_moves_who_may_read_it(scene, make_user):
    admin, moderator, member = scene["admin"], scene["moderator"], scene["member"]
    wind_member = await make_user("Wind Lid")
    await wind_member.post(f"/api/v1/groups/{scene['other']}/join")
    await admin.post(f"/api/v1/groups/{scene['other']}/members/{wind_member.id}/approve")
    listener = await member.client.ws_connect("/api/v1/live")
    await listener.send_json({"type": "subscribe", "channels": [f"group:{scene['group']}"]})
    # a moderator of Water only may not move into Wind
    await moderator.patch(f"/api/v1/threads/{scene['thread']}", {"group_id": scene["other"]}, expect=403)
    await moderator.patch(f"/api/v1/threads/{scene['thread']}", {"group_id": 999999}, expect=422)
    await member.get(f"/api/v1/threads/{scene['thread']}")
    await wind_member.get(f"/api/v1/threads/{scene['thread']}", expect=404)
    moved = await admin.patch(f"/api/v1/threads/{scene['thread']}", {"group_id": scene["other"]})
    assert moved["thread"]["group_id"] == scene["other"]
    await member.get(f"/api/v1/threads/{scene['thread']}", expect=404)  # access follows the new group
    await wind_member.get(f"/api/v1/threads/{scene['thread']}")
    water = await member.get(f"/api/v1/groups/{scene['group']}/threads")
    assert scene["thread"] not in [t["id"] for t in water["threads"]]
    while True:
        frame = json.loads((await listener.receive(timeout=3)).data)
        if frame.get("kind") == "thread.removed":
            assert frame["data"] == {"thread_id": scene["thread"]}  # told it left, not where to
            break
    await listener.close()
    for group in (scene["group"], scene["other"]):
        entries = (await admin.get(f"/api/v1/audit?group_id={group}&action=thread.move"))["entries"]
        assert entries[0]["data"] == {"from": scene["group"], "to": scene["other"]}


async def test_deleting_a_thread(scene):
    admin, moderator, member = scene["admin"], scene["moderator"], scene["member"]
    await member.delete(f"/api/v1/threads/{scene['thread']}", expect=403)
    # its author is told why: no reason, nothing removed
    refused = await moderator.delete(f"/api/v1/threads/{scene['thread']}", expect=422)
    assert "reason" in refused["error"]["fields"]
    await moderator.get(f"/api/v1/threads/{scene['thread']}")
    await moderator.delete(f"/api/v1/threads/{scene['thread']}", {"reason": "dubbel"})
    await member.get(f"/api/v1/threads/{scene['thread']}", expect=404)
    await admin.get(f"/api/v1/threads/{scene['thread']}", expect=404)
    await moderator.delete(f"/api/v1/threads/{scene['thread']}", expect=404)
    assert (await admin.get("/api/v1/audit?action=thread.delete"))["entries"][0]["target"]["label"] == "Dijken"


async def test_thread_page_offers_moderators_move_and_delete(scene):
    page = await (await scene["admin"].client.get(f"/threads/{scene['thread']}")).text()
    assert 'name="action" value="move"' in page and f'<option value="{scene["other"]}">Werkgroep Wind</option>' in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    moved = await scene["admin"].client.post(f"/threads/{scene['thread']}/moderate", allow_redirects=False,
                                             data={"csrf_token": token, "action": "move", "group_id": str(scene["other"])})
    assert moved.status == 303
    asked = await scene["admin"].client.post(f"/threads/{scene['thread']}/moderate", allow_redirects=False,
                                             data={"csrf_token": token, "action": "delete"})
    question = await asked.text()  # deleting asks first, on a page of its own, with a reason
    assert asked.status == 200 and 'name="confirm" value="yes"' in question and 'name="reason"' in question
    assert (await scene["admin"].get(f"/api/v1/threads/{scene['thread']}"))["thread"]["id"] == scene["thread"]
    gone = await scene["admin"].client.post(f"/threads/{scene['thread']}/moderate", allow_redirects=False,
                                            data={"csrf_token": token, "action": "delete", "confirm": "yes",
                                                  "reason": "dubbel"})
    assert gone.status == 303 and gone.headers["Location"] == f"/groups/{scene['other']}?deleted=thread"
    told = await (await scene["admin"].client.get(gone.headers["Location"])).text()
    assert "De discussie is verwijderd. De schrijver krijgt bericht." in told
    member_page = await (await scene["member"].client.get(f"/groups/{scene['group']}")).text()
    assert "Dijken" not in member_page


async def test_reports_gather_per_post_and_are_resolved_with_an_outcome(scene, make_user, server):
    from forum.keys import scheduler_key
    admin, moderator, member = scene["admin"], scene["moderator"], scene["member"]
    second = await make_user("Twee")
    await second.post(f"/api/v1/groups/{scene['group']}/join")
    await admin.post(f"/api/v1/groups/{scene['group']}/members/{second.id}/approve")
    spam = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Koop nu goedkope dijken!"},
                              expect=201))["post"]
    first = await moderator.post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "spam"}, expect=201)
    again = await second.post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "other", "text": "reclame"}, expect=201)
    assert first["item_id"] == again["item_id"]  # one queue item per post
    await second.post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "spam"}, expect=409)  # once each
    await member.post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "spam"}, expect=409)  # not one's own
    await second.post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "rude"}, expect=422)
    await scene["outsider"].post(f"/api/v1/posts/{spam['id']}/reports", {"reason": "spam"}, expect=404)
    (item,) = (await moderator.get(f"/api/v1/moderation/queue?group_id={scene['group']}"))["items"]
    assert [r["reason"] for r in item["reports"]] == ["spam", "other"] and item["post"]["id"] == spam["id"]
    assert [i["id"] for i in (await admin.get("/api/v1/moderation/queue"))["items"]] == [item["id"]]
    await member.get("/api/v1/moderation/queue", expect=404)
    await moderator.get(f"/api/v1/moderation/queue?group_id={scene['other']}", expect=404)
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "hide"}, expect=422)  # why?
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "hide", "reason": "reclame"})
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "dismiss"}, expect=409)
    assert (await moderator.get("/api/v1/moderation/queue"))["items"] == []
    # others see a placeholder; the author sees that and why
    shown = (await second.get(f"/api/v1/threads/{scene['thread']}"))["posts"][-1]
    assert shown["hidden"] and shown["body_html"] == ""
    await server.app[scheduler_key].run_once()
    told = (await member.get("/api/v1/notifications?unread=1"))["notifications"]
    assert told[0]["kind"] == "post_hidden" and "verborg uw bericht" in told[0]["text"] and "reclame" in told[0]["text"]
    for reporter in (moderator, second):
        outcome = (await reporter.get("/api/v1/notifications?unread=1"))["notifications"][0]
        assert outcome["kind"] == "report_resolved" and "het bericht is verborgen" in outcome["text"]
    others = await (await second.client.get(f"/threads/{scene['thread']}")).text()
    assert "goedkope dijken" not in others and "verborgen door een moderator" in others
    own = await (await member.client.get(f"/threads/{scene['thread']}")).text()
    assert "Reden: reclame" in own
    logged = (await moderator.get(f"/api/v1/audit?group_id={scene['group']}&action=report.hide"))["entries"]
    assert logged[0]["reason"] == "reclame"


async def test_report_and_queue_pages(scene):
    admin, member = scene["admin"], scene["member"]
    post = (await admin.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Beheer zegt iets"},
                             expect=201))["post"]
    thread_page = await (await member.client.get(f"/threads/{scene['thread']}")).text()
    assert f'href="/posts/{post["id"]}/report"' in thread_page
    form = await (await member.client.get(f"/posts/{post['id']}/report")).text()
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    assert "<blockquote><p>Beheer zegt iets</p>" in form  # the reporter sees what they report
    empty = await member.client.post(f"/posts/{post['id']}/report", data={"csrf_token": token, "reason": "other"})
    assert empty.status == 422  # "other" needs a word of explanation
    assert 'aria-describedby="e-text"' in await empty.text()
    sent = await member.client.post(f"/posts/{post['id']}/report", data={"csrf_token": token, "reason": "off_topic"})
    assert sent.status == 200 and "Een moderator bekijkt uw melding" in await sent.text()
    queue = await (await admin.client.get("/moderation")).text()
    assert "Beheer zegt iets" in queue and "Hoort niet in deze discussie" in queue
    item_id = queue.split('action="/moderation/')[1].split("/")[0]
    token = queue.split('name="csrf_token" value="')[1].split('"')[0]
    done = await admin.client.post(f"/moderation/{item_id}/resolve", allow_redirects=False,
                                   data={"csrf_token": token, "action": "dismiss"})
    assert done.status == 303 and done.headers["Location"] == "/moderation?resolved=dismissed"
    back = await (await admin.client.get(done.headers["Location"])).text()
    assert "Afgehandeld: geen actie." in back and "Er wachten geen gemelde berichten op u." in back


async def test_admin_page_suspends_until_a_date(scene):
    admin, outsider = scene["admin"], scene["outsider"]
    page = await (await admin.client.get("/admin/users")).text()
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    asked = await admin.client.post(f"/admin/users/{outsider.id}", allow_redirects=False, data={
        "csrf_token": token, "action": "suspend"})
    question = await asked.text()  # asked on a page of its own: the reason and the end
    assert asked.status == 200 and 'name="reason"' in question and 'type="date"' in question
    assert not (await admin.get("/api/v1/admin/users?status=suspended"))["users"]
    no_reason = await admin.client.post(f"/admin/users/{outsider.id}", allow_redirects=False, data={
        "csrf_token": token, "action": "suspend", "confirm": "yes", "until": "2026-12-24"})
    page = await no_reason.text()  # the same page again, the date kept and the reason marked
    assert no_reason.status == 422 and 'id="e-reason"' in page and 'value="2026-12-24"' in page
    assert not (await admin.get("/api/v1/admin/users?status=suspended"))["users"]
    done = await admin.client.post(f"/admin/users/{outsider.id}", allow_redirects=False, data={
        "csrf_token": token, "action": "suspend", "confirm": "yes", "reason": "even rust", "until": "2026-12-24"})
    assert done.status == 303
    user = (await admin.get("/api/v1/admin/users?status=suspended"))["users"][0]
    # the start of 24 December in Dutch time, shown as that date (not "24 dec 2026 01:00")
    assert user["id"] == outsider.id and user["suspended_until"] == "2026-12-23T23:00:00.000000Z"
    listing = await (await admin.client.get("/admin/users?status=suspended")).text()
    assert "tot 24 dec 2026<" in listing


async def test_moderators_are_told_of_a_reported_post_count_it_and_come_back_to_their_queue(scene, make_user):
    from tests.test_pages import csrf_of
    moderator, member, group = scene["moderator"], scene["member"], scene["group"]
    second = await make_user("Tweede Lid")
    await second.post(f"/api/v1/groups/{group}/join")
    await scene["admin"].post(f"/api/v1/groups/{group}/members/{second.id}/approve")
    post = (await second.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Koop nu goedkoop!"},
                              expect=201))["post"]
    await member.post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam"}, expect=201)
    await scene["admin"].post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam"}, expect=201)
    notes = [n for n in (await moderator.get("/api/v1/notifications"))["notifications"] if n["kind"] == "report_new"]
    assert len(notes) == 1  # one post to look at: told once, however many report it
    assert notes[0]["text"] == "Lid Een meldde een bericht in Dijken (Werkgroep Water)"
    assert notes[0]["url"].startswith(f"/moderation?group_id={group}#item-")
    assert notes[0]["excerpt"] == "Koop nu goedkoop!"
    assert [n["kind"] for n in (await scene["admin"].get("/api/v1/notifications"))["notifications"]
            ].count("report_new") == 1  # the group's owner too (their own report came after)
    assert not [n for n in (await member.get("/api/v1/notifications"))["notifications"] if n["kind"] == "report_new"]
    # counts: in the header and on the group page, for those who handle the queue only
    other = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Nog iets"}, expect=201))["post"]
    await second.post(f"/api/v1/posts/{other['id']}/reports", {"reason": "off_topic"}, expect=201)
    header = await (await moderator.client.get("/")).text()
    assert 'Te beoordelen <span class="count">2' in header
    group_page = await (await moderator.client.get(f"/groups/{group}")).text()
    assert 'Te beoordelen <span class="count">2' in group_page
    assert "Te beoordelen" not in await (await member.client.get("/")).text()
    # a missing reason keeps the moderator on their queue, the field marked, what they typed kept
    queue = await (await moderator.client.get(f"/moderation?group_id={group}")).text()
    item_id = queue.split('action="/moderation/')[1].split("/")[0]
    response = await moderator.client.post(f"/moderation/{item_id}/resolve", data={
        "csrf_token": csrf_of(queue), "action": "hide", "reason": "", "group_id": str(group)})
    page = await response.text()
    assert response.status == 422 and f'id="e-reason-{item_id}"' in page and 'aria-invalid="true"' in page
    assert f'<input type="hidden" name="group_id" value="{group}">' in page
    # and resolving brings them back to the queue they came from, saying what was done
    response = await moderator.client.post(f"/moderation/{item_id}/resolve", allow_redirects=False, data={
        "csrf_token": csrf_of(queue), "action": "hide", "reason": "reclame", "group_id": str(group)})
    assert response.status == 303 and response.headers["Location"] == f"/moderation?resolved=hidden&group_id={group}"
    back = await (await moderator.client.get(response.headers["Location"])).text()
    assert "Afgehandeld: het bericht is verborgen." in back
    assert 'Te beoordelen <span class="count">1' in back
    # deleting from the queue asks first, on a page that shows the post, keeping the reason typed
    other = back.split('action="/moderation/')[1].split("/")[0]
    asked = await moderator.client.post(f"/moderation/{other}/resolve", data={
        "csrf_token": csrf_of(back), "action": "delete", "reason": "reclame", "group_id": str(group)})
    question = await asked.text()
    assert asked.status == 200 and 'name="confirm" value="yes"' in question and ">reclame</textarea>" in question
    assert "<blockquote" in question and f'<input type="hidden" name="group_id" value="{group}">' in question
    assert 'Te beoordelen <span class="count">1' in await (await moderator.client.get("/")).text()  # not yet
    reasonless = await moderator.client.post(f"/moderation/{other}/resolve", data={
        "csrf_token": csrf_of(back), "action": "delete", "reason": " ", "group_id": str(group), "confirm": "yes"})
    page = await reasonless.text()  # the author is told why: the same page again, its field marked
    assert reasonless.status == 422 and 'id="e-reason"' in page and "<blockquote" in page
    assert 'Te beoordelen <span class="count">1' in await (await moderator.client.get("/")).text()
    done = await moderator.client.post(f"/moderation/{other}/resolve", allow_redirects=False, data={
        "csrf_token": csrf_of(back), "action": "delete", "reason": "reclame", "group_id": str(group),
        "confirm": "yes"})
    assert done.status == 303 and done.headers["Location"] == f"/moderation?resolved=deleted&group_id={group}"
    told = [n for n in (await scene["member"].get("/api/v1/notifications"))["notifications"]
            if n["kind"] == "post_removed"]
    assert len(told) == 1 and told[0]["text"].endswith(": reclame") and told[0]["actor"] is None


async def test_a_report_on_site_news_comments_reaches_its_editors(scene, make_user):
    from tests.test_news import make_editor
    editor = await make_editor(scene["admin"], make_user)
    item = (await editor.post("/api/v1/news", {"title": "Werkconferentie", "body": "Kom ook"}, expect=201))["news"]
    comment = (await scene["member"].post(f"/api/v1/threads/{item['thread_id']}/posts", {"body": "Rare reclame"},
                                          expect=201))["post"]
    await scene["outsider"].post(f"/api/v1/posts/{comment['id']}/reports", {"reason": "spam"}, expect=201)
    notes = [n for n in (await editor.get("/api/v1/notifications"))["notifications"] if n["kind"] == "report_new"]
    assert len(notes) == 1 and notes[0]["url"].startswith("/moderation?group_id=")
    queue = await (await editor.client.get(notes[0]["url"].split("#")[0])).text()
    assert "Rare reclame" in queue
    assert not [n for n in (await scene["moderator"].get("/api/v1/notifications"))["notifications"]
                if n["kind"] == "report_new"]  # a group's moderator has no part in the site's news


async def test_a_ban_for_a_period_ends_by_itself_and_the_person_may_join_again(scene, server, clock):
    from forum.keys import scheduler_key
    from tests.test_pages import csrf_of
    moderator, member, group = scene["moderator"], scene["member"], scene["group"]
    page = await (await moderator.client.get(f"/groups/{group}/members")).text()
    asked = await moderator.client.post(f"/groups/{group}/members/{member.id}",
                                        data={"csrf_token": csrf_of(page), "action": "ban"})
    question = await asked.text()
    assert asked.status == 200 and 'name="days"' in question and '<option value="7"' in question
    odd = await moderator.client.post(f"/groups/{group}/members/{member.id}", data={
        "csrf_token": csrf_of(page), "action": "ban", "confirm": "yes", "days": "soon", "reason": "rust"})
    again = await odd.text()  # the same page, the field marked and the reason kept
    assert odd.status == 422 and 'id="e-days"' in again and ">rust</textarea>" in again
    assert (await moderator.get(f"/api/v1/groups/{group}/bans"))["bans"] == []
    done = await moderator.client.post(f"/groups/{group}/members/{member.id}", allow_redirects=False, data={
        "csrf_token": csrf_of(page), "action": "ban", "confirm": "yes", "days": "7", "reason": "even afkoelen"})
    assert done.status == 303
    (ban,) = (await moderator.get(f"/api/v1/groups/{group}/bans"))["bans"]
    assert ban["ends_at"] > ban["created_at"] and ban["reason"] == "even afkoelen"
    told = (await member.get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "banned" and told["actor"] is None  # the moderators act as one
    assert told["text"].startswith("U bent geweerd uit Werkgroep Water: even afkoelen (tot ")
    group_page = await (await member.client.get(f"/groups/{group}")).text()
    assert "U kunt weer lid worden vanaf" in group_page
    await member.post(f"/api/v1/groups/{group}/join", expect=403)
    clock.advance(days=7, minutes=1)
    await server.app[scheduler_key].run_once()
    assert (await moderator.get(f"/api/v1/groups/{group}/bans"))["bans"] == []
    await member.post(f"/api/v1/groups/{group}/join")
    ended = (await scene["admin"].get("/api/v1/audit?action=member.ban_ended"))["entries"]
    assert len(ended) == 1 and ended[0]["actor"] is None and ended[0]["target"]["label"] == "Lid Een"


async def test_a_ban_tells_only_who_was_in_the_group_and_once(scene):
    moderator, outsider, member, group = scene["moderator"], scene["outsider"], scene["member"], scene["group"]
    for _ in range(3):  # a stranger, banned ahead: not sent the group's name and the moderator's words
        await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": outsider.id, "reason": "zie http://x"},
                             expect=201)
    assert (await outsider.get("/api/v1/notifications"))["notifications"] == []
    for _ in range(2):
        await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "reason": "spam"}, expect=201)
    kinds = [n["kind"] for n in (await member.get("/api/v1/notifications"))["notifications"]]
    assert kinds.count("banned") == 1
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "days": 0, "reason": "spam"}, expect=422)
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "days": "7", "reason": "spam"}, expect=422)


async def test_removing_a_member_asks_for_a_reason_and_tells_them(scene):
    from tests.test_pages import csrf_of
    moderator, member, group = scene["moderator"], scene["member"], scene["group"]
    page = await (await moderator.client.get(f"/groups/{group}/members")).text()
    asked = await moderator.client.post(f"/groups/{group}/members/{member.id}",
                                        data={"csrf_token": csrf_of(page), "action": "remove"})
    assert asked.status == 200 and 'name="reason"' in await asked.text()
    mine = await moderator.client.post(f"/groups/{group}/members/{moderator.id}",
                                       data={"csrf_token": csrf_of(page), "action": "remove"})
    assert mine.status == 409 and "Groep verlaten" in await mine.text()  # said before asking
    done = await moderator.client.post(f"/groups/{group}/members/{member.id}", allow_redirects=False, data={
        "csrf_token": csrf_of(page), "action": "remove", "confirm": "yes", "reason": "Project afgerond"})
    assert done.status == 303
    told = (await member.get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "member_removed" and told["text"] == "U bent uit Werkgroep Water verwijderd: Project afgerond"
    entry = (await scene["admin"].get("/api/v1/audit?action=member.remove"))["entries"][0]
    assert entry["reason"] == "Project afgerond"


async def test_lifting_a_ban_twice_lands_on_the_list(scene):
    from tests.test_pages import csrf_of
    moderator, member, group = scene["moderator"], scene["member"], scene["group"]
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "reason": "spam"}, expect=201)
    page = await (await moderator.client.get(f"/groups/{group}/members")).text()
    for _ in range(2):
        lifted = await moderator.client.post(f"/groups/{group}/members/{member.id}", allow_redirects=False,
                                             data={"csrf_token": csrf_of(page), "action": "unban"})
        assert lifted.status == 303
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "reason": "spam"}, expect=201)
    stranger = await scene["outsider"].client.post(f"/groups/{group}/members/{member.id}", data={
        "csrf_token": scene["outsider"].csrf, "action": "unban"})
    assert stranger.status == 403  # a closed group shows its name, not its bans
    assert len((await moderator.get(f"/api/v1/groups/{group}/bans"))["bans"]) == 1


async def test_deleting_a_post_asks_first_and_a_moderator_tells_the_author_why(scene):
    from tests.test_pages import csrf_of
    moderator, member = scene["moderator"], scene["member"]
    post = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Koop **nu**"}, expect=201))["post"]
    page = await (await moderator.client.get(f"/threads/{scene['thread']}")).text()
    asked = await moderator.client.post(f"/posts/{post['id']}/delete", data={"csrf_token": csrf_of(page)})
    question = await asked.text()  # the post itself is shown, and a reason asked for
    assert asked.status == 200 and "<strong>nu</strong>" in question and 'name="reason"' in question
    assert (await member.get(f"/api/v1/threads/{scene['thread']}"))["posts"][-1]["deleted"] is False
    too_long = await moderator.client.post(f"/posts/{post['id']}/delete", data={
        "csrf_token": csrf_of(page), "confirm": "yes", "reason": "x" * 501})
    assert too_long.status == 422 and 'id="e-reason"' in await too_long.text()
    reasonless = await moderator.client.post(f"/posts/{post['id']}/delete", data={
        "csrf_token": csrf_of(page), "confirm": "yes", "reason": ""})
    assert reasonless.status == 422 and 'id="e-reason"' in await reasonless.text()
    assert (await member.get(f"/api/v1/threads/{scene['thread']}"))["posts"][-1]["deleted"] is False
    await moderator.delete(f"/api/v1/posts/{post['id']}", expect=422)  # the API asks the same
    for invisible in ("\u200b\u200b", "\u00ad \u2060\ufeff", "\x7f\x85"):  # a reason that shows nothing is none
        await moderator.delete(f"/api/v1/posts/{post['id']}", {"reason": invisible}, expect=422)
    done = await moderator.client.post(f"/posts/{post['id']}/delete", allow_redirects=False, data={
        "csrf_token": csrf_of(page), "confirm": "yes", "reason": "reclame"})
    assert done.status == 303
    told = (await member.get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "post_removed" and told["text"] == "Een moderator verwijderde uw bericht in Dijken: reclame"
    own = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Oeps"}, expect=201))["post"]
    page = await (await member.client.get(f"/threads/{scene['thread']}")).text()
    mine = await member.client.post(f"/posts/{own['id']}/delete", data={"csrf_token": csrf_of(page)})
    assert mine.status == 200 and 'name="reason"' not in await mine.text()  # one's own: asked, no reason


async def test_deleting_a_thread_tells_its_author_with_its_title(scene):
    await scene["moderator"].delete(f"/api/v1/threads/{scene['thread']}", {"reason": "dubbel"})
    told = (await scene["member"].get("/api/v1/notifications"))["notifications"][0]
    assert told["kind"] == "thread_removed" and told["text"].startswith("Een moderator verwijderde uw discussie Dijken")
    assert told["text"].endswith(": dubbel")


async def test_the_report_form_shows_no_hidden_or_removed_words(scene):
    from tests.test_pages import csrf_of
    member, moderator = scene["member"], scene["moderator"]
    hidden = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "VERBORGEN 0612345678"},
                                expect=201))["post"]
    gone = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "WEGGEHAALD"},
                              expect=201))["post"]
    await moderator.post(f"/api/v1/posts/{hidden['id']}/reports", {"reason": "spam"}, expect=201)
    item = (await moderator.get("/api/v1/moderation/queue"))["items"][0]
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "hide", "reason": "privé"})
    await member.delete(f"/api/v1/posts/{gone['id']}")
    page = await (await moderator.client.get(f"/threads/{scene['thread']}")).text()
    for post, words in ((hidden, "VERBORGEN"), (gone, "WEGGEHAALD")):
        for reader in (moderator, member):
            for data in ({}, {"reason": "spam"}):
                token = csrf_of(await (await reader.client.get(f"/threads/{scene['thread']}")).text())
                answer = await reader.client.post(f"/posts/{post['id']}/report", data={"csrf_token": token, **data})
                assert answer.status in (403, 404) and words not in await answer.text()
            shown = await reader.client.get(f"/posts/{post['id']}/report")
            assert shown.status in (403, 404) and words not in await shown.text()
    assert "VERBORGEN" in page  # the words exist, for the moderator on the thread page: the form alone hides them


async def test_someone_banned_may_not_report(scene):
    group = await open_group(scene["admin"], "Open Plein", "open")
    thread = (await scene["admin"].post(f"/api/v1/groups/{group['id']}/threads", {"title": "T", "body": "x"},
                                        expect=201))["thread"]
    post_id = (await scene["admin"].get(f"/api/v1/threads/{thread['id']}"))["posts"][0]["id"]
    await scene["member"].post(f"/api/v1/groups/{group['id']}/join")
    await scene["admin"].post(f"/api/v1/groups/{group['id']}/bans", {"user_id": scene["member"].id, "reason": "spam"}, expect=201)
    await scene["member"].post(f"/api/v1/posts/{post_id}/reports", {"reason": "spam"}, expect=403)


async def test_the_audit_log_reads_as_sentences_with_links_and_filters_by_name(scene):
    admin, moderator, member, group = scene["admin"], scene["moderator"], scene["member"], scene["group"]
    await moderator.post(f"/api/v1/groups/{group}/bans", {"user_id": member.id, "reason": "herhaald <spammen>"},
                         expect=201)
    await admin.post(f"/api/v1/admin/users/{scene['outsider'].id}/suspend", {"reason": "rust", "until": "2099-01-31"})
    page = await (await moderator.client.get("/audit")).text()
    assert (f'<a href="/users/{moderator.id}">Mo Derator</a> heeft <a href="/users/{member.id}">Lid Een</a> geweerd'
            f' uit <a href="/groups/{group}">Werkgroep Water</a>: herhaald &lt;spammen&gt;') in page
    log = page.split('<ol class="audit-log">')[1]
    assert "member.ban" not in log  # words, not keys
    assert "geschorst" not in log  # the site's suspensions are the admins'
    assert f'<option value="{group}">Werkgroep Water</option>' in page and "Werkgroep Wind" not in page
    assert f'<option value="{moderator.id}">Mo Derator</option>' in page  # people by name, not number
    everything = await (await admin.client.get("/audit?action=user.suspend")).text()
    assert f'heeft <a href="/users/{scene["outsider"].id}">Buiten</a> geschorst (tot 31 jan 2099): rust' in everything
    await moderator.patch("/api/v1/me", {"display_name": "Mo Derator", "locale": "en"})
    english = await (await moderator.client.get("/audit?action=member.ban")).text()
    assert f'<a href="/users/{moderator.id}">Mo Derator</a> banned <a href="/users/{member.id}">Lid Een</a> from' in english
    deleted = await admin.client.get("/audit?action=member.ban&since=2020-01-01&until=2020-12-31")
    assert "Geen acties gevonden met deze filters." in await deleted.text()
    for bad in ("since=gisteren", "until=2026-13-01", "since=20260101"):
        refused = await admin.client.get(f"/audit?{bad}")
        page = await refused.text()  # the page again, its date field marked, what was typed kept
        assert refused.status == 400 and 'aria-invalid="true"' in page and "zoals 2026-12-31" in page
    backwards = await admin.client.get("/audit?since=2026-12-05&until=2026-12-01")  # would show nothing, silently
    assert backwards.status == 400 and 'id="e-until"' in await backwards.text()
    assert (await admin.client.get("/audit?since=2026-12-05&until=2026-12-05")).status == 200  # one day
    moderator_page = await (await moderator.client.get("/audit")).text()
    assert 'value="user.suspend"' not in moderator_page  # not offered what their log cannot hold
    await admin.delete(f"/api/v1/threads/{scene['thread']}", {"reason": "dubbel"})
    log = await (await admin.client.get("/audit?action=thread.delete")).text()
    assert "heeft de discussie <strong>Dijken</strong> verwijderd" in log  # gone: named, not linked
    assert (await member.client.get("/posts/999999")).status == 404


async def test_odd_dates_and_ids_are_refused_not_a_500(scene):
    admin = scene["admin"]
    for query in ("until=9999-12-31", "since=0001-01-01", "until=2026-02-30"):
        assert (await admin.client.get(f"/audit?{query}")).status == 400
        await admin.get(f"/api/v1/audit?{query}", expect=400)
    for until in ("0001-01-01", "9999-12-31T23:59:59-05:00"):
        answer = await admin.post(f"/api/v1/admin/users/{scene['outsider'].id}/suspend",
                                  {"reason": "r", "until": until}, expect=422)
        assert "until" in answer["error"]["fields"]
    await admin.put("/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": True,
                                               "logo_document_id": 10 ** 30}, expect=422)


async def test_asking_again_or_locking_again_does_not_flood_anyone(scene, make_user):
    group, thread, moderator = scene["group"], scene["thread"], scene["moderator"]
    asker = await make_user("Vrager")
    for _ in range(4):  # ask, withdraw, ask again: one notice waits for the moderators
        await asker.post(f"/api/v1/groups/{group}/join", {"message": "Mag ik erbij?"})
        await asker.post(f"/api/v1/groups/{group}/leave")
    notes = (await moderator.get("/api/v1/notifications"))["notifications"]
    assert [n["kind"] for n in notes].count("join_request") == 1
    for _ in range(3):
        await moderator.patch(f"/api/v1/threads/{thread}", {"locked": True})
        await moderator.patch(f"/api/v1/threads/{thread}", {"locked": False})
    author_notes = (await scene["member"].get("/api/v1/notifications"))["notifications"]
    assert [n["kind"] for n in author_notes].count("thread_locked") == 1
    await scene["member"].post("/api/v1/notifications/read", {"all": True})
    await moderator.patch(f"/api/v1/threads/{thread}", {"locked": True})  # read since: told again
    author_notes = (await scene["member"].get("/api/v1/notifications"))["notifications"]
    assert [n["kind"] for n in author_notes].count("thread_locked") == 2


def test_every_kind_of_audit_entry_reads_as_a_sentence_and_has_a_filter_name():
    """What the services write to the log (audit.record's action) is told in words and offered
    in the filter: a kind without them would show its raw key."""
    import re
    from pathlib import Path

    from forum.services.moderation import ACTIONS
    from forum.web.audit_text import ACTION_NAMES, SENTENCES
    recorded = {f"report.{action}" for action in ACTIONS}
    for path in (Path(__file__).parent.parent / "forum" / "services").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for call in re.finditer(r"audit\.record\(", source):
            recorded |= set(re.findall(r'"([a-z]+\.[a-z_]+)"', source[call.end():call.end() + 400].split(")\n")[0]))
    assert len(recorded) > 30  # the scan found the calls
    assert {"event.propose", "member.ban", "thread.delete"} <= recorded
    assert sorted(recorded - SENTENCES.keys()) == [] and sorted(recorded - ACTION_NAMES.keys()) == []


async def test_the_thread_list_names_the_writer_of_the_newest_post_still_shown(scene):
    moderator, member = scene["moderator"], scene["member"]
    await moderator.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Welkom"}, expect=201)
    spam = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Koop nu"}, expect=201))["post"]

    def last_poster(listed):
        return [t["last_poster"]["id"] for t in listed["threads"] if t["id"] == scene["thread"]]
    assert last_poster(await moderator.get(f"/api/v1/groups/{scene['group']}/threads")) == [member.id]
    await moderator.delete(f"/api/v1/posts/{spam['id']}", {"reason": "reclame"})
    assert last_poster(await moderator.get(f"/api/v1/groups/{scene['group']}/threads")) == [moderator.id]
    page = await (await member.client.get(f"/groups/{scene['group']}")).text()
    row = page.split(f'data-thread-id="{scene["thread"]}"')[1].split("</tr>")[0]
    assert "Lid Een," not in row.split("Laatste bericht")[-1]


async def test_an_author_who_removed_the_post_is_not_told_a_moderator_did(scene):
    moderator, member = scene["moderator"], scene["member"]
    post = (await member.post(f"/api/v1/threads/{scene['thread']}/posts", {"body": "Oeps"}, expect=201))["post"]
    await moderator.post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam"}, expect=201)
    await member.delete(f"/api/v1/posts/{post['id']}")
    item = (await moderator.get("/api/v1/moderation/queue"))["items"][0]
    await moderator.post(f"/api/v1/moderation/queue/{item['id']}/resolve", {"action": "delete"})  # no reason needed
    kinds = [n["kind"] for n in (await member.get("/api/v1/notifications"))["notifications"]]
    assert "post_removed" not in kinds


async def test_whoever_has_no_audit_log_hears_that_before_a_filters_fault(scene):
    await scene["member"].get("/api/v1/audit?since=gisteren", expect=404)
    await scene["admin"].get("/api/v1/audit?since=gisteren", expect=400)
