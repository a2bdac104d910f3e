"""The mail outbox for admins: they see what the forum sent, kept or could not send, so no mail
is lost from view, and they can put a failed mail back in the queue."""
from __future__ import annotations

from forum import policy
from forum.errors import Conflict, N_, NotFound
from forum.policy import Action, Actor
from forum.services import Services, audit
from forum.store import outbox as outbox_store


async def latest(svc: Services, actor: Actor, limit: int = 100):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await outbox_store.latest(conn, limit)


async def failed_count(svc: Services, actor: Actor) -> int:
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await outbox_store.failed_count(conn)


async def get(svc: Services, actor: Actor, mail_id: int):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        row = await outbox_store.get(conn, mail_id)
    if row is None:
        raise NotFound()
    return row


async def retry(svc: Services, actor: Actor, mail_id: int):
    """A failed mail queued again with a fresh count of attempts; the mailer wakes on commit."""
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.write() as tx:
        row = await outbox_store.get(tx, mail_id)
        if row is None:
            raise NotFound()
        if row["status"] != "failed":
            raise Conflict(N_("Deze mail is niet mislukt; er valt niets opnieuw te proberen."))
        await outbox_store.retry(tx, mail_id)
        # the address, not the subject: a subject can carry words from a post
        await audit.record(tx, svc, actor, "mail.retry", target_type="mail", target_id=mail_id,
                           label=row["to_addr"], data={"attempts": row["attempts"],
                                                       "error": row["last_error"][:200]})
        return await outbox_store.get(tx, mail_id)
