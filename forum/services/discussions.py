"""Discussions: threads in a group and their tree of posts, with edits, revisions and
soft deletion. Every change appends its event in the same transaction."""
from __future__ import annotations

import base64
import binascii

from forum import policy
from forum.errors import BadRequest, Invalid, N_
from forum.markdown import render_markdown
from forum.policy import Action, Actor
from forum.services import Services, audit, notifications, search_index
from forum.services.checks import (MAX_BODY, MAX_REASON, MAX_TITLE, FieldErrors, alt_texts, clean_text, text_field,
                                   told_reason, visible_text)
from forum.store import groups as group_store
from forum.store import threads as store

PAGE_SIZE = 30
MAX_PINNED = 20  # pinned threads shown above a group's list


def is_comments(thread) -> bool:
    """The comments of a news item or an event: read under it, in no group's list of discussions."""
    return thread["news_id"] is not None or thread["event_id"] is not None


def post_out(post, may_see_hidden: bool = False) -> dict:
    """A post as clients see it. A removed post keeps its place in the tree but not its words;
    a post hidden by a moderator keeps them, with the reason, only for those the policy lets
    see it (its author and the group's moderators: pass may_see_hidden). Without it this is
    the public form, the one event payloads carry."""
    deleted = post["deleted_at"] is not None
    hidden = post.get("hidden_at") is not None
    revealed = hidden and not deleted and may_see_hidden
    out = {
        "id": post["id"],
        "thread_id": post["thread_id"],
        "parent_id": post["parent_id"],
        "depth": post["depth"],
        "author": {"id": post["author_id"], "display_name": post["author_name"],
                   "photo_url": (f"/users/{post['author_id']}/photo?v={post['author_photo'][:12]}"
                                 if post.get("author_photo") else None)},
        "body_html": "" if deleted or (hidden and not revealed) else post["body_html"],
        "created_at": post["created_at"],
        "edited_at": post["edited_at"],
        "deleted": deleted,
        "hidden": hidden,
    }
    if revealed:
        out["hidden_reason"] = post["hidden_reason"] or ""
    return out


def removed_post_event(post) -> dict:
    """What earlier events about a removed or hidden post carry from then on: its place, never its words."""
    return {"post": {"id": post["id"], "thread_id": post["thread_id"], "parent_id": post["parent_id"],
                     "depth": post["depth"], "deleted": post["deleted_at"] is not None,
                     "hidden": post["hidden_at"] is not None, "redacted": True}}


def removed_thread_event(thread_id: int) -> dict:
    return {"thread": {"id": thread_id, "redacted": True}}


async def redact_post(tx, post) -> None:
    """Inside the transaction that removed or hid `post` (the row as it is now). None: its
    thread is removed (or a withdrawn news item's), whose channel was redacted whole then."""
    if post is None:
        return
    await store.redact_post_events(tx, post["thread_id"], post["id"], removed_post_event(post))
    await store.refresh_last_poster(tx, post["thread_id"])  # the list names no one for words that are gone


def thread_out(thread) -> dict:
    return {
        "id": thread["id"],
        "group_id": thread["group_id"],
        "group_name": thread["group_name"],
        "title": thread["title"],
        "author": {"id": thread["author_id"], "display_name": thread["author_name"]},
        "created_at": thread["created_at"],
        "last_activity_at": thread["last_activity_at"],
        "last_poster": {"id": thread["last_poster_id"], "display_name": thread["last_poster_name"]},
        "reply_count": thread["reply_count"],
        "locked": bool(thread["locked"]),
        "pinned": bool(thread["pinned"]),
    }


