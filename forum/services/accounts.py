"""Accounts: registration, sessions, passwords, profiles and handles (what admins do to
accounts is in administration.py)."""
from __future__ import annotations

import logging
import re
import unicodedata

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, N_, NotFound, Unauthorized
from forum.i18n import current_locale, format_moment, translate_in
from forum.limits import TooManyRequests
from forum.policy import Action, Actor
from forum.security import (burn_password_check, hash_password, new_token, token_hash,
                            verify_password)
from forum.services import Services, addresses, search_index, site_pages
from forum.services.live import account_changed
from forum.services.checks import (MAX_BIO, MAX_NAME, FieldErrors, choice_field, email_field, handle_field,
                                   password_field, text_field)
from forum.files import Upload, photos
from forum.store import groups as group_store
from forum.store import threads as thread_store
from forum.store import users as user_store

log = logging.getLogger(__name__)

SITE_ROLES = ("member", "editor", "admin")
RESET_HOURS = 1


async def register(svc: Services, *, email: str, password: str, display_name: str, accepted_terms: bool,
                   locale: str = "nl", address: str = "", send_confirmation: bool = True):
    """A new member's account. While the site has terms or a privacy statement
    (site_pages.TERMS_SLUGS), they must accept them; when they did is kept."""
    errors = FieldErrors()
    email = email_field(errors, email)
    display_name = text_field(errors, "display_name", display_name, max_len=MAX_NAME)
    password_field(errors, password)
    terms = await site_pages.terms_pages(svc)
    if terms and accepted_terms is not True:
        errors.add("accept_terms", N_("Lees en accepteer de gebruiksvoorwaarden en de privacyverklaring om lid te worden."))
    errors.raise_if_any()
    await svc.limiter.hit("REGISTER", address)
    password_hash = await hash_password(password, svc.config.bcrypt_rounds)
    async with svc.db.write() as tx:
        if await user_store.by_email_with_hash(tx, email):
            raise Conflict(fields={"email": N_("Er is al een account met dit e-mailadres.")})
        settings = await user_store.settings(tx)
        # Registering never makes an admin: the first one comes from the setup link or the
        # command line (forum/services/setup.py).
        user_id = await user_store.insert(
            tx, email=email, display_name=display_name, password_hash=password_hash, role="member",
            status="pending" if settings["registration_mode"] == "approval" else "active",
            locale=locale if locale in ("nl", "en") else "nl", now=svc.now(),
            terms_accepted_at=svc.now() if terms else None,
        )
        await user_store.set_handle(tx, user_id, await free_handle(tx, display_name))
        await user_store.plan_first_digest(tx, user_id, since=svc.now(), due=svc.later(days=DIGEST_DAYS["weekly"]))
        await search_index.index_user(tx, user_id)
        user = await user_store.by_id(tx, user_id)
        if send_confirmation:
            await addresses.queue_confirmation(tx, svc, user)
    return user


async def login(svc: Services, *, email: str, password: str, address: str = "") -> tuple[str, object]:
    """Check the credentials and open a new session; returns (cookie token, user).

    Failed attempts are counted per account-and-address and per address, alike for accounts
    that exist and ones that do not. Not per account alone: then a stranger's wrong guesses
    would lock the owner out."""
    pair = f"{email.strip().lower()}|{address}"
    # counted before the check, so parallel guesses cannot all slip in under the limit; a
    # successful login takes its count back (only failures are meant to add up)
    await svc.limiter.hit("LOGIN_ADDRESS", address)
    try:
        await svc.limiter.hit("LOGIN", pair)
    except TooManyRequests:
        await svc.limiter.refund("LOGIN_ADDRESS", address)
        raise
    async with svc.db.read() as conn:
        row = await user_store.by_email_with_hash(conn, email.strip())
    if row is None:
        await burn_password_check(password, svc.config.bcrypt_rounds)
        right = False
    else:
        right = await verify_password(password, row["password_hash"])
    if not right:
        raise Unauthorized(N_("Het e-mailadres of het wachtwoord klopt niet."))
    await svc.limiter.refund("LOGIN_ADDRESS", address)
    await svc.limiter.refund("LOGIN", pair)
    if row["status"] == "pending":
        raise Forbidden(N_("Uw account wacht nog op goedkeuring door een beheerder."))
    if row["status"] == "suspended" and row["suspended_until"] and row["suspended_until"] <= svc.now():
        async with svc.db.write() as tx:  # the suspension ran out
            await user_store.set_status(tx, row["id"], "active")
            await user_store.set_suspended_until(tx, row["id"], None)
    elif row["status"] == "suspended" and row["suspended_until"]:
        raise Forbidden(N_("Uw account is geschorst tot %(when)s. Reden: %(reason)s"), reason=row["status_reason"],
                        when=format_moment(row["suspended_until"], current_locale()))
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
        generation = svc.db.generation_outside("library")  # a session reads no document
        async with svc.db.read() as conn:
            user = await user_store.session_user(conn, hashed, now)
        if user is not None:
            svc.sessions.put(hashed, user, generation, ignoring="library")
    if user is None or user["status"] != "active":
        return policy.VISITOR, None
    return actor_from_row(user, user_store.unpack_group_roles(user["group_roles"])), hashed


