"""Pages: reporting a post, and the moderation queue with its resolve forms."""
from __future__ import annotations

from aiohttp import web
from markupsafe import Markup

from forum import policy
from forum.errors import ServiceError
from forum.i18n import gettext
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import discussions, moderation
from forum.web.api import id_query, int_param, parse_id
from forum.web.api.moderation import item_out
from forum.web.pages import form_of, render, rerender, url


async def _reportable_post(request: web.Request):
    """The post the report form is about, which the form shows: only while it may be reported
    (a hidden or removed post's words are not shown through it, whatever is sent), or one's own
    post still shown, for which the form explains why not."""
    actor = request[actor_key]
    post = await discussions.get_post(request.app[services_key], actor, int_param(request, "post_id"))
    own_shown = post["author_id"] == actor.user_id and post["deleted_at"] is None and post["hidden_at"] is None
    if not own_shown:
        policy.require(actor, Action.REPORT_POST, post)
    return post


async def report_form(request: web.Request) -> web.Response:
    return render(request, "report.html", {"post": await _reportable_post(request), "values": {}, "done": False})


async def report_submit(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    post = await _reportable_post(request)
    form = await form_of(request)
    try:
        await moderation.report(svc, actor, post["id"], reason=form.get("reason", ""), text=form.get("text", ""))
    except ServiceError as error:
        return rerender(request, "report.html", error, {"post": post, "values": form, "done": False})
    return render(request, "report.html", {"post": post, "values": {}, "done": True})


async def _queue_page(request: web.Request, group_id: int | None, *, error: ServiceError | None = None,
                      item_id: int | None = None, values: dict | None = None) -> web.Response:
    items = await moderation.queue(request.app[services_key], request[actor_key], group_id=group_id)
    context = {"items": [item_out(item, reports) for item, reports in items], "group_id": group_id,
               "failed_item": item_id, "values": values or {}, "resolved": request.query.get("resolved", "")}
    return rerender(request, "moderation.html", error, context) if error else render(request, "moderation.html", context)


async def queue(request: web.Request) -> web.Response:
    return await _queue_page(request, id_query(request, "group_id"))


async def resolve(request: web.Request) -> web.Response:
    """Resolve an item; back to the queue it was resolved from (a group's, or all), or to that
    queue again with the item's field marked when something was missing."""
    form = await form_of(request)
    item_id = int_param(request, "item_id")
    group_id = parse_id(form.get("group_id", ""))
    if form.get("action") == "delete" and form.get("confirm") != "yes":  # drastic: asked on a page of its own
        asking = await _delete_confirmation(request, item_id, group_id, form.get("reason", ""))
        if asking is not None:
            return asking
    try:
        outcome = await moderation.resolve(request.app[services_key], request[actor_key], item_id,
                                           action=form.get("action", ""), reason=form.get("reason", ""))
    except ServiceError as error:
        if error.status != 422:
            raise
        if form.get("action") == "delete":  # back to the page that asked, with what was typed
            asking = await _delete_confirmation(request, item_id, group_id, form.get("reason", ""), error)
            if asking is not None:
                return asking
        return await _queue_page(request, group_id, error=error, item_id=item_id, values=form)
    query = {"resolved": outcome, **({"group_id": group_id} if group_id else {})}
    raise web.HTTPSeeOther(url(request, "moderation", query=query))


async def _delete_confirmation(request: web.Request, item_id: int, group_id: int | None, reason: str,
                               error: ServiceError | None = None):
    """The page that asks before a reported post is deleted, showing it (again with its field
    marked when the reason was missing); None when the item is not in the reader's queue
    (resolving it then answers as it would)."""
    items = await moderation.queue(request.app[services_key], request[actor_key], group_id=group_id)
    found = next((item_out(item, reports) for item, reports in items if item["id"] == item_id), None)
    if found is None:
        return None
    back = url(request, "moderation", query={"group_id": group_id} if group_id else {})
    post = found["post"]
    context = {"values": {"reason": reason}, "confirm": {
        "title": gettext("Bericht van %(name)s verwijderen", name=post["author"]["display_name"]),
        "crumbs": [(back, gettext("Te beoordelen"))], "quote": Markup(post["body_html"]),
        "quote_meta": post["author"]["display_name"],
        "explanation": gettext("Op de plaats van het bericht staat daarna 'Dit bericht is verwijderd'. "
                               "Dit kunt u niet ongedaan maken."),
        "action": f"/moderation/{item_id}/resolve", "value": "delete", "back": back,
        "button": gettext("Bericht verwijderen"), "reason_label": gettext("Reden"), "reason_required": True,
        "reason_hint": gettext("Verplicht. De schrijver krijgt bericht, met deze reden; ze staat ook in het logboek."),
        "hidden": {"group_id": group_id} if group_id else {}}}
    if error is not None:
        return rerender(request, "confirm_action.html", error, context)
    return render(request, "confirm_action.html", context)
