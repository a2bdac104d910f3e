"""Mail about notifications and the periodic digest, the settings that steer them, and the
signed one-click unsubscribe. Each recipient's mail is made in one transaction with the marks
that say it was made, so a crash in the middle of a batch sends nobody anything twice."""
from __future__ import annotations

import logging
from urllib.parse import quote

from forum import policy
from forum.errors import N_, NotFound, Unauthorized
from forum.i18n import translate_in
from forum.mail.compose import render
from forum.policy import Actor
from forum.security import sign, signature_matches
from forum.services import Services
from forum.services.accounts import DIGEST_DAYS, actor_from_row
from forum.services.checks import FieldErrors, choice_field
from forum.services.notification_text import note_out
from forum.store import notifications as store
from forum.store import users as user_store

log = logging.getLogger(__name__)

EMAIL_CHOICES = ("immediately", "batched", "never")
DIGEST_CHOICES = ("daily", "weekly", "never")
UNSUBSCRIBE_WHAT = ("notifications", "digest")
DIGEST_THREADS = 20


# --- one-click unsubscribe ---------------------------------------------------------------------

def unsubscribe_token(svc: Services, user_id: int, what: str) -> str:
    return f"{user_id}.{what}.{sign(svc.config.secret_key, 'unsubscribe', str(user_id), what)[:40]}"


def unsubscribe_url(svc: Services, user_id: int, what: str) -> str:
    return f"{svc.config.site_url}/unsubscribe/{unsubscribe_token(svc, user_id, what)}"


def read_token(svc: Services, token: str) -> tuple[int, str]:
    """(user id, what) of a valid token; NotFound for anything else, as for a missing page."""
    user_id, _, rest = token.partition(".")
    what, _, signature = rest.partition(".")
    if not (user_id.isascii() and user_id.isdigit()) or len(user_id) > 19 or what not in UNSUBSCRIBE_WHAT:
        raise NotFound()
    expected = sign(svc.config.secret_key, "unsubscribe", user_id, what)[:40]
    if not signature_matches(expected, signature):
        raise NotFound()
    return int(user_id), what


async def unsubscribe(svc: Services, token: str) -> tuple[str, str]:
    """Stop notification mail or the digest for the token's owner, no login needed.
    Returns (what, the owner's locale)."""
    user_id, what = read_token(svc, token)
    async with svc.db.write() as tx:
        user = await store.mail_settings(tx, user_id)
        if user is None:
            raise NotFound()
        await store.update_mail_settings(
            tx, user_id, locale=user["locale"], now=svc.now(),
            email_notifications="never" if what == "notifications" else user["email_notifications"],
            digest="never" if what == "digest" else user["digest"],
            digest_due_at=None if what == "digest" or user["digest"] == "never" else svc.later(
                days=DIGEST_DAYS[user["digest"]]))
        if what == "notifications":
            await store.clear_pending_mail(tx, user_id)
    return what, user["locale"]


# --- settings ----------------------------------------------------------------------------------

async def settings_of(svc: Services, actor: Actor):
    if not actor.active:
        raise Unauthorized()
    async with svc.db.read() as conn:
        return await store.mail_settings(conn, actor.user_id)


async def update_settings(svc: Services, actor: Actor, *, email_notifications: str | None = None,
                          digest: str | None = None, locale: str | None = None):
    if not actor.active:
        raise Unauthorized()
    errors = FieldErrors()
    if email_notifications is not None:
        choice_field(errors, "email_notifications", email_notifications, EMAIL_CHOICES)
    if digest is not None:
        choice_field(errors, "digest", digest, DIGEST_CHOICES)
    if locale is not None:
        choice_field(errors, "locale", locale, ("nl", "en"))
    if email_notifications is None and digest is None and locale is None:
        errors.add("", N_("Er is niets om te wijzigen."))
    errors.raise_if_any()
    async with svc.db.write() as tx:
        current = await store.mail_settings(tx, actor.user_id)
        new_digest = digest or current["digest"]
        if new_digest == "never":
            due = None
        elif new_digest == current["digest"] and current["digest_due_at"]:
            due = current["digest_due_at"]  # same period: keep the planned date
        else:
            due = svc.later(days=DIGEST_DAYS[new_digest])
        await store.update_mail_settings(
            tx, actor.user_id, email_notifications=email_notifications or current["email_notifications"],
            digest=new_digest, locale=locale or current["locale"], digest_due_at=due, now=svc.now())
        if email_notifications == "never":
            await store.clear_pending_mail(tx, actor.user_id)
        return await store.mail_settings(tx, actor.user_id)


