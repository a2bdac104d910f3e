"""The site's own pages: admins write them in Markdown (rendered once, sanitised, like posts)
and place them in the header or footer menu; every edit keeps the version it replaces.
Everyone may read them."""
from __future__ import annotations

import re

from forum import policy
from forum.errors import Conflict, N_, NotFound
from forum.markdown import render_markdown
from forum.policy import Action, Actor
from forum.services import Services, audit, search_index
from forum.services.checks import MAX_BODY, MAX_TITLE, FieldErrors, choice_field, text_field
from forum.store import site_pages as store

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
MENUS = ("header", "footer", "none")
RESERVED_SLUGS = {"new"}  # /admin/pages/new is the form for a new page


def _fields(errors: FieldErrors, *, title: str, body: str, menu: str, menu_order) -> tuple[str, str]:
    title = text_field(errors, "title", title, max_len=MAX_TITLE)
    body = text_field(errors, "body", body, max_len=MAX_BODY, single_line=False)
    choice_field(errors, "menu", menu, MENUS)
    if type(menu_order) is not int or not -1000 <= menu_order <= 1000:
        errors.add("menu_order", N_("Een getal van -1000 tot 1000."))
    return title, body


def slug_field(errors: FieldErrors, slug: str) -> str:
    """Part of a URL: lower-case letters, digits and hyphens, so no slash, dot or space can
    reach a path."""
    slug = slug.strip()
    if not SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        errors.add("slug", N_("Gebruik 1 tot 60 kleine letters, cijfers of streepjes (geen / of .)."))
    return slug


def require_manager(actor: Actor) -> None:
    """For pages that only list or offer forms: 404 for whoever may not manage pages."""
    policy.require(actor, Action.MANAGE_SITE_PAGES)


async def get(svc: Services, slug: str):
    page = await svc.cached_read(("site_page", slug), lambda conn: store.by_slug(conn, slug))
    if page is None:
        raise NotFound()
    return page


async def menus(svc: Services) -> dict[str, list]:
    """{"header": [...], "footer": [...]}: read on every page, so through the read cache."""
    async def load(conn):
        rows = await store.menus(conn)
        return {"header": [r for r in rows if r["menu"] == "header"],
                "footer": [r for r in rows if r["menu"] == "footer"]}
    return await svc.cached_read(("site_menus",), load)


async def listing(svc: Services):
    """Every page: they are all public."""
    async with svc.db.read() as conn:
        return await store.listing(conn)


async def create(svc: Services, actor: Actor, *, slug: str, title: str, body: str, menu: str = "none",
                 menu_order: int = 0):
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    errors = FieldErrors()
    slug = slug_field(errors, slug)
    title, body = _fields(errors, title=title, body=body, menu=menu, menu_order=menu_order)
    errors.raise_if_any()
    html = render_markdown(body)
    async with svc.db.write() as tx:
        if await store.by_slug(tx, slug):
            raise Conflict(fields={"slug": N_("Er is al een pagina met dit adres.")})
        page_id = await store.insert(tx, slug=slug, title=title, body=body, body_html=html, menu=menu,
                                     menu_order=menu_order, author_id=actor.user_id, now=svc.now())
        await search_index.index_page(tx, page_id)
        await audit.record(tx, svc, actor, "page.create", target_type="page", target_id=page_id, label=title)
        return await store.by_slug(tx, slug)


async def update(svc: Services, actor: Actor, slug: str, *, title: str | None = None, body: str | None = None,
                 menu: str | None = None, menu_order: int | None = None):
    """Change what is given; the version replaced is kept as a revision."""
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.write() as tx:
        page = await store.by_slug(tx, slug)
        if page is None:
            raise NotFound()
        errors = FieldErrors()
        title, body = _fields(errors, title=page["title"] if title is None else title,
                              body=page["body"] if body is None else body,
                              menu=page["menu"] if menu is None else menu,
                              menu_order=page["menu_order"] if menu_order is None else menu_order)
        errors.raise_if_any()
        menu = page["menu"] if menu is None else menu
        menu_order = page["menu_order"] if menu_order is None else menu_order
        if (title, body, menu, menu_order) == (page["title"], page["body"], page["menu"], page["menu_order"]):
            return page
        html = page["body_html"] if body == page["body"] else render_markdown(body)
        if (title, body) != (page["title"], page["body"]):
            # the version replaced, with who wrote it and when
            await store.insert_revision(tx, page_id=page["id"], title=page["title"], body=page["body"],
                                        body_html=page["body_html"], author_id=page["updated_by"],
                                        created_at=page["updated_at"])
        await store.update(tx, page["id"], title=title, body=body, body_html=html, menu=menu,
                           menu_order=menu_order, author_id=actor.user_id, now=svc.now())
        await search_index.index_page(tx, page["id"])
        await audit.record(tx, svc, actor, "page.edit", target_type="page", target_id=page["id"], label=title)
        return await store.by_slug(tx, slug)


async def delete(svc: Services, actor: Actor, slug: str) -> None:
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.write() as tx:
        page = await store.by_slug(tx, slug)
        if page is None:
            raise NotFound()
        await store.delete(tx, page["id"])
        await search_index.index_page(tx, page["id"])
        await audit.record(tx, svc, actor, "page.delete", target_type="page", target_id=page["id"],
                           label=page["title"], data={"slug": slug})


async def revisions(svc: Services, actor: Actor, slug: str):
    policy.require(actor, Action.MANAGE_SITE_PAGES)
    async with svc.db.read() as conn:
        page = await store.by_slug(conn, slug)
        if page is None:
            raise NotFound()
        return page, await store.revisions(conn, page["id"])
