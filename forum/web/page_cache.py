"""Pages, rendered once until the next write: visitors' shared, logged-in readers' per session.

Most readers of a public forum are not logged in, and they all see the same page for a path
and language. A page that shows a form carries that visitor's token (forum/web/csrf.py) and
is never kept; the rest carry nothing personal. A logged-in reader's pages are kept for their
session alone (its form token, bell and rights are in them).
Such pages are kept in a GenerationCache, so any commit makes them be rendered afresh (one
confined to an area the page says it shows nothing of, page_ignores_key, leaves it), and so
does the clock reaching a moment the page says it changes at (valid_until: an event begins,
its sign-up closes, a day ends in the month view); and
when many visitors ask for the same page at once after a write, one renders it and the others
wait for that render instead of all doing the same work.
"""
from __future__ import annotations

import asyncio
import functools
import gzip
import logging
import time
import warnings
from time import perf_counter

from aiohttp import web

from forum.cache import GenerationCache
from forum.db import AREAS
from forum.i18n import LOCALES, current_locale, negotiate
from forum.keys import (actor_key, config_key, new_anon_cookie_key, page_cache_key, page_ignores_key,
                        page_valid_until_key, personal_page_key, reader_page_cache_key, services_key,
                        session_hash_key, traffic_key)
from forum.web.access_log import redact
from forum.web.cookies import LANG_COOKIE, SESSION_COOKIE
from forum.web.freshness import SEEN_COOKIE
from forum.web.health import PROBES
from forum.logs import RequestInfo, current_request
from forum.web.middleware import HeadersMade, security_header_values
from forum.web.request_info import HEADER as REQUEST_ID, count, request_id_for

log = logging.getLogger(__name__)


class PageCache(GenerationCache):
    def __init__(self, db, max_entries: int, max_bytes: int | None = None):
        super().__init__(db, max_entries, max_bytes=max_bytes, size_of=_page_bytes)
        self.rendering: dict[tuple, asyncio.Future] = {}


def _page_bytes(key: tuple, kept: tuple) -> int:
    body, _, packed, _ = kept
    return len(body) + (len(packed) if packed is not None else 0) + sum(len(part) for part in key
                                                                       if isinstance(part, str)) + 200


def valid_until(request: web.Request, moment: str | None) -> None:
    """What this page shows changes at `moment` (an ISO time in UTC, as stored), whatever is
    written before: a visitor's copy is not served from then on."""
    if moment is not None:
        known = request.get(page_valid_until_key)
        request[page_valid_until_key] = moment if known is None else min(known, moment)


def _now(request: web.Request) -> str:
    return request.app[services_key].now()


def _html(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="text/html", charset="utf-8")


def _shareable(request: web.Request, response: web.StreamResponse) -> bool:
    # A page that printed a form token (or set any cookie) belongs to this visitor alone: shared,
    # the next visitor would post with a token their own cookie does not match.
    return (_plain_page(response) and not request.get(new_anon_cookie_key) and not request.get(personal_page_key))


def _plain_page(response: web.StreamResponse) -> bool:
    """A page whose body is all there is to it: nothing but its type in the headers (a cookie,
    a redirect, a file's own headers would be lost when the body alone is served again)."""
    return (response.status == 200 and isinstance(response, web.Response) and response.content_type == "text/html"
            and not response.cookies and response.body is not None and len(response.headers) == 1)


def _reader_page(request: web.Request, response: web.StreamResponse) -> bool:
    return _plain_page(response)  # their form token and all: the copy is this session's alone


