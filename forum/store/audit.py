"""The audit log: append-only (schema triggers refuse UPDATE and DELETE)."""
from __future__ import annotations

import json

from forum.store import execute, fetch_all


async def append(conn, *, actor_id: int | None, action: str, group_id: int | None, target_type: str,
                 target_id: int | None, target_label: str, reason: str, data: dict, now: str) -> int:
    return await execute(
        conn,
        "INSERT INTO audit_log (actor_id, action, group_id, target_type, target_id, target_label, reason, data,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (actor_id, action, group_id, target_type, target_id, target_label, reason, json.dumps(data), now))


async def page(conn, *, groups: list[int] | None, group_id: int | None, actor_id: int | None, action: str | None,
               before: int | None, limit: int):
    where, params = ["1=1"], []
    if groups is not None:
        where.append("a.group_id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(groups))
    for column, value in (("a.group_id", group_id), ("a.actor_id", actor_id), ("a.action", action)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if before is not None:
        where.append("a.id < ?")
        params.append(before)
    return await fetch_all(
        conn,
        "SELECT a.id, a.actor_id, u.display_name AS actor_name, a.action, a.group_id, g.name AS group_name,"
        " a.target_type, a.target_id, a.target_label, a.reason, a.data, a.created_at"
        " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id LEFT JOIN groups g ON g.id = a.group_id"
        f" WHERE {' AND '.join(where)} ORDER BY a.id DESC LIMIT ?", (*params, limit))
