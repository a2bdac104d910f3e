"""Reading the mail outbox: admins see what the forum sent or kept, so no mail is lost from view."""
from __future__ import annotations

from forum import policy
from forum.errors import NotFound
from forum.policy import Action, Actor
from forum.services import Services
from forum.store import outbox as outbox_store


async def latest(svc: Services, actor: Actor, limit: int = 100):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await outbox_store.latest(conn, limit)


async def get(svc: Services, actor: Actor, mail_id: int):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        row = await outbox_store.get(conn, mail_id)
    if row is None:
        raise NotFound()
    return row
