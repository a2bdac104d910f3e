"""Notifications: who is told what, at which level, in the app (live on user:ID) and by mail.

A reply or a new thread writes a durable job in its own transaction; the scheduler then fans
it out in chunks, each chunk one transaction that also moves the job's cursor, so a crash
repeats nothing and loses nothing. Membership news (requests, decisions, invitations, roles)
reaches few people and is written at once, with the change. What a notification shows is
judged by the policy when it is shown or mailed, never only when it was made.
"""
from __future__ import annotations

import json
import logging
import re

from forum import policy
from forum.errors import BadRequest, Invalid, N_, Unauthorized
from forum.policy import Action, Actor
from forum.services import Services
from forum.services.notification_text import CODE_RE, note_out
from forum.store import agenda as agenda_store
from forum.store import groups as group_store
from forum.store import news as news_store
from forum.store import notifications as store
from forum.store import threads as thread_store

log = logging.getLogger(__name__)

THREAD_LEVELS = ("watching", "normal", "muted")
GROUP_LEVELS = ("watching", "new_threads", "normal", "muted")
FOLDING_KINDS = ("watched_post", "reply")       # many posts in one thread make one notification
MENTION_RE = re.compile(r"(?<![\w@/.])@([a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?)\b", re.IGNORECASE)
MAX_MENTIONS = 20
FANOUT_CHUNK = 1000
PAGE_SIZE = 30


# --- writing: called inside the transaction of the change ------------------------------------

def mentioned_handles(body: str) -> list[str]:
    handles = dict.fromkeys(match.lower() for match in MENTION_RE.findall(CODE_RE.sub(" ", body)))
    return list(handles)[:MAX_MENTIONS]


async def after_thread_started(tx, svc: Services, actor: Actor, thread_id: int, post_id: int) -> None:
    await store.follow_thread(tx, actor.user_id, thread_id)
    await store.add_job(tx, "thread", {"post_id": post_id}, svc.now())


async def after_news_published(tx, svc: Services, news) -> None:
    """A news item appeared: its group's followers and whoever it mentions are told, by a
    durable job like a new thread's."""
    await store.follow_thread(tx, news["author_id"], news["thread_id"])
    await store.add_job(tx, "news", {"news_id": news["id"]}, svc.now())


async def after_event_appeared(tx, svc: Services, event) -> None:
    """A group's event is on its agenda: the group's followers of new discussions hear of it,
    by a durable job like a new thread's (its organiser follows its comments)."""
    await store.follow_thread(tx, event["organiser_id"], event["thread_id"])
    if event["group_id"] is not None:
        await store.add_job(tx, "event", {"event_id": event["id"]}, svc.now())


async def after_reply(tx, svc: Services, actor: Actor, thread_id: int, post_id: int) -> None:
    await store.follow_thread(tx, actor.user_id, thread_id)
    await store.add_job(tx, "post", {"post_id": post_id}, svc.now())


def _mail_due(svc: Services, setting: str) -> str | None:
    if setting == "immediately":
        return svc.now()
    if setting == "batched":
        return svc.later(minutes=svc.config.notify_mail_minutes)
    return None


async def notify_one(tx, svc: Services, user_id: int, kind: str, *, actor_id: int | None, group_id: int,
                     data: dict | None = None, thread_id: int | None = None, post_id: int | None = None,
                     once_unread: bool = False) -> None:
    """A notification for one person (membership news, an event's news), written with the
    change that causes it. once_unread: not again while the same one (kind, actor, group,
    thread) waits unread, so repeating an action (asking to join, leaving, asking again; a lock
    toggled) cannot flood someone's bell and mail."""
    user = await store.mail_settings(tx, user_id)
    if user is None or user["status"] != "active":
        return
    if once_unread and await store.has_unread(tx, user_id, kind, actor_id=actor_id, group_id=group_id,
                                              thread_id=thread_id):
        return
    now = svc.now()
    await store.insert_many(tx, [(user_id, kind, actor_id, group_id, thread_id, post_id, json.dumps(data or {}), now, now,
                                  _mail_due(svc, user["email_notifications"]))])
    await _push(tx, svc, [user_id])


