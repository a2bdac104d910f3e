"""Events: who makes them where, who sees them (the list and the single event agree, for every
kind of reader), sign-ups with a waiting list that moves up by itself and never overbooks,
Dutch time across daylight-saving changes, cancelling, reminders, attendees and their CSV,
comments, and bad input that changes nothing."""
from __future__ import annotations

import asyncio
import json

import pytest

from forum.keys import scheduler_key
from tests.conftest import open_group, snapshot
from tests.test_live import connect, next_frame, watch
from tests.test_news import make_editor, moderated_group, page


async def make_event(user, expect=201, **fields):
    body = {"title": "Werkconferentie PROEF VERSCHIL", "description": "Een dag over **samenwerking** in de regio.",
            "starts_at": "2027-03-15T10:00", "ends_at": "2027-03-15T16:00", **fields}
    answer = await user.post("/api/v1/events", body, expect=expect)
    return answer.get("event")


async def event_ids(user, query: str = "") -> set[int]:
    ids = set()
    for when in ("upcoming", "past"):
        cursor = None
        while True:
            body = await user.get(f"/api/v1/events?when={when}&{query}" + (f"&cursor={cursor}" if cursor else ""))
            ids |= {event["id"] for event in body["events"]}
            cursor = body["next"]
            if not cursor:
                break
    return ids


async def member_of(group, moderator, user):
    await moderator.post(f"/api/v1/groups/{group['id']}/invitations", {"user_id": user.id}, expect=201)
    await user.post(f"/api/v1/groups/{group['id']}/join")


@pytest.fixture
async def world(admin, make_user, anonymous, server):
    editor = await make_editor(admin, make_user)
    moderator = await make_user("Mo Moderator")
    member = await make_user("Lid Zonder Groep")
    insider = await make_user("Carla Binnen")
    banned = await make_user("Bert Geweerd")
    closed = await moderated_group(admin, moderator, "Besloten werkgroep", visibility="closed")
    opened = await moderated_group(admin, moderator, "Open werkgroep")
    await member_of(closed, moderator, insider)
    await member_of(opened, moderator, insider)
    await banned.post(f"/api/v1/groups/{opened['id']}/join")
    await moderator.post(f"/api/v1/groups/{opened['id']}/bans", {"user_id": banned.id, "reason": "spam"}, expect=201)
    await admin.patch(f"/api/v1/groups/{opened['id']}", {"name": opened["name"], "visibility": "open",
                                                            "members_propose_events": True})
    events = {
        "public": await make_event(editor, title="Openbare conferentie"),
        "members": await make_event(editor, title="Ledenbijeenkomst", visibility="members"),
        "open_group": await make_event(moderator, title="Open werkgroepdag", group_id=opened["id"]),
        "closed_group": await make_event(moderator, title="Besloten overleg", group_id=closed["id"]),
        "proposed": await make_event(insider, title="Voorstel van Carla", group_id=opened["id"]),
        "cancelled": await make_event(editor, title="Afgelaste dag"),
    }
    await editor.patch(f"/api/v1/events/{events['cancelled']['id']}", {"status": "cancelled", "cancel_reason": "ziek"})
    await server.app[scheduler_key].run_once()  # the followers are told now, not during a test's snapshot
    return {"events": events, "closed": closed, "open": opened, "actors": {
        "visitor": await anonymous(), "member": member, "insider": insider, "banned": banned,
        "moderator": moderator, "editor": editor, "admin": admin}}


SEES = {
    "visitor": {"public", "open_group", "cancelled"},
    "member": {"public", "members", "open_group", "cancelled"},
    "banned": {"public", "members", "open_group", "cancelled"},
    "insider": {"public", "members", "open_group", "closed_group", "proposed", "cancelled"},  # proposed: her own
    "moderator": {"public", "members", "open_group", "closed_group", "proposed", "cancelled"},
    "editor": {"public", "members", "open_group", "cancelled"},
    "admin": {"public", "members", "open_group", "closed_group", "proposed", "cancelled"},
}


@pytest.mark.parametrize("who", sorted(SEES))
async def test_each_reader_lists_exactly_the_events_they_may_open(world, who):
    user, events = world["actors"][who], world["events"]
    assert await event_ids(user) == {events[name]["id"] for name in SEES[who]}
    for name, event in events.items():  # the single event agrees with the list, one by one
        await user.get(f"/api/v1/events/{event['id']}", expect=200 if name in SEES[who] else 404)
        await page(user, f"/events/{event['id']}", 200 if name in SEES[who] else 404)
        response = await user.client.get(f"/events/{event['id']}.ics")
        assert response.status == (200 if name in SEES[who] else 404)
    month = await page(user, "/events?view=month&month=2027-03")
    for name, event in events.items():
        assert (f'href="/events/{event["id"]}"' in month) == (name in SEES[who]), name


