"""Page: the audit log, filterable, for admins (everything) and moderators (their groups)."""
from __future__ import annotations

from aiohttp import web

from forum.keys import actor_key, services_key
from forum.services import audit
from forum.web.api.audit import audit_filters, entry_out
from forum.web.pages import render


async def index(request: web.Request) -> web.Response:
    filters = audit_filters(request)
    rows, next_cursor = await audit.entries(request.app[services_key], request[actor_key], **filters)
    return render(request, "audit.html", {"entries": [entry_out(row) for row in rows], "next": next_cursor,
                                          "filters": filters})