async def notify_moderators(tx, svc: Services, group_id: int, kind: str, *, actor_id: int, **about) -> None:
    for moderator in await store.moderators_of(tx, group_id):
        if moderator["user_id"] != actor_id:
            await notify_one(tx, svc, moderator["user_id"], kind, actor_id=actor_id, group_id=group_id, **about)


async def _push(tx, svc: Services, user_ids: list[int]) -> None:
    """notification.created events for the newest notification of each user, with their
    unread counts, in the same transaction."""
    if not user_ids:
        return
    await _events_for(tx, svc, await store.newest_of(tx, user_ids), await store.unread_counts(tx, user_ids))


async def _events_for(tx, svc: Services, notes: list[dict], counts: dict[int, int]) -> None:
    """The user channel's backlog is replayed later, perhaps after the reader lost access: its
    events carry ids and counts only, and the client fetches the words through the API, which
    judges access when they are shown."""
    now = svc.now()
    await store.insert_events(tx, [
        (f"user:{note['user_id']}", "notification.created",
         json.dumps({"notification": {"id": note["id"]}, "unread_count": counts.get(note["user_id"], 0)},
                    separators=(",", ":")), now)
        for note in notes])


async def _notify_about_post(tx, svc: Services, recipients, *, kind: str, post, thread) -> None:
    """Write (or fold into unread ones) the notifications of these recipients about a post,
    and their live events. Set-based: a few statements whatever the number of recipients."""
    if not recipients:
        return
    now = svc.now()
    user_ids = [r["user_id"] for r in recipients]
    folds = await store.unread_folds(tx, thread_id=thread["id"], kind=kind, user_ids=user_ids) \
        if kind in FOLDING_KINDS else {}
    due = {r["user_id"]: _mail_due(svc, r["email_notifications"]) for r in recipients}
    await store.insert_many(tx, [(uid, kind, post["author_id"], thread["group_id"], thread["id"], post["id"], "{}",
                                  now, now, due[uid]) for uid in user_ids if uid not in folds])
    await store.fold_many(tx, [(post["author_id"], now, due[uid], folds[uid]["id"]) for uid in folds])
    counts = await store.unread_counts(tx, user_ids)
    new_ids = await store.ids_for_post(tx, post_id=post["id"], kinds=(kind,), user_ids=user_ids)
    ids = [folds[uid]["id"] if uid in folds else new_ids[uid] for uid in user_ids if uid in folds or uid in new_ids]
    await _events_for(tx, svc, await store.by_ids(tx, ids), counts)


def _muted(row) -> bool:
    level = row["thread_level"] or row["group_level"] or "normal"
    return level == "muted"


async def _targeted(tx, svc: Services, post, thread) -> set[int]:
    """Mentions and the reply to someone's post: told whatever their level, unless muted."""
    reads = policy.account_reads_group_sql("u", "g")
    mentioned = {row["id"] for row in await store.members_by_handles(tx, thread["group_id"], mentioned_handles(post["body"]))}
    mentioned.discard(post["author_id"])
    replied_to = set()
    if post["parent_id"]:
        parent = await thread_store.get_post(tx, post["parent_id"])
        if parent and parent["deleted_at"] is None and parent["author_id"] != post["author_id"]:
            replied_to = {parent["author_id"]} - mentioned
    rows = await store.readers_with_levels(tx, reads, user_ids=mentioned | replied_to, thread_id=thread["id"],
                                           group_id=thread["group_id"])
    rows = [row for row in rows if not _muted(row)]
    await _notify_about_post(tx, svc, [r for r in rows if r["user_id"] in mentioned], kind="mention",
                             post=post, thread=thread)
    await _notify_about_post(tx, svc, [r for r in rows if r["user_id"] in replied_to], kind="reply",
                             post=post, thread=thread)
    return mentioned | replied_to


