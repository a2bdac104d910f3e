"""The audit log: append-only (schema triggers refuse UPDATE and DELETE)."""
from __future__ import annotations

import json

from forum.store import fetch_all, insert_row


async def append(conn, *, actor_id: int | None, action: str, group_id: int | None, target_type: str,
                 target_id: int | None, target_label: str, reason: str, data: dict, now: str) -> int:
    return await insert_row(
        conn,
        "INSERT INTO audit_log (actor_id, action, group_id, target_type, target_id, target_label, reason, data,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (actor_id, action, group_id, target_type, target_id, target_label, reason, json.dumps(data), now))


async def page(conn, *, groups: list[int] | None, group_id: int | None, actor_id: int | None, action: str | None,
               before: int | None, limit: int, since: str | None = None, until: str | None = None):
    where, params = ["1=1"], []
    for condition, value in (("a.created_at >= ?", since), ("a.created_at < ?", until)):
        if value is not None:
            where.append(condition)
            params.append(value)
    if groups is not None:
        where.append("a.group_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))")
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


def _scope(groups: list[int] | None) -> tuple[str, list]:
    if groups is None:
        return "1=1", []
    return "a.group_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))", [json.dumps(groups)]


async def actors(conn, groups: list[int] | None):
    """Who acted in the entries a reader may read: the audit page's picker of people."""
    where, params = _scope(groups)
    return await fetch_all(conn, "SELECT DISTINCT a.actor_id AS id, u.display_name FROM audit_log a"
                                 f" JOIN users u ON u.id = a.actor_id WHERE {where} ORDER BY u.display_name, a.actor_id"
                                 " LIMIT 500", params)


async def groups_named(conn, groups: list[int] | None):
    """The groups whose entries a reader may read (site groups aside): the picker of groups."""
    where, params = ("g.kind != 'site'", []) if groups is None else (
        "g.id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))", [json.dumps(groups)])
    return await fetch_all(conn, f"SELECT g.id, g.name FROM groups g WHERE {where} ORDER BY g.name LIMIT 1000", params)