def actor_from_row(user, roles: dict[int, str]) -> Actor:
    return Actor(
        user_id=user["id"], role=user["role"], status=user["status"], display_name=user["display_name"],
        email=user["email"], locale=user["locale"], memberships=roles, handle=user["handle"] or "",
        created_at=user["created_at"], email_verified=user.get("email_verified_at") is not None,
        unread_notifications=user.get("unread_notifications", 0),
    )


async def logout(svc: Services, actor: Actor, session_hash: str | None) -> None:
    if session_hash:
        async with svc.db.write() as tx:
            await user_store.delete_session(tx, session_hash)
            if actor.user_id is not None:
                await account_changed(tx, svc, actor.user_id)


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
        await user_store.void_resets_of(tx, actor.user_id, svc.now())
        await user_store.delete_sessions_of(tx, actor.user_id)
        await account_changed(tx, svc, actor.user_id)
        await user_store.insert_session(
            tx, token_hash(token), actor.user_id, svc.now(), svc.later(days=svc.config.session_days)
        )
    return token


async def request_password_reset(svc: Services, *, email: str, address: str = "") -> None:
    """Mail a single-use link if the address has an account; say nothing either way (the
    limits count alike whether it has one)."""
    await addresses.count_mail(svc, email, address)
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
        await user_store.void_resets_of(tx, reset["user_id"], svc.now())
        await user_store.set_password_hash(tx, reset["user_id"], new_hash)
        await user_store.delete_sessions_of(tx, reset["user_id"])
        await account_changed(tx, svc, reset["user_id"])


async def profile_id_of(svc: Services, viewer: Actor, handle: str) -> int:
    """Whose profile @handle names (a mention's link), if the viewer may see it; a visitor is
    asked to log in first, whatever the handle (it tells them nobody's existence)."""
    if not viewer.active:
        raise Unauthorized()
    async with svc.db.read() as conn:
        user_id = await user_store.handle_owner(conn, handle.lower()) if len(handle) <= 60 else None
        user = await user_store.by_id(conn, user_id) if user_id else None
    if user is None or not policy.can_view_profile(viewer, user):
        raise NotFound(N_("Niemand heeft deze gebruikersnaam."))
    return user_id


async def profile(svc: Services, viewer: Actor, user_id: int):
    """A user's profile and the groups of theirs the viewer may see; a visitor is asked to log
    in first, whatever the id."""
    if not viewer.active:
        raise Unauthorized()
    async with svc.db.read() as conn:
        user = await user_store.by_id(conn, user_id)
        if user is None or not policy.can_view_profile(viewer, user):
            raise NotFound()
        # only memberships the viewer could read in that group's member list
        where, params = policy.readable_groups_sql(viewer)
        groups = await group_store.of_user(conn, user_id, where, params)
    return user, groups


async def update_profile(svc: Services, actor: Actor, *, display_name: str, bio: str, locale: str,
                         handle: str | None = None, organisation: str | None = None, job_title: str | None = None):
    """One's own profile; organisation and function left out (None) stay as they are."""
    if not actor.active:
        raise Unauthorized()
    errors = FieldErrors()
    display_name = text_field(errors, "display_name", display_name, max_len=MAX_NAME)
    if organisation is not None:
        organisation = text_field(errors, "organisation", organisation, max_len=MAX_ORGANISATION, required=False)
    if job_title is not None:
        job_title = text_field(errors, "job_title", job_title, max_len=MAX_ORGANISATION, required=False)
    bio = text_field(errors, "bio", bio, max_len=MAX_BIO, required=False, single_line=False)
    choice_field(errors, "locale", locale, ("nl", "en"))
    if handle is not None:
        handle = handle_field(errors, "handle", handle)
    errors.raise_if_any()
    async with svc.db.write() as tx:
        if handle is not None and handle != actor.handle:
            if await user_store.handle_owner(tx, handle) not in (None, actor.user_id):
                raise Conflict(fields={"handle": N_("Deze gebruikersnaam is al in gebruik.")})
            await user_store.set_handle(tx, actor.user_id, handle)
        await user_store.update_profile(tx, actor.user_id, display_name=display_name, bio=bio, locale=locale,
                                        organisation=organisation, job_title=job_title)
        await search_index.index_user(tx, actor.user_id)
        return await user_store.by_id(tx, actor.user_id)


MAX_ORGANISATION = 120
DIRECTORY_PAGE = 50


async def set_photo(svc: Services, actor: Actor, upload: Upload) -> dict:
    """A new profile photo from an upload (refused: not an image, over 5 MB, too many pixels):
    made square on the server; the earlier one is left to the sweep."""
    if not actor.active:
        upload.discard()
        raise Unauthorized()
    blob = await photos.make(svc.files, upload, "photo", "photo",
                             count=lambda: svc.limiter.hit("PICTURE", actor.user_id))
    async with svc.db.write() as tx:
        await user_store.set_photo(tx, actor.user_id, blob)
        return await user_store.by_id(tx, actor.user_id)


