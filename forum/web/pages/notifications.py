"""Pages: the notifications list, mail settings, following levels on threads and groups,
"mark all read", and the unsubscribe page a mail links to (no login needed)."""
from __future__ import annotations

from aiohttp import web

from forum.errors import BadRequest, N_, ServiceError
from forum.keys import actor_key, services_key
from forum.services import mailings, notifications, reading
from forum.web.api import int_param, parse_id
from forum.web.pages import form_of, redirect, render, require_login, rerender, safe_next


async def index(request: web.Request) -> web.Response:
    actor = require_login(request)
    raw = request.query.get("before", "")
    before = parse_id(raw)
    unread_only = request.query.get("unread") == "1"
    shown, unread, next_cursor = await notifications.page(request.app[services_key], actor, before=before,
                                                          unread_only=unread_only)
    return render(request, "notifications.html", {"notes": shown, "unread": unread, "next": next_cursor,
                                                  "unread_only": unread_only})


async def mark_read(request: web.Request) -> web.Response:
    actor = require_login(request)
    form = await form_of(request)
    raw = form.get("id", "")
    if raw == "all":
        ids = None
    elif parse_id(raw) is not None:
        ids = [parse_id(raw)]
    else:
        raise BadRequest(N_("Onbekende melding."))
    await notifications.mark_read(request.app[services_key], actor, ids)
    raise web.HTTPSeeOther(safe_next(form.get("next")) if form.get("next") else "/notifications")


async def settings_form(request: web.Request) -> web.Response:
    actor = require_login(request)
    row = await mailings.settings_of(request.app[services_key], actor)
    return render(request, "settings_notifications.html",
                  {"values": dict(row), "saved": "saved" in request.query, "minutes": _minutes(request)})


async def settings_submit(request: web.Request) -> web.Response:
    actor = require_login(request)
    form = await form_of(request)
    try:
        await mailings.update_settings(request.app[services_key], actor,
                                       email_notifications=form.get("email_notifications", ""),
                                       digest=form.get("digest", ""))
    except ServiceError as error:
        return rerender(request, "settings_notifications.html", error,
                        {"values": form, "saved": False, "minutes": _minutes(request)})
    raise web.HTTPSeeOther("/settings/notifications?saved=1")


def _minutes(request: web.Request) -> int:
    return request.app[services_key].config.notify_mail_minutes


async def thread_level(request: web.Request) -> web.Response:
    thread_id = int_param(request, "thread_id")
    form = await form_of(request)
    await notifications.set_thread_level(request.app[services_key], request[actor_key], thread_id,
                                         form.get("level", ""))
    raise redirect(request, "thread", thread_id=thread_id)


async def group_level(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    form = await form_of(request)
    await notifications.set_group_level(request.app[services_key], request[actor_key], group_id,
                                        form.get("level", ""))
    raise redirect(request, "group", group_id=group_id)


async def group_read(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    await reading.mark_group_read(request.app[services_key], request[actor_key], group_id)
    raise redirect(request, "group", group_id=group_id)


async def unsubscribe_form(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    _, what = mailings.read_token(request.app[services_key], token)
    return render(request, "unsubscribe.html", {"token": token, "what": what, "done": False})


async def unsubscribe_submit(request: web.Request) -> web.Response:
    what, _ = await mailings.unsubscribe(request.app[services_key], request.match_info["token"])
    return render(request, "unsubscribe.html", {"token": "", "what": what, "done": True})
