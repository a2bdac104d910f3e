"""Calendar feeds: the events of the site and of a group that the viewer may see, and each
person's own feed of what they signed up for, at a private URL. That URL carries a token
signed with the site's secret over a random nonce kept per person: the database alone does
not give the URL away, and a new nonce (or none) revokes the old URL at once."""
from __future__ import annotations

import secrets
from datetime import timedelta

from forum import policy
from forum.errors import N_, NotFound, Unauthorized
from forum.policy import Action, Actor
from forum.security import sign, signature_matches
from forum.services import Services, agenda, iso
from forum.services.accounts import actor_from_row
from forum.store import agenda as store
from forum.store import groups as group_store
from forum.store import users as user_store

FEED_PAST_DAYS = 90    # a feed keeps recent events, so a calendar does not drop them the day after
FEED_LIMIT = 500


def _token(svc: Services, user_id: int, nonce: str) -> str:
    return f"{user_id}-{sign(svc.config.secret_key, 'calendar', str(user_id), nonce)}"


async def feed_token(svc: Services, actor: Actor) -> str | None:
    """The viewer's private feed token, or None if they have none (or revoked it)."""
    if not actor.active:
        raise Unauthorized()
    async with svc.db.read() as conn:
        nonce = await store.feed_nonce(conn, actor.user_id)
    return _token(svc, actor.user_id, nonce) if nonce else None


async def renew_feed_token(svc: Services, actor: Actor) -> str:
    """A new private URL; the old one stops working."""
    if not actor.active:
        raise Unauthorized()
    nonce = secrets.token_urlsafe(24)
    async with svc.db.write() as tx:
        await store.set_feed_nonce(tx, actor.user_id, nonce, svc.now())
    return _token(svc, actor.user_id, nonce)


async def revoke_feed_token(svc: Services, actor: Actor) -> None:
    if not actor.active:
        raise Unauthorized()
    async with svc.db.write() as tx:
        await store.drop_feed(tx, actor.user_id)


async def actor_for_token(svc: Services, token: str) -> Actor:
    """Whose feed a token opens, as that person is now (roles, memberships, suspension):
    NotFound for a token that is wrong, revoked, or of an account that is not active."""
    user_part, _, signature = token.partition("-")
    if not user_part.isascii() or not user_part.isdigit() or len(user_part) > 19 or not signature \
            or len(token) > 200 or not 0 < int(user_part) < 2**63:
        raise NotFound(N_("Deze agenda-link werkt niet (meer)."))
    user_id = int(user_part)
    async with svc.db.read() as conn:
        nonce = await store.feed_nonce(conn, user_id)
        user = await user_store.by_id(conn, user_id) if nonce else None
        roles = await user_store.group_roles(conn, user_id) if user else {}
    if nonce is None or user is None or not signature_matches(_token(svc, user_id, nonce), token):
        raise NotFound(N_("Deze agenda-link werkt niet (meer)."))
    actor = actor_from_row(user, roles)
    if not actor.active:
        raise NotFound(N_("Deze agenda-link werkt niet (meer)."))
    return actor


def _window(svc: Services):
    now = svc.clock()
    return now - timedelta(days=FEED_PAST_DAYS), now + timedelta(days=3650)


async def site_events(svc: Services, actor: Actor):
    """Site events (not groups') the viewer may see, recent and coming."""
    start, end = _window(svc)
    rows = await agenda.between(svc, actor, start, end, limit=FEED_LIMIT)
    return [row for row in rows if row["group_id"] is None]


async def group_events(svc: Services, actor: Actor, group_id: int):
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    if group is None or not policy.can(actor, Action.READ, group):  # site groups too: the policy says no
        raise NotFound()
    start, end = _window(svc)
    return group, await agenda.between(svc, actor, start, end, group_id=group_id, limit=FEED_LIMIT)


async def personal_events(svc: Services, actor: Actor):
    """What the person signed up for (going, waiting, maybe), while they may still see it."""
    start, _ = _window(svc)
    async with svc.db.read() as conn:
        rows = await store.signed_up(conn, actor.user_id, iso(start), FEED_LIMIT)
    return [row for row in rows if policy.can(actor, Action.READ_EVENT, row)]
