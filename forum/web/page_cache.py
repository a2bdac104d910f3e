"""Visitors' pages, rendered once until the next write.

Most readers of a public forum are not logged in, and they all see the same page for a path
and language: no forms with per-visitor tokens (see forum/web/csrf.py), nothing personal.
Such pages are kept in a GenerationCache, so any commit makes them be rendered afresh.
"""
from __future__ import annotations

from aiohttp import web

from forum.cache import GenerationCache
from forum.i18n import current_locale
from forum.keys import actor_key, new_anon_cookie_key, page_cache_key


@web.middleware
async def page_cache_middleware(request: web.Request, handler):
    actor = request.get(actor_key)
    if request.method != "GET" or actor is None or actor.active or request.path.startswith(("/api/", "/static/")):
        return await handler(request)
    cache: GenerationCache = request.app[page_cache_key]
    key = (request.path_qs, current_locale())
    body = cache.get(key)
    if body is not None:
        return web.Response(body=body, content_type="text/html", charset="utf-8")
    generation = cache.db.generation  # before rendering: a write during it leaves the result uncached
    response = await handler(request)
    if (response.status == 200 and isinstance(response, web.Response) and response.content_type == "text/html"
            and not request.get(new_anon_cookie_key) and not response.cookies and response.body is not None):
        cache.put(key, response.body, generation)
    return response
