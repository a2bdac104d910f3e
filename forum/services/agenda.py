"""Events (the agenda): editors and admins make the site's, a group's moderators their group's,
and members propose them where their group allows it (a moderator approves). Times are kept
in UTC and typed and shown in Dutch time, across daylight-saving changes. Each event has an
ordinary comment thread (threads.event_id), readable exactly while the event is. Sign-ups and
the waiting list live in forum/services/signups.py, the rules of the fields in
forum/services/event_fields.py."""
from __future__ import annotations

import json
from datetime import datetime

from forum import policy
from forum.errors import Forbidden, N_
from forum.policy import Action, Actor
from forum.services import Services, audit, event_fields, iso, notifications, search_index
from forum.services.checks import MAX_REASON, FieldErrors, choice_field, keyset_cursor, parse_keyset_cursor, text_field
from forum.services.event_fields import last_day, local
from forum.store import agenda as store
from forum.store import groups as group_store
from forum.store import news as news_store
from forum.store import threads as thread_store

SITE_VISIBILITIES = ("public", "members")
PAGE_SIZE = 20
MONTH_LIMIT = 500


def channel_of(event) -> str:
    """Where its live events go: the audience that may read it listens there."""
    if event["visibility"] == "group":
        return f"group:{event['group_id']}"
    return "site" if event["visibility"] == "public" else "members"


def counts_out(event) -> dict:
    """What live events carry: ids and counts only, so a log replayed after the event is gone
    or out of reach reveals nothing of it."""
    return {"id": event["id"], "going": event["going_count"], "waiting": event["waiting_count"],
            "maybe": event["maybe_count"], "capacity": event["capacity"], "status": event["status"]}


def places_left(event) -> int | None:
    if event["capacity"] is None:
        return None
    return max(0, event["capacity"] - event["going_count"])


def signup_closes_at(event) -> str:
    return event["signup_deadline"] or event["starts_at"]


def next_change(events, now: str) -> str | None:
    """The first moment after `now` at which a page showing these events changes by the clock
    alone: one begins (sign-up ends), its sign-up closes, or it ends (it moves to the past)."""
    moments = [moment for event in events
               for moment in (event["starts_at"], signup_closes_at(event), event["ends_at"]) if moment > now]
    return min(moments, default=None)


def event_out(event, *, place: bool, rsvp=None) -> dict:
    """An event as a reader sees it; `place`: whether the location and link are theirs to see
    (policy.sees_event_place)."""
    out = {
        "id": event["id"], "title": event["title"], "description": event["description"],
        "description_html": event["description_html"], "starts_at": event["starts_at"], "ends_at": event["ends_at"],
        "all_day": bool(event["all_day"]), "location": event["location"] if place else None,
        "online_url": event["online_url"] if place else None,
        "location_for_attendees_only": bool(event["place_for_attendees"]),
        "capacity": event["capacity"], "signup_deadline": event["signup_deadline"],
        "questions": json.loads(event["questions"]), "status": event["status"],
        "cancel_reason": event["cancel_reason"] or None,
        "group": {"id": event["group_id"], "name": event["group_name"]} if event["group_id"] else None,
        "visibility": event["visibility"], "thread_id": event["thread_id"],
        "organiser": {"id": event["organiser_id"], "display_name": event["organiser_name"]},
        "going": event["going_count"], "waiting": event["waiting_count"], "maybe": event["maybe_count"],
        "comment_count": event["comment_count"], "created_at": event["created_at"], "edited_at": event["edited_at"],
        "url": f"/events/{event['id']}",
    }
    if event["all_day"]:
        out["last_day"] = last_day(event).isoformat()
    if rsvp is not None:
        out["my_rsvp"] = rsvp
    return out


def encode_cursor(event) -> str:
    return keyset_cursor(event["starts_at"], event["id"])


decode_cursor = parse_keyset_cursor


# --- reading -----------------------------------------------------------------------------------

async def get(svc: Services, actor: Actor, event_id: int):
    async with svc.db.read() as conn:
        event = await store.by_id(conn, event_id)
    policy.require(actor, Action.READ_EVENT, event)
    return event


async def by_thread(svc: Services, thread_id: int):
    """The event whose comments a thread holds (None for a discussion or news)."""
    async with svc.db.read() as conn:
        return await store.by_thread(conn, thread_id)


