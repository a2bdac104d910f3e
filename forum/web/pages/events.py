"""Pages: the agenda (a list of coming or past events, and a month), an event with its sign-up
form and comments, the organiser's form, attendees and message, cancelling and deleting.
Everything works without JavaScript; comments are posted through the thread pages' reply route."""
from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from forum import policy
from forum.errors import Invalid, N_, NotFound, ServiceError
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import agenda, event_fields, groups, iso, live, signups
from forum.web.api import field_id, int_param, parse_id
from forum.web.api.events import STATUS_LABELS, attendees_csv
from forum.web.pages import form_of, my_groups, news_channels, render, rerender
from forum.web.attachments import MAX_TEXT_BYTES, form_with_attachment, where_library
from forum.web.pages.threads import posts_context
from forum.web.page_cache import valid_until

ANSWER_LABELS = {"going": N_("Ik kom"), "maybe": N_("Misschien"), "no": N_("Ik kom niet")}


# --- the agenda ----------------------------------------------------------------------------------

def _month(raw: str | None, today: date) -> date:
    if raw:
        try:
            chosen = datetime.strptime(raw, "%Y-%m").date()
        except ValueError:
            raise Invalid(fields={"month": N_("Kies een maand als 2026-03.")})
        if 2000 <= chosen.year <= 9998:
            return chosen
        raise Invalid(fields={"month": N_("Kies een maand als 2026-03.")})
    return today.replace(day=1)


async def index(request: web.Request) -> web.Response:
    actor, svc, query = request[actor_key], request.app[services_key], request.query
    group_id = field_id(query.get("group_id", ""), "group_id")
    listed = await groups.list_groups(svc, actor)
    group = next((g for g in listed if g["id"] == group_id), None) if group_id else None
    if group_id and (group is None or not policy.can(actor, Action.READ, group)):
        raise NotFound()  # a group the viewer cannot read has no agenda for them
    context = {"group_id": group_id or "", "group": group, "may_create": await _may_create(svc, actor, group),
               "group_choices": [g for g in listed if policy.can(actor, Action.READ, g)],
               "view": "month" if query.get("view") == "month" else "list", "past": query.get("when") == "past",
               "deleted": query.get("deleted") == "1", "declined": query.get("declined") == "1",
               "live_channels": news_channels(actor, my_groups(actor, listed)),
               "last_event_id": await live.last_event_id(svc)}
    base = {"group_id": group_id} if group_id else {}
    if context["view"] == "month":
        today = svc.clock().astimezone(event_fields.ZONE).date()
        month = _month(query.get("month"), today)
        last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
        rows = await agenda.between(svc, actor, event_fields.midnight(month),
                                    event_fields.midnight(last + timedelta(days=1)), group_id=group_id)
        previous = (month - timedelta(days=1)).replace(day=1)
        following = last + timedelta(days=1)
        context.update(weeks=_weeks(month, rows), month=month, today=today, events=rows,
                       prev_url="/events?" + urlencode({**base, "view": "month", "month": previous.strftime("%Y-%m")}),
                       next_url="/events?" + urlencode({**base, "view": "month", "month": following.strftime("%Y-%m")}))
    else:
        rows, next_cursor = await agenda.listing(svc, actor, group_id=group_id, past=context["past"],
                                                 cursor=query.get("cursor") or None)
        when = {"when": "past"} if context["past"] else {}
        context.update(events=rows, next_url="/events?" + urlencode({**base, **when, "cursor": next_cursor})
                       if next_cursor else None)
    context["statuses"] = await agenda.my_statuses(svc, actor, context["events"])
    context["base_query"] = urlencode(base)
    # past events gain one whenever any event ends, which this page does not know of: not kept
    valid_until(request, svc.now() if context["past"] else agenda.next_change(context["events"], svc.now()))
    if context["view"] == "month":  # "today" is marked
        valid_until(request, iso(event_fields.midnight(context["today"] + timedelta(days=1))))
    return render(request, "events.html", context)


def _weeks(month: date, rows) -> list[list[dict]]:
    """The month as weeks from Monday, each day with the events on it (an event of several
    days is on each of them)."""
    by_day: dict[date, list] = {}
    for row in rows:
        first = event_fields.local(row["starts_at"]).date()
        last = event_fields.last_day(row) if row["all_day"] else event_fields.local(row["ends_at"]).date()
        day = max(first, month)
        while day <= last and day.month == month.month:
            by_day.setdefault(day, []).append({"event": row, "starts": day == first})  # its time on its first day
            day += timedelta(days=1)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month):
        weeks.append([{"day": day, "in_month": day.month == month.month, "events": by_day.get(day, [])}
                      for day in week])
    return weeks