async def test_who_may_make_events_where(world):
    actors, closed, opened = world["actors"], world["closed"], world["open"]
    await make_event(actors["member"], expect=403)                                # site events: editors
    await make_event(actors["visitor"], expect=401)
    await make_event(actors["member"], expect=404, group_id=closed["id"])         # cannot see the group
    await make_event(actors["insider"], expect=403, group_id=closed["id"])        # no proposals there
    await make_event(actors["banned"], expect=403, group_id=opened["id"])
    proposal = await make_event(actors["insider"], group_id=opened["id"])
    assert proposal["status"] == "proposed"
    await actors["member"].patch(f"/api/v1/events/{world['events']['open_group']['id']}", {"title": "x"}, expect=403)
    # the proposer may change her proposal, not approve it
    await actors["insider"].patch(f"/api/v1/events/{proposal['id']}", {"status": "scheduled"}, expect=422)


async def test_a_proposal_is_approved_by_a_moderator_and_its_proposer_is_told(world):
    actors, proposal = world["actors"], world["events"]["proposed"]
    notes = (await actors["moderator"].get("/api/v1/notifications"))["notifications"]
    assert any(n["kind"] == "event_proposed" and n["url"] == f"/events/{proposal['id']}" for n in notes)
    await actors["member"].put(f"/api/v1/events/{proposal['id']}/rsvp", {"answer": "going"}, expect=404)
    approved = (await actors["moderator"].patch(f"/api/v1/events/{proposal['id']}", {"status": "scheduled"}))["event"]
    assert approved["status"] == "scheduled"
    await actors["member"].get(f"/api/v1/events/{proposal['id']}")
    notes = (await actors["insider"].get("/api/v1/notifications"))["notifications"]
    assert notes[0]["kind"] == "event_approved" and "Voorstel van Carla" in notes[0]["text"]


async def test_the_waiting_list_moves_up_when_someone_cancels_or_places_are_added(admin, make_user):
    editor = await make_editor(admin, make_user)
    event = await make_event(editor, capacity=2)
    people = [await make_user(f"Deelnemer {n}") for n in range(4)]
    answers = [(await p.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"}))["rsvp"] for p in people]
    assert [a["status"] for a in answers] == ["going", "going", "waiting", "waiting"]
    assert [a["position"] for a in answers] == [None, None, 1, 2]
    # fewer places than are taken: refused, nothing changes
    await editor.patch(f"/api/v1/events/{event['id']}", {"capacity": 1}, expect=422)
    await people[0].put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "no"})
    mine = (await people[2].get(f"/api/v1/events/{event['id']}"))["event"]["my_rsvp"]
    assert mine["status"] == "going"
    notes = (await people[2].get("/api/v1/notifications"))["notifications"]
    assert notes[0]["kind"] == "event_moved_up" and notes[0]["url"] == f"/events/{event['id']}"
    assert (await people[3].get(f"/api/v1/events/{event['id']}"))["event"]["my_rsvp"]["position"] == 1
    # going again after leaving: the end of the queue, not the old place
    assert (await people[0].put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"}))["rsvp"]["position"] == 2
    grown = (await editor.patch(f"/api/v1/events/{event['id']}", {"capacity": 4}))["event"]
    assert (grown["going"], grown["waiting"]) == (4, 0)
    assert (await people[3].get(f"/api/v1/events/{event['id']}"))["event"]["my_rsvp"]["status"] == "going"


async def test_sign_ups_racing_for_the_places_never_overbook(admin, make_user, svc):
    editor = await make_editor(admin, make_user)
    event = await make_event(editor, capacity=5)
    people = [await make_user(f"Racer {n}") for n in range(12)]
    answers = await asyncio.gather(*(p.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"})
                                     for p in people))
    statuses = [a["rsvp"]["status"] for a in answers]
    assert statuses.count("going") == 5 and statuses.count("waiting") == 7
    assert sorted(a["rsvp"]["position"] for a in answers if a["rsvp"]["position"]) == list(range(1, 8))
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT status, COUNT(*) FROM agenda_rsvps WHERE event_id = ? GROUP BY status",
                                           (event["id"],))
    assert dict(rows) == {"going": 5, "waiting": 7}
    # the one who got the last place was first in line: arrival order decides
    attendees = (await editor.get(f"/api/v1/events/{event['id']}/attendees"))["attendees"]
    going_since = max(a["since"] for a in attendees if a["status"] == "going")
    assert all(a["since"] > going_since for a in attendees if a["status"] == "waiting")


