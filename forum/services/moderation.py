"""Reports and their handling: anyone logged in reports a post; the reports of one post form
one item in its group's queue (its moderators) and the site's (admins); resolving it
dismisses, hides, deletes or warns, tells the reporters the outcome, and is audited."""
from __future__ import annotations

from forum import policy
from forum.errors import Conflict, N_, NotFound, Unauthorized
from forum.policy import Action, Actor
from forum.services import Services, audit, discussions, notifications, search_index
from forum.services.checks import MAX_REASON, FieldErrors, choice_field, text_field, visible_text
from forum.store import moderation as store
from forum.store import news as news_store
from forum.store import threads as thread_store

REASONS = ("spam", "inappropriate", "off_topic", "other")
ACTIONS = {"dismiss": "dismissed", "hide": "hidden", "delete": "deleted", "warn": "warned"}
TOLD_AS = {"hide": "post_hidden", "delete": "post_removed", "warn": "warned"}  # what the author's notice says


async def report(svc: Services, actor: Actor, post_id: int, *, reason: str, text: str = "") -> int:
    """File a report; returns the queue item it joined. One report per person per open item."""
    errors = FieldErrors()
    choice_field(errors, "reason", reason, REASONS)
    text = text_field(errors, "text", text, max_len=1000, required=reason == "other", single_line=False)
    async with svc.db.write() as tx:
        post = await thread_store.get_post(tx, post_id)
        policy.require(actor, Action.READ, post)
        if not actor.active:
            raise Unauthorized()
        if post["deleted_at"] is not None:
            raise NotFound()
        if post["author_id"] == actor.user_id:
            raise Conflict(N_("U kunt uw eigen bericht niet melden."))
        policy.require(actor, Action.REPORT_POST, post)  # e.g. a hidden post: the page offers no report
        errors.raise_if_any()  # after the checks: a refused form must not tell more than a refusal
        await svc.limiter.hit("REPORT", actor.user_id)
        now = svc.now()
        item_id, opened = await store.open_item_for(tx, post_id, now)
        if not await store.add_report(tx, item_id=item_id, reporter_id=actor.user_id, reason=reason, text=text,
                                      now=now):
            raise Conflict(N_("U heeft dit bericht al gemeld."))
        if opened:  # the group's moderators hear of a post to look at once, not of every report on it
            await notifications.notify_moderators(tx, svc, post["group_id"], "report_new", actor_id=actor.user_id,
                                                  thread_id=post["thread_id"], post_id=post_id,
                                                  data={"item_id": item_id})
    return item_id


async def open_count(svc: Services, actor: Actor, group_id: int | None = None) -> int:
    """How many posts wait in the queues the actor handles (one group's, or all of theirs);
    0 for whoever handles none."""
    scope = await _scope(svc, actor)
    if scope is not None and group_id is not None:
        scope = scope & {group_id}
    if scope is not None and not scope:
        return 0
    groups = sorted(scope) if scope is not None else ([group_id] if group_id is not None else None)
    return await svc.cached_read(("open_reports", None if groups is None else tuple(groups)),
                                 lambda conn: store.open_count(conn, groups))


async def _scope(svc: Services, actor: Actor) -> set[int] | None:
    """The groups whose queues the actor handles (None: all, for admins)."""
    scope = policy.audit_groups(actor)  # who moderates what: the same scope as the audit log
    if scope is not None and policy.moderates_site_news(actor):  # reports on site news' comments
        scope = scope | set(await svc.cached_read(("site_group_ids",), news_store.site_group_ids))
    return scope


async def queue(svc: Services, actor: Actor, group_id: int | None = None):
    """Open items the actor may handle: admins all (or one group's), moderators their groups'."""
    scope = await _scope(svc, actor)
    if scope is None:
        groups = None if group_id is None else [group_id]
    elif not scope or (group_id is not None and group_id not in scope):
        raise NotFound()
    else:
        groups = [group_id] if group_id is not None else sorted(scope)
    async with svc.db.read() as conn:
        items = await store.open_items(conn, groups)
        reports = await store.reports_of(conn, [item["id"] for item in items])
    by_item: dict[int, list] = {}
    for row in reports:
        by_item.setdefault(row["item_id"], []).append(row)
    return [(item, by_item.get(item["id"], [])) for item in items]


async def resolve(svc: Services, actor: Actor, item_id: int, *, action: str, reason: str = "") -> str:
    errors = FieldErrors()
    choice_field(errors, "action", action, tuple(ACTIONS))
    reason = text_field(errors, "reason", reason, max_len=MAX_REASON, required=action in ("hide", "warn"),
                        single_line=False)
    async with svc.db.write() as tx:
        item = await store.item(tx, item_id)
        if item is None or not policy.can(actor, Action.MODERATE_GROUP, item):
            raise NotFound()  # an item outside one's groups does not exist for them
        # (an author who removed the post themselves meanwhile is not told a moderator did)
        told = item["author_id"] is not None and item["author_id"] != actor.user_id \
            and not (action == "delete" and item["deleted_at"] is not None)
        if action == "delete" and told and not visible_text(reason):
            errors.add("reason", N_("Geef een reden: de betrokkene krijgt bericht en leest die."))
        errors.raise_if_any()
        if item["status"] != "open":
            raise Conflict(N_("Deze melding is al afgehandeld."))
        now = svc.now()
        if action == "hide":
            await thread_store.hide_post(tx, item["post_id"], reason=reason, now=now)
        elif action == "delete" and item["deleted_at"] is None:
            await thread_store.mark_post_deleted(tx, item["post_id"], by=actor.user_id, now=now)
        if action in ("hide", "delete"):
            # its words leave the event log and the search index in this same transaction
            await search_index.index_post(tx, item["post_id"])
            await discussions.redact_post(tx, await thread_store.get_post(tx, item["post_id"]))
            await thread_store.append_event(tx, f"thread:{item['thread_id']}",
                                            "post.hidden" if action == "hide" else "post.deleted",
                                            {"post_id": item["post_id"], "thread_id": item["thread_id"]}, now)
        if action != "dismiss" and told:  # the author hears what happened, and why; from 'a moderator'
            await notifications.notify_one(tx, svc, item["author_id"], TOLD_AS[action], actor_id=None,
                                           group_id=item["group_id"], thread_id=item["thread_id"],
                                           post_id=item["post_id"], data={"reason": reason})
        await store.resolve(tx, item_id, status=ACTIONS[action], by=actor.user_id, reason=reason, now=now)
        for row in await store.reports_of(tx, [item_id]):
            await notifications.notify_one(tx, svc, row["reporter_id"], "report_resolved", actor_id=None,
                                           group_id=item["group_id"], thread_id=item["thread_id"],
                                           data={"action": action})
        await audit.record(tx, svc, actor, f"report.{action}", target_type="post", target_id=item["post_id"],
                           label=item["author_name"], group_id=item["group_id"], reason=reason)
    return ACTIONS[action]
