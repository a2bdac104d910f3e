"""API: events, sign-ups and attendees. Their comments go through the thread API on the event's
thread_id."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from aiohttp import web
from pydantic import Field

from forum import policy
from forum.errors import Invalid, N_
from forum.i18n import gettext
from forum.keys import actor_key, services_key
from forum.services import agenda, event_fields, signups
from forum.services.checks import FieldErrors
from forum.web.api import MAX_ID, In, field_id, int_param, json_out, read_json

QUERY = (("group_id", "integer", False), ("when", "string", False), ("from", "string", False),
         ("to", "string", False), ("cursor", "string", False))


class EventIn(In):
    title: str
    description: str = ""
    starts_at: str
    ends_at: str | None = None
    all_day: bool = False
    location: str = ""
    online_url: str = ""
    location_for_attendees_only: bool = False
    capacity: int | None = Field(default=None, ge=1, le=event_fields.MAX_CAPACITY)
    signup_deadline: str | None = None
    questions: list[str] = []
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    visibility: str | None = None


class EventUpdateIn(In):
    """Only what is sent changes; null clears ends_at, capacity (no limit) or signup_deadline."""
    title: str | None = None
    description: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    all_day: bool | None = None
    location: str | None = None
    online_url: str | None = None
    location_for_attendees_only: bool | None = None
    capacity: int | None = Field(default=None, ge=1, le=event_fields.MAX_CAPACITY)
    signup_deadline: str | None = None
    questions: list[str] | None = None
    status: str | None = None
    cancel_reason: str | None = None
    visibility: str | None = None  # a site event's: public or members


class RsvpIn(In):
    answer: str
    answers: dict[str, str] = {}


class MessageIn(In):
    message: str
    audience: str = "going"


def _out(request: web.Request, event, rsvp=None) -> dict:
    actor = request[actor_key]
    status = rsvp["status"] if rsvp else None
    return agenda.event_out(event, place=policy.sees_event_place(actor, event, status), rsvp=rsvp)


async def list_events(request: web.Request) -> web.Response:
    svc, actor, query = request.app[services_key], request[actor_key], request.query
    group_id = field_id(query.get("group_id"), "group_id")
    if query.get("from") or query.get("to"):
        start, end = _range(query.get("from"), query.get("to"))
        rows, next_cursor = await agenda.between(svc, actor, start, end, group_id=group_id), None
    else:
        when = query.get("when", "upcoming")
        if when not in ("upcoming", "past"):
            raise Invalid(fields={"when": N_("Kies upcoming of past.")})
        rows, next_cursor = await agenda.listing(svc, actor, group_id=group_id, past=when == "past",
                                                 cursor=query.get("cursor") or None)
    statuses = await agenda.my_statuses(svc, actor, rows)
    return json_out({"events": [
        agenda.event_out(row, place=policy.sees_event_place(actor, row, statuses.get(row["id"]))) for row in rows],
        "next": next_cursor})


def _range(raw_from: str | None, raw_to: str | None):
    """from/to as dates (YYYY-MM-DD, Dutch days; `to` is the last day included)."""
    errors = FieldErrors()
    first, last = event_fields.parse_day(errors, "from", raw_from), event_fields.parse_day(errors, "to", raw_to)
    errors.raise_if_any()
    if first is None or last is None:
        raise Invalid(fields={"from" if first is None else "to": N_("Geef zowel from als to.")})
    if last < first or (last - first).days > 400:
        raise Invalid(fields={"to": N_("Kies een periode van hoogstens een jaar, na from.")})
    return event_fields.midnight(first), event_fields.midnight(last + timedelta(days=1))


async def get_event(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    event = await agenda.get(svc, actor, int_param(request, "event_id"))
    return json_out({"event": _out(request, event, await signups.my_rsvp(svc, actor, event))})


async def create_event(request: web.Request) -> web.Response:
    data = await read_json(request, EventIn)
    event = await agenda.create(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"event": _out(request, event)}, status=201)


async def update_event(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    event_id = int_param(request, "event_id")
    data = await read_json(request, EventUpdateIn)
    event = await agenda.update(svc, actor, event_id, **data.model_dump(exclude_unset=True))
    return json_out({"event": _out(request, event, await signups.my_rsvp(svc, actor, event))})


async def delete_event(request: web.Request) -> web.Response:
    await agenda.delete(request.app[services_key], request[actor_key], int_param(request, "event_id"))
    return json_out({"ok": True})


async def put_rsvp(request: web.Request) -> web.Response:
    data = await read_json(request, RsvpIn)
    rsvp = await signups.rsvp(request.app[services_key], request[actor_key], int_param(request, "event_id"),
                              answer=data.answer, answers=data.answers)
    return json_out({"rsvp": rsvp})


STATUS_LABELS = {"going": N_("aangemeld"), "waiting": N_("wachtlijst"), "maybe": N_("misschien"),
                 "no": N_("komt niet")}


def attendee_rows(event, rows) -> tuple[list[str], list[list[str]]]:
    """The attendee list as a spreadsheet shows it, in the reader's language and Dutch time:
    one column per question."""
    questions = json.loads(event["questions"])
    with_email = any(row["email"] is not None for row in rows)
    header = [gettext(N_("Naam")), *([gettext(N_("E-mailadres"))] if with_email else []), gettext(N_("Status")),
              gettext(N_("Sinds")), *questions]
    table = []
    for row in rows:
        answers = json.loads(row["answers"])
        table.append([row["display_name"], *([row["email"]] if with_email else []),
                      gettext(STATUS_LABELS[row["status"]]), event_fields.local(row["place_at"]).strftime("%Y-%m-%d %H:%M"),
                      *(answers.get(question, "") for question in questions)])
    return header, table


def csv_safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR) is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def attendees_csv(event, rows) -> web.Response:
    header, table = attendee_rows(event, rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")  # what a Dutch spreadsheet splits on (its comma is the decimal sign)
    writer.writerow([csv_safe(cell) for cell in header])  # the questions are the organiser's words
    for line in table:
        writer.writerow([csv_safe(cell) for cell in line])
    return web.Response(body=("\ufeff" + out.getvalue()).encode(), headers={
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="deelnemers-{event["id"]}.csv"'})


async def event_attendees(request: web.Request) -> web.Response:
    event, rows = await signups.attendees(request.app[services_key], request[actor_key],
                                          int_param(request, "event_id"))
    if request.query.get("format") == "csv":
        return attendees_csv(event, rows)
    return json_out({"event_id": event["id"], "attendees": [
        {"user": {"id": row["user_id"], "display_name": row["display_name"], "email": row["email"]},
         "answer": row["answer"], "status": row["status"], "answers": json.loads(row["answers"]),
         "since": row["place_at"]} for row in rows]})


async def message(request: web.Request) -> web.Response:
    data = await read_json(request, MessageIn)
    told = await signups.message_attendees(request.app[services_key], request[actor_key],
                                           int_param(request, "event_id"), message=data.message,
                                           audience=data.audience)
    return json_out({"recipients": told})