async def remove_photo(svc: Services, actor: Actor) -> None:
    if not actor.active:
        raise Unauthorized()
    async with svc.db.write() as tx:
        await user_store.set_photo(tx, actor.user_id, None)


async def photo_of(svc: Services, viewer: Actor, user_id: int):
    """(path of the photo file, its name) of a profile the viewer may see; NotFound otherwise.
    A visitor sees the photos that stand beside posts they can read, no others: a face is
    not for the open web unless its owner wrote there (attacker review)."""
    async with svc.db.read() as conn:
        user = await user_store.by_id(conn, user_id)
        if user is None or not policy.profile_exists_for(viewer, user) or not user["photo_blob"]:
            raise NotFound()
        if not viewer.active and not await thread_store.wrote_where(conn, user_id,
                                                                    policy.readable_groups_sql(viewer, "g")):
            raise NotFound()
    return svc.files.path_of(user["photo_blob"]), user["photo_blob"]


async def directory(svc: Services, viewer: Actor, *, query: str = "", after: str | None = None):
    """The member directory: active accounts (whose profiles everyone may see), by name, found
    by name, organisation or function; for people who are logged in. (rows, next cursor)."""
    policy.require(viewer, Action.VIEW_DIRECTORY)
    query = " ".join(query.split())[:100]
    if after is not None and len(after) > 200:
        raise Invalid(fields={"after": N_("Ongeldige waarde.")})
    async with svc.db.read() as conn:
        rows = await user_store.directory(conn, query=query, after=after, limit=DIRECTORY_PAGE + 1)
    return rows[:DIRECTORY_PAGE], (rows[DIRECTORY_PAGE - 1]["sort_key"] if len(rows) > DIRECTORY_PAGE else None)


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


async def create_admin(svc: Services, *, email: str, password: str, display_name: str = "",
                       only_if_none: bool = False, locale: str = "nl") -> tuple[object, bool]:
    """For the command line and the setup link: promote an existing account, or create an
    active admin with a confirmed address. Returns (user, created). With only_if_none, refuse
    (Conflict) once any admin exists: the setup link works only for the first. Callers end the
    set-up (forum.services.setup.finished)."""
    async with svc.db.read() as conn:
        existing = await user_store.by_email_with_hash(conn, email.strip())
    errors = FieldErrors()
    if existing is None or password or only_if_none:
        password_field(errors, password)
    if only_if_none:  # the setup form: every field is asked for
        display_name = text_field(errors, "display_name", display_name, max_len=MAX_NAME)
    if existing is None:
        email = email_field(errors, email)
        display_name = text_field(errors, "display_name", display_name or email.split("@")[0], max_len=MAX_NAME)
    elif only_if_none:
        # The setup link makes a new account. An address someone registered already (perhaps
        # hoping it would be promoted) is promoted only by `forum create-admin`, on purpose.
        errors.add("email", N_("Er is al een account met dit e-mailadres. Kies een ander adres, of maak het "
                               "beheerder met het commando create-admin."))
    errors.raise_if_any()
    new_hash = await hash_password(password, svc.config.bcrypt_rounds) if password else None  # outside the lock
    async with svc.db.write() as tx:
        if only_if_none and await user_store.count_admins(tx):
            raise Conflict(N_("Deze site heeft al een beheerder."))
        if existing is None:
            if await user_store.by_email_with_hash(tx, email):
                raise Conflict(fields={"email": N_("Er is al een account met dit e-mailadres.")})
            user_id = await user_store.insert(
                tx, email=email, display_name=display_name, password_hash=new_hash, role="admin",
                status="active", locale=locale if locale in ("nl", "en") else "nl", now=svc.now())
            await user_store.set_handle(tx, user_id, await free_handle(tx, display_name))
            await user_store.plan_first_digest(tx, user_id, since=svc.now(),
                                               due=svc.later(days=DIGEST_DAYS["weekly"]))
        else:
            user_id = existing["id"]
            await user_store.set_role(tx, user_id, "admin")
            await user_store.set_status(tx, user_id, "active")
            if new_hash:
                await user_store.set_password_hash(tx, user_id, new_hash)
                await user_store.void_resets_of(tx, user_id, svc.now())
            # whoever held a session on this account (it may have been registered by someone else,
            # hoping to be promoted) is out: they log in again, knowing its password
            await user_store.delete_sessions_of(tx, user_id)
            await account_changed(tx, svc, user_id)
        await user_store.set_email_verified(tx, user_id, svc.now())
        await search_index.index_user(tx, user_id)
        user = await user_store.by_id(tx, user_id)
    log.warning("admin account %s (id %d) %s", user["email"], user_id, "created" if existing is None else "promoted")
    return user, existing is None