async def _fanout_step(tx, svc: Services, job_id: int) -> bool:
    """One chunk of a post's (or new thread's) fan-out; True when the job is finished. The job
    is read inside the transaction: whoever gets the writer first does the chunk, once."""
    job = await store.job(tx, job_id)
    if job is None:
        return True
    payload = json.loads(job["payload"])
    if job["kind"] == "news":
        return await _news_fanout_step(tx, svc, job, payload)
    if job["kind"] == "event":
        return await _event_fanout_step(tx, svc, job, payload)
    post = await thread_store.get_post(tx, payload["post_id"])
    thread = await thread_store.get_thread(tx, post["thread_id"]) if post else None
    if post is None or thread is None or post["deleted_at"] is not None:
        await store.delete_job(tx, job["id"])
        return True
    if "told" not in payload:
        payload["told"] = sorted(await _targeted(tx, svc, post, thread))
    reads = policy.account_reads_group_sql("u", "g")
    if job["kind"] == "thread":
        rows = await store.group_watchers(tx, reads, group_id=thread["group_id"], author_id=post["author_id"],
                                          after_user_id=payload.get("after", 0), limit=FANOUT_CHUNK)
        kind = "new_thread"
    else:
        rows = await store.thread_watchers(tx, reads, thread_id=thread["id"], group_id=thread["group_id"],
                                           author_id=post["author_id"], after_user_id=payload.get("after", 0),
                                           limit=FANOUT_CHUNK)
        kind = "watched_post"
    told = set(payload["told"])
    await _notify_about_post(tx, svc, [r for r in rows if r["user_id"] not in told], kind=kind, post=post,
                             thread=thread)
    return await _chunk_done(tx, job, payload, rows)


async def _chunk_done(tx, job, payload: dict, rows) -> bool:
    """After one chunk of recipients: the job ends with a short chunk, or remembers where the
    next one starts (so a restart resumes there)."""
    if len(rows) < FANOUT_CHUNK:
        await store.delete_job(tx, job["id"])
        return True
    payload["after"] = rows[-1]["user_id"]
    await store.save_job(tx, job["id"], payload)
    return False


async def _news_fanout_step(tx, svc: Services, job, payload: dict) -> bool:
    """One chunk of a news item's fan-out: mentions in its text first, then (group news) the
    group's followers of new threads. Told only while it is still published and readable."""
    news = await news_store.by_id(tx, payload["news_id"])
    thread = await thread_store.get_thread(tx, news["thread_id"]) if news else None
    if thread is None or news["published_at"] is None or news["unpublished_at"] is not None:
        await store.delete_job(tx, job["id"])
        return True
    reads = policy.account_reads_group_sql("u", "g")
    if "told" not in payload:
        mentioned = {row["id"] for row in await store.members_by_handles(
            tx, thread["group_id"], mentioned_handles(news["body"]))} - {news["author_id"]}
        rows = await store.readers_with_levels(tx, reads, user_ids=mentioned, thread_id=thread["id"],
                                               group_id=thread["group_id"])
        rows = [row for row in rows if not _muted(row)]
        await _notify_about_news(tx, svc, rows, kind="mention", news=news, thread=thread)
        payload["told"] = sorted(row["user_id"] for row in rows)
    rows = []
    if news["group_id"] is not None:
        rows = await store.group_watchers(tx, reads, group_id=news["group_id"], author_id=news["author_id"],
                                          after_user_id=payload.get("after", 0), limit=FANOUT_CHUNK)
        told = set(payload["told"])
        await _notify_about_news(tx, svc, [r for r in rows if r["user_id"] not in told], kind="news",
                                 news=news, thread=thread)
    return await _chunk_done(tx, job, payload, rows)


async def _event_fanout_step(tx, svc: Services, job, payload: dict) -> bool:
    """One chunk of a new group event's fan-out: told only while it is still on the agenda."""
    event = await agenda_store.by_id(tx, payload["event_id"])
    if event is None or event["status"] != "scheduled":
        await store.delete_job(tx, job["id"])
        return True
    reads = policy.account_reads_group_sql("u", "g")
    rows = await store.group_watchers(tx, reads, group_id=event["group_id"], author_id=event["organiser_id"],
                                      after_user_id=payload.get("after", 0), limit=FANOUT_CHUNK)
    if rows:
        now = svc.now()
        await store.insert_many(tx, [(r["user_id"], "event_new", event["organiser_id"], event["group_id"],
                                      event["thread_id"], None, json.dumps({"event_id": event["id"]}), now, now,
                                      _mail_due(svc, r["email_notifications"])) for r in rows])
        await _push(tx, svc, [r["user_id"] for r in rows])
    return await _chunk_done(tx, job, payload, rows)


