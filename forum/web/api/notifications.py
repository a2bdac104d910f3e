"""API: notifications, following levels, read tracking, mention suggestions, mail settings,
and the one-click unsubscribe that mail clients POST to (RFC 8058)."""
from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import Field

from forum.errors import BadRequest, N_
from forum.keys import actor_key, services_key
from forum.services import mailings, notifications, reading
from forum.web.api import MAX_ID, In, id_query, int_param, json_out, parse_id, read_json


class ReadIn(In):
    ids: list[int] | None = Field(default=None, min_length=1, max_length=500)
    all: bool = False


class ThreadLevelIn(In):
    level: Literal["watching", "normal", "muted"]


class GroupLevelIn(In):
    level: Literal["watching", "new_threads", "normal", "muted"]


class ThreadReadIn(In):
    post_id: int = Field(ge=1, le=MAX_ID)


class SettingsIn(In):
    email_notifications: Literal["immediately", "batched", "never"] | None = None
    digest: Literal["daily", "weekly", "never"] | None = None
    locale: Literal["nl", "en"] | None = None


async def list_notifications(request: web.Request) -> web.Response:
    shown, unread, next_cursor = await notifications.page(
        request.app[services_key], request[actor_key], unread_only=request.query.get("unread") in ("1", "true"),
        before=id_query(request, "before"))
    return json_out({"notifications": shown, "unread_count": unread, "next": next_cursor})


async def mark_read(request: web.Request) -> web.Response:
    data = await read_json(request, ReadIn)
    if data.all == (data.ids is not None):
        raise BadRequest(N_("Geef ids of all: true."))
    if data.ids is not None and not all(0 < i <= MAX_ID for i in data.ids):
        raise BadRequest(N_("Ongeldige id."))
    unread = await notifications.mark_read(request.app[services_key], request[actor_key],
                                           None if data.all else data.ids)
    return json_out({"unread_count": unread})


async def thread_level(request: web.Request) -> web.Response:
    data = await read_json(request, ThreadLevelIn)
    level = await notifications.set_thread_level(request.app[services_key], request[actor_key],
                                                 int_param(request, "thread_id"), data.level)
    return json_out({"level": level})


async def group_level(request: web.Request) -> web.Response:
    data = await read_json(request, GroupLevelIn)
    level = await notifications.set_group_level(request.app[services_key], request[actor_key],
                                                int_param(request, "group_id"), data.level)
    return json_out({"level": level})


async def thread_read(request: web.Request) -> web.Response:
    data = await read_json(request, ThreadReadIn)
    await reading.record_read(request.app[services_key], request[actor_key],
                                    int_param(request, "thread_id"), data.post_id)
    return json_out({"ok": True})


async def group_read(request: web.Request) -> web.Response:
    await reading.mark_group_read(request.app[services_key], request[actor_key], int_param(request, "group_id"))
    return json_out({"ok": True})


async def mentions(request: web.Request) -> web.Response:
    group_id = parse_id(request.query.get("group_id", ""))
    if group_id is None:
        raise BadRequest(N_("group_id is verplicht."))
    rows = await notifications.mention_candidates(request.app[services_key], request[actor_key], group_id,
                                                  request.query.get("q", ""))
    return json_out({"users": [{"id": r["id"], "handle": r["handle"], "display_name": r["display_name"]}
                               for r in rows]})


async def update_settings(request: web.Request) -> web.Response:
    data = await read_json(request, SettingsIn)
    row = await mailings.update_settings(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"email_notifications": row["email_notifications"], "digest": row["digest"],
                     "locale": row["locale"]})


async def one_click_unsubscribe(request: web.Request) -> web.Response:
    what, _ = await mailings.unsubscribe(request.app[services_key], request.match_info["token"])
    return json_out({"unsubscribed": what})
