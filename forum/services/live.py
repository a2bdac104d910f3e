"""What the live hub needs from the rest of the forum: what a channel name points at, the
retained event log, its trimming, and the news that an account changed (services append it
in their transaction). The decisions themselves are policy.can_watch's."""
from __future__ import annotations

import re

from forum.services import Services
from forum.store import groups as group_store
from forum.store import threads as thread_store

CHANNEL_RE = re.compile(r"^(?:(thread|group|user):([1-9][0-9]{0,17})|site|members)$")


def valid_channel(channel: object) -> bool:
    return isinstance(channel, str) and CHANNEL_RE.match(channel) is not None


async def channel_target(svc: Services, channel: str):
    """The row a thread: or group: channel is about (None if it does not exist); None otherwise.
    A removed thread's row is returned too (with deleted_at): its readers hear that it went,
    and subscribing to it answers not_found (the hub checks)."""
    kind, _, ident = channel.partition(":")
    if kind == "thread":
        return await svc.cached_read(("thread_row_any", int(ident)),
                                     lambda conn: thread_store.get_thread_even_removed(conn, int(ident)),
                                     ignoring="library")
    if kind == "group":
        return await svc.cached_read(("group", int(ident)), lambda conn: group_store.by_id(conn, int(ident)),
                                     ignoring="library")
    return None


async def events_after(svc: Services, after_id: int, limit: int = 1000):
    async with svc.db.read() as conn:
        return await thread_store.events_after(conn, after_id, limit)


async def backlog(svc: Services, channels: list[str], after_id: int, up_to_id: int):
    async with svc.db.read() as conn:
        return await thread_store.events_on_channels(conn, channels, after_id, up_to_id)


async def event_id_range(svc: Services) -> tuple[int, int]:
    async with svc.db.read() as conn:
        return await thread_store.event_id_range(conn)


async def last_event_id(svc: Services) -> int:
    """The newest event id; changes only by a commit, so it goes through the read cache."""
    async def load(conn):
        return (await thread_store.event_id_range(conn))[1]
    return await svc.cached_read(("last_event_id",), load)


async def trim(svc: Services) -> None:
    async with svc.db.write() as tx:
        await thread_store.trim_events(tx, older_than=svc.later(days=-svc.config.events_keep_days),
                                       keep_newest=svc.config.events_keep_count)


async def account_changed(tx, svc: Services, user_id: int) -> None:
    """Tell the hub, in the writer's transaction, that this account's sessions or rights
    changed: it re-checks (or closes) that user's open sockets."""
    await thread_store.append_event(tx, f"user:{user_id}", "account.changed", {"user_id": user_id}, svc.now())