async def test_refused_sign_ups_say_why_and_change_nothing(world, svc, clock):
    actors, events = world["actors"], world["events"]
    before = await snapshot(svc)
    await actors["visitor"].put(f"/api/v1/events/{events['public']['id']}/rsvp", {"answer": "going"}, expect=401)
    body = await actors["member"].put(f"/api/v1/events/{events['open_group']['id']}/rsvp", {"answer": "going"},
                                      expect=403)
    assert "lid" in body["error"]["message"].lower()
    await actors["banned"].put(f"/api/v1/events/{events['open_group']['id']}/rsvp", {"answer": "going"}, expect=403)
    await actors["member"].put(f"/api/v1/events/{events['cancelled']['id']}/rsvp", {"answer": "going"}, expect=409)
    await actors["member"].put(f"/api/v1/events/{events['public']['id']}/rsvp", {"answer": "ja"}, expect=422)
    await actors["member"].put(f"/api/v1/events/{events['public']['id']}/rsvp", {"answer": 1}, expect=422)
    await actors["member"].put(f"/api/v1/events/{events['public']['id']}/rsvp", {"answer": "going", "answers": []},
                               expect=422)
    await actors["member"].put("/api/v1/events/999999/rsvp", {"answer": "going"}, expect=404)
    assert await snapshot(svc) == before
    # past the deadline: no new places; leaving still works
    editor = actors["editor"]
    closing = await make_event(editor, signup_deadline="2026-12-01T12:00")
    await actors["member"].put(f"/api/v1/events/{closing['id']}/rsvp", {"answer": "going"})
    clock.advance(days=4)
    await actors["admin"].put(f"/api/v1/events/{closing['id']}/rsvp", {"answer": "going"}, expect=409)
    assert (await actors["member"].put(f"/api/v1/events/{closing['id']}/rsvp", {"answer": "no"}))["rsvp"]["status"] == "no"


@pytest.mark.parametrize("typed, stored", [
    ("2027-03-27T09:00", "2027-03-27T08:00:00.000000Z"),   # winter time, the day before the change
    ("2027-03-28T09:00", "2027-03-28T07:00:00.000000Z"),   # summer time, the morning after
    ("2026-10-25T02:30", "2026-10-25T00:30:00.000000Z"),   # the hour that happens twice: the first
    ("2027-03-28T09:00+02:00", "2027-03-28T07:00:00.000000Z"),
])
async def test_dutch_time_is_kept_right_across_daylight_saving(admin, typed, stored):
    event = await make_event(admin, starts_at=typed, ends_at=None)
    assert event["starts_at"] == stored


async def test_a_time_the_clock_skips_and_an_end_before_the_start_are_refused(admin, svc):
    before = await snapshot(svc)
    answer = await admin.post("/api/v1/events", {"title": "x", "starts_at": "2027-03-28T02:30"}, expect=422)
    assert "starts_at" in answer["error"]["fields"]
    answer = await admin.post("/api/v1/events", {"title": "x", "starts_at": "2027-03-15T10:00",
                                                 "ends_at": "2027-03-15T09:00"}, expect=422)
    assert "ends_at" in answer["error"]["fields"]
    for bad in ({"capacity": 0}, {"capacity": "10"}, {"online_url": "javascript:alert(1)"}, {"title": ""},
                {"title": "x" * 201}, {"starts_at": "morgen"}, {"questions": "wat?"}, {"all_day": "ja"},
                {"signup_deadline": "2027-03-16T10:00"}, {"visibility": "group"}, {"group_id": 0}):
        await admin.post("/api/v1/events", {"title": "Goed", "starts_at": "2027-03-15T10:00", **bad}, expect=422)
    response = await admin.client.post("/api/v1/events", data=b"{", headers={"Content-Type": "application/json",
                                                                               "X-CSRF-Token": admin.csrf})
    assert response.status == 400
    assert await snapshot(svc) == before


async def test_an_all_day_event_spans_whole_dutch_days_in_its_calendar_file(admin):
    import icalendar
    from datetime import date
    event = await make_event(admin, all_day=True, starts_at="2027-03-27", ends_at="2027-03-28")
    assert (event["starts_at"], event["ends_at"]) == ("2027-03-26T23:00:00.000000Z", "2027-03-28T22:00:00.000000Z")
    assert event["last_day"] == "2027-03-28"
    response = await admin.client.get(f"/events/{event['id']}.ics")
    assert response.headers["Content-Type"].startswith("text/calendar")
    entry = icalendar.Calendar.from_ical(await response.read()).walk("VEVENT")[0]
    assert entry.decoded("dtstart") == date(2027, 3, 27) and entry.decoded("dtend") == date(2027, 3, 29)


async def test_feeds_hold_what_their_reader_may_see_and_a_private_feed_follows_its_owner(world, make_user):
    import icalendar
    actors, events = world["actors"], world["events"]

    async def titles(client, path, status=200):
        response = await client.get(path)
        assert response.status == status, (path, response.status)
        if status != 200:
            return None
        return {str(e["summary"]) for e in icalendar.Calendar.from_ical(await response.read()).walk("VEVENT")}

    visitor = actors["visitor"].client
    assert await titles(visitor, "/feeds/events.ics") == {"Openbare conferentie", "Afgelaste dag"}
    assert await titles(visitor, f"/feeds/groups/{world['closed']['id']}/events.ics", 404) is None
    insider = actors["insider"]
    await insider.put(f"/api/v1/events/{events['closed_group']['id']}/rsvp", {"answer": "going"})
    await insider.put(f"/api/v1/events/{events['public']['id']}/rsvp", {"answer": "maybe"})
    settings = await page(insider, "/settings/calendar")
    assert "/feeds/me/" not in settings
    from tests.test_pages import csrf_of
    await insider.client.post("/settings/calendar", data={"action": "renew", "csrf_token": csrf_of(settings)})
    settings = await page(insider, "/settings/calendar")
    url = settings.split('readonly value="')[1].split('"')[0]
    path = url.removeprefix("http://127.0.0.1:8080")
    # read by a calendar app: no cookie at all
    assert await titles(visitor, path) == {"Besloten overleg", "Openbare conferentie"}
    token = path.removeprefix("/feeds/me/").removesuffix(".ics")
    assert "Besloten overleg" in await titles(visitor, f"/feeds/groups/{world['closed']['id']}/events.ics?token={token}")
    assert await titles(visitor, path[:-10] + "0000000000.ics", 404) is None     # a forged token
    # out of the group: the group's event leaves the private feed (and the place is given back)
    await insider.post(f"/api/v1/groups/{world['closed']['id']}/leave")
    assert await titles(visitor, path) == {"Openbare conferentie"}
    await insider.client.post("/settings/calendar", data={"action": "revoke", "csrf_token": csrf_of(settings)})
    assert await titles(visitor, path, 404) is None


