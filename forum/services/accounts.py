"""Accounts: registration, sessions, passwords, profiles, and the admin's hand on users and
site settings."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
import re
import unicodedata

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, N_, NotFound, Unauthorized
from forum.i18n import translate_in
from forum.policy import Action, Actor
from forum.security import (burn_password_check, hash_password, new_token, token_hash,
                            verify_password)
from forum.services import Services, audit, iso
from forum.services.checks import (MAX_BIO, MAX_NAME, FieldErrors, choice_field, email_field,
                                   password_field, text_field)
from forum.store import groups as group_store
from forum.store import threads as thread_store
from forum.store import users as user_store

log = logging.getLogger(__name__)

SITE_ROLES = ("member", "editor", "admin")
RESET_HOURS = 1


async def register(svc: Services, *, email: str, password: str, display_name: str,
                   locale: str = "nl", address: str = ""):
    errors = FieldErrors()
    email = email_field(errors, email)
    display_name = text_field(errors, "display_name", display_name, max_len=MAX_NAME)
    password_field(errors, password)
    errors.raise_if_any()
    svc.limiter.hit("REGISTER", address)
    password_hash = await hash_password(password, svc.config.bcrypt_rounds)
    async with svc.db.write() as tx:
        if await user_store.by_email_with_hash(tx, email):
            raise Conflict(fields={"email": N_("Er is al een account met dit e-mailadres.")})
        first = await user_store.count(tx) == 0
        settings = await user_store.settings(tx)
        status = "pending" if settings["registration_mode"] == "approval" and not first else "active"
        user_id = await user_store.insert(
            tx, email=email, display_name=display_name, password_hash=password_hash,
            role="admin" if first else "member", status=status,
            locale=locale if locale in ("nl", "en") else "nl", now=svc.now(),
        )
        await user_store.set_handle(tx, user_id, await free_handle(tx, display_name))
        await user_store.plan_first_digest(tx, user_id, since=svc.now(), due=svc.later(days=DIGEST_DAYS["weekly"]))
        for group_id in await group_store.take_email_invitations(tx, email):
            await group_store.put_membership(tx, group_id, user_id, "invited", svc.now())
        user = await user_store.by_id(tx, user_id)
    if first:
        log.warning("first account %s (id %d) registered: it is the site admin", email, user_id)
    return user


async def login(svc: Services, *, email: str, password: str, address: str = "") -> tuple[str, object]:
    """Check the credentials and open a new session; returns (cookie token, user). Attempts
    are counted per address and per account before anything is checked, so guessing is
    slowed alike for accounts that exist and ones that do not."""
    svc.limiter.hit("LOGIN_ADDRESS", address)
    svc.limiter.hit("LOGIN", email.strip().lower())
    async with svc.db.read() as conn:
        row = await user_store.by_email_with_hash(conn, email.strip())
    if row is None:
        await burn_password_check(password, svc.config.bcrypt_rounds)
        raise Unauthorized(N_("Het e-mailadres of het wachtwoord klopt niet."))
    if not await verify_password(password, row["password_hash"]):
        raise Unauthorized(N_("Het e-mailadres of het wachtwoord klopt niet."))
    if row["status"] == "pending":
        raise Forbidden(N_("Uw account wacht nog op goedkeuring door een beheerder."))
    if row["status"] == "suspended" and row["suspended_until"] and row["suspended_until"] <= svc.now():
        async with svc.db.write() as tx:  # the suspension ran out
            await user_store.set_status(tx, row["id"], "active")
            await user_store.set_suspended_until(tx, row["id"], None)
    elif row["status"] == "suspended":
        raise Forbidden(N_("Uw account is geschorst. Reden: %(reason)s"), reason=row["status_reason"])
    token = new_token()
    async with svc.db.write() as tx:
        await user_store.insert_session(
            tx, token_hash(token), row["id"], svc.now(), svc.later(days=svc.config.session_days)
        )
    return token, row


async def actor_for_session(svc: Services, token: str | None) -> tuple[Actor, str | None]:
    """The actor behind a session cookie, and the stored hash of its token (None for visitors)."""
    if not token or len(token) > 200:
        return policy.VISITOR, None
    hashed = token_hash(token)
    now = svc.now()
    user = svc.sessions.get(hashed)
    if user is None or user["expires_at"] <= now:
        generation = svc.db.generation
        async with svc.db.read() as conn:
            user = await user_store.session_user(conn, hashed, now)
        if user is not None:
            svc.sessions.put(hashed, user, generation)
    if user is None or user["status"] != "active":
        return policy.VISITOR, None
    return actor_from_row(user, user_store.unpack_group_roles(user["group_roles"])), hashed


def actor_from_row(user, roles: dict[int, str]) -> Actor:
    return Actor(
        user_id=user["id"], role=user["role"], status=user["status"], display_name=user["display_name"],
        email=user["email"], locale=user["locale"], memberships=roles, handle=user["handle"] or "",
        created_at=user["created_at"],
        unread_notifications=user.get("unread_notifications", 0),
    )


async def _account_changed(tx, svc: Services, user_id: int) -> None:
    """Tell the live hub that this account's sessions or rights changed: it re-checks (or
    closes) that user's open sockets."""
    await thread_store.append_event(tx, f"user:{user_id}", "account.changed", {"user_id": user_id}, svc.now())


