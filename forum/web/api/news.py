"""API: news items. Their comments go through the thread API on the item's thread_id."""
from __future__ import annotations

from aiohttp import web

from forum.keys import actor_key, services_key
from forum.services import news
from pydantic import Field

from forum.web.api import MAX_ID, In, field_id, int_param, json_out, read_json

QUERY = (("group_id", "integer", False), ("tag", "string", False), ("kind", "string", False),
         ("cursor", "string", False))


class NewsIn(In):
    title: str
    summary: str = ""
    body: str
    kind: str = "news"
    tags: list[str] = []
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    visibility: str | None = None
    publish_at: str | None = None


class NewsUpdateIn(In):
    title: str | None = None
    summary: str | None = None
    body: str | None = None
    kind: str | None = None
    tags: list[str] | None = None
    visibility: str | None = None
    publish_at: str | None = None
    published: bool | None = None


async def list_news(request: web.Request) -> web.Response:
    query = request.query
    items, next_cursor = await news.listing(
        request.app[services_key], request[actor_key], group_id=field_id(query.get("group_id"), "group_id"),
        tag=query.get("tag") or None, kind=query.get("kind") or None, cursor=query.get("cursor") or None)
    return json_out({"news": [news.news_out(item) for item in items], "next": next_cursor})


async def get_news(request: web.Request) -> web.Response:
    item = await news.get(request.app[services_key], request[actor_key], int_param(request, "news_id"))
    return json_out({"news": news.news_out(item)})


async def create_news(request: web.Request) -> web.Response:
    data = await read_json(request, NewsIn)
    item = await news.create(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"news": news.news_out(item)}, status=201)


async def update_news(request: web.Request) -> web.Response:
    news_id = int_param(request, "news_id")
    data = await read_json(request, NewsUpdateIn)
    item = await news.update(request.app[services_key], request[actor_key], news_id, **data.model_dump())
    return json_out({"news": news.news_out(item)})


async def delete_news(request: web.Request) -> web.Response:
    await news.delete(request.app[services_key], request[actor_key], int_param(request, "news_id"))
    return json_out({"ok": True})


async def news_revisions(request: web.Request) -> web.Response:
    item, rows = await news.revisions(request.app[services_key], request[actor_key], int_param(request, "news_id"))
    return json_out({"news_id": item["id"], "revisions": [
        {"title": row["title"], "summary": row["summary"], "body_html": row["body_html"], "created_at": row["created_at"],
         "author": row["author_name"]} for row in rows]})
