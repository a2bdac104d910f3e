"""iCalendar: one event's .ics download, the feeds of the site's and a group's events, each
person's private feed of what they signed up for, and the settings page that makes, renews
or revokes that private URL. Timed events are written in UTC, all-day events as dates, so
every calendar shows them at the right Dutch time on both sides of a daylight-saving change."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web
from icalendar import Calendar, Event

from forum import policy
from forum.errors import Invalid, N_
from forum.keys import actor_key, services_key
from forum.services import agenda, calendars, event_fields, signups
from forum.services.search import plain_text
from forum.web.api import int_param
from forum.web.pages import form_of, render, require_login
from forum.web.pages.feeds import xml_text

ICS_TYPE = "text/calendar; charset=utf-8"
STATUS = {"scheduled": "CONFIRMED", "cancelled": "CANCELLED", "proposed": "TENTATIVE"}


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Maak verschil//forum//NL")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", xml_text(name))
    return cal


def _add(cal: Calendar, site_url: str, event, *, place: bool) -> None:
    entry = Event()
    host = urlsplit(site_url).hostname or "forum"
    entry.add("uid", f"event-{event['id']}@{host}")
    entry.add("sequence", event["sequence"])
    entry.add("dtstamp", _moment(event["edited_at"] or event["created_at"]))
    entry.add("summary", xml_text(event["title"]))
    if event["all_day"]:
        entry.add("dtstart", event_fields.local(event["starts_at"]).date())
        entry.add("dtend", event_fields.local(event["ends_at"]).date())  # the day after the last: iCalendar's own rule
    else:
        entry.add("dtstart", _moment(event["starts_at"]))
        entry.add("dtend", _moment(event["ends_at"]))
    url = f"{site_url}/events/{event['id']}"
    entry.add("url", url)
    description = xml_text(plain_text(event["description"]))  # a calendar shows text, not Markdown
    if place and event["online_url"]:
        description = f"{description}\n\n{event['online_url']}".strip()
    entry.add("description", f"{description}\n\n{url}".strip())
    if place and event["location"]:
        entry.add("location", xml_text(event["location"]))
    entry.add("status", STATUS[event["status"]])
    cal.add_component(entry)


def _answer(cal: Calendar, filename: str, *, personal: bool) -> web.Response:
    response = web.Response(body=cal.to_ical(), headers={"Content-Type": ICS_TYPE})
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    # a private feed is nobody else's: no shared cache may keep it
    response.headers["Cache-Control"] = "private, no-store" if personal else "private, max-age=300"
    return response


def _site_url(request: web.Request) -> str:
    return request.app[services_key].config.site_url.rstrip("/")


async def event_ics(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    event = await agenda.get(svc, actor, int_param(request, "event_id"))
    rsvp = await signups.my_rsvp(svc, actor, event)
    cal = _calendar(event["title"])
    _add(cal, _site_url(request), event, place=policy.sees_event_place(actor, event, rsvp["status"] if rsvp else None))
    return _answer(cal, f"activiteit-{event['id']}.ics", personal=actor.active)


async def _viewer(request: web.Request):
    """A feed is read by a calendar app, which sends no cookie: the private token in ?token=
    says whose view it is; without one, the browser's own session (or a visitor's view)."""
    token = request.query.get("token")
    if token:
        return await calendars.actor_for_token(request.app[services_key], token), True
    return request[actor_key], request[actor_key].active


async def site_feed(request: web.Request) -> web.Response:
    actor, personal = await _viewer(request)
    svc = request.app[services_key]
    cal = _calendar("Agenda van Maak verschil")
    rows = await calendars.site_events(svc, actor)
    statuses = await agenda.my_statuses(svc, actor, rows)
    for row in rows:
        _add(cal, _site_url(request), row, place=policy.sees_event_place(actor, row, statuses.get(row["id"])))
    return _answer(cal, "agenda.ics", personal=personal)


async def group_feed(request: web.Request) -> web.Response:
    actor, personal = await _viewer(request)
    svc = request.app[services_key]
    group, rows = await calendars.group_events(svc, actor, int_param(request, "group_id"))
    cal = _calendar(f"Agenda van {group['name']}")
    statuses = await agenda.my_statuses(svc, actor, rows)
    for row in rows:
        _add(cal, _site_url(request), row, place=policy.sees_event_place(actor, row, statuses.get(row["id"])))
    return _answer(cal, f"agenda-groep-{group['id']}.ics", personal=personal)


async def personal_feed(request: web.Request) -> web.Response:
    svc = request.app[services_key]
    token = request.match_info["token"]
    actor = await calendars.actor_for_token(svc, token)
    cal = _calendar("Mijn activiteiten (Maak verschil)")
    for row in await calendars.personal_events(svc, actor):
        _add(cal, _site_url(request), row, place=policy.sees_event_place(actor, row, row["my_status"]))
    return _answer(cal, "mijn-activiteiten.ics", personal=True)


# --- the private URL ---------------------------------------------------------------------------

async def settings_form(request: web.Request) -> web.Response:
    actor = require_login(request)
    svc = request.app[services_key]
    token = await calendars.feed_token(svc, actor)
    feed_url = f"{_site_url(request)}/feeds/me/{token}.ics" if token else None
    return render(request, "settings_calendar.html", {
        "feed_url": feed_url, "webcal_url": "webcal://" + feed_url.split("://", 1)[1] if feed_url else None,
        "done": request.query.get("done", "")})


async def settings_submit(request: web.Request) -> web.Response:
    actor = require_login(request)
    svc = request.app[services_key]
    action = (await form_of(request)).get("action", "")
    if action == "renew":
        if await calendars.feed_token(svc, actor) is None:
            action = "new"  # there was no link before: nothing stopped working
        await calendars.renew_feed_token(svc, actor)
    elif action == "revoke":
        await calendars.revoke_feed_token(svc, actor)
    else:
        raise Invalid(fields={"action": N_("Onbekende actie.")})
    raise web.HTTPSeeOther(f"/settings/calendar?done={action}")


def routes() -> list[web.RouteDef]:
    return [
        web.get(r"/events/{event_id:\d+}.ics", event_ics, name="event.ics"),
        web.get("/feeds/events.ics", site_feed, name="feeds.events"),
        web.get(r"/feeds/groups/{group_id:\d+}/events.ics", group_feed, name="feeds.group.events"),
        web.get(r"/feeds/me/{token:[0-9A-Za-z_-]{1,200}}.ics", personal_feed, name="feeds.me"),
        web.get("/settings/calendar", settings_form, name="settings.calendar"),
        web.post("/settings/calendar", settings_submit),
    ]
