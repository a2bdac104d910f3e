"""News: editors publish the site's news, a group's moderators their group's. An item appears
at its publish time (the scheduler publishes what is due, with its events and notifications,
in one transaction), can be edited (each edit keeps the version it replaces), withdrawn and
put back. Its comments are an ordinary thread (threads.news_id): readable exactly while the
item is, with every reply, report and moderation rule of a discussion."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from forum import policy
from forum.errors import Invalid, N_, NotFound
from forum.markdown import render_markdown
from forum.policy import Action, Actor
from forum.services import Services, audit, groups, iso, notifications, search_index
from forum.services.checks import (MAX_BODY, MAX_TITLE, FieldErrors, alt_texts, choice_field, clean_text, keyset_cursor,
                                   parse_keyset_cursor, text_field)
from forum.store import groups as group_store
from forum.store import news as store
from forum.store import threads as thread_store

KINDS = ("news", "interview", "report", "blog")
SITE_VISIBILITIES = ("public", "members")
MAX_SUMMARY = 500
MAX_TAGS = 10
MAX_TAG = 40
PAGE_SIZE = 20
ENTRY_ZONE = ZoneInfo("Europe/Amsterdam")  # a time typed without an offset is Dutch time


def channel_of(news) -> str:
    """Where its live events go: the audience that may read it listens there."""
    if news["visibility"] == "group":
        return f"group:{news['group_id']}"
    return "site" if news["visibility"] == "public" else "members"


def state_of(news) -> str:
    if news["unpublished_at"] is not None:
        return "unpublished"
    return "published" if news["published_at"] is not None else "scheduled"


def news_out(news) -> dict:
    """An item as every reader of it sees it (nothing personal: it goes into live events)."""
    return {
        "id": news["id"], "title": news["title"], "summary": news["summary"], "body_html": news["body_html"],
        "kind": news["kind"], "tags": json.loads(news["tags_json"] or "[]"),
        "group": {"id": news["group_id"], "name": news["group_name"]} if news["group_id"] else None,
        "visibility": news["visibility"], "state": state_of(news),
        "publish_at": news["publish_at"],
        "published_at": news["publish_at"] if state_of(news) == "published" else None,
        "author": {"id": news["author_id"], "display_name": news["author_name"]},
        "thread_id": news["thread_id"], "comment_count": news["comment_count"],
        "created_at": news["created_at"], "edited_at": news["edited_at"], "url": f"/news/{news['id']}",
    }


def removed_news_event(news_id: int) -> dict:
    return {"news_id": news_id, "redacted": True}


# --- fields ------------------------------------------------------------------------------------

def parse_moment(errors: FieldErrors, name: str, value) -> str | None:
    """ISO 8601 date and time; without an offset it is taken as Dutch time. None if empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors.add(name, N_("Gebruik een datum en tijd als 2026-12-02T09:00."))
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.add(name, N_("Gebruik een datum en tijd als 2026-12-02T09:00."))
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ENTRY_ZONE)
    # checked before converting: year 1 or 9999 with an offset would leave datetime's range
    if not 2000 <= moment.year <= 9998:
        errors.add(name, N_("Gebruik een datum en tijd als 2026-12-02T09:00."))
        return None
    return iso(moment)


