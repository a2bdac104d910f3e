"""The admin's hand on accounts and the site: roles, approval, suspension (until a date or
indefinitely) and site settings. Every action is audited."""
from __future__ import annotations

from datetime import datetime, timezone

from forum import policy
from forum.errors import Conflict, Invalid, N_, NotFound
from forum.i18n import DISPLAY_ZONE, format_moment, translate_in
from forum.policy import Action, Actor
from forum.services import Services, audit, iso
from forum.services.accounts import SITE_ROLES
from forum.services.live import account_changed
from forum.services.addresses import mark_verified
from forum.services.checks import MAX_NAME, FieldErrors, choice_field, text_field
from forum.store import documents as document_store
from forum.store import users as user_store


async def list_users(svc: Services, actor: Actor, status: str | None = None):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await user_store.listing(conn, status=status, limit=1000)


async def account(svc: Services, actor: Actor, user_id: int):
    async with svc.db.read() as conn:
        return await _target(conn, actor, user_id)


async def _target(tx, actor: Actor, user_id: int):
    policy.require(actor, Action.ADMINISTER)
    user = await user_store.by_id(tx, user_id)
    if user is None:
        raise NotFound()
    return user


async def set_site_role(svc: Services, actor: Actor, user_id: int, role: str):
    errors = FieldErrors()
    choice_field(errors, "role", role, SITE_ROLES)
    policy.require(actor, Action.ADMINISTER)
    errors.raise_if_any()
    async with svc.db.write() as tx:
        await _target(tx, actor, user_id)
        if user_id == actor.user_id and role != "admin":
            raise Conflict(N_("U kunt uw eigen beheerdersrol niet afnemen."))
        target = await user_store.by_id(tx, user_id)
        await user_store.set_role(tx, user_id, role)
        await account_changed(tx, svc, user_id)
        await audit.record(tx, svc, actor, "user.role", target_type="user", target_id=user_id,
                           label=target["display_name"], data={"from": target["role"], "to": role})
        return await user_store.by_id(tx, user_id)


async def approve_account(svc: Services, actor: Actor, user_id: int):
    async with svc.db.write() as tx:
        user = await _target(tx, actor, user_id)
        if user["status"] != "pending":
            raise Conflict(N_("Dit account wacht niet op goedkeuring."))
        await user_store.set_status(tx, user_id, "active")
        await audit.record(tx, svc, actor, "user.approve", target_type="user", target_id=user_id,
                           label=user["display_name"])
        return await user_store.by_id(tx, user_id)


async def confirm_email(svc: Services, actor: Actor, user_id: int):
    """An admin vouches for an account's address (someone known who cannot receive the link)."""
    async with svc.db.write() as tx:
        user = await _target(tx, actor, user_id)
        if user["email_verified_at"] is not None:
            raise Conflict(N_("Dit e-mailadres is al bevestigd."))
        await mark_verified(tx, svc, user_id)
        await audit.record(tx, svc, actor, "user.confirm_email", target_type="user", target_id=user_id,
                           label=user["display_name"])
        return await user_store.by_id(tx, user_id)


async def suspend_account(svc: Services, actor: Actor, user_id: int, reason: str, until: str | None = None):
    """Suspend until a moment (ISO date or time, UTC) or indefinitely: sessions end and sockets
    close at once; login is refused with the reason; posts stay."""
    errors = FieldErrors()
    reason = text_field(errors, "reason", reason, max_len=500)
    if until is not None:
        until = _moment(errors, "until", until)
        if until and until <= svc.now():
            errors.add("until", N_("Kies een moment in de toekomst."))
    policy.require(actor, Action.ADMINISTER)
    errors.raise_if_any()
    async with svc.db.write() as tx:
        target = await _target(tx, actor, user_id)
        if user_id == actor.user_id:
            raise Conflict(N_("U kunt uzelf niet schorsen."))
        await user_store.set_status(tx, user_id, "suspended", reason)
        await user_store.set_suspended_until(tx, user_id, until)
        await user_store.delete_sessions_of(tx, user_id)
        await account_changed(tx, svc, user_id)
        await audit.record(tx, svc, actor, "user.suspend", target_type="user", target_id=user_id,
                           label=target["display_name"], reason=reason, data={"until": until})
        await _mail_suspension(tx, svc, target, reason, until)
        return await user_store.by_id(tx, user_id)