async def logout(svc: Services, actor: Actor, session_hash: str | None) -> None:
    if session_hash:
        async with svc.db.write() as tx:
            await user_store.delete_session(tx, session_hash)
            if actor.user_id is not None:
                await _account_changed(tx, svc, actor.user_id)


async def change_password(svc: Services, actor: Actor, *, current_password: str, new_password: str) -> str:
    """Change the password, end every session of the account, and open a fresh one for this client."""
    if not actor.active:
        raise Unauthorized()
    errors = FieldErrors()
    password_field(errors, new_password, "new_password")
    errors.raise_if_any()
    async with svc.db.read() as conn:
        stored = await user_store.password_hash(conn, actor.user_id)
    if not await verify_password(current_password, stored):
        raise Invalid(fields={"current_password": N_("Het huidige wachtwoord klopt niet.")})
    new_hash = await hash_password(new_password, svc.config.bcrypt_rounds)
    token = new_token()
    async with svc.db.write() as tx:
        await user_store.set_password_hash(tx, actor.user_id, new_hash)
        await user_store.delete_sessions_of(tx, actor.user_id)
        await _account_changed(tx, svc, actor.user_id)
        await user_store.insert_session(
            tx, token_hash(token), actor.user_id, svc.now(), svc.later(days=svc.config.session_days)
        )
    return token


async def request_password_reset(svc: Services, *, email: str) -> None:
    """Mail a single-use link if the address has an account; say nothing either way."""
    async with svc.db.read() as conn:
        user = await user_store.by_email_with_hash(conn, email.strip())
    if user is None or user["status"] == "pending":
        return
    token = new_token()
    link = f"{svc.config.site_url}/password/reset/{token}"
    locale = user["locale"]
    async with svc.db.write() as tx:
        await user_store.insert_reset(tx, token_hash(token), user["id"], svc.now(), svc.later(hours=RESET_HOURS))
        await svc.mailer.queue(
            tx, to=user["email"],
            subject=translate_in(locale, N_("Nieuw wachtwoord instellen")),
            body=translate_in(
                locale,
                N_("Beste %(name)s,\n\nIemand (hopelijk u) vroeg om een nieuw wachtwoord. Via deze link "
                   "stelt u het in; hij werkt één keer en is een uur geldig:\n\n%(link)s\n\n"
                   "Vroeg u dit niet? Dan kunt u dit bericht negeren."),
                name=user["display_name"], link=link,
            ),
        )


async def reset_token_usable(svc: Services, token: str) -> bool:
    async with svc.db.read() as conn:
        return await user_store.usable_reset(conn, token_hash(token), svc.now()) is not None


async def reset_password(svc: Services, *, token: str, new_password: str) -> None:
    errors = FieldErrors()
    password_field(errors, new_password)
    errors.raise_if_any()
    new_hash = await hash_password(new_password, svc.config.bcrypt_rounds)
    async with svc.db.write() as tx:
        reset = await user_store.usable_reset(tx, token_hash(token), svc.now())
        if reset is None:
            raise NotFound(N_("Deze link is verlopen of al gebruikt. Vraag een nieuwe aan."))
        await user_store.use_reset(tx, reset["token_hash"], svc.now())
        await user_store.set_password_hash(tx, reset["user_id"], new_hash)
        await user_store.delete_sessions_of(tx, reset["user_id"])
        await _account_changed(tx, svc, reset["user_id"])


async def profile(svc: Services, viewer: Actor, user_id: int):
    """A user's public profile and the groups of theirs the viewer may see."""
    async with svc.db.read() as conn:
        user = await user_store.by_id(conn, user_id)
        if user is None or not policy.can_view_profile(viewer, user):
            raise NotFound()
        where, params = policy.visible_groups_sql(viewer)
        groups = await group_store.of_user(conn, user_id, where, params)
    return user, groups


