"""The baseline: a plain aiohttp page that runs one SQLite query through aiosqlite and renders
one Jinja2 template. Our pages are measured against it in the same run."""
from __future__ import annotations

import sys

import aiosqlite
import jinja2
from aiohttp import web

TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{{ title }}</title></head><body><main>
<h1>{{ title }}</h1><ol>{% for p in posts %}<li><article><header>{{ p["author_name"] }} {{ p["created_at"] }}</header>
<div>{{ p["body_html"]|safe }}</div></article></li>{% endfor %}</ol></main></body></html>""")


def make_app(db_path: str) -> web.Application:
    app = web.Application()
    db_key = web.AppKey("db", aiosqlite.Connection)

    async def open_db(app):
        app[db_key] = await aiosqlite.connect(db_path)
        app[db_key].row_factory = aiosqlite.Row
        yield
        await app[db_key].close()

    async def page(request: web.Request) -> web.Response:
        thread_id = int(request.match_info["thread_id"])
        async with app[db_key].execute(
            "SELECT p.id, p.body_html, p.created_at, u.display_name AS author_name FROM posts p"
            " JOIN users u ON u.id = p.author_id WHERE p.thread_id = ? ORDER BY p.id", (thread_id,)) as cursor:
            posts = await cursor.fetchall()
        return web.Response(text=TEMPLATE.render(title=f"Thread {thread_id}", posts=posts), content_type="text/html")

    app.cleanup_ctx.append(open_db)
    app.router.add_get("/threads/{thread_id}", page)
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
