"""GET /healthz and GET /readyz, for whoever hosts the forum: a supervisor asks whether the
process lives, a load balancer whether to send it requests.

/healthz answers 200 as long as the process answers at all, and touches nothing else: a
database away is not a reason to kill the process (it would not come back any sooner).
/readyz answers 200 only when this process can serve: started, not stopping, the database
answering at the schema version this code was written for, and the live hub and the
scheduler running; otherwise 503 with the reason. Neither says more than that (no versions,
no error text, nothing of the site's content), so both may be reachable from anywhere.

Both are answered before routing and the middleware chain (forum/web/page_cache.py's
front door calls `PROBES`): no session, no cookie, no rate limit, no page cache; and
the access log writes them at debug level only (forum/web/access_log.py), so a load balancer
polling every second does not fill it.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from forum.keys import hub_key, readiness_key, scheduler_key, services_key

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
# the database gets this long to answer a readiness check; slower counts as not ready
DATABASE_SECONDS = 2.0

_HEADERS = {"Cache-Control": "no-store"}


class Readiness:
    """What the application's life cycle tells the readiness check (forum/app.py sets it):
    `started` once the start-up (database, migrations, hub, scheduler) is done, `stopping`
    from the first moment of a shutdown (SIGTERM), while requests in flight still finish."""

    def __init__(self) -> None:
        self.started = False
        self.stopping = False
        self.last_reason: str | None = None  # logged when it changes, not at every poll


def _answer(reason: str | None) -> web.Response:
    if reason is None:
        return web.json_response({"status": "ok"}, headers=_HEADERS)
    return web.json_response({"status": "unavailable", "reason": reason}, status=503, headers=_HEADERS)


async def healthz(request: web.Request) -> web.Response:
    return _answer(None)


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    readiness: Readiness = app[readiness_key]
    reason, detail = await _not_ready(app, readiness)
    if reason != readiness.last_reason:
        if reason is None:
            log.info("ready")
        else:
            log.warning("not ready: %s%s", reason, f" ({detail})" if detail else "")
        readiness.last_reason = reason
    return _answer(reason)


async def _not_ready(app: web.Application, readiness: Readiness) -> tuple[str | None, str]:
    """The reason this process should get no requests now (None: it should), and for the
    server's own log, what went wrong."""
    if readiness.stopping:
        return "shutting down", ""
    if not readiness.started:
        return "starting", ""
    if not app[hub_key].running:
        return "live updates not running", ""
    if not app[scheduler_key].running:
        return "scheduler not running", ""
    try:
        async with asyncio.timeout(DATABASE_SECONDS):
            current = await app[services_key].db.schema_current()
    except TimeoutError:
        return "database unavailable", f"no answer within {DATABASE_SECONDS:g} s"
    except Exception as error:  # closed, refused, cut off: the client needs no more than that
        return "database unavailable", f"{type(error).__name__}: {error}"
    if not current:
        return "database schema not current", "its version is not the one this code was started with"
    return None, ""


# answered at the front door, before routing (forum/web/page_cache.py), for GET and HEAD
PROBES = {HEALTH_PATH: healthz, READY_PATH: readyz}
