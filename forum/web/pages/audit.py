"""Page: the audit log, filterable, for admins (everything) and moderators (their groups)."""
from __future__ import annotations

from aiohttp import web

from urllib.parse import urlencode

from forum import policy
from forum.keys import actor_key, services_key
from forum.services import audit
from forum.web.api.audit import audit_filters, entry_out
from forum.web.audit_text import action_choices, sentence
from forum.errors import BadRequest
from forum.web.pages import render, rerender

FILTER_KEYS = ("group_id", "actor_id", "action", "since", "until")


async def index(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    typed = {key: request.query.get(key, "") for key in FILTER_KEYS}  # as the reader chose them
    context = {"typed": typed, "filtered": any(typed.values()), "actions": action_choices(policy.audit_groups(actor) is None),
               **await audit.pickers(svc, actor), "entries": [], "older": None}
    try:
        filters = audit_filters(request)
    except BadRequest as error:  # a date typed by hand that is none: the page again, saying so
        return rerender(request, "audit.html", error, context)
    rows, next_cursor = await audit.entries(svc, actor, **filters)
    if next_cursor:
        context["older"] = "/audit?" + urlencode({**{k: v for k, v in typed.items() if v}, "before": next_cursor})
    context["entries"] = [(entry, sentence(entry)) for entry in (entry_out(row) for row in rows)]
    return render(request, "audit.html", context)
