"""API: the site's own pages (read by anyone, written by admins)."""
from __future__ import annotations

from aiohttp import web
from pydantic import Field

from forum.errors import NotFound
from forum.keys import actor_key, services_key
from forum.services import site_pages
from forum.web.api import In, json_out, read_json


class PageIn(In):
    slug: str
    title: str
    body: str
    menu: str = "none"
    menu_order: int = 0
    lang: str = Field(default="nl", description="The language the page is written in: nl or en")


class PageUpdateIn(In):
    title: str | None = None
    body: str | None = None
    menu: str | None = None
    menu_order: int | None = None
    lang: str | None = None


def page_out(page) -> dict:
    return {key: page[key] for key in ("slug", "title", "body_html", "menu", "menu_order", "lang", "created_at",
                                       "updated_at")}


def slug_param(request: web.Request) -> str:
    """A page address from the path; one that could not be a slug names nothing (404)."""
    slug = request.match_info["slug"]
    if not site_pages.SLUG_RE.match(slug):
        raise NotFound()
    return slug


async def list_pages(request: web.Request) -> web.Response:
    rows = await site_pages.listing(request.app[services_key])
    return json_out({"pages": [{key: row[key] for key in ("slug", "title", "menu", "menu_order")} for row in rows]})


async def get_page(request: web.Request) -> web.Response:
    page = await site_pages.get(request.app[services_key], slug_param(request))
    return json_out({"page": page_out(page)})


async def create_page(request: web.Request) -> web.Response:
    data = await read_json(request, PageIn)
    page = await site_pages.create(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"page": page_out(page)}, status=201)


async def update_page(request: web.Request) -> web.Response:
    slug = slug_param(request)
    data = await read_json(request, PageUpdateIn)
    page = await site_pages.update(request.app[services_key], request[actor_key], slug, **data.model_dump())
    return json_out({"page": page_out(page)})


async def delete_page(request: web.Request) -> web.Response:
    await site_pages.delete(request.app[services_key], request[actor_key], slug_param(request))
    return json_out({"ok": True})
