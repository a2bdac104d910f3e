"""Pages: the news index with its filters, a news item with its comments, and the editor's
form, withdrawal and revisions. Comments are posted through the thread pages' reply route;
the item's page shows them with the same template as a discussion."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from forum import policy
from forum.errors import Invalid, N_, ServiceError
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import groups, live, news
from forum.web.api import field_id, int_param, parse_id
from forum.web.pages import form_of, my_groups, news_channels, render, rerender
from forum.web.attachments import MAX_TEXT_BYTES, NOT_BEFORE_PUBLISHED, form_with_attachment, where_library
from forum.web.pages.threads import posts_context

KIND_LABELS = {"news": N_("Nieuws"), "interview": N_("Interview"), "report": N_("Verslag"), "blog": N_("Blog")}
STATE_LABELS = {"scheduled": N_("Gepland"), "unpublished": N_("Teruggetrokken")}


async def index(request: web.Request) -> web.Response:
    actor, svc, query = request[actor_key], request.app[services_key], request.query
    filters = {"kind": query.get("kind", ""), "tag": query.get("tag", "").strip(), "group_id": query.get("group_id", "")}
    items, next_cursor = await news.listing(
        svc, actor, group_id=field_id(filters["group_id"], "group_id"), tag=filters["tag"] or None,
        kind=filters["kind"] or None, cursor=query.get("cursor") or None)
    active = {key: value for key, value in filters.items() if value}
    listed = await groups.list_groups(svc, actor)
    # the newest, unfiltered: new items appear on it
    live_channels = news_channels(actor, my_groups(actor, listed)) if not active and not query.get("cursor") else ""
    return render(request, "news_index.html", {
        "live_channels": live_channels, "last_event_id": await live.last_event_id(svc),
        "items": items, "filters": filters, "filtered": bool(active),
        "next_url": f"/news?{urlencode({**active, 'cursor': next_cursor})}" if next_cursor else None,
        "first_page": not query.get("cursor"), "deleted": query.get("deleted") == "1",
        "tags": await news.popular_tags(svc, actor),
        "group_choices": [g for g in listed if policy.can(actor, Action.READ, g)],
        "may_publish": await _may_publish(svc, actor),
    })


async def _may_publish(svc, actor) -> bool:
    return policy.can(actor, Action.PUBLISH_NEWS, None) or bool(await news.publishable_groups(svc, actor))


async def _item_context(request: web.Request, item, *, reply_to: str = "", values: dict | None = None) -> dict:
    actor = request[actor_key]
    context = {"item": item, "state": news.state_of(item), "may_edit": policy.can(actor, Action.EDIT_NEWS, item),
               "shown": [], "first_unread": None, "level": None, "pager": None}
    if context["state"] == "published":  # comments exist for readers only while it is out
        context.update(await posts_context(request, item["thread_id"], reply_to=reply_to, values=values, news=item,
                                           open_it=values is None))
    return context


async def show(request: web.Request) -> web.Response:
    item = await news.get(request.app[services_key], request[actor_key], int_param(request, "news_id"))
    return render(request, "news_item.html", await _item_context(request, item,
                                                                  reply_to=request.query.get("reply_to", "")))


async def rerender_with_comments(request: web.Request, news_id: int, error: ServiceError, parent: str,
                                 form: dict) -> web.Response:
    """A comment that could not be posted: the item again, with the words kept and the reason."""
    item = await news.get(request.app[services_key], request[actor_key], news_id)
    return rerender(request, "news_item.html", error, await _item_context(request, item, reply_to=parent,
                                                                          values=form))


# --- the editor's form -------------------------------------------------------------------------

def _local_input(moment: str | None) -> str:
    """A stored UTC time as the value of a datetime-local field, in Dutch time."""
    if not moment:
        return ""
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return parsed.astimezone(news.ENTRY_ZONE).strftime("%Y-%m-%dT%H:%M")


def _tags(form: dict) -> list[str]:
    return [tag for tag in (part.strip() for part in form.get("tags", "").split(",")) if tag]


async def _form_context(request: web.Request, values: dict, item=None) -> dict:
    actor, svc = request[actor_key], request.app[services_key]
    return {"values": values, "item": item, "kinds": KIND_LABELS,
            "may_site": policy.can(actor, Action.PUBLISH_NEWS, None),
            "group_choices": [] if item else await news.publishable_groups(svc, actor)}


async def new_form(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    if not await _may_publish(svc, actor):
        policy.require(actor, Action.PUBLISH_NEWS, None)  # visitors to the login page, members a 403
    where = request.query.get("group_id", "")
    values = {"kind": "news", "where": where if parse_id(where) else "site", "visibility": "public"}
    return render(request, "news_form.html", await _form_context(request, values))


async def new_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    async def may_publish(group_id: int | None, fields: dict) -> None:
        policy.require(actor, Action.PUBLISH_NEWS, await groups.target_group(svc, actor, group_id))
        if fields.get("publish_at"):  # to appear later: its file would be found before it
            raise Invalid(fields={"attachment": NOT_BEFORE_PUBLISHED})
    form, refused = await form_with_attachment(request, where_library, MAX_TEXT_BYTES, may_publish=may_publish)
    try:
        if refused:
            raise refused
        group_id = where_library(form)
        item = await news.create(
            svc, actor, title=form.get("title", ""), summary=form.get("summary", ""), body=form.get("body", ""),
            kind=form.get("kind", "news"), tags=_tags(form), group_id=group_id,
            visibility=None if group_id else form.get("visibility", "public"),
            publish_at=form.get("publish_at") or None)
    except ServiceError as error:
        return rerender(request, "news_form.html", error, await _form_context(request, form))
    raise web.HTTPSeeOther(f"/news/{item['id']}")


async def edit_form(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    item = await news.get(svc, actor, int_param(request, "news_id"))
    policy.require(actor, Action.EDIT_NEWS, item)
    values = {"title": item["title"], "summary": item["summary"], "body": item["body"], "kind": item["kind"],
              "tags": ", ".join(news.news_out(item)["tags"]), "visibility": item["visibility"],
              "publish_at": _local_input(item["publish_at"])}
    return render(request, "news_form.html", await _form_context(request, values, item))


async def edit_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    news_id = int_param(request, "news_id")
    item = await news.get(svc, actor, news_id)
    policy.require(actor, Action.EDIT_NEWS, item)  # before a byte of a file is read
    async def not_before_published(group_id: int | None, fields: dict) -> None:
        if news.state_of(item) != "published":  # to appear later, or withdrawn: its file would be found
            raise Invalid(fields={"attachment": NOT_BEFORE_PUBLISHED})
    form, refused = await form_with_attachment(request, item["group_id"], MAX_TEXT_BYTES,
                                               visibility=item["visibility"], may_publish=not_before_published)
    try:
        if refused:
            raise refused
        publish_at = form.get("publish_at") or None
        if news.state_of(item) == "published":  # the field is shown, not changeable, once it is out
            publish_at = None
        item = await news.update(
            svc, actor, news_id, title=form.get("title", ""), summary=form.get("summary", ""),
            body=form.get("body", ""), kind=form.get("kind", "news"), tags=_tags(form),
            visibility=None if item["group_id"] else form.get("visibility"), publish_at=publish_at)
    except ServiceError as error:
        return rerender(request, "news_form.html", error, await _form_context(request, form, item))
    raise web.HTTPSeeOther(f"/news/{item['id']}")


STATE_ACTIONS = {"withdraw": False, "republish": True}


async def change_state(request: web.Request) -> web.Response:
    """Withdraw, put back, or (after its confirmation page) delete."""
    actor, svc = request[actor_key], request.app[services_key]
    news_id = int_param(request, "news_id")
    form = await form_of(request)
    action = form.get("action", "")
    if action == "delete":
        if form.get("confirm") != "yes":
            raise Invalid(fields={"confirm": N_("Bevestig dat u dit bericht wilt verwijderen.")})
        await news.delete(svc, actor, news_id)
        raise web.HTTPSeeOther("/news?deleted=1")  # the list says it is done
    if action not in STATE_ACTIONS:
        raise Invalid(fields={"action": N_("Onbekende actie.")})
    await news.update(svc, actor, news_id, published=STATE_ACTIONS[action])
    raise web.HTTPSeeOther(f"/news/{news_id}")


async def delete_form(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    item = await news.get(svc, actor, int_param(request, "news_id"))
    policy.require(actor, Action.EDIT_NEWS, item)
    return render(request, "news_delete.html", {"item": item})


async def revisions(request: web.Request) -> web.Response:
    item, rows = await news.revisions(request.app[services_key], request[actor_key], int_param(request, "news_id"))
    return render(request, "news_revisions.html", {"item": item, "revisions": rows})


def routes() -> list[web.RouteDef]:
    return [
        web.get("/news", index, name="news"),
        web.get("/news/new", new_form, name="news.new"),
        web.post("/news/new", new_submit, name="news.new.submit"),
        web.get("/news/{news_id}", show, name="news.item"),
        web.get("/news/{news_id}/edit", edit_form, name="news.edit"),
        web.post("/news/{news_id}/edit", edit_submit, name="news.edit.submit"),
        web.post("/news/{news_id}/state", change_state, name="news.state"),
        web.get("/news/{news_id}/delete", delete_form, name="news.delete"),
        web.get("/news/{news_id}/revisions", revisions, name="news.revisions"),
    ]
