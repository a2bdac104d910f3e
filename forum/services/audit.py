"""Who did what, on what, why and when: every moderator and admin action is recorded in the
transaction of the action itself. Admins read all of it, a group's moderators their group's."""
from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.policy import Actor
from forum.services import Services
from forum.store import audit as store

PAGE_SIZE = 50


async def record(tx, svc: Services, actor: Actor | None, action: str, *, target_type: str, target_id: int | None = None,
                 label: str = "", group_id: int | None = None, reason: str = "", data: dict | None = None) -> None:
    await store.append(tx, actor_id=actor.user_id if actor else None,  # None: the forum itself (a ban that ended)
                       action=action, group_id=group_id, target_type=target_type,
                       target_id=target_id, target_label=label[:200], reason=reason[:1000], data=data or {},
                       now=svc.now())


async def entries(svc: Services, actor: Actor, *, group_id: int | None = None, actor_id: int | None = None,
                  action: str | None = None, before: int | None = None, since: str | None = None,
                  until: str | None = None, limit: int = PAGE_SIZE):
    """(entries, next cursor) the actor may read, filtered (since/until: UTC moments); NotFound
    when there are none to read."""
    scope = _scope(actor, group_id)
    async with svc.db.read() as conn:
        rows = await store.page(conn, groups=scope, group_id=group_id, actor_id=actor_id, action=action,
                                before=before, since=since, until=until, limit=limit + 1)
    return rows[:limit], (rows[limit - 1]["id"] if len(rows) > limit else None)


def require_reader(actor: Actor) -> None:
    """NotFound for whoever has no audit log to read (it does not exist for them)."""
    _scope(actor)


def _scope(actor: Actor, group_id: int | None = None) -> list[int] | None:
    scope = policy.audit_groups(actor)
    if scope is not None and (not scope or (group_id is not None and group_id not in scope)):
        raise NotFound()
    return None if scope is None else sorted(scope)


async def pickers(svc: Services, actor: Actor) -> dict:
    """What the audit page's filters offer the reader: the groups and the people of their log."""
    scope = _scope(actor)
    async with svc.db.read() as conn:
        return {"groups": await store.groups_named(conn, scope), "actors": await store.actors(conn, scope)}
