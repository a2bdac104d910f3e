"""Page: the audit log, filterable, for admins (everything) and moderators (their groups)."""
from __future__ import annotations

from aiohttp import web

from urllib.parse import urlencode

from forum.keys import actor_key, services_key
from forum.services import audit
from forum.web.api.audit import audit_filters, entry_out
from forum.web.audit_text import action_choices, sentence
from forum.web.pages import render

FILTER_KEYS = ("group_id", "actor_id", "action", "since", "until")


async def index(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    filters = audit_filters(request)
    rows, next_cursor = await audit.entries(svc, actor, **filters)
    entries = [entry_out(row) for row in rows]
    typed = {key: request.query.get(key, "") for key in FILTER_KEYS}  # as the reader chose them
    older = None
    if next_cursor:
        older = "/audit?" + urlencode({**{k: v for k, v in typed.items() if v}, "before": next_cursor})
    return render(request, "audit.html", {
        "entries": [(entry, sentence(entry)) for entry in entries], "older": older, "typed": typed,
        "filtered": any(typed.values()), "actions": action_choices(), **await audit.pickers(svc, actor)})