async def _mail_suspension(tx, svc: Services, user, reason: str, until: str | None) -> None:
    """A suspended person cannot log in to read a notification: they are told by mail."""
    locale = user["locale"]
    until_text = (translate_in(locale, N_("tot %(when)s"), when=format_moment(until, locale)) if until
                  else translate_in(locale, N_("tot nader order")))
    await svc.mailer.queue(
        tx, to=user["email"], subject=translate_in(locale, N_("Uw account is geschorst")),
        body=translate_in(locale, N_("Beste %(name)s,\n\nEen beheerder heeft uw account op %(site)s geschorst, "
                                     "%(until)s. U kunt zolang niet inloggen; uw berichten blijven staan.\n\n"
                                     "Reden: %(reason)s\n\nVragen? Beantwoord deze e-mail of neem contact op "
                                     "via %(site)s/pages/contact."),
                          name=user["display_name"], site=svc.config.site_url, until=until_text, reason=reason))


def _moment(errors: FieldErrors, name: str, value: str) -> str | None:
    """An ISO date ('2026-12-31': the start of that day in Dutch time, shown as that date) or
    date and time (UTC unless it says otherwise), as our UTC text; None with an error."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.add(name, N_("Geef een datum als 2026-12-31 of 2026-12-31T17:00."))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=DISPLAY_ZONE if len(value) == 10 else timezone.utc)
    if not 2000 <= moment.year <= 9000:  # within what converts to UTC and back (and means anything)
        errors.add(name, N_("Kies een datum tussen 2000 en 9000."))
        return None
    return iso(moment)


async def unsuspend_account(svc: Services, actor: Actor, user_id: int):
    async with svc.db.write() as tx:
        user = await _target(tx, actor, user_id)
        if user["status"] != "suspended":
            raise Conflict(N_("Dit account is niet geschorst."))
        await user_store.set_status(tx, user_id, "active")
        await user_store.set_suspended_until(tx, user_id, None)
        await audit.record(tx, svc, actor, "user.unsuspend", target_type="user", target_id=user_id,
                           label=user["display_name"])
        return await user_store.by_id(tx, user_id)


async def site_settings(svc: Services, actor: Actor) -> dict[str, str]:
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await user_store.settings(conn)


async def logo_choices(svc: Services, actor: Actor):
    """The images a logo may be: public images of the site's library."""
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await document_store.logo_choices(conn)


async def update_site_settings(svc: Services, actor: Actor, *, registration_mode: str,
                               members_create_werkgroepen: bool, site_name: str | None = None,
                               logo_document_id: int | None | str = "keep") -> dict[str, str]:
    """How people join, who starts werkgroepen, and the site's name and logo (a public image
    of the site's library, or None for none; "keep" leaves it as it is)."""
    policy.require(actor, Action.ADMINISTER)
    errors = FieldErrors()
    choice_field(errors, "registration_mode", registration_mode, ("open", "approval"))
    if site_name is not None:
        site_name = text_field(errors, "site_name", site_name, max_len=MAX_NAME)
    if logo_document_id not in ("keep", None) and (type(logo_document_id) is not int or logo_document_id < 1):
        errors.add("logo_document_id", N_("Kies een afbeelding uit de documenten van de site."))
    errors.raise_if_any()
    async with svc.db.write() as tx:
        changed = {"registration_mode": registration_mode, "members_create_werkgroepen": members_create_werkgroepen}
        if logo_document_id not in ("keep", None) and not await document_store.usable_logo(tx, logo_document_id):
            raise Invalid(fields={"logo_document_id": N_("Kies een afbeelding uit de documenten van de site die "
                                                         "iedereen mag zien.")})
        await user_store.set_setting(tx, "registration_mode", registration_mode)
        await user_store.set_setting(tx, "members_create_werkgroepen", "1" if members_create_werkgroepen else "0")
        if site_name is not None:
            await user_store.set_setting(tx, "site_name", site_name)
            changed["site_name"] = site_name
        if logo_document_id != "keep":
            await user_store.set_setting(tx, "logo_document_id", str(logo_document_id or ""))
            changed["logo_document_id"] = logo_document_id
        await audit.record(tx, svc, actor, "site.settings", target_type="site", data=changed)
        return await user_store.settings(tx)