def tags_field(errors: FieldErrors, value) -> list[str]:
    """A list of words, or one text with commas (the form). Lower-cased, each once."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        errors.add("tags", N_("Geef de trefwoorden als een lijst van woorden."))
        return []
    tags = list(dict.fromkeys(" ".join(clean_text(tag).split()).lower() for tag in value))
    tags = [tag for tag in tags if tag]
    if len(tags) > MAX_TAGS:
        errors.add("tags", N_("Hoogstens %(max)d trefwoorden."), max=MAX_TAGS)
    elif any(len(tag) > MAX_TAG or "," in tag for tag in tags):
        errors.add("tags", N_("Een trefwoord is hoogstens %(max)d tekens."), max=MAX_TAG)
    return tags


def _content_fields(errors: FieldErrors, *, title, summary, body, kind, tags):
    title = text_field(errors, "title", title if isinstance(title, str) else "", max_len=MAX_TITLE)
    summary = text_field(errors, "summary", summary if isinstance(summary, str) else "", max_len=MAX_SUMMARY,
                         required=False)
    body = text_field(errors, "body", body if isinstance(body, str) else "", max_len=MAX_BODY, single_line=False)
    alt_texts(errors, "body", body)
    choice_field(errors, "kind", kind, KINDS)
    return title, summary, body, tags_field(errors, tags)


def encode_cursor(news) -> str:
    return keyset_cursor(news["publish_at"], news["id"])


decode_cursor = parse_keyset_cursor


# --- reading -----------------------------------------------------------------------------------

async def get(svc: Services, actor: Actor, news_id: int):
    news = await svc.cached_read(("news", news_id), lambda conn: store.by_id(conn, news_id))
    policy.require(actor, Action.READ_NEWS, news)
    return news


async def by_thread(svc: Services, thread_id: int):
    """The news item whose comments a thread holds (None for a discussion)."""
    return await svc.cached_read(("news_of_thread", thread_id), lambda conn: store.by_thread(conn, thread_id))


async def listing(svc: Services, actor: Actor, *, group_id: int | None = None, tag: str | None = None,
                  kind: str | None = None, cursor: str | None = None, limit: int = PAGE_SIZE,
                  shown_only: bool = False, site_only: bool = False):
    """(items, next cursor): what the viewer may read, newest first; its editors also see what
    is scheduled or withdrawn unless shown_only."""
    if kind is not None and kind not in KINDS:
        raise Invalid(fields={"kind": (N_("Kies een van de mogelijkheden: %(choices)s."), {"choices": ", ".join(KINDS)})})
    tag = " ".join(tag.split()).lower() if tag else None
    if tag is not None and len(tag) > MAX_TAG:
        raise Invalid(fields={"tag": (N_("Een trefwoord is hoogstens %(max)d tekens."), {"max": MAX_TAG})})
    keyset = decode_cursor(cursor)
    where, params = policy.readable_news_sql(actor, shown_only=shown_only)
    async with svc.db.read() as conn:
        rows = await store.listing(conn, where, params, group_id=group_id, tag=tag, kind=kind, before=keyset,
                                   limit=limit + 1, site_only=site_only)
    return rows[:limit], encode_cursor(rows[limit - 1]) if len(rows) > limit else None


async def popular_tags(svc: Services, actor: Actor):
    where, params = policy.readable_news_sql(actor, shown_only=True)
    async with svc.db.read() as conn:
        return await store.popular_tags(conn, where, params)


async def revisions(svc: Services, actor: Actor, news_id: int):
    news = await get(svc, actor, news_id)
    async with svc.db.read() as conn:
        return news, await store.revisions(conn, news_id)


async def publishable_groups(svc: Services, actor: Actor):
    """Groups whose news this actor may publish (for the form's picker)."""
    return await groups.groups_where(svc, actor, Action.PUBLISH_NEWS)


# --- writing -----------------------------------------------------------------------------------

async def create(svc: Services, actor: Actor, *, title, summary="", body, kind="news", tags=(),
                 group_id=None, visibility=None, publish_at=None):
    errors = FieldErrors()
    title, summary, body, tags = _content_fields(errors, title=title, summary=summary, body=body, kind=kind,
                                                 tags=list(tags) if isinstance(tags, tuple) else tags)
    moment = parse_moment(errors, "publish_at", publish_at)
    group = await groups.target_group(svc, actor, group_id)
    policy.require(actor, Action.PUBLISH_NEWS, group)
    visibility = visibility or ("group" if group else "public")
    if group is not None and visibility != "group":
        errors.add("visibility", N_("Nieuws van een groep volgt de zichtbaarheid van die groep."))
    elif group is None:
        choice_field(errors, "visibility", visibility, SITE_VISIBILITIES)
    errors.raise_if_any()
    html = render_markdown(body)
    async with svc.db.write() as tx:
        now = svc.now()
        publish_at = moment or now
        thread_group = group["id"] if group else await store.site_group_id(tx, visibility)
        thread_id = await store.insert_comment_thread(tx, group_id=thread_group, author_id=actor.user_id,
                                                      title=title, now=now)
        news_id = await store.insert(tx, group_id=group["id"] if group else None, thread_id=thread_id,
                                     author_id=actor.user_id, title=title, summary=summary, body=body,
                                     body_html=html, kind=kind, visibility=visibility, publish_at=publish_at, now=now)
        await store.link_thread(tx, thread_id, news_id)
        await store.set_tags(tx, news_id, tags)
        await audit.record(tx, svc, actor, "news.create", target_type="news", target_id=news_id, label=title,
                           group_id=group["id"] if group else None)
        if publish_at <= now:
            await _publish(tx, svc, news_id)
        else:
            await search_index.index_news(tx, news_id)
        return await store.by_id(tx, news_id)


async def _publish(tx, svc: Services, news_id: int) -> None:
    """It appears: comments open, the index and the live channels hear of it, followers are told."""
    now = svc.now()
    first_time = await store.mark_published(tx, news_id, now)
    news = await store.by_id(tx, news_id)
    await store.set_thread_shown(tx, news["thread_id"], True, now)
    await search_index.index_news(tx, news_id)
    await search_index.index_thread(tx, news["thread_id"])
    await thread_store.append_event(tx, channel_of(news), "news.published", {"news": news_out(news)}, now)
    if first_time:
        await notifications.after_news_published(tx, svc, news)


async def _withdraw(tx, svc: Services, news, *, scheduled: bool = False) -> None:
    """It disappears for its readers: the live log stops replaying it, its comments close
    (their thread reads as removed) and it leaves the index for all but its editors."""
    now = svc.now()
    if scheduled:
        await store.mark_scheduled(tx, news["id"])
    else:
        await store.mark_unpublished(tx, news["id"], now)
    await store.set_thread_shown(tx, news["thread_id"], False, now)
    await store.redact_news_events(tx, news["id"], news["group_id"], removed_news_event(news["id"]))
    await thread_store.redact_thread_channel(tx, news["thread_id"], {"thread_id": news["thread_id"], "redacted": True})
    await thread_store.append_event(tx, channel_of(news), "news.removed", {"news_id": news["id"]}, now)
    await thread_store.append_event(tx, f"thread:{news['thread_id']}", "thread.removed",
                                    {"thread_id": news["thread_id"]}, now)
    await search_index.index_news(tx, news["id"])
    await search_index.index_thread(tx, news["thread_id"])


async def update(svc: Services, actor: Actor, news_id: int, *, title=None, summary=None, body=None, kind=None,
                 tags=None, visibility=None, publish_at=None, published: bool | None = None):
    """Change what is given. `published` false withdraws it, true puts it back (now, or at
    its publish time if that is still ahead); a publish time can change while it waits."""
    async with svc.db.write() as tx:
        news = await store.by_id(tx, news_id)
        policy.require(actor, Action.EDIT_NEWS, news)
        errors = FieldErrors()
        old_tags = json.loads(news["tags_json"])
        new = dict(zip(("title", "summary", "body", "tags"), _content_fields(
            errors, title=news["title"] if title is None else title,
            summary=news["summary"] if summary is None else summary, body=news["body"] if body is None else body,
            kind=news["kind"] if kind is None else kind, tags=old_tags if tags is None else tags)))
        new["kind"] = news["kind"] if kind is None else kind
        new["visibility"] = news["visibility"] if visibility is None else visibility
        if news["group_id"] is not None and new["visibility"] != "group":
            errors.add("visibility", N_("Nieuws van een groep volgt de zichtbaarheid van die groep."))
        elif news["group_id"] is None:
            choice_field(errors, "visibility", new["visibility"], SITE_VISIBILITIES)
        moment = parse_moment(errors, "publish_at", publish_at)
        if moment is not None and moment != news["publish_at"] and state_of(news) == "published":
            errors.add("publish_at", N_("Een gepubliceerd bericht houdt zijn publicatietijd."))
        if published is not None and not isinstance(published, bool):
            errors.add("published", N_("Kies ja of nee."))
        errors.raise_if_any()
        now = svc.now()
        new["publish_at"] = moment or news["publish_at"]
        if published is True and state_of(news) == "unpublished" and new["publish_at"] <= now:
            new["publish_at"] = now  # back on the front page now, not at its first date
        content_changed = any(new[key] != (old_tags if key == "tags" else news[key])
                              for key in ("title", "summary", "body", "tags"))
        changed = content_changed or any(new[key] != news[key] for key in ("kind", "visibility", "publish_at"))
        if not changed and published in (None, state_of(news) != "unpublished"):
            return news
        if content_changed and news["announced_at"] is not None:
            # versions from before it first appeared are drafts: readers never saw them, and
            # an embargoed text must not come out through its history
            await store.insert_revision(tx, news)
        html = news["body_html"] if new["body"] == news["body"] else render_markdown(new["body"])
        thread_group = news["group_id"] or await store.site_group_id(tx, new["visibility"])
        if new["visibility"] != news["visibility"] and state_of(news) == "published":
            await _withdraw(tx, svc, news, scheduled=True)  # its old audience stops hearing of it
            news = await store.by_id(tx, news_id)
        await store.update(tx, news_id, title=new["title"], summary=new["summary"], body=new["body"], body_html=html,
                           kind=new["kind"], visibility=new["visibility"], publish_at=new["publish_at"],
                           thread_group_id=thread_group, editor_id=actor.user_id, now=now)
        await store.set_tags(tx, news_id, new["tags"])
        state = state_of(news)
        if published is False and state != "unpublished":
            await _withdraw(tx, svc, news)
            await audit.record(tx, svc, actor, "news.unpublish", target_type="news", target_id=news_id,
                               label=new["title"], group_id=news["group_id"])
        elif (published is True and state == "unpublished") or state == "scheduled":
            if state == "unpublished":
                await store.mark_scheduled(tx, news_id)
            if new["publish_at"] <= now:
                await _publish(tx, svc, news_id)
        elif state == "published":
            news = await store.by_id(tx, news_id)
            await thread_store.append_event(tx, channel_of(news), "news.updated", {"news": news_out(news)}, now)
        if content_changed:
            await audit.record(tx, svc, actor, "news.edit", target_type="news", target_id=news_id,
                               label=new["title"], group_id=news["group_id"])
        await search_index.index_news(tx, news_id)
        return await store.by_id(tx, news_id)


async def delete(svc: Services, actor: Actor, news_id: int) -> None:
    async with svc.db.write() as tx:
        news = await store.by_id(tx, news_id)
        policy.require(actor, Action.EDIT_NEWS, news)
        if state_of(news) != "unpublished":
            await _withdraw(tx, svc, news)
        await store.delete(tx, news_id)
        await search_index.index_news(tx, news_id)
        await audit.record(tx, svc, actor, "news.delete", target_type="news", target_id=news_id,
                           label=news["title"], group_id=news["group_id"])


async def publish_due(svc: Services) -> int:
    """Publish what has reached its time; each item in its own transaction."""
    async with svc.db.read() as conn:
        due = await store.due(conn, svc.now())
    for news_id in due:
        async with svc.db.write() as tx:
            news = await store.by_id(tx, news_id)  # still waiting? an editor may have acted since
            if news and state_of(news) == "scheduled" and news["publish_at"] <= svc.now():
                await _publish(tx, svc, news_id)
    return len(due)


async def next_due_at(svc: Services) -> str | None:
    async with svc.db.read() as conn:
        return await store.next_due_at(conn)


FEED_SIZE = 30


async def site_feed(svc: Services):
    """The site's public news, as anyone may read it: a feed reader is nobody in particular,
    whatever cookie it sends along."""
    items, _ = await listing(svc, policy.VISITOR, shown_only=True, site_only=True, limit=FEED_SIZE)
    return items


async def group_feed(svc: Services, group_id: int):
    """(group, news, new threads) of a group everyone may read; other groups have no feed."""
    visitor = policy.VISITOR
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    if group is None or not policy.can(visitor, Action.READ, group):  # site groups too: the policy says no
        raise NotFound()
    items, _ = await listing(svc, visitor, group_id=group_id, shown_only=True, limit=FEED_SIZE)
    async with svc.db.read() as conn:
        threads = await store.new_threads(conn, group_id, FEED_SIZE)
    return group, items, threads