async def _may_create(svc, actor, group) -> bool:
    if group is not None:
        return policy.can(actor, Action.CREATE_EVENT, group)
    return policy.can(actor, Action.CREATE_EVENT, None) or bool(await agenda.creatable_groups(svc, actor))


# --- an event ------------------------------------------------------------------------------------

async def _item_context(request: web.Request, event, *, reply_to: str = "", values: dict | None = None) -> dict:
    actor, svc = request[actor_key], request.app[services_key]
    rsvp = await signups.my_rsvp(svc, actor, event)
    group = None
    if event["group_id"] is not None:
        group = await groups.get_group(svc, actor, event["group_id"])
    context = {
        "event": event, "rsvp": rsvp, "questions": json.loads(event["questions"]),
        "may_edit": policy.can(actor, Action.EDIT_EVENT, event),
        "may_approve": event["status"] == "proposed" and policy.can(actor, Action.PUBLISH_NEWS, group),
        "may_rsvp": policy.can(actor, Action.RSVP, event),
        "sees_place": policy.sees_event_place(actor, event, rsvp["status"] if rsvp else None),
        "started": event["starts_at"] <= svc.now(), "signup_closed": agenda.signup_closes_at(event) <= svc.now(),
        "places_left": agenda.places_left(event), "group": group,
        "answer_labels": ANSWER_LABELS, "rsvp_values": values if values and "answer" in values else None,
        "shown": [], "first_unread": None, "level": None, "pager": None,
    }
    if event["status"] != "proposed":  # comments exist for readers once it is out
        context.update(await posts_context(request, event["thread_id"], reply_to=reply_to, news=event,
                                           values=values if values and "body" in values else None,
                                           open_it=values is None))
        context["live_channels"] = f"thread:{event['thread_id']} {agenda.channel_of(event)}"
    return context


async def show(request: web.Request) -> web.Response:
    event = await agenda.get(request.app[services_key], request[actor_key], int_param(request, "event_id"))
    context = await _item_context(request, event, reply_to=request.query.get("reply_to", ""))
    valid_until(request, agenda.next_change([event], request.app[services_key].now()))
    return render(request, "event.html", context)


async def rerender_with_comments(request: web.Request, event_id: int, error: ServiceError, parent: str,
                                 form: dict) -> web.Response:
    """A comment that could not be posted: the event again, with the words kept and the reason."""
    event = await agenda.get(request.app[services_key], request[actor_key], event_id)
    return rerender(request, "event.html", error, await _item_context(request, event, reply_to=parent, values=form))


