"""The baselines, a plain aiohttp app measured in the same run as the forum:

- /threads/{id} and /groups/{id}: the same pattern as the forum's uncached pages with none of
  their work (sessions, policy, fragments, layout): one aiosqlite query returning the rows the
  page shows (a thread's posts; a group's first 30 threads with author and last poster) and one
  Jinja2 template render. Uncached pages are compared with these.
- /hello: aiohttp's own limit, a handler answering a constant. Cached pages (a dictionary
  lookup) are compared with this, never with a baseline that queries.
- /bytes/{n}: the same limit for an answer of n bytes (a cached page's size), kept in memory:
  what answering a page of that size costs the server, the kernel and the load tool alone."""
from __future__ import annotations

import sys

import aiosqlite
import jinja2
from aiohttp import web

GROUP_PAGE_ROWS = 30  # forum.services.discussions.PAGE_SIZE

ENV = jinja2.Environment(autoescape=True)
THREAD = ENV.from_string("""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{{ title }}</title></head><body><main>
<h1>{{ title }}</h1><ol>{% for p in posts %}<li><article><header>{{ p["author_name"] }} {{ p["created_at"] }}</header>
<div>{{ p["body_html"]|safe }}</div></article></li>{% endfor %}</ol></main></body></html>""")
GROUP = ENV.from_string("""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>{{ title }}</title></head><body><main>
<h1>{{ title }}</h1><ol>{% for t in threads %}<li><a href="/threads/{{ t["id"] }}">{{ t["title"] }}</a>
{{ t["author_name"] }} · {{ t["reply_count"] }} · {{ t["last_poster_name"] }} {{ t["last_activity_at"] }}</li>
{% endfor %}</ol></main></body></html>""")


def make_app(db_path: str) -> web.Application:
    app = web.Application()
    db_key = web.AppKey("db", aiosqlite.Connection)

    async def open_db(app):
        app[db_key] = await aiosqlite.connect(db_path)
        app[db_key].row_factory = aiosqlite.Row
        yield
        await app[db_key].close()

    async def thread(request: web.Request) -> web.Response:
        thread_id = int(request.match_info["thread_id"])
        async with app[db_key].execute(
            "SELECT p.id, p.body_html, p.created_at, u.display_name AS author_name FROM posts p"
            " JOIN users u ON u.id = p.author_id WHERE p.thread_id = ? ORDER BY p.id", (thread_id,)) as cursor:
            posts = await cursor.fetchall()
        return web.Response(text=THREAD.render(title=f"Thread {thread_id}", posts=posts), content_type="text/html")

    async def group(request: web.Request) -> web.Response:
        group_id = int(request.match_info["group_id"])
        async with app[db_key].execute(
            "SELECT t.id, t.title, t.reply_count, t.last_activity_at, a.display_name AS author_name,"
            " lp.display_name AS last_poster_name FROM threads t JOIN users a ON a.id = t.author_id"
            " LEFT JOIN users lp ON lp.id = t.last_poster_id WHERE t.group_id = ? AND t.deleted_at IS NULL"
            " AND t.pinned = 0 ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?",
                (group_id, GROUP_PAGE_ROWS)) as cursor:
            threads = await cursor.fetchall()
        return web.Response(text=GROUP.render(title=f"Group {group_id}", threads=threads), content_type="text/html")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    sized: dict[int, bytes] = {}

    async def some_bytes(request: web.Request) -> web.Response:
        n = min(int(request.match_info["n"]), 10_000_000)
        if n not in sized:
            sized[n] = (b"<!doctype html><p>" + b"x" * n)[:n]
        return web.Response(body=sized[n], content_type="text/html", charset="utf-8")

    app.cleanup_ctx.append(open_db)
    app.router.add_get("/threads/{thread_id}", thread)
    app.router.add_get("/groups/{group_id}", group)
    app.router.add_get("/hello", hello)
    app.router.add_get("/bytes/{n:[0-9]+}", some_bytes)
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), print=None, access_log=None)