async def _notify_about_news(tx, svc: Services, recipients, *, kind: str, news, thread) -> None:
    if not recipients:
        return
    now = svc.now()
    await store.insert_many(tx, [(r["user_id"], kind, news["author_id"], thread["group_id"], thread["id"], None,
                                  json.dumps({"news_id": news["id"]}), now, now,
                                  _mail_due(svc, r["email_notifications"])) for r in recipients])
    await _push(tx, svc, [r["user_id"] for r in recipients])


async def run_jobs(svc: Services) -> int:
    """Fan out what replies and new threads left to do; returns the jobs finished."""
    async with svc.db.read() as conn:
        jobs = await store.next_jobs(conn)
    finished = 0
    for job in jobs:
        try:
            done = False
            while not done:  # each chunk in its own transaction, from the cursor the last one saved
                async with svc.db.write() as tx:
                    done = await _fanout_step(tx, svc, job["id"])
            finished += 1
        except Exception as error:  # the job stays, to be tried again on the next round
            log.exception("notification job %s failed", job["id"])
            async with svc.db.write() as tx:
                await store.job_failed(tx, job["id"], repr(error))
    return finished


# --- levels ------------------------------------------------------------------------------------

async def set_thread_level(svc: Services, actor: Actor, thread_id: int, level: str) -> str:
    if level not in THREAD_LEVELS:
        raise Invalid(fields={"level": N_("Kies watching, normal of muted.")})
    async with svc.db.write() as tx:
        thread = await thread_store.get_thread(tx, thread_id)
        policy.require(actor, Action.FOLLOW, thread)
        await store.set_thread_level(tx, actor.user_id, thread_id, level)
    return level


async def set_group_level(svc: Services, actor: Actor, group_id: int, level: str) -> str:
    if level not in GROUP_LEVELS:
        raise Invalid(fields={"level": N_("Kies watching, new_threads, normal of muted.")})
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.FOLLOW, group)
        await store.set_group_level(tx, actor.user_id, group_id, level)
    return level


# --- reading -----------------------------------------------------------------------------------

async def page(svc: Services, actor: Actor, *, unread_only: bool = False, before: int | None = None,
               limit: int = PAGE_SIZE):
    """(notifications as clients see them, unread count, next cursor)."""
    if not actor.active:
        raise Unauthorized()
    async with svc.db.read() as conn:
        rows = await store.page_for(conn, actor.user_id, unread_only=unread_only, before=before, limit=limit + 1)
        unread = await store.unread_count(conn, actor.user_id)
    shown = [note_out(row, actor) for row in rows[:limit]]
    return shown, unread, (rows[limit - 1]["id"] if len(rows) > limit else None)


async def mark_read(svc: Services, actor: Actor, ids: list[int] | None) -> int:
    """Mark these (or, with None, all) of the actor's notifications read; every tab is told."""
    if not actor.active:
        raise Unauthorized()
    async with svc.db.write() as tx:
        changed = await store.mark_read(tx, actor.user_id, ids, svc.now())
        unread = await store.unread_count(tx, actor.user_id)
        if changed:
            await thread_store.append_event(tx, f"user:{actor.user_id}", "notification.read",
                                            {"unread_count": unread}, svc.now())
    return unread


async def mention_candidates(svc: Services, actor: Actor, group_id: int, query: str, limit: int = 8):
    """People the writer may mention in this group: its members (for autocomplete)."""
    if len(query) > 40:
        raise BadRequest(N_("De zoekterm is te lang."))
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
        policy.require(actor, Action.SUGGEST_MENTIONS, group)
        rows = await store.mention_candidates(conn, group_id, query.lstrip("@"), limit)
    return [row for row in rows if row["id"] != actor.user_id]