async def rsvp(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    event_id = int_param(request, "event_id")
    form = await form_of(request)
    event = await agenda.get(svc, actor, event_id)
    questions = json.loads(event["questions"])
    answers = {question: form.get(f"q{index}", "") for index, question in enumerate(questions)}
    try:
        await signups.rsvp(svc, actor, event_id, answer=form.get("answer", ""), answers=answers)
    except ServiceError as error:
        if error.status == 401:
            raise
        return rerender(request, "event.html", error, await _item_context(request, event, values=form))
    raise web.HTTPSeeOther(f"/events/{event_id}#rsvp")


# --- the organiser's form ------------------------------------------------------------------------

def _split(moment: str | None) -> tuple[str, str]:
    if not moment:
        return "", ""
    local = event_fields.local(moment)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


def _values_of(event) -> dict:
    starts_on, starts_time = _split(event["starts_at"])
    ends_on, ends_time = _split(event["ends_at"])
    if event["all_day"]:
        ends_on, starts_time, ends_time = event_fields.last_day(event).isoformat(), "", ""
    deadline = event["signup_deadline"] and event_fields.local(event["signup_deadline"]).strftime("%Y-%m-%dT%H:%M")
    return {"title": event["title"], "description": event["description"], "starts_on": starts_on,
            "starts_time": starts_time, "ends_on": ends_on, "ends_time": ends_time,
            "all_day": "1" if event["all_day"] else "", "location": event["location"],
            "online_url": event["online_url"], "attendees_only": "1" if event["place_for_attendees"] else "",
            "capacity": str(event["capacity"] or ""), "signup_deadline": deadline,
            "questions": "\n".join(json.loads(event["questions"])), "visibility": event["visibility"]}


def _fields_of(form: dict) -> dict:
    """The service's fields from the form: a date and a time per moment, or dates for a whole day."""
    all_day = form.get("all_day") == "1"
    starts_on, ends_on = form.get("starts_on", "").strip(), form.get("ends_on", "").strip()
    starts_time, ends_time = form.get("starts_time", "").strip(), form.get("ends_time", "").strip()
    if all_day:
        starts_at, ends_at = starts_on, ends_on or None
    else:
        # a date without its time is passed on as it is: the service asks for the time
        starts_at = f"{starts_on}T{starts_time}" if starts_on and starts_time else starts_on
        ends_at = f"{ends_on or starts_on}T{ends_time}" if ends_time and (ends_on or starts_on) else ends_on or None
    return {"title": form.get("title", ""), "description": form.get("description", ""), "starts_at": starts_at,
            "ends_at": ends_at, "all_day": all_day, "location": form.get("location", ""),
            "online_url": form.get("online_url", ""), "location_for_attendees_only": form.get("attendees_only") == "1",
            "capacity": form.get("capacity", "").strip() or None,
            "signup_deadline": form.get("signup_deadline") or None,
            "questions": form.get("questions", "")}


def _form_error(error: ServiceError, form: dict) -> ServiceError:
    """The service names starts_at and ends_at; the form has a date and a time for each: the
    message goes to the one the person is to change (the time, when that is what was typed or
    is missing)."""
    timed = form.get("all_day") != "1"

    def field(name: str) -> str:
        if name == "starts_at":
            return "starts_time" if timed and form.get("starts_on") and not form.get("starts_time") else "starts_on"
        if name == "ends_at":
            return "ends_time" if timed and (form.get("ends_time") or form.get("ends_on")) else "ends_on"
        return name
    error.fields = {field(name): message for name, message in error.fields.items()}
    return error


async def _form_context(request: web.Request, values: dict, event=None) -> dict:
    actor, svc = request[actor_key], request.app[services_key]
    return {"values": values, "event": event, "may_site": policy.can(actor, Action.CREATE_EVENT, None),
            "group_choices": [] if event else await agenda.creatable_groups(svc, actor)}


async def new_form(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    if not await _may_create(svc, actor, None):
        policy.require(actor, Action.CREATE_EVENT, None)  # visitors to the login page, members a 403
    where = request.query.get("group_id", "")
    values = {"where": where if parse_id(where) else "site", "visibility": "public"}
    return render(request, "event_form.html", await _form_context(request, values))


async def new_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    async def may_create(group_id: int | None, fields: dict) -> None:  # (a member's proposal counts)
        policy.require(actor, Action.CREATE_EVENT, await groups.target_group(svc, actor, group_id))
    form, refused = await form_with_attachment(request, where_library, MAX_TEXT_BYTES, text="description",
                                               may_publish=may_create)
    try:
        if refused:
            raise refused
        group_id = where_library(form)
        event = await agenda.create(svc, actor, group_id=group_id,
                                    visibility=None if group_id else form.get("visibility", "public"),
                                    **_fields_of(form))
    except ServiceError as error:
        return rerender(request, "event_form.html", _form_error(error, form), await _form_context(request, form))
    raise web.HTTPSeeOther(f"/events/{event['id']}")


async def edit_form(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    event = await agenda.get(svc, actor, int_param(request, "event_id"))
    policy.require(actor, Action.EDIT_EVENT, event)
    return render(request, "event_form.html", await _form_context(request, _values_of(event), event))


async def edit_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    event_id = int_param(request, "event_id")
    event = await agenda.get(svc, actor, event_id)
    policy.require(actor, Action.EDIT_EVENT, event)  # before a byte of a file is read
    form, refused = await form_with_attachment(request, event["group_id"], MAX_TEXT_BYTES, text="description",
                                               visibility=event["visibility"])
    try:
        if refused:
            raise refused
        event = await agenda.update(svc, actor, event_id, **_fields_of(form),
                                    visibility=form.get("visibility") if event["group_id"] is None else None)
    except ServiceError as error:
        return rerender(request, "event_form.html", _form_error(error, form),
                        await _form_context(request, form, event))
    raise web.HTTPSeeOther(f"/events/{event['id']}")


STATE_ACTIONS = {"cancel": "cancelled", "restore": "scheduled", "approve": "scheduled"}


async def change_state(request: web.Request) -> web.Response:
    """Cancel (with a reason, from its confirmation page), restore, approve, or delete."""
    actor, svc = request[actor_key], request.app[services_key]
    event_id = int_param(request, "event_id")
    form = await form_of(request)
    action = form.get("action", "")
    if action == "delete":
        if form.get("confirm") != "yes":
            raise Invalid(fields={"confirm": N_("Bevestig dat u deze activiteit wilt verwijderen.")})
        try:
            declined = await agenda.delete(svc, actor, event_id, reason=form.get("reason", ""))
        except ServiceError as error:
            if error.status != 422:
                raise
            event = await agenda.get(svc, actor, event_id)
            return rerender(request, "event_confirm.html", error, {"event": event, "action": "delete", "values": form})
        raise web.HTTPSeeOther("/events?declined=1" if declined else "/events?deleted=1")
    if action not in STATE_ACTIONS:
        raise Invalid(fields={"action": N_("Onbekende actie.")})
    try:
        await agenda.update(svc, actor, event_id, status=STATE_ACTIONS[action], cancel_reason=form.get("reason", ""))
    except ServiceError as error:
        if action != "cancel" or error.status != 422:
            raise
        event = await agenda.get(svc, actor, event_id)
        return rerender(request, "event_confirm.html", error, {"event": event, "action": "cancel", "values": form})
    raise web.HTTPSeeOther(f"/events/{event_id}")


async def confirm_form(request: web.Request) -> web.Response:
    """The page that asks before cancelling (with a reason for those who signed up) or deleting."""
    actor, svc = request[actor_key], request.app[services_key]
    event = await agenda.get(svc, actor, int_param(request, "event_id"))
    policy.require(actor, Action.EDIT_EVENT, event)
    action = "delete" if request.path.endswith("/delete") else "cancel"
    return render(request, "event_confirm.html", {"event": event, "action": action})


# --- attendees -----------------------------------------------------------------------------------

async def attendees(request: web.Request) -> web.Response:
    event, rows = await signups.attendees(request.app[services_key], request[actor_key],
                                          int_param(request, "event_id"))
    return render(request, "event_attendees.html", {
        "event": event, "rows": rows, "questions": json.loads(event["questions"]),
        "answers": [json.loads(row["answers"]) for row in rows], "status_labels": STATUS_LABELS,
        "sent": request.query.get("sent", ""), "values": {"audience": "going"}})


async def attendees_file(request: web.Request) -> web.StreamResponse:
    event, rows = await signups.attendees(request.app[services_key], request[actor_key],
                                          int_param(request, "event_id"))
    return attendees_csv(event, rows)


async def message(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    event_id = int_param(request, "event_id")
    form = await form_of(request)
    try:
        told = await signups.message_attendees(svc, actor, event_id, message=form.get("message", ""),
                                               audience=form.get("audience", "going"))
    except ServiceError as error:
        if error.status != 422:
            raise
        event, rows = await signups.attendees(svc, actor, event_id)
        return rerender(request, "event_attendees.html", error, {
            "event": event, "rows": rows, "questions": json.loads(event["questions"]),
            "answers": [json.loads(row["answers"]) for row in rows], "status_labels": STATUS_LABELS,
            "sent": "", "values": form})
    raise web.HTTPSeeOther(f"/events/{event_id}/attendees?sent={told}")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/events", index, name="events"),
        web.get("/events/new", new_form, name="events.new"),
        web.post("/events/new", new_submit, name="events.new.submit"),
        web.get(r"/events/{event_id:\d+}", show, name="event"),
        web.post(r"/events/{event_id:\d+}/rsvp", rsvp, name="event.rsvp"),
        web.get(r"/events/{event_id:\d+}/edit", edit_form, name="event.edit"),
        web.post(r"/events/{event_id:\d+}/edit", edit_submit, name="event.edit.submit"),
        web.post(r"/events/{event_id:\d+}/state", change_state, name="event.state"),
        web.get(r"/events/{event_id:\d+}/cancel", confirm_form, name="event.cancel"),
        web.get(r"/events/{event_id:\d+}/delete", confirm_form, name="event.delete"),
        web.get(r"/events/{event_id:\d+}/attendees", attendees, name="event.attendees"),
        web.get(r"/events/{event_id:\d+}/attendees.csv", attendees_file, name="event.attendees.csv"),
        web.post(r"/events/{event_id:\d+}/message", message, name="event.message"),
    ]
