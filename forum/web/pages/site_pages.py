"""Pages: a site page for everyone, and the admin's list, editor and revisions of them."""
from __future__ import annotations

import re

from aiohttp import web

from forum.errors import ServiceError
from forum.keys import actor_key, services_key
from forum.services import site_pages
from forum.web.api.site_pages import slug_param
from forum.web.pages import form_of, redirect, render, rerender


async def show(request: web.Request) -> web.Response:
    page = await site_pages.get(request.app[services_key], slug_param(request))
    return render(request, "site_page.html", {"page": page})


async def admin_list(request: web.Request) -> web.Response:
    site_pages.require_manager(request[actor_key])
    return render(request, "admin_pages.html", {"pages": await site_pages.listing(request.app[services_key])})


def _order(form: dict) -> int | str:
    raw = form.get("menu_order", "0").strip() or "0"
    # only ASCII digits: str.isdigit() also takes '²', which int() refuses
    return int(raw) if re.fullmatch(r"-?[0-9]{1,5}", raw) else raw  # the service names a bad one


async def new_form(request: web.Request) -> web.Response:
    site_pages.require_manager(request[actor_key])
    return render(request, "admin_page_form.html", {"values": {"menu": "none", "menu_order": "0", "lang": "nl"}, "page": None,
                                                    "revisions": []})


async def new_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        page = await site_pages.create(request.app[services_key], request[actor_key], slug=form.get("slug", ""),
                                       title=form.get("title", ""), body=form.get("body", ""),
                                       menu=form.get("menu", "none"), menu_order=_order(form),
                                       lang=form.get("lang", "nl"))
    except ServiceError as error:
        return rerender(request, "admin_page_form.html", error, {"values": form, "page": None, "revisions": []})
    raise redirect(request, "site_page", slug=page["slug"])


async def edit_form(request: web.Request) -> web.Response:
    page, revisions = await site_pages.revisions(request.app[services_key], request[actor_key], slug_param(request))
    return render(request, "admin_page_form.html", {"values": dict(page), "page": page, "revisions": revisions})


async def edit_submit(request: web.Request) -> web.Response:
    slug = slug_param(request)
    form = await form_of(request)
    svc, actor = request.app[services_key], request[actor_key]
    try:
        if form.get("action") == "delete":
            await site_pages.delete(svc, actor, slug)
            raise redirect(request, "admin.pages")
        page = await site_pages.update(svc, actor, slug, title=form.get("title", ""), body=form.get("body", ""),
                                       menu=form.get("menu", "none"), menu_order=_order(form),
                                       lang=form.get("lang"))  # left out (an older form): as it was
    except ServiceError as error:
        page, revisions = await site_pages.revisions(svc, actor, slug)
        return rerender(request, "admin_page_form.html", error, {"values": form, "page": page,
                                                                 "revisions": revisions})
    raise redirect(request, "site_page", slug=page["slug"])


def routes() -> list[web.RouteDef]:
    return [
        web.get("/pages/{slug}", show, name="site_page"),
        web.get("/admin/pages", admin_list, name="admin.pages"),
        web.get("/admin/pages/new", new_form, name="admin.pages.new"),
        web.post("/admin/pages/new", new_submit),
        web.get("/admin/pages/{slug}", edit_form, name="admin.page"),
        web.post("/admin/pages/{slug}", edit_submit),
    ]
