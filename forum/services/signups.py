"""Sign-ups for events: going, maybe or not going, with answers to the organiser's questions.
Places go first come, first served: beyond the capacity one waits, and the waiting list moves
up by itself when someone cancels or places are added (who moves up is told). Every change is
one write transaction on the single writer, so two sign-ups racing for the last place are
decided in the order they reach it: one gets it, the other waits. Also here: what organisers
do with their attendees (the list, a message to them) and the reminder the day before."""
from __future__ import annotations

import json

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, N_
from forum.policy import Action, Actor
from forum.services import Services, agenda, audit, notifications
from forum.services.checks import FieldErrors, choice_field, clean_text, text_field
from forum.store import agenda as store
from forum.store import threads as thread_store

ANSWERS = ("going", "maybe", "no")
MAX_ANSWER = 500
MAX_MESSAGE = 5_000


def rsvp_out(rsvp, position: int | None) -> dict:
    return {"answer": rsvp["answer"], "status": rsvp["status"], "position": position,
            "answers": json.loads(rsvp["answers"])}


def _answers_field(errors: FieldErrors, event, value) -> dict:
    """Answers to the event's questions, keyed by the question; others are left out."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        errors.add("answers", N_("Geef de antwoorden als tekst per vraag."))
        return {}
    asked = json.loads(event["questions"])
    answers = {}
    for question in asked:
        answer = " ".join(clean_text(value.get(question, "")).split())
        if len(answer) > MAX_ANSWER:
            errors.add("answers", N_("Een antwoord is hoogstens %(max)d tekens."), max=MAX_ANSWER)
        elif answer:
            answers[question] = answer
    return answers


async def my_rsvp(svc: Services, actor: Actor, event) -> dict | None:
    if not actor.active:
        return None
    async with svc.db.read() as conn:
        rsvp = await store.rsvp_of(conn, event["id"], actor.user_id)
        position = await store.position(conn, event["id"], rsvp) if rsvp and rsvp["status"] == "waiting" else None
    return rsvp_out(rsvp, position) if rsvp else None


async def rsvp(svc: Services, actor: Actor, event_id: int, *, answer, answers=None) -> dict:
    """Answer going, maybe or no. Going takes a free place or a place on the waiting list
    (kept while one stays going); leaving a place gives it to the first who waits."""
    errors = FieldErrors()
    choice_field(errors, "answer", answer, ANSWERS)
    async with svc.db.write() as tx:
        event = await store.by_id(tx, event_id)
        policy.require(actor, Action.READ_EVENT, event)
        now = svc.now()
        if event["status"] == "cancelled":
            raise Conflict(N_("Deze activiteit gaat niet door."))
        if event["status"] == "proposed":
            raise Conflict(N_("Aanmelden kan zodra een moderator de activiteit heeft goedgekeurd."))
        if event["starts_at"] <= now:
            raise Conflict(N_("Deze activiteit is al begonnen: aanmelden of afmelden kan niet meer."))
        if not policy.can(actor, Action.RSVP, event):
            if not actor.active:
                policy.require(actor, Action.RSVP, event)  # 401: logging in may help
            raise Forbidden(N_("Alleen leden van de groep melden zich aan. Word eerst lid."))
        chosen = _answers_field(errors, event, answers)
        errors.raise_if_any()
        current = await store.rsvp_of(tx, event_id, actor.user_id)
        had_place = current is not None and current["status"] == "going"
        if answer == "going" and current is not None and current["status"] in ("going", "waiting"):
            status, place_at = current["status"], current["place_at"]  # one keeps one's place
        elif answer == "going":
            if agenda.signup_closes_at(event) <= now:
                raise Conflict(N_("De aanmelding is gesloten."))
            free = event["capacity"] is None or (event["going_count"] < event["capacity"]
                                                 and event["waiting_count"] == 0)
            status, place_at = ("going" if free else "waiting"), now
        else:
            status, place_at = answer, current["place_at"] if current else now
        await store.put_rsvp(tx, event_id, actor.user_id, answer=answer, status=status,
                             answers=json.dumps(chosen, ensure_ascii=False), place_at=place_at, now=now)
        await store.recount(tx, event_id)
        if had_place and status != "going":
            await fill_places(tx, svc, await store.by_id(tx, event_id))
        event = await store.by_id(tx, event_id)
        await thread_store.append_event(tx, agenda.channel_of(event), "event.rsvp", {"event": agenda.counts_out(event)},
                                        now)
        mine = await store.rsvp_of(tx, event_id, actor.user_id)
        position = await store.position(tx, event_id, mine) if mine["status"] == "waiting" else None
        return rsvp_out(mine, position)


async def fill_places(tx, svc: Services, event) -> list[int]:
    """Free places go to those waiting, in the order they asked; each is told. Nothing moves
    once the event has started or when it does not take place."""
    if event["status"] != "scheduled" or event["waiting_count"] == 0 or event["starts_at"] <= svc.now():
        return []
    free = event["waiting_count"] if event["capacity"] is None else event["capacity"] - event["going_count"]
    if free <= 0:
        return []
    moved = await store.first_waiting(tx, event["id"], free)
    await store.move_up(tx, event["id"], moved, svc.now())
    await store.recount(tx, event["id"])
    for user_id in moved:
        await notifications.notify_one(tx, svc, user_id, "event_moved_up", actor_id=None,
                                       group_id=_thread_group(event), thread_id=event["thread_id"],
                                       data={"event_id": event["id"]})
    return moved


def _thread_group(event) -> int:
    """The group a notification about an event names: where its comment thread is (for a site
    event, the site group that its audience reads)."""
    return event["thread_group_id"]


async def tell_attendees(tx, svc: Services, event, kind: str, *, actor_id: int | None, message: str = "",
                         statuses: tuple[str, ...] = ("going", "waiting", "maybe")) -> int:
    """A notification (and mail, as each person set it) for everyone who answered yes or maybe."""
    user_ids = [uid for uid in await store.recipients(tx, event["id"], statuses) if uid != actor_id]
    for user_id in user_ids:
        await notifications.notify_one(tx, svc, user_id, kind, actor_id=actor_id, group_id=_thread_group(event),
                                       thread_id=event["thread_id"],
                                       data={"event_id": event["id"], **({"message": message} if message else {})})
    return len(user_ids)


async def release_member(tx, svc: Services, group_id: int, user_id: int) -> None:
    """Someone is no longer a member (left, removed, banned): their answers to the group's
    coming events are withdrawn, and their places go to those waiting."""
    for event_id in await store.release_member(tx, group_id, user_id, svc.now()):
        await store.recount(tx, event_id)
        await fill_places(tx, svc, await store.by_id(tx, event_id))
        event = await store.by_id(tx, event_id)
        await thread_store.append_event(tx, agenda.channel_of(event), "event.rsvp",
                                        {"event": agenda.counts_out(event)}, svc.now())


# --- organisers --------------------------------------------------------------------------------

async def attendees(svc: Services, actor: Actor, event_id: int):
    """(event, everyone who answered): going first, then the waiting list in its order. Their
    e-mail addresses only for those who run events there (a member who proposed one sees names)."""
    async with svc.db.read() as conn:
        event = await store.by_id(conn, event_id)
        policy.require(actor, Action.EDIT_EVENT, event)
        rows = await store.attendees(conn, event_id)
    if not policy.publishes_events(actor, event):
        rows = [{**row, "email": None} for row in rows]
    return event, rows


async def message_attendees(svc: Services, actor: Actor, event_id: int, *, message, audience="going") -> int:
    """The organiser writes to those going (or also to those waiting and maybe coming); each
    is told in the app and by mail as they set it. Returns how many."""
    errors = FieldErrors()
    text = text_field(errors, "message", message if isinstance(message, str) else "", max_len=MAX_MESSAGE,
                      single_line=False)
    choice_field(errors, "audience", audience, ("going", "all"))
    errors.raise_if_any()
    async with svc.db.write() as tx:
        event = await store.by_id(tx, event_id)
        policy.require(actor, Action.EDIT_EVENT, event)
        if event["status"] == "proposed":
            raise Invalid(N_("Een voorstel heeft nog geen deelnemers."))
        statuses = ("going",) if audience == "going" else ("going", "waiting", "maybe")
        told = await tell_attendees(tx, svc, event, "event_message", actor_id=actor.user_id, message=text,
                                    statuses=statuses)
        await audit.record(tx, svc, actor, "event.message", target_type="event", target_id=event_id,
                           label=event["title"], group_id=event["group_id"], data={"recipients": told})
        return told


# --- reminders ---------------------------------------------------------------------------------

async def send_reminders(svc: Services) -> int:
    """The day before: everyone going is reminded, each event once, in its own transaction.
    An event made or moved to less than a day ahead is reminded at once if people go."""
    async with svc.db.read() as conn:
        due = await store.due_reminders(conn, svc.now())
    for event_id in due:
        async with svc.db.write() as tx:
            event = await store.by_id(tx, event_id)
            if event is None or event["reminded_at"] is not None or event["status"] != "scheduled":
                continue
            await store.mark_reminded(tx, event_id, svc.now())
            if event["starts_at"] > svc.now():
                await tell_attendees(tx, svc, event, "event_reminder", actor_id=None, statuses=("going",))
    return len(due)