async def update_profile(svc: Services, actor: Actor, *, display_name: str, bio: str, locale: str,
                         handle: str | None = None):
    if not actor.active:
        raise Unauthorized()
    errors = FieldErrors()
    display_name = text_field(errors, "display_name", display_name, max_len=MAX_NAME)
    bio = text_field(errors, "bio", bio, max_len=MAX_BIO, required=False, single_line=False)
    choice_field(errors, "locale", locale, ("nl", "en"))
    if handle is not None:
        handle = handle.strip().lstrip("@").lower()
        if not HANDLE_RE.match(handle):
            errors.add("handle", N_("Een gebruikersnaam heeft 2 tot 30 kleine letters, cijfers of streepjes."))
    errors.raise_if_any()
    async with svc.db.write() as tx:
        if handle is not None and handle != actor.handle:
            if await user_store.handle_owner(tx, handle) not in (None, actor.user_id):
                raise Conflict(fields={"handle": N_("Deze gebruikersnaam is al in gebruik.")})
            await user_store.set_handle(tx, actor.user_id, handle)
        await user_store.update_profile(tx, actor.user_id, display_name=display_name, bio=bio, locale=locale)
        return await user_store.by_id(tx, actor.user_id)


HANDLE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")
DIGEST_DAYS = {"daily": 1, "weekly": 7}


def handle_base(display_name: str) -> str:
    """'Jan de Vries' → 'jan-de-vries'; 'Anaïs Çelik' → 'anais-celik'."""
    ascii_name = unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:26].strip("-")
    return base if len(base) >= 2 else "lid"


async def free_handle(tx, display_name: str) -> str:
    base = handle_base(display_name)
    taken = await user_store.handles_like(tx, base)
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


async def give_handles(svc: Services) -> None:
    """Accounts made before handles existed get one derived from their name (run at start)."""
    async with svc.db.write() as tx:
        for user in await user_store.without_handle(tx):
            await user_store.set_handle(tx, user["id"], await free_handle(tx, user["display_name"]))


# --- administration ---------------------------------------------------------------------

async def list_users(svc: Services, actor: Actor, status: str | None = None):
    policy.require(actor, Action.ADMINISTER)
    async with svc.db.read() as conn:
        return await user_store.listing(conn, status=status, limit=1000)


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
        await _account_changed(tx, svc, user_id)
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
        await _account_changed(tx, svc, user_id)
        await audit.record(tx, svc, actor, "user.suspend", target_type="user", target_id=user_id,
                           label=target["display_name"], reason=reason, data={"until": until})
        return await user_store.by_id(tx, user_id)


def _moment(errors: FieldErrors, name: str, value: str) -> str | None:
    """An ISO date ('2026-12-31') or date and time, as our UTC text; None with an error."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        errors.add(name, N_("Geef een datum als 2026-12-31 of 2026-12-31T17:00."))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
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


async def update_site_settings(svc: Services, actor: Actor, *, registration_mode: str,
                               members_create_werkgroepen: bool) -> dict[str, str]:
    policy.require(actor, Action.ADMINISTER)
    errors = FieldErrors()
    choice_field(errors, "registration_mode", registration_mode, ("open", "approval"))
    errors.raise_if_any()
    async with svc.db.write() as tx:
        await user_store.set_setting(tx, "registration_mode", registration_mode)
        await user_store.set_setting(tx, "members_create_werkgroepen", "1" if members_create_werkgroepen else "0")
        await audit.record(tx, svc, actor, "site.settings", target_type="site",
                           data={"registration_mode": registration_mode,
                                 "members_create_werkgroepen": members_create_werkgroepen})
        return await user_store.settings(tx)


async def create_admin(svc: Services, *, email: str, password: str) -> tuple[object, bool]:
    """For the command line: promote an existing account, or create an active admin.
    Returns (user, created)."""
    async with svc.db.read() as conn:
        existing = await user_store.by_email_with_hash(conn, email.strip())
    if existing is not None:
        new_hash = None
        if password:
            errors = FieldErrors()
            password_field(errors, password)
            errors.raise_if_any()
            new_hash = await hash_password(password, svc.config.bcrypt_rounds)  # outside the write lock
        async with svc.db.write() as tx:
            await user_store.set_role(tx, existing["id"], "admin")
            await user_store.set_status(tx, existing["id"], "active")
            if new_hash:
                await user_store.set_password_hash(tx, existing["id"], new_hash)
            return await user_store.by_id(tx, existing["id"]), False
    user = await register(svc, email=email, password=password, display_name=email.split("@")[0])
    async with svc.db.write() as tx:
        await user_store.set_role(tx, user["id"], "admin")
        await user_store.set_status(tx, user["id"], "active")
        return await user_store.by_id(tx, user["id"]), True
