"""Every request's id, the client behind a proxy, and the count of answers by route and status.

The first middleware gives the request an id (the X-Request-Id a trusted proxy sent, when that
is a sane token, otherwise one made here), which its log lines carry (forum/logs.py), its answer
carries in the X-Request-Id header, and an error page or API error shows, so that a user can
quote it and an operator find the lines; then it hands the rest of the chain the request as the
client made it (forum/web/proxies.py). On the way out the answer is counted under the route it
matched (never the path: a path is whatever a client sends, the routes are a fixed set, named
by forum/logs.py route_label when /metrics is read) and its status, with the time taken in a
histogram (forum/tally.py): a dict lookup, an index and two additions. All of this runs before
the visitors' kept pages are answered, so it is kept to that: nothing is named or formatted per
request, no middleware or response hook of its own is added (each measurably cost that page),
and the proxy's work is done in the same middleware (bench/bench_pages.py, README "Metrics and
logs").
"""
from __future__ import annotations

import itertools
import re
import secrets
from time import perf_counter

from aiohttp import web

from forum.keys import config_key
from forum.logs import RequestInfo, current_request
from forum.tally import Durations
from forum.web.proxies import behind_proxy, in_networks

HEADER = "X-Request-Id"
# what a proxy's id may be: printable ASCII without spaces, as a log search or a support mail carries it
_SANE = re.compile(r"[!-~]{1,128}")
# ids made here: random per process, then counted (unique without a random draw per request)
_PREFIX = secrets.token_hex(4)
_NUMBERS = itertools.count(1)


def current_request_id() -> str | None:
    info = current_request.get()
    return info.id if info is not None else None


def _proxys_id(request: web.Request, given: str) -> str | None:
    """The id a trusted proxy sent, when it is sane; None otherwise (one is made instead)."""
    if _SANE.fullmatch(given):
        networks = request.app[config_key].trusted_proxies
        if networks and in_networks(request.remote, networks):  # the TCP peer, not yet the client
            return given
    return None


def request_id_for(request: web.Request) -> str:
    """The id a trusted proxy gave the request, or one made here."""
    given = request.headers.get(HEADER)
    return (given is not None and _proxys_id(request, given)) or f"{_PREFIX}-{next(_NUMBERS)}"


def count(requests: dict, resource, status: int, seconds: float) -> None:
    key = (resource, status)
    durations = requests.get(key)
    if durations is None:
        durations = requests[key] = Durations()
    durations.observe(seconds)


def front_middleware(requests: dict):
    """The first middleware of one app, counting into `requests`: (resource, status) →
    Durations, the resource None for a path no route matched."""

    @web.middleware
    async def front(request: web.Request, handler):
        start = perf_counter()
        request_id = request_id_for(request)
        resource = request.match_info.route.resource
        # each request is its own task with its own copy of the context: no reset needed after it
        current_request.set(RequestInfo(request_id, resource, start))
        try:
            response = await handler(behind_proxy(request))
        except web.HTTPException as answer:  # a redirect (errors are answered by error_middleware)
            answer.headers[HEADER] = request_id
            count(requests, resource, answer.status, perf_counter() - start)
            raise
        except Exception:  # aiohttp answers 500
            count(requests, resource, 500, perf_counter() - start)
            raise
        response.headers[HEADER] = request_id
        key = (resource, response.status)  # count(), inline: the visitors' kept pages pass here
        durations = requests.get(key)
        if durations is None:
            durations = requests[key] = Durations()
        durations.observe(perf_counter() - start)
        return response

    return front