@web.middleware
async def page_cache_middleware(request: web.Request, handler):
    """Visitors share one copy of a page. A logged-in reader has copies of their own, per
    session (a session's form token is in them; another device's session has another), so a
    reader going back to a page they saw, or reloading it, is answered from memory (issue 14);
    every commit voids them, as it voids the visitors' (exactness: tests/test_caches.py compares
    each reader's page with a render that keeps nothing)."""
    actor = request.get(actor_key)
    if request.method != "GET" or actor is None or request.path.startswith(("/api/", "/static/")) or \
            request.path == "/metrics":  # never a page; a scrape would count as a miss
        return await handler(request)
    if actor.active:
        cache: PageCache = request.app[reader_page_cache_key]
        key = (request[session_hash_key], request.raw_path, current_locale())
        keep = _reader_page
    else:
        cache = request.app[page_cache_key]
        key = (request.raw_path, current_locale())  # as sent: no URL to build (the front door's key too)
        keep = _shareable
    if cache.max_entries == 0:
        return await handler(request)
    kept = cache.get(key)
    if kept is not None:
        body, until, _, _ = kept
        if until is None or _now(request) < until:
            return _html(body)
    in_progress = cache.rendering.get(key)
    if in_progress is not None:
        body = await asyncio.shield(in_progress)
        if body is not None:
            return _html(body)
        return await handler(request)  # that render was not shareable (an error, a redirect)
    done = asyncio.get_running_loop().create_future()
    cache.rendering[key] = done
    shared = None
    try:
        # before rendering: a write during it (a reader's page records what they read) leaves
        # the result uncached
        generations = {area: cache.db.generation_outside(area) for area in (None, *AREAS)}
        response = await handler(request)
        if keep(request, response):
            shared = response.body
            ignoring = request.get(page_ignores_key)
            # a visitor's page is compressed once, for every browser that takes gzip (they all
            # do): it holds no form token or anything else of one visitor's, so compressing it
            # next to what someone typed reveals nothing (BREACH needs a secret in the page)
            packed = gzip.compress(shared, compresslevel=6, mtime=0) if keep is _shareable else None
            # the route that made it, for /metrics: a page answered at the door counts under it
            route = request.match_info.route.resource
            cache.put(key, (shared, request.get(page_valid_until_key), packed, route), generations[ignoring],
                      ignoring=ignoring)
        return response
    finally:
        del cache.rendering[key]
        done.set_result(shared)


