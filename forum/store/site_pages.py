"""The site's own pages (Over het programma, Privacyverklaring, Contact …) and their revisions."""
from __future__ import annotations

from forum.store import execute, fetch_all, fetch_one, insert_row

PAGE_COLUMNS = "id, slug, title, body, body_html, menu, menu_order, lang, created_at, updated_at, updated_by"


async def by_slug(conn, slug: str):
    return await fetch_one(conn, f"SELECT {PAGE_COLUMNS} FROM site_pages WHERE slug = ?", (slug,))


async def listing(conn):
    return await fetch_all(conn, f"SELECT {PAGE_COLUMNS} FROM site_pages ORDER BY menu, menu_order, title, slug")


async def menus(conn):
    """(menu, slug, title, lang) of the pages in the header and footer menus, in their order."""
    return await fetch_all(conn, "SELECT menu, slug, title, lang FROM site_pages WHERE menu IN ('header', 'footer')"
                                 " ORDER BY menu_order, title")


async def insert(conn, *, slug: str, title: str, body: str, body_html: str, menu: str, menu_order: int,
                 author_id: int, now: str, lang: str = "nl") -> int:
    return await insert_row(
        conn, "INSERT INTO site_pages (slug, title, body, body_html, menu, menu_order, lang, created_by, created_at,"
              " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (slug, title, body, body_html, menu, menu_order, lang, author_id, now, now, author_id))


async def update(conn, page_id: int, *, title: str, body: str, body_html: str, menu: str, menu_order: int,
                 lang: str, author_id: int, now: str) -> None:
    await execute(
        conn, "UPDATE site_pages SET title = ?, body = ?, body_html = ?, menu = ?, menu_order = ?, lang = ?,"
              " updated_at = ?, updated_by = ? WHERE id = ?",
        (title, body, body_html, menu, menu_order, lang, now, author_id, page_id))


async def delete(conn, page_id: int) -> None:
    await execute(conn, "DELETE FROM site_pages WHERE id = ?", (page_id,))


async def insert_revision(conn, *, page_id: int, title: str, body: str, body_html: str, author_id: int | None,
                          created_at: str) -> None:
    await execute(
        conn, "INSERT INTO site_page_revisions (page_id, title, body, body_html, author_id, created_at)"
              " VALUES (?, ?, ?, ?, ?, ?)", (page_id, title, body, body_html, author_id, created_at))


async def revisions(conn, page_id: int):
    return await fetch_all(
        conn, "SELECT r.id, r.title, r.body_html, r.created_at, u.display_name AS author_name"
              " FROM site_page_revisions r LEFT JOIN users u ON u.id = r.author_id WHERE r.page_id = ?"
              " ORDER BY r.id DESC", (page_id,))
