"""New since your last visit: per user and thread the newest post read, kept on the server so
every device agrees; opening a thread or a group reads what was notified about it."""
from __future__ import annotations

from forum import policy
from forum.errors import Invalid, N_, Unauthorized
from forum.policy import Action, Actor
from forum.services import Services
from forum.store import groups as group_store
from forum.store import notifications as store
from forum.store import reading as reading_store
from forum.store import threads as thread_store

NO_COUNTS: dict = {}  # shared and never changed: visitors' thread lists


def effective_thread_level(thread_level: str | None, group_level: str | None) -> str:
    if thread_level:
        return thread_level
    return group_level if group_level in ("watching", "muted") else "normal"


async def open_thread(svc: Services, actor: Actor, thread, posts) -> tuple[int | None, str | None]:
    """A reader opened a page of a thread (`posts` are the ones it shows). What they have read
    is kept on the server (so every device agrees) as the newest post up to which they have
    seen every post: it moves on over the posts this page shows (and their own), in the order
    they were written, and stops at the first one shown elsewhere, so a page of a long thread
    never counts another page's posts as read. What they were told about the posts shown (or
    the thread itself) is marked read. Returns the first post by someone else they had not
    seen before (for "jump to first unread", wherever it is) and their level for the thread.
    Writes only when something changed, so reloading a page costs no write."""
    if not actor.active or not posts:
        return None, None
    user_id, thread_id = actor.user_id, thread["id"]
    shown = {post["id"] for post in posts}
    # Through the read cache: this state changes only by a commit, and a logged-in reader's
    # page otherwise needs no trip to the database at all.
    state = await svc.cached_read(("thread_seen", user_id, thread_id), lambda conn: reading_store.thread_seen_state(
        conn, user_id, thread_id, thread["group_id"]), ignoring="library")
    level = effective_thread_level(state["thread_level"], state["group_level"])
    last_read = state["last_read"]
    first_unread = None
    if last_read is not None:
        # one's own posts are read by writing them: after a reply there is nothing new to jump to
        first_unread = await svc.cached_read(
            ("first_unread", user_id, thread_id, last_read),
            lambda conn: thread_store.first_post_after(conn, thread_id, last_read, user_id), ignoring="library")
    read_to = last_read or 0
    if read_to < max(shown):
        after = await svc.cached_read(
            ("read_run", user_id, thread_id, read_to, min(shown), max(shown), len(shown)),
            lambda conn: reading_store.posts_after(conn, thread_id, read_to, len(shown) + 100), ignoring="library")
        for post in after:
            if post["id"] not in shown and post["author_id"] != user_id:
                break
            read_to = post["id"]
    told = False
    if state["unread"]:
        about = await svc.cached_read(("unread_about", user_id, thread_id),
                                      lambda conn: store.unread_about_posts(conn, user_id, thread_id), ignoring="library")
        told = any(post_id is None or post_id in shown for post_id in about)
    if read_to > (last_read or 0) or told:
        async with svc.db.write() as tx:
            if read_to > (last_read or 0):
                await reading_store.record_read(tx, user_id, thread_id, read_to)
            if told and await store.mark_read_where(tx, user_id, thread_id=thread_id, now=svc.now(),
                                                    post_ids=sorted(shown)):
                await thread_store.append_event(tx, f"user:{user_id}", "notification.read",
                                                {"unread_count": await store.unread_count(tx, user_id)}, svc.now())
    return first_unread, level


async def record_read(svc: Services, actor: Actor, thread_id: int, post_id: int) -> None:
    """The live page reports reading up to a post that arrived while it was open."""
    async with svc.db.write() as tx:
        post = await thread_store.get_post(tx, post_id)
        if post is None or post["thread_id"] != thread_id:
            thread = await thread_store.get_thread(tx, thread_id)
            policy.require(actor, Action.READ, thread)
            raise Invalid(fields={"post_id": N_("Dit bericht bestaat niet in deze discussie.")})
        policy.require(actor, Action.READ, post)
        if not actor.active:
            raise Unauthorized()
        await reading_store.record_read(tx, actor.user_id, thread_id, post_id)
        if await store.mark_read_where(tx, actor.user_id, thread_id=thread_id, now=svc.now()):
            await thread_store.append_event(tx, f"user:{actor.user_id}", "notification.read",
                                            {"unread_count": await store.unread_count(tx, actor.user_id)}, svc.now())


async def open_group(svc: Services, actor: Actor, group_id: int) -> str | None:
    """Opening a group's page reads what was notified about the group itself (requests,
    decisions, invitations). Returns the reader's level for the group."""
    if not actor.active:
        return None
    state = await svc.cached_read(("group_seen", actor.user_id, group_id),
                                  lambda conn: reading_store.group_seen_state(conn, actor.user_id, group_id))
    if state["unread"]:
        async with svc.db.write() as tx:
            if await store.mark_read_where(tx, actor.user_id, group_id=group_id, now=svc.now()):
                await thread_store.append_event(tx, f"user:{actor.user_id}", "notification.read",
                                                {"unread_count": await store.unread_count(tx, actor.user_id)},
                                                svc.now())
    return state["group_level"] or "normal"


async def mark_group_read(svc: Services, actor: Actor, group_id: int) -> None:
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.READ, group)
        if not actor.active:
            raise Unauthorized()
        await reading_store.mark_group_read(tx, actor.user_id, group_id)


async def new_counts(svc: Services, actor: Actor, threads) -> dict[int, tuple[int, int | None]]:
    """Per listed thread the reader opened before: (posts not seen yet, the first of them)."""
    if not actor.active or not threads:
        return NO_COUNTS
    ids = [t["id"] for t in threads]
    return await svc.cached_read(("new_counts", actor.user_id, tuple(ids)),
                                 lambda conn: reading_store.new_counts(conn, actor.user_id, ids))