async def listing(svc: Services, actor: Actor, *, group_id: int | None = None, past: bool = False,
                  cursor: str | None = None, limit: int = PAGE_SIZE):
    """(events, next cursor): upcoming ones (not yet ended) soonest first, or past ones latest
    first, that the viewer may read."""
    after = decode_cursor(cursor)
    now = svc.now()
    where, params = policy.readable_events_sql(actor)
    if past:
        where, params = f"{where} AND e.ends_at <= ?", [*params, now]
    async with svc.db.read() as conn:
        rows = await store.listing(conn, where, params, group_id=group_id, start=None if past else now, end=None,
                                   past=past, after=after, limit=limit + 1)
    return rows[:limit], encode_cursor(rows[limit - 1]) if len(rows) > limit else None


async def between(svc: Services, actor: Actor, start: datetime, end: datetime, *, group_id: int | None = None,
                  limit: int = MONTH_LIMIT):
    """Events overlapping [start, end) that the viewer may read (a month's calendar, a feed)."""
    where, params = policy.readable_events_sql(actor)
    async with svc.db.read() as conn:
        return await store.listing(conn, where, params, group_id=group_id, start=iso(start), end=iso(end),
                                   past=False, after=None, limit=limit)


async def my_statuses(svc: Services, actor: Actor, events) -> dict[int, str]:
    """The viewer's own answer to each of these events (going, waiting, maybe, no)."""
    if not actor.active or not events:
        return {}
    async with svc.db.read() as conn:
        return await store.rsvps_of_user(conn, actor.user_id, [event["id"] for event in events])


async def creatable_groups(svc: Services, actor: Actor):
    """Groups where this actor may make or propose an event (the form's picker)."""
    from forum.services import groups  # (groups reaches this room through signups)
    return await groups.groups_where(svc, actor, Action.CREATE_EVENT)


# --- writing -----------------------------------------------------------------------------------

FIELD_DEFAULTS = {"description": "", "ends_at": None, "all_day": False, "location": "", "online_url": "",
                  "location_for_attendees_only": False, "capacity": None, "signup_deadline": None, "questions": []}


async def create(svc: Services, actor: Actor, *, title, starts_at, group_id=None, visibility=None, **given):
    """A new event. Where the actor may publish it is scheduled at once; a member's proposal
    waits for a moderator (status proposed, seen by its organisers only)."""
    from forum.services import groups  # (groups reaches this room through signups)
    group = await groups.target_group(svc, actor, group_id)
    policy.require(actor, Action.CREATE_EVENT, group)
    errors = FieldErrors()
    fields = event_fields.content_fields(errors, {**FIELD_DEFAULTS, **given, "title": title, "starts_at": starts_at})
    visibility = visibility or ("group" if group else "public")
    if group is not None and visibility != "group":
        errors.add("visibility", N_("Een activiteit van een groep volgt de zichtbaarheid van die groep."))
    elif group is None:
        choice_field(errors, "visibility", visibility, SITE_VISIBILITIES)
    errors.raise_if_any()
    published = policy.can(actor, Action.PUBLISH_NEWS, group)  # who publishes there, publishes events too
    async with svc.db.write() as tx:
        now = svc.now()
        thread_group = group["id"] if group else await news_store.site_group_id(tx, visibility)
        thread_id = await store.insert_comment_thread(tx, group_id=thread_group, author_id=actor.user_id,
                                                      title=fields["title"], shown=published, now=now)
        event_id = await store.insert(tx, group_id=group["id"] if group else None, thread_id=thread_id,
                                      organiser_id=actor.user_id, visibility=visibility,
                                      status="scheduled" if published else "proposed", now=now, **fields)
        await store.link_thread(tx, thread_id, event_id)
        event = await store.by_id(tx, event_id)
        await audit.record(tx, svc, actor, "event.create" if published else "event.propose", target_type="event",
                           target_id=event_id, label=fields["title"], group_id=event["group_id"])
        if published:
            await _appeared(tx, svc, event)
        else:
            await notifications.notify_moderators(tx, svc, group["id"], "event_proposed", actor_id=actor.user_id,
                                                  thread_id=thread_id, data={"event_id": event_id})
        return event