def encode_cursor(thread) -> str:
    raw = f"{thread['last_activity_at']}|{thread['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, thread_id = raw.partition("|")
        number = int(thread_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(N_("Ongeldige paginaverwijzing."))
    if not moment or not 0 < number < 2**63:
        raise BadRequest(N_("Ongeldige paginaverwijzing."))
    return moment, number


def _body_field(errors: FieldErrors, body: str) -> str:
    # control characters out, as from every other text (a NUL cannot even be stored in
    # PostgreSQL): both databases keep the same words
    body = clean_text(body)
    if not visible_text(body):
        errors.add("body", N_("Dit veld is verplicht."))
    elif len(body) > MAX_BODY:
        errors.add("body", N_("Dit is te lang (hoogstens %(max)d tekens)."), max=MAX_BODY)
    else:
        alt_texts(errors, "body", body)
    return body


async def _count_post(svc: Services, actor: Actor, body: str) -> None:
    """Rate limits on writing: posts per minute (stricter in an account's first day, except for
    an admin, who was made by the site's operator, not by a stranger's sign-up: a new site's
    admin trying it out met the newcomer's limit after five replies) and people mentioned per hour."""
    first_day = actor.created_at > svc.later(days=-1) and not actor.is_admin
    await svc.limiter.hit("POST_NEW" if first_day else "POST", actor.user_id)
    await svc.limiter.hit("MENTION", actor.user_id, cost=len(notifications.mentioned_handles(body)))


async def group_threads(svc: Services, actor: Actor, group_id: int, *, before: str | None = None,
                        limit: int = PAGE_SIZE):
    """(group, threads, next cursor) for one page of a group's discussions."""
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    threads, next_cursor = await threads_of_group(svc, actor, group, before=before, limit=limit)
    return group, threads, next_cursor


async def threads_of_group(svc: Services, actor: Actor, group, *, before: str | None = None,
                           limit: int = PAGE_SIZE):
    """(threads, next cursor) for a group the caller already loaded (saves the page a trip).
    The first page starts with the pinned threads; the cursor walks the others."""
    policy.require(actor, Action.READ, group)
    keyset = decode_cursor(before)

    async def load(conn):
        pinned = [] if keyset else await store.pinned_threads(conn, group["id"], MAX_PINNED)
        rows = await store.group_threads(conn, group["id"], before=keyset, limit=limit + 1)
        return pinned + rows[:limit], encode_cursor(rows[limit - 1]) if len(rows) > limit else None

    # one list object per version: pages may key their own reuse on it
    return await svc.cached_read(("group_threads", group["id"], keyset, limit), load)


async def recent_threads(svc: Services, actor: Actor, limit: int = 10):
    where, params = policy.readable_groups_sql(actor)
    async with svc.db.read() as conn:
        return await store.recent_threads(conn, where, params, limit)


async def start_thread(svc: Services, actor: Actor, group_id: int, *, title: str, body: str):
    errors = FieldErrors()
    title = text_field(errors, "title", title, max_len=MAX_TITLE)
    body = _body_field(errors, body)
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    policy.require(actor, Action.START_THREAD, group)
    errors.raise_if_any()
    await _count_post(svc, actor, body)
    html = render_markdown(body)
    async with svc.db.write() as tx:
        now = svc.now()
        thread_id = await store.insert_thread(tx, group_id=group_id, author_id=actor.user_id, title=title, now=now)
        post_id = await store.insert_post(
            tx, thread_id=thread_id, parent_id=None, depth=0, author_id=actor.user_id,
            body=body, body_html=html, now=now,
        )
        thread = await store.get_thread(tx, thread_id)
        post = await store.get_post(tx, post_id)
        await search_index.index_thread(tx, thread_id)
        await search_index.index_new_post(svc, tx, post_id)
        await store.append_event(tx, f"group:{group_id}", "thread.created", {"thread": thread_out(thread)}, now)
        await notifications.after_thread_started(tx, svc, actor, thread_id, post_id)
    return thread, post


async def update_thread(svc: Services, actor: Actor, thread_id: int, *, title: str | None = None,
                        locked: bool | None = None, pinned: bool | None = None, group_id: int | None = None,
                        reason: str = ""):
    """Rename (author or moderator), lock, pin or move (moderators; a move also needs the
    right to moderate the target group). Viewers are told at once; access to everything about
    the thread follows its new group from then on. Its author hears of a lock, with the reason."""
    errors = FieldErrors()
    reason = text_field(errors, "reason", reason, max_len=MAX_REASON, required=False)
    if title is not None:
        title = text_field(errors, "title", title, max_len=MAX_TITLE)
    if title is None and locked is None and pinned is None and group_id is None:
        errors.add("", N_("Er is niets om te wijzigen."))
    async with svc.db.write() as tx:
        thread = await store.get_thread(tx, thread_id)
        policy.require(actor, Action.READ, thread)
        if is_comments(thread) and (title is not None or group_id not in (None, thread["group_id"])):
            # a news item's or event's comments take its title and follow its audience
            raise Invalid(fields={"title" if title is not None else "group_id":
                                  N_("Dit zijn de reacties op een nieuwsbericht of activiteit: wijzig dat zelf.")})
        if title is not None:
            policy.require(actor, Action.RENAME_THREAD, thread)
        if locked is not None or pinned is not None or group_id is not None:
            policy.require(actor, Action.MODERATE_THREAD, thread)
        target = None
        if group_id is not None and group_id != thread["group_id"]:
            target = await group_store.by_id(tx, group_id)
            if target is None or not policy.can(actor, Action.VIEW_GROUP, target):
                raise Invalid(fields={"group_id": N_("Deze groep bestaat niet.")})
            policy.require(actor, Action.MODERATE_GROUP, target)
        errors.raise_if_any()
        before = thread
        changed = {"title": thread["title"] if title is None else title,
                   "locked": bool(thread["locked"]) if locked is None else locked,
                   "pinned": bool(thread["pinned"]) if pinned is None else pinned,
                   "group_id": target["id"] if target else thread["group_id"]}
        if changed == {"title": thread["title"], "locked": bool(thread["locked"]), "pinned": bool(thread["pinned"]),
                       "group_id": thread["group_id"]}:
            return thread
        await store.update_thread(tx, thread_id, **changed)
        await search_index.index_thread(tx, thread_id)  # a move needs nothing more: hits follow the thread's group
        thread = await store.get_thread(tx, thread_id)
        now = svc.now()
        for key, on, off in (("locked", "thread.lock", "thread.unlock"), ("pinned", "thread.pin", "thread.unpin")):
            if changed[key] != bool(before[key]):
                await audit.record(tx, svc, actor, on if changed[key] else off, target_type="thread",
                                   target_id=thread_id, label=thread["title"], group_id=thread["group_id"],
                                   reason=reason if key == "locked" else "")
        if changed["locked"] and not before["locked"] and told(before, actor):
            await notifications.notify_one(tx, svc, before["author_id"], "thread_locked", actor_id=None,
                                           group_id=thread["group_id"], thread_id=thread_id, data={"reason": reason},
                                           once_unread=True)
        if changed["title"] != before["title"] and before["author_id"] != actor.user_id:
            await audit.record(tx, svc, actor, "thread.rename", target_type="thread", target_id=thread_id,
                               label=thread["title"], group_id=thread["group_id"], data={"was": before["title"]})
        payload = {"thread": thread_out(thread)}
        await store.append_event(tx, f"thread:{thread_id}", "thread.updated", payload, now)
        if target:
            # the old group's viewers see it go (its id only); the new group's see it arrive
            await store.append_event(tx, f"group:{before['group_id']}", "thread.removed", {"thread_id": thread_id}, now)
            # the old group's backlog no longer describes a thread its readers may not read now
            await store.redact_thread_events(tx, f"group:{before['group_id']}", thread_id,
                                             removed_thread_event(thread_id))
            await store.append_event(tx, f"group:{target['id']}", "thread.created", payload, now)
            for scope in (before["group_id"], target["id"]):  # both groups' moderators read it back
                await audit.record(tx, svc, actor, "thread.move", target_type="thread", target_id=thread_id,
                                   label=thread["title"], group_id=scope,
                                   data={"from": before["group_id"], "to": target["id"]})
        elif not is_comments(thread):
            await store.append_event(tx, f"group:{thread['group_id']}", "thread.updated", payload, now)
    return thread


async def delete_thread(svc: Services, actor: Actor, thread_id: int, reason: str = "") -> None:
    """Moderators remove a whole thread: it answers 404 from then on, and what was notified
    about it stops showing its title. Its author is told, with the title and the reason, which
    is required then."""
    async with svc.db.write() as tx:
        thread = await store.get_thread(tx, thread_id)
        policy.require(actor, Action.MODERATE_THREAD, thread)
        errors = FieldErrors()
        reason = told_reason(errors, reason, told=told(thread, actor))
        errors.raise_if_any()
        if is_comments(thread):
            raise Invalid(N_("Dit zijn de reacties op een nieuwsbericht of activiteit: trek dat zelf in."))
        now = svc.now()
        await store.mark_thread_deleted(tx, thread_id, now)
        await search_index.index_thread(tx, thread_id)  # the thread and its posts leave the index
        # what the log said about it (title, posts) is not replayed to anyone any more
        await store.redact_thread_events(tx, f"group:{thread['group_id']}", thread_id, removed_thread_event(thread_id))
        await store.redact_thread_channel(tx, thread_id, {"thread_id": thread_id, "redacted": True})
        for channel in (f"group:{thread['group_id']}", f"thread:{thread_id}"):
            await store.append_event(tx, channel, "thread.removed", {"thread_id": thread_id}, now)
        await audit.record(tx, svc, actor, "thread.delete", target_type="thread", target_id=thread_id,
                           label=thread["title"], group_id=thread["group_id"], reason=reason)
        if told(thread, actor):  # no thread to link to any more: the notice carries its title
            await notifications.notify_one(tx, svc, thread["author_id"], "thread_removed", actor_id=None,
                                           group_id=thread["group_id"],
                                           data={"title": thread["title"], "reason": reason})


async def get_thread(svc: Services, actor: Actor, thread_id: int):
    """A thread the reader may read, without its posts (thread_page brings those a page at a time)."""
    thread = await svc.cached_read(("thread", thread_id), lambda conn: store.get_thread(conn, thread_id),
                                   ignoring="library")
    policy.require(actor, Action.READ, thread)
    return thread


async def reply(svc: Services, actor: Actor, thread_id: int, *, body: str, parent_id: int | None = None):
    errors = FieldErrors()
    body = _body_field(errors, body)
    html = render_markdown(body) if not errors.fields else ""
    async with svc.db.write() as tx:
        thread = await store.get_thread(tx, thread_id)
        policy.require(actor, Action.REPLY, thread)
        errors.raise_if_any()
        await _count_post(svc, actor, body)
        depth = 0
        if parent_id is not None:
            parent = await store.get_post(tx, parent_id)
            if parent is None or parent["thread_id"] != thread_id:
                raise Invalid(fields={"parent_id": N_("Dit bericht bestaat niet in deze discussie.")})
            depth = parent["depth"] + 1
        now = svc.now()
        post_id = await store.insert_post(
            tx, thread_id=thread_id, parent_id=parent_id, depth=depth, author_id=actor.user_id,
            body=body, body_html=html, now=now, parent_place=parent["tree_path"] if parent_id is not None else None,
        )
        await store.touch_thread(tx, thread_id, poster_id=actor.user_id, now=now)
        await search_index.index_new_post(svc, tx, post_id)
        post = await store.get_post(tx, post_id)
        await store.append_event(tx, f"thread:{thread_id}", "post.created", {"post": post_out(post)}, now)
        if not is_comments(thread):  # a news item's or event's comments are not in the group's list
            # the group's list moves the thread up with its new count and last poster
            await store.append_event(tx, f"group:{thread['group_id']}", "thread.updated",
                                     {"thread": thread_out(await store.get_thread(tx, thread_id))}, now)
        await notifications.after_reply(tx, svc, actor, thread_id, post_id)
    return post


async def get_post(svc: Services, actor: Actor, post_id: int):
    async with svc.db.read() as conn:
        post = await store.get_post(conn, post_id)
    policy.require(actor, Action.READ, post)
    return post


async def edit_post(svc: Services, actor: Actor, post_id: int, *, body: str):
    errors = FieldErrors()
    body = _body_field(errors, body)
    html = render_markdown(body) if not errors.fields else ""
    async with svc.db.write() as tx:
        post = await store.get_post(tx, post_id)
        policy.require(actor, Action.EDIT_POST, post)
        errors.raise_if_any()
        if body == clean_text(post["body"]):  # unchanged (words stored before the cleaning, CRLF and all, too)
            return post
        now = svc.now()
        # The revision keeps the words being replaced, with who wrote them and when.
        await store.insert_revision(
            tx, post_id=post_id, body=post["body"], body_html=post["body_html"],
            author_id=post["author_id"], created_at=post["edited_at"] or post["created_at"],
        )
        await store.update_post_body(tx, post_id, body=body, body_html=html, now=now)
        await search_index.index_post(tx, post_id)
        if post["author_id"] != actor.user_id:  # a moderator changed someone else's words
            await audit.record(tx, svc, actor, "post.edit", target_type="post", target_id=post_id,
                               label=post["author_name"], group_id=post["group_id"])
        post = await store.get_post(tx, post_id)
        await store.append_event(tx, f"thread:{post['thread_id']}", "post.edited", {"post": post_out(post)}, now)
    return post


def told(thing, actor: Actor) -> bool:
    """Whether a moderator's action is news to the author: not when they did it themselves (nor
    when the account is gone). Then the reason is required; the confirmation pages ask the same."""
    return thing["author_id"] is not None and thing["author_id"] != actor.user_id


async def delete_post(svc: Services, actor: Actor, post_id: int, reason: str = "") -> None:
    """Its author removes a post, or a moderator does: then the author is told, with the reason
    (required then)."""
    async with svc.db.write() as tx:
        post = await store.get_post(tx, post_id)
        policy.require(actor, Action.DELETE_POST, post)
        errors = FieldErrors()
        reason = told_reason(errors, reason, told=told(post, actor))
        errors.raise_if_any()
        now = svc.now()
        await store.mark_post_deleted(tx, post_id, by=actor.user_id, now=now)
        await search_index.index_post(tx, post_id)
        await redact_post(tx, await store.get_post(tx, post_id))
        if post["author_id"] != actor.user_id:
            await audit.record(tx, svc, actor, "post.delete", target_type="post", target_id=post_id,
                               label=post["author_name"], group_id=post["group_id"], reason=reason,
                               data={"thread_id": post["thread_id"]})
            if told(post, actor):
                await notifications.notify_one(tx, svc, post["author_id"], "post_removed", actor_id=None,
                                               group_id=post["group_id"], thread_id=post["thread_id"],
                                               post_id=post_id, data={"reason": reason})
        await store.append_event(
            tx, f"thread:{post['thread_id']}", "post.deleted", {"post_id": post_id, "thread_id": post["thread_id"]}, now
        )


async def revisions(svc: Services, actor: Actor, post_id: int):
    """Earlier versions of a post, for whom the policy lets read them: anyone who may read a
    shown post (as on Discourse); of a hidden one only its author and moderators; of a removed
    one nobody."""
    async with svc.db.read() as conn:
        post = await store.get_post(conn, post_id)
        policy.require(actor, Action.VIEW_REVISIONS, post)
        return post, await store.revisions(conn, post_id)
