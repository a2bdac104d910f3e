"""API: reporting posts, the moderation queue, and resolving its items."""
from __future__ import annotations

from typing import Literal

from aiohttp import web

from forum.keys import actor_key, services_key
from forum.services import moderation
from forum.web.api import In, id_query, int_param, json_out, read_json


class ReportIn(In):
    reason: Literal["spam", "inappropriate", "off_topic", "other"]
    text: str = ""


class ResolveIn(In):
    action: Literal["dismiss", "hide", "delete", "warn"]
    reason: str = ""


async def report(request: web.Request) -> web.Response:
    data = await read_json(request, ReportIn)
    item_id = await moderation.report(request.app[services_key], request[actor_key], int_param(request, "post_id"),
                                      reason=data.reason, text=data.text)
    return json_out({"item_id": item_id}, status=201)


def item_out(item, reports) -> dict:
    return {"id": item["id"], "status": item["status"], "created_at": item["created_at"],
            "group": {"id": item["group_id"], "name": item["group_name"]},
            "thread": {"id": item["thread_id"], "title": item["thread_title"]},
            "post": {"id": item["post_id"], "author": {"id": item["author_id"], "display_name": item["author_name"]},
                     "body_html": "" if item["deleted_at"] else item["body_html"],
                     "hidden": item["hidden_at"] is not None, "deleted": item["deleted_at"] is not None},
            "reports": [{"reason": r["reason"], "text": r["text"], "created_at": r["created_at"],
                         "reporter": {"id": r["reporter_id"], "display_name": r["reporter_name"]}} for r in reports]}


async def queue(request: web.Request) -> web.Response:
    items = await moderation.queue(request.app[services_key], request[actor_key],
                                   group_id=id_query(request, "group_id"))
    return json_out({"items": [item_out(item, reports) for item, reports in items]})


async def resolve(request: web.Request) -> web.Response:
    data = await read_json(request, ResolveIn)
    status = await moderation.resolve(request.app[services_key], request[actor_key], int_param(request, "item_id"),
                                      action=data.action, reason=data.reason)
    return json_out({"status": status})