async def _appeared(tx, svc: Services, event) -> None:
    await notifications.after_event_appeared(tx, svc, event)
    await search_index.index_event(tx, event["id"])
    await search_index.index_thread(tx, event["thread_id"])
    await thread_store.append_event(tx, channel_of(event), "event.created", {"event": counts_out(event)}, svc.now())


UPDATABLE = ("title", "description", "starts_at", "ends_at", "all_day", "location", "online_url",
             "location_for_attendees_only", "capacity", "signup_deadline", "questions")
CLEARABLE = ("ends_at", "capacity", "signup_deadline")


def _as_given(event) -> dict:
    """An event's fields as they would be typed again (for a partial update)."""
    values = {name: event[name] for name in ("title", "description", "location", "online_url", "capacity",
                                             "signup_deadline")}
    values["all_day"] = bool(event["all_day"])
    values["location_for_attendees_only"] = bool(event["place_for_attendees"])
    values["questions"] = json.loads(event["questions"])
    if event["all_day"]:
        values["starts_at"] = local(event["starts_at"]).date().isoformat()
        values["ends_at"] = last_day(event).isoformat()
    else:
        values["starts_at"], values["ends_at"] = event["starts_at"], event["ends_at"]
    return values


async def update(svc: Services, actor: Actor, event_id: int, *, status: str | None = None,
                 cancel_reason: str | None = None, visibility: str | None = None, **given):
    """Change what is given (None: unchanged). status: 'cancelled' calls it off (everyone who
    answered is told), 'scheduled' approves a proposal (its group's moderators) or puts a
    cancelled event back. More places move the waiting list up; fewer than are taken is refused.
    visibility: a site event's audience (public or members); a group's event has its group's."""
    from forum.services import signups  # sign-ups and the waiting list: their own room
    # null clears what may be empty (no end given, no limit, no deadline); elsewhere it changes nothing
    given = {name: value for name, value in given.items()
             if name in UPDATABLE and (value is not None or name in CLEARABLE)}
    async with svc.db.write() as tx:
        event = await store.by_id(tx, event_id)
        policy.require(actor, Action.EDIT_EVENT, event)
        errors = FieldErrors()
        values = {**_as_given(event), **given}
        if "all_day" in given and "starts_at" not in given:
            errors.add("starts_at", N_("Geef het begin opnieuw op als u hele dag aan- of uitzet."))
        fields = event_fields.content_fields(errors, values)
        if fields.get("capacity") is not None and fields["capacity"] < event["going_count"]:
            errors.add("capacity", N_("Er hebben zich al %(num)d mensen aangemeld: kies minstens zoveel plaatsen."),
                       num=event["going_count"])
        if status is not None:
            choice_field(errors, "status", status, ("scheduled", "cancelled"))
        if visibility is not None and event["group_id"] is not None:
            errors.add("visibility", N_("Een activiteit van een groep volgt de zichtbaarheid van de groep."))
        elif visibility is not None:
            choice_field(errors, "visibility", visibility, SITE_VISIBILITIES)
        if status == "cancelled" and event["status"] == "proposed":
            # a proposal turned down is deleted: cancelled, it would be shown to everyone
            errors.add("status", N_("Een voorstel dat niet doorgaat, verwijdert u."))
        reason = text_field(errors, "cancel_reason", cancel_reason if isinstance(cancel_reason, str) else "",
                            max_len=500, required=False)
        if status == "scheduled" and event["status"] == "proposed" \
                and not policy.can(actor, Action.PUBLISH_NEWS, await _group_row(tx, event)):
            errors.add("status", N_("Een moderator van de groep keurt een voorstel goed."))
        errors.raise_if_any()
        now = svc.now()
        changed = {name: value for name, value in fields.items() if value != event[name]}
        if visibility is not None and visibility != event["visibility"]:
            changed["visibility"] = visibility
        if changed and event["status"] != "proposed" and not policy.publishes_events(actor, event):
            raise Forbidden(N_("Na de goedkeuring wijzigt een moderator van de groep de activiteit."))
        if changed:
            moved = any(name in changed for name in ("starts_at", "ends_at", "location", "online_url"))
            await store.update(tx, event_id, now=now, reminder_reset="starts_at" in changed, **changed)
            if "title" in changed:
                await store.retitle_thread(tx, event["thread_id"], changed["title"])
            if "visibility" in changed:  # its comments go to the site group of that audience, as news'
                await store.move_thread(tx, event["thread_id"], await news_store.site_group_id(tx, visibility))
                await search_index.index_thread(tx, event["thread_id"])
            await audit.record(tx, svc, actor, "event.edit", target_type="event", target_id=event_id,
                               label=fields["title"], group_id=event["group_id"])
            if moved and event["status"] == "scheduled":
                await signups.tell_attendees(tx, svc, event, "event_changed", actor_id=actor.user_id)
        if status is not None and status != event["status"]:
            await _change_status(tx, svc, actor, event, status, reason)
        event = await store.by_id(tx, event_id)
        if event["status"] == "scheduled":
            await signups.fill_places(tx, svc, event)  # more places, or a restored event
            event = await store.by_id(tx, event_id)
        if changed or status is not None:
            await search_index.index_event(tx, event_id)
            if event["status"] != "proposed":
                await thread_store.append_event(tx, channel_of(event), "event.updated", {"event": counts_out(event)},
                                                now)
        return event


