"""Reading one's own writes when several processes serve a site. The process that answered a
write tells the browser how many commits the site had then (a cookie); a request that reaches
a process which has not yet heard of that many (its wake-up over Redis still on the way, the
redirect after a form faster) reads the count from the database first, and so drops what it
had cached before answering. One process alone, or a request without the cookie, costs nothing."""
from __future__ import annotations

import asyncio

from aiohttp import web

from forum.keys import config_key, services_key
from forum.web.cookies import set_cookie

SEEN_COOKIE = "forum_seen"
FRESHNESS = web.AppKey("freshness_state", dict)  # made with the app (forum/app.py): no change to a started app
_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _catch_up(app: web.Application, db, arrived: float) -> None:
    """Read the site's commit count with a read begun after this request arrived (one begun
    before may have missed the write the cookie speaks of), shared by every request waiting at
    that moment: however many requests carry a cookie naming a count never reached (made up,
    or another site's), the database sees one such read at a time, not one per request."""
    state = app[FRESHNESS]
    loop = asyncio.get_running_loop()
    while True:
        reading = state["reading"]
        if reading is None:
            async def read() -> None:
                try:
                    db.notice_commits(await db.read_site_commits())
                finally:
                    state["reading"] = None
            state["started"] = loop.time()
            reading = state["reading"] = loop.create_task(read())
            await asyncio.shield(reading)
            return
        await asyncio.shield(reading)
        if state["started"] >= arrived:
            return


def new_state() -> dict:
    return {"reading": None, "started": 0.0}


def _count(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 16 else 0


@web.middleware
async def freshness_middleware(request: web.Request, handler):
    db = request.app[services_key].db
    if not db.shared:
        return await handler(request)
    seen = _count(request.cookies.get(SEEN_COOKIE, ""))
    if seen > db.site_commits and not request.path.startswith("/static/"):
        await _catch_up(request.app, db, asyncio.get_running_loop().time())
    try:
        response = await handler(request)
    except web.HTTPException as answer:  # the redirect after a form is raised, not returned
        if answer.status < 400:
            _tell(request, answer, seen)
        raise
    _tell(request, response, seen)
    return response


def _tell(request: web.Request, response: web.StreamResponse, seen: int) -> None:
    db = request.app[services_key].db
    if request.method in _CHANGING and db.site_commits > seen and not response.prepared:
        set_cookie(response, request.app[config_key], SEEN_COOKIE, str(db.site_commits), max_age=3600)
