"""API: the audit log (admins: everything; a group's moderators: that group's)."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from aiohttp import web

from forum.errors import BadRequest, N_
from forum.i18n import DISPLAY_ZONE
from forum.keys import actor_key, services_key
from forum.services import audit, iso
from forum.web.api import id_query, json_out


def audit_filters(request: web.Request) -> dict:
    """The log's filters from the query: a group, a person, an action kind, and days (since and
    until, both whole Dutch days, until included); anything malformed is a 400."""
    action = request.query.get("action") or None
    if action is not None and len(action) > 40:
        raise BadRequest(N_("Ongeldige waarde voor %(name)s."), name="action")
    since, until = _day_start(request, "since", 0), _day_start(request, "until", 1)
    if since and until and since >= until:  # would silently show nothing: say which way round it is
        raise BadRequest(fields={"until": N_("Kies een dag op of na 'Vanaf'.")})
    return {"group_id": id_query(request, "group_id"), "actor_id": id_query(request, "actor_id"),
            "action": action, "before": id_query(request, "before"), "since": since, "until": until}


def _day_start(request: web.Request, name: str, days_after: int) -> str | None:
    value = request.query.get(name) or None
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 9000:  # a day to step past and convert, within datetime's range
        raise BadRequest(fields={name: N_("Kies een datum tussen 2000 en 9000, zoals 2026-12-31.")})
    return iso(datetime.combine(day + timedelta(days=days_after), time(), DISPLAY_ZONE))


def entry_out(row) -> dict:
    return {"id": row["id"], "actor": {"id": row["actor_id"], "display_name": row["actor_name"]} if row["actor_id"] else None,
            "action": row["action"], "group": {"id": row["group_id"], "name": row["group_name"]} if row["group_id"] else None,
            "target": {"type": row["target_type"], "id": row["target_id"], "label": row["target_label"]},
            "reason": row["reason"], "data": json.loads(row["data"]), "created_at": row["created_at"]}


async def entries(request: web.Request) -> web.Response:
    audit.require_reader(request[actor_key])  # whose log it is not hears that before any filter's fault
    rows, next_cursor = await audit.entries(request.app[services_key], request[actor_key], **audit_filters(request))
    return json_out({"entries": [entry_out(row) for row in rows], "next": next_cursor})