# --- the scheduled mail ------------------------------------------------------------------------

async def _reader(tx, user) -> Actor:
    roles = await user_store.group_roles(tx, user["id"])
    full = await user_store.by_id(tx, user["id"])
    return actor_from_row(full, roles)


async def send_due_mail(svc: Services) -> int:
    """One mail per user whose unseen notifications are due, gathering all they have not been
    mailed about yet; only what they may read now is in it. Returns the mails queued."""
    now = svc.now()
    async with svc.db.read() as conn:
        user_ids = await store.users_with_mail_due(conn, now)
    sent = 0
    for user_id in user_ids:
        async with svc.db.write() as tx:
            user = await store.mail_settings(tx, user_id)
            notes = await store.unmailed_for(tx, user_id)
            if not notes or user is None:
                continue
            await store.mark_mailed(tx, [note["id"] for note in notes], now)
            if user["status"] != "active" or user["email_notifications"] == "never":
                continue
            reader = await _reader(tx, user)
            shown = [note_out(note, reader) for note in notes if policy.can_see_notification(reader, note)]
            if not shown:
                continue  # everything it was about is out of the reader's sight now: no mail
            locale = user["locale"]
            text, html = render("notifications", locale, name=user["display_name"], notes=shown,
                                site_url=svc.config.site_url,
                                unsubscribe_url=unsubscribe_url(svc, user_id, "notifications"))
            subject = (shown[0]["text"] if len(shown) == 1 else
                       translate_in(locale, N_("%(count)d nieuwe meldingen op Maak verschil"), count=len(shown)))
            await svc.mailer.queue(tx, to=user["email"], subject=subject, body=text, html=html,
                                   headers=_unsubscribe_headers(svc, user_id, "notifications"))
            sent += 1
    return sent


def _unsubscribe_headers(svc: Services, user_id: int, what: str) -> dict:
    # RFC 8058: mail clients offer the button and POST to the address themselves. One <URL>,
    # ASCII without spaces (a non-ASCII site address is percent-encoded), so the mailer writes
    # it verbatim on one line: an encoded or folded URL is one clients can no longer use.
    url = quote(unsubscribe_url(svc, user_id, what), safe=":/?#[]@!$&'()*+,;=%~")
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


async def send_due_digests(svc: Services) -> int:
    """The daily or weekly overview of activity in a user's groups, for those it is due."""
    now = svc.now()
    async with svc.db.read() as conn:
        due = await store.users_with_digest_due(conn, now)
    sent = 0
    reads = policy.account_reads_group_sql("u", "g")
    for user in due:
        async with svc.db.write() as tx:
            if not await store.digest_still_due(tx, user["id"], now):  # another round made it meanwhile
                continue
            if user["digest"] == "never" or user["status"] != "active":
                await store.plan_digest(tx, user["id"], since=None, due=None)
                continue
            since = user["digest_since"] or svc.later(days=-DIGEST_DAYS[user["digest"]])
            threads = await store.digest_threads(tx, reads, user_id=user["id"], since=since, limit=DIGEST_THREADS)
            await store.plan_digest(tx, user["id"], since=now, due=svc.later(days=DIGEST_DAYS[user["digest"]]))
            if not threads:
                continue
            locale = user["locale"]
            period = translate_in(locale, N_("dagelijks") if user["digest"] == "daily" else N_("wekelijks"))
            text, html = render("digest", locale, name=user["display_name"], threads=threads, since=since[:10],
                                period=period, site_url=svc.config.site_url,
                                unsubscribe_url=unsubscribe_url(svc, user["id"], "digest"))
            subject = translate_in(locale, N_("Uw overzicht van Maak verschil"))
            await svc.mailer.queue(tx, to=user["email"], subject=subject, body=text, html=html,
                                   headers=_unsubscribe_headers(svc, user["id"], "digest"))
            sent += 1
    return sent