async def test_the_place_is_for_attendees_when_the_organiser_says_so(admin, make_user, anonymous):
    import icalendar
    event = await make_event(admin, location="Provinciehuis Leeuwarden", online_url="https://meet.example.nl/abc",
                             location_for_attendees_only=True)
    person = await make_user("Nieuwsgierig")
    assert (await person.get(f"/api/v1/events/{event['id']}"))["event"]["location"] is None
    html = await page(person, f"/events/{event['id']}")
    assert "Provinciehuis" not in html and "meet.example.nl" not in html
    ics = await (await person.client.get(f"/events/{event['id']}.ics")).read()
    assert b"Provinciehuis" not in ics and b"meet.example.nl" not in ics
    await person.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"})
    assert (await person.get(f"/api/v1/events/{event['id']}"))["event"]["location"] == "Provinciehuis Leeuwarden"
    entry = icalendar.Calendar.from_ical(await (await person.client.get(f"/events/{event['id']}.ics")).read())
    assert str(entry.walk("VEVENT")[0]["location"]) == "Provinciehuis Leeuwarden"
    assert "Provinciehuis" not in await page(await anonymous(), f"/events/{event['id']}")


async def test_cancelling_tells_everyone_who_answered_and_closes_sign_up(admin, make_user):
    import icalendar
    editor = await make_editor(admin, make_user)
    event = await make_event(editor, capacity=1)
    going, waiting, maybe, no = [await make_user(name) for name in ("Gaat", "Wacht", "Misschien", "Niet")]
    for user, answer in ((going, "going"), (waiting, "going"), (maybe, "maybe"), (no, "no")):
        await user.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": answer})
    await editor.patch(f"/api/v1/events/{event['id']}", {"status": "cancelled", "cancel_reason": "De zaal is dicht."})
    for user in (going, waiting, maybe):
        note = (await user.get("/api/v1/notifications"))["notifications"][0]
        assert note["kind"] == "event_cancelled" and note["excerpt"] == "De zaal is dicht."
    assert all(n["kind"] != "event_cancelled" for n in (await no.get("/api/v1/notifications"))["notifications"])
    await no.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"}, expect=409)
    entry = icalendar.Calendar.from_ical(await (await going.client.get(f"/events/{event['id']}.ics")).read())
    assert str(entry.walk("VEVENT")[0]["status"]) == "CANCELLED"
    assert "gaat niet door" in await page(going, f"/events/{event['id']}")


async def test_those_going_are_reminded_the_day_before(admin, make_user, server, clock):
    editor = await make_editor(admin, make_user)
    event = await make_event(editor, starts_at="2026-11-30T10:00", capacity=1)
    going, waiting = await make_user("Gaat Zeker"), await make_user("Staat Te Wachten")
    await going.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"})
    await waiting.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"})
    await server.app[scheduler_key].run_once()
    assert all(n["kind"] != "event_reminder" for n in (await going.get("/api/v1/notifications"))["notifications"])
    clock.advance(days=1, hours=1, minutes=1)  # 2026-11-29 10:01: a day before it starts
    await server.app[scheduler_key].run_once()
    await server.app[scheduler_key].run_once()  # once, not at every round
    reminders = [n for n in (await going.get("/api/v1/notifications"))["notifications"] if n["kind"] == "event_reminder"]
    assert len(reminders) == 1 and "Werkconferentie" in reminders[0]["text"]
    assert all(n["kind"] != "event_reminder" for n in (await waiting.get("/api/v1/notifications"))["notifications"])