def open_front_door(app: web.Application, requests: dict) -> None:
    """A visitor's page already kept is answered at the door, before aiohttp routes the request
    and before the middlewares (sessions, menus, the error pages' set-up): for a hit, routing
    among some 200 routes and the chain cost more than the cache (issue 14: 0.69x of a bare
    "hello" handler as a middleware, 0.86x here, equal to aiohttp answering the same bytes).
    Only what page_cache_middleware would answer from the cache the same way: a GET of a page by
    someone without a session cookie (a session, even an ended one, takes the long way), in the
    language the session middleware would choose, and not from a process that has yet to hear
    of a write its reader made elsewhere (forum/web/freshness.py). The health and readiness
    checks are answered here too, before anything else (forum/web/health.py). Everything else
    goes on to aiohttp's own handling, unchanged.

    aiohttp has no public hook before routing: this takes the place of the application's
    request handler (Application._handle, which its server calls), and marks a kept page's
    request as answered by a route named "page.kept", so what reads request.app or the route
    (the access log) works as for any other. tests/test_caches.py proves the door is used (a
    kept page is answered without routing) and that it answers exactly what the long way
    would, headers included."""
    cache: PageCache = app[page_cache_key]
    services = app[services_key]
    traffic = app[traffic_key]
    # the headers every answer gets (on_response_prepare adds them to the rest), made once
    plain = {"Content-Type": "text/html; charset=utf-8", "Vary": "Accept-Encoding", "Cache-Control": "no-cache",
             **security_header_values(app[config_key])}
    packed_headers = {**plain, "Content-Encoding": "gzip"}
    kept_page = web.UrlMappingMatchInfo({}, web.ResourceRoute("GET", _answered_at_the_door,
                                                              web.PlainResource("/", name="page.kept")))
    kept_page.add_app(app)
    kept_page.freeze()
    probes = {path: (probe, _matched(app, probe)) for path, probe in PROBES.items()}
    routed = app._handle

    def kept_answer(request: web.BaseRequest) -> tuple[web.Response, object] | None:
        if request.method != "GET" or cache.max_entries == 0:
            return None
        path = request.raw_path
        if path.startswith(("/api/", "/static/")):
            return None
        headers = request.headers
        locale = None
        if "Cookie" in headers:  # parsed only when sent (most first visits send none)
            cookies = request.cookies
            if SESSION_COOKIE in cookies or SEEN_COOKIE in cookies:
                return None
            locale = cookies.get(LANG_COOKIE)
        if locale not in LOCALES:
            locale = _negotiated(headers.get("Accept-Language"))
        kept = cache.get((path, locale), miss_counted=False)  # a miss is counted on the long way
        if kept is None:
            return None
        body, until, packed, made_by = kept
        if until is not None and services.now() >= until:
            return None
        traffic.last_done = time.monotonic()  # busy, for background work that waits its turn
        request._match_info = kept_page
        if packed is not None and _gzip_taken(headers.get("Accept-Encoding")):
            return HeadersMade(body=packed, headers=packed_headers), made_by
        return HeadersMade(body=body, headers=plain), made_by

    async def front_door(request: web.BaseRequest) -> web.StreamResponse:
        start = perf_counter()
        probe = probes.get(request.raw_path)  # as sent (a probe with a query string takes the long way)
        if probe is not None and request.method in ("GET", "HEAD"):
            respond, request._match_info = probe
            request_id = request_id_for(request)
            current_request.set(RequestInfo(request_id, request._match_info.route.resource, start))
            answer = await respond(request)
            answer.headers[REQUEST_ID] = request_id
            count(requests, request._match_info.route.resource, answer.status, perf_counter() - start)
            return answer
        try:
            kept = kept_answer(request)
        except Exception:
            # outside every middleware, aiohttp itself would answer: its bare 500, without the
            # security headers, and no route for the access log to read; the long way answers
            # as if the door were not there (and its error middleware sees whatever fails again)
            log.exception("the front door failed on %s %s; taking the long way", request.method,
                          redact(request.raw_path))
            kept = None
        if kept is None:
            return await routed(request)
        answer, made_by = kept
        # like every answer: its id (forum/web/request_info.py), which its access log line
        # carries too, and counted for /metrics under the route that made the page
        request_id = answer.headers[REQUEST_ID] = request_id_for(request)
        current_request.set(RequestInfo(request_id, made_by, start))
        count(requests, made_by, 200, perf_counter() - start)
        return answer

    with warnings.catch_warnings():
        # aiohttp's debug mode (python -X dev) warns of every attribute of an Application it does not list
        warnings.simplefilter("ignore", DeprecationWarning)
        app._handle = front_door


def _matched(app: web.Application, handler) -> web.UrlMappingMatchInfo:
    """The route a request answered at the door is marked with: the one routing would have found."""
    for resource in app.router.resources():
        for route in resource:
            if route.handler is handler and route.method == "GET":
                matched = web.UrlMappingMatchInfo({}, route)
                matched.add_app(app)
                matched.freeze()
                return matched
    raise LookupError(f"no route for {handler.__name__}")


async def _answered_at_the_door(request: web.Request) -> web.StreamResponse:
    raise AssertionError("a kept page is answered by the front door, never routed here")


def takes_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (not refused with q=0)."""
    if not header:
        return False
    named: dict[str, bool] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        quality = params.strip().lower().replace(" ", "")
        named.setdefault(name.strip().lower(), not (quality.startswith("q=0") and quality.strip("q=0.") == ""))
    for name in ("gzip", "x-gzip", "*"):  # gzip named outright rules over "anything"
        if name in named:
            return named[name]
    return False


# Accept-Encoding and Accept-Language headers seen, and what they decide: a header is whatever
# a client sends, so the memory is bounded
_gzip_taken = functools.lru_cache(maxsize=1024)(takes_gzip)
_negotiated = functools.lru_cache(maxsize=1024)(negotiate)
