"""Invitations: moderators invite an account or an address; every invitation mail carries
its own link, which lets whoever holds it join. An invitation by address otherwise counts only
for an account that proved that address, and the answer never says whether it has one."""
from __future__ import annotations

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, N_, NotFound, Unauthorized
from forum.i18n import translate_in
from forum.policy import Action, Actor
from forum.security import new_token, token_hash
from forum.services import Services, notifications
from forum.services.checks import FieldErrors, email_field
from forum.services.groups import enter, membership_event
from forum.store import groups as group_store
from forum.store import users as user_store


async def accept_invitation(svc: Services, actor: Actor, token: str):
    """The link in an invitation mail: its holder joins, whatever address their account has
    (the mail reached the invited mailbox). Returns the group."""
    if not actor.active:
        raise Unauthorized()
    async with svc.db.write() as tx:
        invitation = await group_store.email_invitation_by_token(tx, token_hash(token))
        group = await group_store.by_id(tx, invitation["group_id"]) if invitation else None
        if group is None:
            raise NotFound(N_("Deze uitnodiging is verlopen of al gebruikt."))
        current = await group_store.membership(tx, group["id"], actor.user_id)
        if current in policy.GROUP_MEMBER_ROLES:
            return group  # already in: the link stays for the person it was meant for
        if not policy.can(actor, Action.ACCEPT_INVITATION_TOKEN, group):
            raise Forbidden(N_("U kunt deze uitnodiging niet aannemen."))
        await group_store.delete_email_invitation(tx, group["id"], invitation["email_norm"])
        await enter(tx, svc, group["id"], actor.user_id, actor.email, "member", current)
        if invitation["email_norm"] == actor.email.lower():  # the mail reached this account's address
            await user_store.set_email_verified(tx, actor.user_id, svc.now())
        return group


async def invitation_group(svc: Services, token: str):
    """The group an invitation link is for (the link itself is the authority to see its name)."""
    async with svc.db.read() as conn:
        invitation = await group_store.email_invitation_by_token(conn, token_hash(token))
        group = await group_store.by_id(conn, invitation["group_id"]) if invitation else None
    if group is None:
        raise NotFound(N_("Deze uitnodiging is verlopen of al gebruikt."))
    return group


async def invite(svc: Services, actor: Actor, group_id: int, *, user_id: int | None = None,
                 email: str | None = None, address: str = "") -> dict:
    """Invite a registered user (by id), or an email address. An invitation by address answers
    the same whether the address has an account or not, and becomes one only through the
    link in its mail or for an account that proved that address."""
    if (user_id is None) == (email is None):
        raise Invalid(fields={"email": N_("Geef een e-mailadres of een gebruiker op.")})
    errors = FieldErrors()
    if email is not None:
        email = email_field(errors, email)
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.MODERATE_GROUP, group)
        errors.raise_if_any()
        token = new_token()
        link = f"{svc.config.site_url}/invitations/{token}"
        if user_id is not None:
            target = await user_store.by_id(tx, user_id)
            if target is None:
                raise NotFound(N_("Deze gebruiker bestaat niet."))
            current = await group_store.membership(tx, group_id, target["id"])
            if await group_store.is_banned(tx, group_id, target["id"]):
                raise Conflict(N_("Deze persoon is uit de groep geweerd. Hef dat eerst op."))
            if current in policy.GROUP_MEMBER_ROLES:
                raise Conflict(N_("Deze persoon is al lid."))
            await _count_invitation(svc, target["email"], actor)
            if current == "pending":  # inviting someone who asked admits them
                await enter(tx, svc, group_id, target["id"], target["email"], "member", current)
                await notifications.notify_one(tx, svc, target["id"], "request_approved", actor_id=None,
                                               group_id=group_id)
                return {"user_id": target["id"], "role": "member"}
            await group_store.put_membership(tx, group_id, target["id"], "invited", svc.now())
            await membership_event(tx, svc, group_id, target["id"], "invited", was=current)
            await notifications.notify_one(tx, svc, target["id"], "invitation", actor_id=actor.user_id,
                                           group_id=group_id)
            locale, to, result = target["locale"], target["email"], {"user_id": target["id"], "role": "invited"}
        else:
            await _count_invitation(svc, email, actor)
            known = await user_store.by_email_with_hash(tx, email)  # only for the mail's language
            locale, to, result = (known["locale"] if known else "nl"), email, {"email": email.lower(), "role": "invited"}
        await group_store.put_email_invitation(tx, group_id, to, actor.user_id, svc.now(), token_hash(token))
        await svc.mailer.queue(
            tx, to=to,
            subject=translate_in(locale, N_("Uitnodiging voor %(group)s"), group=group["name"]),
            body=translate_in(
                locale,
                N_("%(inviter)s nodigt u uit voor de groep %(group)s.\n\nNeem de uitnodiging aan via deze link "
                   "(heeft u nog geen account, dan maakt u er eerst een): %(link)s"),
                inviter=actor.display_name, group=group["name"], link=link,
            ),
        )
        return result


async def _count_invitation(svc: Services, to: str, actor: Actor) -> None:
    await svc.limiter.hit("MAIL_TO", to.strip().lower())
    await svc.limiter.hit("MAIL_FROM", actor.user_id)


async def invitations_for(svc: Services, actor: Actor):
    if not actor.active:
        return []
    async with svc.db.read() as conn:
        return await group_store.pending_invitations_for(conn, actor.user_id)
