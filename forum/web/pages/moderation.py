"""Pages: reporting a post, and the moderation queue with its resolve forms."""
from __future__ import annotations

from aiohttp import web

from forum import policy
from forum.errors import ServiceError
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import discussions, moderation
from forum.web.api import id_query, int_param
from forum.web.api.moderation import item_out
from forum.web.pages import form_of, redirect, render, rerender


async def report_form(request: web.Request) -> web.Response:
    actor = request[actor_key]
    post = await discussions.get_post(request.app[services_key], actor, int_param(request, "post_id"))
    if post["author_id"] != actor.user_id:  # one's own post: the form explains why not
        policy.require(actor, Action.REPORT_POST, post)  # a hidden or removed post is offered no form
    return render(request, "report.html", {"post": post, "values": {}, "done": False})


async def report_submit(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    post = await discussions.get_post(svc, actor, int_param(request, "post_id"))
    form = await form_of(request)
    try:
        await moderation.report(svc, actor, post["id"], reason=form.get("reason", ""), text=form.get("text", ""))
    except ServiceError as error:
        return rerender(request, "report.html", error, {"post": post, "values": form, "done": False})
    return render(request, "report.html", {"post": post, "values": {}, "done": True})


async def queue(request: web.Request) -> web.Response:
    group_id = id_query(request, "group_id")
    items = await moderation.queue(request.app[services_key], request[actor_key], group_id=group_id)
    return render(request, "moderation.html", {"items": [item_out(item, reports) for item, reports in items],
                                               "group_id": group_id})


async def resolve(request: web.Request) -> web.Response:
    form = await form_of(request)
    await moderation.resolve(request.app[services_key], request[actor_key], int_param(request, "item_id"),
                             action=form.get("action", ""), reason=form.get("reason", ""))
    raise redirect(request, "moderation")