async def test_organisers_see_export_and_message_attendees(admin, make_user, anonymous):
    editor = await make_editor(admin, make_user)
    event = await make_event(editor, questions=["Dieetwensen", "Organisatie"])
    sly = await make_user("Slimme Jan")
    await sly.put(f"/api/v1/events/{event['id']}/rsvp",
                  {"answer": "going", "answers": {"Dieetwensen": "=HYPERLINK(\"http://evil\")", "Onbekend": "x"}})
    other = await make_user("Anna")
    await other.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going", "answers": {"Organisatie": "Gemeente Zwolle"}})
    await sly.get(f"/api/v1/events/{event['id']}/attendees", expect=403)
    await (await anonymous()).get(f"/api/v1/events/{event['id']}/attendees", expect=401)
    listed = (await editor.get(f"/api/v1/events/{event['id']}/attendees"))["attendees"]
    assert [a["user"]["display_name"] for a in listed] == ["Slimme Jan", "Anna"]
    assert listed[0]["answers"] == {"Dieetwensen": "=HYPERLINK(\"http://evil\")"}   # unknown questions dropped
    response = await editor.client.get(f"/api/v1/events/{event['id']}/attendees?format=csv")
    assert response.headers["Content-Type"].startswith("text/csv")
    text = (await response.read()).decode("utf-8-sig")
    assert text.splitlines()[0] == "Naam;E-mailadres;Status;Sinds;Dieetwensen;Organisatie"
    assert ";aangemeld;" in text.splitlines()[1]   # in the reader's language, like the page
    assert "'=HYPERLINK" in text and "Gemeente Zwolle" in text   # a formula stays text in a spreadsheet
    told = await editor.post(f"/api/v1/events/{event['id']}/message", {"message": "Neem uw laptop mee."})
    assert told["recipients"] == 2
    note = (await other.get("/api/v1/notifications"))["notifications"][0]
    assert note["kind"] == "event_message" and note["excerpt"] == "Neem uw laptop mee."
    await sly.post(f"/api/v1/events/{event['id']}/message", {"message": "spam"}, expect=403)
    await editor.post(f"/api/v1/events/{event['id']}/message", {"message": ""}, expect=422)


