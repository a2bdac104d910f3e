"""API: the audit log (admins: everything; a group's moderators: that group's)."""
from __future__ import annotations

import json

from aiohttp import web

from forum.errors import BadRequest, N_
from forum.keys import actor_key, services_key
from forum.services import audit
from forum.web.api import id_query, json_out


def audit_filters(request: web.Request) -> dict:
    action = request.query.get("action") or None
    if action is not None and len(action) > 40:
        raise BadRequest(N_("Ongeldige waarde voor %(name)s."), name="action")
    return {"group_id": id_query(request, "group_id"), "actor_id": id_query(request, "actor_id"),
            "action": action, "before": id_query(request, "before")}


def entry_out(row) -> dict:
    return {"id": row["id"], "actor": {"id": row["actor_id"], "display_name": row["actor_name"]} if row["actor_id"] else None,
            "action": row["action"], "group": {"id": row["group_id"], "name": row["group_name"]} if row["group_id"] else None,
            "target": {"type": row["target_type"], "id": row["target_id"], "label": row["target_label"]},
            "reason": row["reason"], "data": json.loads(row["data"]), "created_at": row["created_at"]}


async def entries(request: web.Request) -> web.Response:
    rows, next_cursor = await audit.entries(request.app[services_key], request[actor_key], **audit_filters(request))
    return json_out({"entries": [entry_out(row) for row in rows], "next": next_cursor})
