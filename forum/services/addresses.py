"""Proving an e-mail address: the confirmation link by mail, its resending and use, and the
limits on mail that a stranger can make the site send. A confirmed address is what lets an
account accept invitations and ask to join closed groups (forum/policy.py)."""
from __future__ import annotations

from forum.errors import Conflict, N_, NotFound, Unauthorized
from forum.i18n import translate_in
from forum.policy import Actor
from forum.security import new_token, token_hash
from forum.services import Services
from forum.services.live import account_changed
from forum.store import users as user_store

CONFIRM_DAYS = 7


async def count_mail(svc: Services, to: str, sender: object) -> None:
    """Mails that a stranger can make the site send (resets, confirmations, invitations) are
    limited per receiving address and per sender, so nobody's mailbox can be flooded."""
    await svc.limiter.hit("MAIL_TO", to.strip().lower())
    await svc.limiter.hit("MAIL_FROM", sender)


async def queue_confirmation(tx, svc: Services, user) -> None:
    token = new_token()
    await user_store.insert_confirmation(tx, token_hash(token), user["id"], user["email"], svc.now(),
                                         svc.later(days=CONFIRM_DAYS))
    locale = user["locale"]
    await svc.mailer.queue(
        tx, to=user["email"],
        subject=translate_in(locale, N_("Bevestig uw e-mailadres")),
        body=translate_in(
            locale,
            N_("Beste %(name)s,\n\nBevestig uw e-mailadres via deze link (een week geldig):\n\n%(link)s\n\n"
               "Daarna kunt u uitnodigingen aannemen en lid worden van besloten groepen. "
               "Heeft u zich niet aangemeld? Dan kunt u dit bericht negeren."),
            name=user["display_name"], link=f"{svc.config.site_url}/confirm-email/{token}",
        ),
    )


async def resend_confirmation(svc: Services, actor: Actor, *, address: str = "") -> None:
    if not actor.active:
        raise Unauthorized()
    if actor.email_verified:
        raise Conflict(N_("Uw e-mailadres is al bevestigd."))
    await count_mail(svc, actor.email, address or actor.user_id)
    async with svc.db.write() as tx:
        user = await user_store.by_id(tx, actor.user_id)
        await queue_confirmation(tx, svc, user)


async def confirm_email(svc: Services, token: str):
    """The link from the confirmation mail: the address is proven. Returns the user."""
    async with svc.db.write() as tx:
        row = await user_store.usable_confirmation(tx, token_hash(token), svc.now())
        if row is None:
            raise NotFound(N_("Deze link is verlopen of al gebruikt."))
        await mark_verified(tx, svc, row["user_id"])
        return await user_store.by_id(tx, row["user_id"])


async def mark_verified(tx, svc: Services, user_id: int) -> None:
    await user_store.set_email_verified(tx, user_id, svc.now())
    await user_store.use_confirmations_of(tx, user_id, svc.now())
    await account_changed(tx, svc, user_id)  # invitations by mail now count for open sessions