async def test_comments_are_a_thread_of_their_own_found_by_search(world, svc):
    actors, event = world["actors"], world["events"]["open_group"]
    group_before = (await actors["insider"].get(f"/api/v1/groups/{world['open']['id']}"))["group"]["thread_count"]
    post = (await actors["insider"].post(f"/api/v1/threads/{event['thread_id']}/posts",
                                         {"body": "Ik neem de fietsroutes mee."}, expect=201))["post"]
    html = await page(actors["visitor"], f"/events/{event['id']}")
    assert "fietsroutes" in html
    response = await actors["visitor"].client.get(f"/threads/{event['thread_id']}", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == f"/events/{event['id']}"
    group = (await actors["insider"].get(f"/api/v1/groups/{world['open']['id']}"))["group"]
    assert group["thread_count"] == group_before   # comments are not a discussion of the group
    found = (await actors["visitor"].get("/api/v1/search?q=samenwerkingen&type=event"))["results"]
    assert {r["url"] for r in found} == {f"/events/{world['events'][n]['id']}"
                                         for n in ("public", "open_group", "cancelled")}
    found = (await actors["insider"].get("/api/v1/search?q=samenwerking&type=event"))["results"]
    assert f"/events/{world['events']['closed_group']['id']}" in {r["url"] for r in found}
    assert f"/events/{world['events']['proposed']['id']}" not in {r["url"] for r in found}
    found = (await actors["visitor"].get("/api/v1/search?q=fietsroutes"))["results"]
    assert [r["url"] for r in found] == [f"/events/{event['id']}?post={post['id']}#post-{post['id']}"]


async def test_a_deleted_event_leaves_pages_search_and_comments(world):
    actors, event = world["actors"], world["events"]["public"]
    await actors["member"].post(f"/api/v1/threads/{event['thread_id']}/posts", {"body": "Tot dan!"}, expect=201)
    await actors["member"].delete(f"/api/v1/events/{event['id']}", expect=403)
    await actors["editor"].delete(f"/api/v1/events/{event['id']}")
    await actors["member"].get(f"/api/v1/events/{event['id']}", expect=404)
    await actors["member"].get(f"/api/v1/threads/{event['thread_id']}", expect=404)
    assert not (await actors["visitor"].get("/api/v1/search?q=Openbare"))["results"]


async def test_live_counts_carry_no_words(admin, make_user):
    editor = await make_editor(admin, make_user)
    group = await open_group(admin, "Live werkgroep")
    event = await make_event(admin, group_id=group["id"], capacity=10)
    ws = await connect(editor)
    await watch(ws, f"group:{group['id']}")
    await admin.put(f"/api/v1/events/{event['id']}/rsvp", {"answer": "going"})
    frame = await next_frame(ws, "event", "event.rsvp")
    assert frame["data"]["event"] == {"id": event["id"], "going": 1, "waiting": 0, "maybe": 0, "capacity": 10,
                                      "status": "scheduled"}
    assert "Werkconferentie" not in json.dumps(frame)
    await ws.close()


async def test_the_forms_work_without_javascript(admin, make_user, svc):
    from tests.test_pages import csrf_of
    editor = await make_editor(admin, make_user)
    form = await page(editor, "/events/new")
    response = await editor.client.post("/events/new", data={
        "csrf_token": csrf_of(form), "where": "site", "visibility": "public", "title": "Ledendag",
        "description": "Kom ook", "starts_on": "2027-06-04", "starts_time": "09:30", "ends_on": "",
        "ends_time": "12:00", "capacity": "30", "questions": "Dieetwensen\nOrganisatie", "location": "Zwolle"},
        allow_redirects=False)
    assert response.status == 303, await response.text()
    event_path = response.headers["Location"]
    event = (await editor.get("/api/v1" + event_path))["event"]
    assert (event["starts_at"], event["ends_at"]) == ("2027-06-04T07:30:00.000000Z", "2027-06-04T10:00:00.000000Z")
    assert event["questions"] == ["Dieetwensen", "Organisatie"]
    # a form with a mistake comes back with the words kept and the field named
    response = await editor.client.post("/events/new", data={
        "csrf_token": csrf_of(form), "where": "site", "title": "Verkeerd", "starts_on": "2027-06-04",
        "starts_time": "12:00", "ends_time": "09:00"})
    html = await response.text()
    assert response.status == 422 and 'id="e-ends_time"' in html and 'value="Verkeerd"' in html  # the time typed
    # a date without a time is not taken as midnight (newcomer review)
    response = await editor.client.post("/events/new", data={
        "csrf_token": csrf_of(form), "where": "site", "title": "Zonder tijd", "starts_on": "2027-06-04"})
    html = await response.text()
    assert response.status == 422 and 'id="e-starts_time"' in html
    await editor.post("/api/v1/events", {"title": "Zonder tijd", "starts_at": "2027-06-04"}, expect=422)
    member = await make_user("Marja")
    html = await page(member, event_path)
    response = await member.client.post(event_path + "/rsvp", data={
        "csrf_token": csrf_of(html), "answer": "going", "q0": "vegetarisch"}, allow_redirects=False)
    assert response.status == 303
    html = await page(member, event_path)
    assert "U bent aangemeld." in html and 'value="vegetarisch"' in html
    attendees = await page(editor, event_path + "/attendees")
    assert "Marja" in attendees and "vegetarisch" in attendees
    month = await page(member, "/events?view=month&month=2027-06")
    assert "Ledendag" in month and "09:30" in month
    await page(member, "/events?view=month&month=2027-13", 422)


async def test_a_proposal_is_not_published_by_its_proposer_nor_changed_after_approval(world):
    """Attacker review: a proposal cancelled and 'restored' by its proposer went public."""
    actors, proposal = world["actors"], world["events"]["proposed"]
    await actors["moderator"].patch(f"/api/v1/events/{proposal['id']}", {"status": "cancelled"}, expect=422)
    await actors["insider"].patch(f"/api/v1/events/{proposal['id']}", {"status": "cancelled"}, expect=422)
    await actors["visitor"].get(f"/api/v1/events/{proposal['id']}", expect=404)
    await actors["insider"].patch(f"/api/v1/events/{proposal['id']}", {"title": "Beter voorstel"})  # before: fine
    await actors["moderator"].patch(f"/api/v1/events/{proposal['id']}", {"status": "scheduled"})
    await actors["insider"].patch(f"/api/v1/events/{proposal['id']}", {"title": "Iets heel anders"}, expect=403)
    assert (await actors["visitor"].get(f"/api/v1/events/{proposal['id']}"))["event"]["title"] == "Beter voorstel"
    await actors["member"].put(f"/api/v1/events/{proposal['id']}/rsvp", {"answer": "going"}, expect=403)
    await actors["insider"].put(f"/api/v1/events/{proposal['id']}/rsvp", {"answer": "going"})
    listed = (await actors["insider"].get(f"/api/v1/events/{proposal['id']}/attendees"))["attendees"]
    assert listed[0]["user"]["email"] is None  # a proposer sees names; addresses are for the moderators
    listed = (await actors["moderator"].get(f"/api/v1/events/{proposal['id']}/attendees"))["attendees"]
    assert listed[0]["user"]["email"] == "carla.binnen@example.nl"


async def test_an_editor_no_longer_an_editor_no_longer_runs_site_events(world):
    actors, event = world["actors"], world["events"]["public"]
    await actors["admin"].patch(f"/api/v1/admin/users/{actors['editor'].id}", {"role": "member"})
    await actors["editor"].login()
    await actors["editor"].patch(f"/api/v1/events/{event['id']}", {"title": "Nog steeds van mij"}, expect=403)
    await actors["editor"].get(f"/api/v1/events/{event['id']}/attendees", expect=403)


async def test_a_place_for_attendees_only_is_not_found_by_search(admin, anonymous):
    await make_event(admin, title="Besloten bijeenkomst", location="Geheimstraat 12 Leeuwarden",
                     location_for_attendees_only=True)
    await make_event(admin, title="Open bijeenkomst", location="Openbaarplein 1 Zwolle")
    visitor = await anonymous()
    assert not (await visitor.get("/api/v1/search?q=Geheimstraat"))["results"]
    assert [r["title"] for r in (await visitor.get("/api/v1/search?q=Openbaarplein"))["results"]] == ["Open bijeenkomst"]
    found = (await visitor.get("/api/v1/search?q=Besloten"))["results"]
    assert found and "Geheimstraat" not in found[0]["snippet_html"]


async def test_odd_values_are_refused_or_cleared_never_a_500(admin, anonymous, svc):
    before = await snapshot(svc)
    for bad in ({"online_url": "http://[::1"}, {"online_url": "https://example.nl:99999/"},
                {"starts_at": "2000-01-01T00:00+14:00"}, {"starts_at": "2000-01-01T00:00"},
                {"starts_at": "9998-12-31T23:59-12:00"}, {"all_day": True, "starts_at": "0001-01-01"}):
        await admin.post("/api/v1/events", {"title": "Vreemd", "starts_at": "2027-03-15T10:00", **bad}, expect=422)
    assert await snapshot(svc) == before
    visitor = await anonymous()
    for path in ("/feeds/events.ics?token=9999999999999999999-x", "/feeds/me/9999999999999999999-abc.ics",
                 "/feeds/me/0-abc.ics", "/events/99999999999999999999.ics"):
        assert (await visitor.client.get(path)).status == 404, path
    event = await make_event(admin, capacity=5, signup_deadline="2027-03-14T12:00", ends_at="2027-03-15T18:00")
    cleared = (await admin.patch(f"/api/v1/events/{event['id']}", {"capacity": None, "signup_deadline": None,
                                                                    "ends_at": None, "title": None}))["event"]
    assert (cleared["capacity"], cleared["signup_deadline"]) == (None, None)
    assert cleared["ends_at"] == "2027-03-15T10:00:00.000000Z" and cleared["title"] == event["title"]
    questions = await make_event(admin, questions=['=HYPERLINK("http://evil.example","klik")'])
    text = (await (await admin.client.get(f"/api/v1/events/{questions['id']}/attendees?format=csv")).read()).decode()
    assert "'=HYPERLINK" in text.splitlines()[0]


async def test_followers_of_a_group_hear_of_its_new_events_once_they_are_on_the_agenda(world, server):
    """A group's followers of new discussions are told of a new event; a proposal only once approved."""
    actors, opened, closed = world["actors"], world["open"], world["closed"]
    await actors["insider"].put(f"/api/v1/groups/{opened['id']}/subscription", {"level": "new_threads"})
    await actors["insider"].put(f"/api/v1/groups/{closed['id']}/subscription", {"level": "new_threads"})
    await server.app[scheduler_key].run_once()
    before = {n["id"] for n in (await actors["insider"].get("/api/v1/notifications"))["notifications"]}
    event = await make_event(actors["moderator"], title="Excursie naar de wadden", group_id=closed["id"])
    await server.app[scheduler_key].run_once()
    new = [n for n in (await actors["insider"].get("/api/v1/notifications"))["notifications"] if n["id"] not in before]
    assert [(n["kind"], n["url"]) for n in new] == [("event_new", f"/events/{event['id']}")]
    assert "Excursie naar de wadden" in new[0]["text"] and "Besloten werkgroep" in new[0]["text"]
    # a member's proposal tells the followers nothing until a moderator approves it
    await actors["moderator"].put(f"/api/v1/groups/{opened['id']}/subscription", {"level": "new_threads"})
    await server.app[scheduler_key].run_once()
    seen = {n["id"] for n in (await actors["moderator"].get("/api/v1/notifications"))["notifications"]}
    proposal = await make_event(actors["insider"], title="Fietstocht", group_id=opened["id"])
    await server.app[scheduler_key].run_once()
    kinds = [n["kind"] for n in (await actors["moderator"].get("/api/v1/notifications"))["notifications"]
             if n["id"] not in seen]
    assert kinds == ["event_proposed"]
    await actors["moderator"].patch(f"/api/v1/events/{proposal['id']}", {"status": "scheduled"})
    await server.app[scheduler_key].run_once()
    outsider_notes = (await actors["member"].get("/api/v1/notifications"))["notifications"]
    assert all(n["kind"] != "event_new" for n in outsider_notes)   # not a follower: nothing


async def test_visitors_copies_of_agenda_pages_change_when_the_clock_says_so(admin, anonymous, clock):
    # the clock stands at 28 November 2026, 09:00 UTC (10:00 in the Netherlands)
    event = await make_event(admin, title="Werkconferentie", starts_at="2026-11-28T12:00", ends_at="2026-11-28T14:00")
    visitor, other = await anonymous(), await anonymous()
    assert "al begonnen" not in await page(visitor, f"/events/{event['id']}")
    assert "Werkconferentie" in await page(visitor, "/events")
    month = await page(visitor, "/events?view=month&month=2026-11")
    assert month.count('aria-current="date"') == 1 and '<td class=" today" aria-current="date">' in month
    assert "Werkconferentie" not in await page(visitor, "/events?when=past")
    clock.advance(hours=2, minutes=30)  # it began; nothing was written meanwhile
    assert "Deze activiteit is al begonnen" in await page(other, f"/events/{event['id']}")
    clock.advance(hours=2)  # it ended: the agenda's upcoming list lets it go, the past one has it
    assert "Werkconferentie" not in await page(visitor, "/events")
    assert "Werkconferentie" in await page(visitor, "/events?when=past")
    clock.advance(hours=12)  # 29 November in the Netherlands: the month view marks the new day
    month_after = await page(other, "/events?view=month&month=2026-11")
    assert month_after != month and month_after.count('aria-current="date"') == 1


async def test_a_declined_proposal_tells_its_proposer_why(world, make_user):
    from tests.test_pages import csrf_of
    moderator, proposer = world["actors"]["moderator"], world["actors"]["insider"]
    group = world["open"]  # members may propose there
    proposal = await make_event(proposer, title="Fietstocht langs de dijk", group_id=group["id"])
    assert proposal["status"] == "proposed"
    html = await page(moderator, f"/events/{proposal['id']}")
    assert "Afwijzen</a>" in html
    confirm = await page(moderator, f"/events/{proposal['id']}/delete")
    assert "Voorstel afwijzen" in confirm and 'name="reason"' in confirm
    response = await moderator.client.post(f"/events/{proposal['id']}/state", data={  # a reason too long: said, kept
        "csrf_token": csrf_of(confirm), "action": "delete", "confirm": "yes", "reason": "x" * 501})
    assert response.status == 422 and "hoogstens 500" in await response.text()
    assert (await moderator.get(f"/api/v1/events/{proposal['id']}"))["event"]["status"] == "proposed"
    response = await moderator.client.post(f"/events/{proposal['id']}/state", data={
        "csrf_token": csrf_of(confirm), "action": "delete", "confirm": "yes",
        "reason": "Valt samen met de werkconferentie."}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/events?declined=1"
    assert "Het voorstel is afgewezen" in await page(moderator, response.headers["Location"])
    notes = (await proposer.get("/api/v1/notifications"))["notifications"]
    declined = [n for n in notes if n["kind"] == "event_declined"]
    assert len(declined) == 1
    # the group's moderators decide as one: the notice names none of them (the audit log does)
    assert declined[0]["text"] == "Uw voorstel Fietstocht langs de dijk is niet op de agenda van Open werkgroep gezet"
    assert declined[0]["actor"] is None
    assert declined[0]["excerpt"] == "Valt samen met de werkconferentie."
    assert declined[0]["url"] == f"/groups/{group['id']}"
    # the proposer withdrawing their own proposal is told nothing
    own = await make_event(proposer, title="Tweede idee", group_id=group["id"])
    await proposer.delete(f"/api/v1/events/{own['id']}")
    assert len([n for n in (await proposer.get("/api/v1/notifications"))["notifications"]
                if n["kind"] == "event_declined"]) == 1


async def test_a_site_events_audience_can_be_changed_and_its_comments_follow(world, server):
    from tests.test_pages import csrf_of
    editor, visitor, member = world["actors"]["editor"], world["actors"]["visitor"], world["actors"]["member"]
    event = world["events"]["public"]
    await member.post(f"/api/v1/threads/{event['thread_id']}/posts", {"body": "Ik kom met de trekschuit"}, expect=201)
    await server.app[scheduler_key].run_once()
    assert (await visitor.get("/api/v1/search?q=trekschuit"))["results"]
    await page(visitor, f"/events/{event['id']}")  # a visitor's copy, kept
    changed = (await editor.patch(f"/api/v1/events/{event['id']}", {"visibility": "members"}))["event"]
    assert changed["visibility"] == "members"
    await server.app[scheduler_key].run_once()
    await page(visitor, f"/events/{event['id']}", status=404)
    await visitor.get(f"/api/v1/events/{event['id']}", expect=404)
    await visitor.get(f"/api/v1/threads/{event['thread_id']}", expect=404)
    assert event["id"] not in await event_ids(visitor)
    assert not (await visitor.get("/api/v1/search?q=trekschuit"))["results"]
    assert (await member.get("/api/v1/search?q=trekschuit"))["results"]
    assert "Ik kom met de trekschuit" in await page(member, f"/events/{event['id']}")
    # and back, through the edit form
    form = await page(editor, f"/events/{event['id']}/edit")
    assert 'name="visibility" value="members" checked' in form
    values = {"csrf_token": csrf_of(form), "title": event["title"], "description": "", "starts_on": "2027-03-15",
              "starts_time": "10:00", "ends_on": "2027-03-15", "ends_time": "16:00", "visibility": "public"}
    response = await editor.client.post(f"/events/{event['id']}/edit", data=values, allow_redirects=False)
    assert response.status == 303, await response.text()
    assert "Ik kom met de trekschuit" in await page(visitor, f"/events/{event['id']}")
    # a group's event follows its group: refused, nothing changed
    group_event = world["events"]["open_group"]
    body = await world["actors"]["moderator"].patch(f"/api/v1/events/{group_event['id']}", {"visibility": "public"},
                                                    expect=422)
    assert "visibility" in body["error"]["fields"]
    await editor.patch(f"/api/v1/events/{event['id']}", {"visibility": "iedereen"}, expect=422)