async def _group_row(tx, event):
    return await group_store.by_id(tx, event["group_id"]) if event["group_id"] else None


async def _change_status(tx, svc: Services, actor: Actor, event, status: str, reason: str) -> None:
    from forum.services import signups
    await store.set_status(tx, event["id"], status, reason if status == "cancelled" else "")
    if status == "cancelled":
        await audit.record(tx, svc, actor, "event.cancel", target_type="event", target_id=event["id"],
                           label=event["title"], group_id=event["group_id"], data={"reason": reason})
        if event["status"] == "scheduled":
            await signups.tell_attendees(tx, svc, event, "event_cancelled", actor_id=actor.user_id, message=reason)
        return
    if event["status"] == "proposed":
        await store.set_thread_shown(tx, event["thread_id"], True, svc.now())
        await audit.record(tx, svc, actor, "event.approve", target_type="event", target_id=event["id"],
                           label=event["title"], group_id=event["group_id"])
        if event["organiser_id"] != actor.user_id:
            await notifications.notify_one(tx, svc, event["organiser_id"], "event_approved", actor_id=actor.user_id,
                                           group_id=event["group_id"], thread_id=event["thread_id"],
                                           data={"event_id": event["id"]})
        await _appeared(tx, svc, await store.by_id(tx, event["id"]))
    else:
        await audit.record(tx, svc, actor, "event.restore", target_type="event", target_id=event["id"],
                           label=event["title"], group_id=event["group_id"])


async def delete(svc: Services, actor: Actor, event_id: int, *, reason: str = "") -> bool:
    """Gone for everyone: its comments close with it. (Calling it off, which tells those who
    signed up, is cancelling.) A member's proposal deleted by a moderator is declined: its
    proposer is told, with the reason given. Returns whether it was such a decline."""
    errors = FieldErrors()
    reason = text_field(errors, "reason", reason if isinstance(reason, str) else "", max_len=MAX_REASON, required=False,
                        single_line=False)
    errors.raise_if_any()
    async with svc.db.write() as tx:
        event = await store.by_id(tx, event_id)
        policy.require(actor, Action.EDIT_EVENT, event)
        now = svc.now()
        declined = event["status"] == "proposed" and event["organiser_id"] not in (None, actor.user_id)
        if declined:
            # no thread nor event to point to afterwards: the title travels in the notification
            await notifications.notify_one(tx, svc, event["organiser_id"], "event_declined", actor_id=None,
                                           group_id=event["group_id"], data={"title": event["title"],
                                                                             "message": reason})
        await store.set_thread_shown(tx, event["thread_id"], False, now)
        await thread_store.redact_thread_channel(tx, event["thread_id"], {"thread_id": event["thread_id"],
                                                                          "redacted": True})
        await thread_store.append_event(tx, f"thread:{event['thread_id']}", "thread.removed",
                                        {"thread_id": event["thread_id"]}, now)
        if event["status"] != "proposed":
            await thread_store.append_event(tx, channel_of(event), "event.removed", {"event_id": event_id}, now)
        await store.delete(tx, event_id)
        await search_index.index_event(tx, event_id)
        await search_index.index_thread(tx, event["thread_id"])
        await audit.record(tx, svc, actor, "event.delete", target_type="event", target_id=event_id,
                           label=event["title"], group_id=event["group_id"])
    return declined
