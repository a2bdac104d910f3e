"""Pages: the home page (Actueel), a thread as a tree or in time order, starting threads,
replying, editing and removing posts, and a post's earlier versions."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from forum import policy
from forum.errors import BadRequest, Conflict, N_, NotFound, ServiceError
from forum.i18n import current_locale, gettext
from forum.keys import actor_key, page_ignores_key, services_key
from forum.policy import Action
from forum.services import discussions, groups, live, news as news_service, reading, thread_pages
from forum.web.api import id_query, int_param, parse_id
from forum.web.pages import form_of, my_groups, news_channels, redirect, render, rerender
from forum.web.fragment_cache import fragment_cache_key
from forum.web.attachments import MAX_TEXT_BYTES, form_with_attachment, text_fields_of
from forum.web.templating import fragment, when

INDENT_CAP = 6  # deeper replies stay at this indent, with an "in reply to NAME" link


@dataclass
class ShownPost:
    post: object
    indent: int
    reply_to: object | None  # the parent post, named when the page does not show it under its parent
    article: Markup | None = None
    id: int = 0
    removed: bool = False
    more: tuple | None = None  # after this post: (root id, replies not shown, the first of them)


def with_articles(request: web.Request, shown: list[ShownPost], link_of) -> list[ShownPost]:
    """Render each post's place, header and words once per version and reuse them for every
    reader: the cache key is every input of the fragment, so an edit, a removal or a new
    display name simply makes a new entry."""
    for item in shown:
        p, parent = item.post, item.reply_to
        item.article = fragment(
            request, "post_article.html", indent=item.indent, id=p["id"], parent_id=p["parent_id"], depth=p["depth"],
            author_id=p["author_id"], author_name=p["author_name"], author_photo=p.get("author_photo"),
            created_at=p["created_at"],
            edited_at=p["edited_at"], deleted_at=p["deleted_at"], body_html=p["body_html"], hidden_at=p["hidden_at"],
            reply_to_id=parent["id"] if parent else None, reply_to_name=parent["author_name"] if parent else None,
            reply_to_href=link_of(parent["id"]) if parent else None)
        item.id = p["id"]
        item.removed = p["deleted_at"] is not None or p["hidden_at"] is not None
    return shown


def shown_posts(request: web.Request, page: thread_pages.PostsPage, page_url: str) -> list[ShownPost]:
    """The page's posts in reading order with their articles, shared by every reader while the
    page is the same object (Services.cached_read hands out one per version, so this is
    reused until the next write). Nothing per reader is kept on these objects."""
    on_page = {post["id"] for post in page.posts}
    view = "?view=chronological&" if page.view == thread_pages.CHRONOLOGICAL else "?"

    def link_of(post_id: int) -> str:  # a post named here: on this page, or on the page that holds it
        return f"#post-{post_id}" if post_id in on_page else f"{page_url}{view}post={post_id}#post-{post_id}"

    return request.app[fragment_cache_key].assembled(
        ("thread", page.view, page_url, current_locale()), (page,),
        lambda: with_articles(request, in_time_order(page) if page.view == thread_pages.CHRONOLOGICAL
                              else as_tree(page), link_of))


def as_tree(page: thread_pages.PostsPage) -> list[ShownPost]:
    """Tree order (the page's posts come sorted by their place): each post under its parent,
    indented up to INDENT_CAP; a post whose parent is elsewhere or too deep to show names it."""
    by_id = {post["id"]: post for post in page.posts}
    shown = []
    for post in page.posts:
        parent = by_id.get(post["parent_id"])
        # (on a page of one post's replies, that post is named above the list once)
        named = post["depth"] > INDENT_CAP or (post["parent_id"] is not None and parent is None and
                                               not (page.under is not None and post["parent_id"] == page.under["id"]))
        shown.append(ShownPost(post, min(post["depth"], INDENT_CAP),
                               (parent or page.parents.get(post["parent_id"])) if named else None))
    last_of_root: dict[int, int] = {}
    for n, item in enumerate(shown):
        post = item.post
        last_of_root[post["id"] if post["parent_id"] is None else int(post["tree_path"][:8], 16)] = n
    for root_id, (hidden, first_hidden) in page.more.items():
        shown[last_of_root[root_id]].more = (root_id, hidden, first_hidden)
    return shown


def in_time_order(page: thread_pages.PostsPage) -> list[ShownPost]:
    by_id = {post["id"]: post for post in page.posts}
    return [ShownPost(post, 0, by_id.get(post["parent_id"]) or page.parents.get(post["parent_id"]))
            for post in page.posts]


HOME_NEWS = 5


async def home(request: web.Request) -> web.Response:
    """Actueel: the latest news the viewer may read, the active discussions, their groups."""
    actor, svc = request[actor_key], request.app[services_key]
    rows = await groups.list_groups(svc, actor)
    mine = my_groups(actor, rows)
    last_event_id = await live.last_event_id(svc)  # before the lists: they are at least this new
    latest, more = await news_service.listing(svc, actor, limit=HOME_NEWS, shown_only=True)
    return render(request, "home.html", {
        "news": latest, "more_news": more is not None,
        "recent": await discussions.recent_threads(svc, actor),
        "my_groups": mine,
        "proeftuinen": [g for g in rows if g["kind"] == "proeftuin"],
        "channels": news_channels(actor, mine), "last_event_id": last_event_id,
    })


def page_query(request: web.Request) -> dict:
    """Which page of a thread the address asks for: ?view=chronological, ?page=N, ?under=ROOT
    (a root's replies past the first), ?post=ID or ?reply_to=ID (the page that holds that post)."""
    view = thread_pages.CHRONOLOGICAL if request.query.get("view") == "chronological" else thread_pages.TREE
    post_id = id_query(request, "post")
    if post_id is None:
        post_id = parse_id(request.query.get("reply_to", ""))  # a stale reply link still opens the thread
    return {"view": view, "number": id_query(request, "page") or 1, "under_id": id_query(request, "under"),
            "post_id": post_id}


async def posts_context(request: web.Request, thread_id: int, *, reply_to: str, values: dict | None = None,
                        news=None, open_it: bool = True) -> dict:
    """The thread's page that the address asks for (or the one holding the post answered),
    ready for templates/thread_posts.html; opening it (open_it) records what the reader has
    now read."""
    actor, svc = request[actor_key], request.app[services_key]
    asked = page_query(request)
    if asked["post_id"] is None:
        asked["post_id"] = parse_id(reply_to)
    try:
        thread, page, last_event_id = await thread_pages.thread_page(svc, actor, thread_id, **asked)
    except NotFound:
        if asked["post_id"] is None or (open_it and "post" in request.query):
            raise
        # answering a post that is not there (a stale reply link, a form sent back): the
        # thread's first page, where the form says what is wrong
        thread, page, last_event_id = await thread_pages.thread_page(svc, actor, thread_id, view=asked["view"])
    context = thread_context(request, thread, page, reply_to, last_event_id, values=values, news=news)
    if open_it:
        context["first_unread"], context["level"] = await reading.open_thread(svc, actor, thread, page.posts)
    return context


async def show(request: web.Request) -> web.Response:
    actor = request[actor_key]
    thread_id = int_param(request, "thread_id")
    thread = await discussions.get_thread(request.app[services_key], actor, thread_id)
    if discussions.is_comments(thread):  # a news item's or event's comments are read under it
        raise web.HTTPFound(thread_page_url(thread) + (f"?{request.query_string}"
                                                                   if request.query_string else ""))
    request[page_ignores_key] = "library"  # the page's reads above and below say the same (ignoring=)
    context = await posts_context(request, thread_id, reply_to=request.query.get("reply_to", ""))
    if context["may_moderate"]:  # where it may go is the policy's answer
        context["move_targets"] = policy.move_targets(actor, context["thread"], await groups.list_groups(
            request.app[services_key], actor))
    return render(request, "thread.html", context)


def thread_page_url(thread) -> str:
    """Where a thread is read: its own page, or under the news item whose comments it holds."""
    if thread["news_id"] is not None:
        return f"/news/{thread['news_id']}"
    return f"/events/{thread['event_id']}" if thread["event_id"] is not None else f"/threads/{thread['id']}"


def post_page_url(post, chronological: bool = False) -> str:
    """A post's address: the page of its thread that holds it (in the tree, or in time order),
    opened at the post."""
    where = f"/news/{post['news_id']}" if post["news_id"] is not None else \
        f"/events/{post['event_id']}" if post["event_id"] is not None else f"/threads/{post['thread_id']}"
    view = "view=chronological&" if chronological else ""
    return f"{where}?{view}post={post['id']}#post-{post['id']}"


def thread_context(request: web.Request, thread, page: thread_pages.PostsPage, reply_to: str,
                   last_event_id: int, values: dict | None = None, news=None) -> dict:
    """What templates/thread_posts.html needs, for a discussion's page and a news item's."""
    actor = request[actor_key]
    posts = page.posts
    parent_id = parse_id(reply_to)
    reply_parent = next((p for p in posts if p["id"] == parent_id and not p["deleted_at"]), None)
    page_url = thread_page_url(thread)
    chronological = page.view == thread_pages.CHRONOLOGICAL
    return {
        "thread": thread,
        "news": news,
        "page_url": page_url,
        "page": page,
        "page_ids": {post["id"] for post in posts},  # a link to a post elsewhere opens its page
        # "Reageren" under a discussion's opening post answers the discussion itself, as
        # Discourse's does: nested under it, every answer would sit behind its "Nog N reacties"
        "opening_id": None if discussions.is_comments(thread) else page.opening_id,
        "pager": pager(page, page_url),
        # how many posts (in time order) or answers to the discussion (the tree) fill a page:
        # a post arriving live past that belongs on the next page
        "page_size": thread_pages.POSTS_PER_PAGE if chronological else thread_pages.ROOTS_PER_PAGE,
        "shown": shown_posts(request, page, page_url),
        "editable": policy.editable_posts(actor, thread, posts),
        "reportable": policy.reportable_posts(actor, thread, posts),   # decided once per page, not per post
        "acts_on_posts": policy.acts_on_posts(actor, thread),  # the same rule, for posts arriving live
        "own_hidden": policy.own_hidden_posts(actor, thread, posts),
        "chronological": chronological,
        "may_reply": policy.can(actor, Action.REPLY, thread),
        "may_rename": policy.can(actor, Action.RENAME_THREAD, thread),
        "may_moderate": policy.can(actor, Action.MODERATE_THREAD, thread),
        "reply_parent": reply_parent,
        "last_event_id": last_event_id,
        "values": values or {},
        "first_unread": None,
        "level": None,
        "move_targets": [],
        "live_channels": "",  # the thread's own; an event's page listens to its group too
        "may_attach": policy.can(actor, Action.UPLOAD_DOCUMENT, thread),  # its group's library (not news')
    }


def pager(page: thread_pages.PostsPage, page_url: str) -> dict | None:
    """Links to the pages around this one, for a thread of more than one page."""
    if page.count == 1:
        return None
    base = {"view": "chronological"} if page.view == thread_pages.CHRONOLOGICAL else {}
    if page.under is not None:
        base["under"] = page.under["id"]

    def url(number: int) -> str:  # opened at the posts: the page's title and tools are the same
        query = urlencode({**base, **({"page": number} if number > 1 else {})})
        return f"{page_url}?{query}#posts" if query else f"{page_url}#posts"

    near = {1, page.count, *range(max(1, page.number - 2), min(page.count, page.number + 2) + 1)}
    numbers: list[tuple[int, str] | None] = []  # None: a gap ("…") of two pages or more
    for n in sorted(near):
        if numbers and numbers[-1] is not None and n - numbers[-1][0] == 2:
            numbers.append((n - 1, url(n - 1)))  # a gap of one page shows that page
        elif numbers and n - numbers[-1][0] > 2:
            numbers.append(None)
        numbers.append((n, url(n)))
    return {"number": page.number, "count": page.count,
            "previous": url(page.number - 1) if page.number > 1 else None,
            "next": url(page.number + 1) if page.number < page.count else None,
            "numbers": numbers}


async def new_form(request: web.Request) -> web.Response:
    actor = request[actor_key]
    group = await groups.get_group(request.app[services_key], actor, int_param(request, "group_id"))
    policy.require(actor, Action.START_THREAD, group)
    return render(request, "thread_new.html", {"group": group, "values": {},
                                               "may_attach": policy.can(actor, Action.UPLOAD_DOCUMENT, group)})


async def new_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    group_id = int_param(request, "group_id")
    policy.require(actor, Action.START_THREAD, await groups.get_group(svc, actor, group_id))  # before a file is read
    form, refused = await form_with_attachment(request, group_id, MAX_TEXT_BYTES)
    try:
        if refused:
            raise refused
        thread, _ = await discussions.start_thread(svc, actor, group_id, title=form.get("title", ""),
                                                   body=form.get("body", ""))
    except ServiceError as error:
        group = await groups.get_group(svc, actor, group_id)
        return rerender(request, "thread_new.html", error, {
            "group": group, "values": form, "may_attach": policy.can(actor, Action.UPLOAD_DOCUMENT, group)})
    raise redirect(request, "thread", thread_id=thread["id"])


async def rename_form(request: web.Request) -> web.Response:
    actor = request[actor_key]
    thread = await discussions.get_thread(request.app[services_key], actor, int_param(request, "thread_id"))
    policy.require(actor, Action.RENAME_THREAD, thread)
    return render(request, "thread_edit.html", {"thread": thread, "values": {"title": thread["title"]}})


async def rename_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    thread_id = int_param(request, "thread_id")
    form = await form_of(request)
    try:
        await discussions.update_thread(svc, actor, thread_id, title=form.get("title", ""))
    except ServiceError as error:
        if error.status != 422:
            raise
        thread = await discussions.get_thread(svc, actor, thread_id)
        return rerender(request, "thread_edit.html", error, {"thread": thread, "values": form})
    raise redirect(request, "thread", thread_id=thread_id)


MODERATION_FORM_ACTIONS = {"unlock": {"locked": False},
                           "pin": {"pinned": True}, "unpin": {"pinned": False}}


def thread_confirmation(thread, action: str, actor) -> dict:
    """The page that asks before a discussion is deleted or locked; deleting someone else's
    needs a reason (they are told it)."""
    crumbs = [(f"/groups/{thread['group_id']}", thread["group_name"]), (f"/threads/{thread['id']}", thread["title"])]
    common = {"crumbs": crumbs, "action": f"/threads/{thread['id']}/moderate", "value": action,
              "back": f"/threads/{thread['id']}", "reason_required": False,
              "reason_hint": gettext("Niet verplicht. De schrijver krijgt bericht, met deze reden; ze staat ook in het logboek.")}
    if action == "delete":
        if discussions.told(thread, actor):
            common.update(reason_required=True, reason_hint=gettext(
                "Verplicht. De schrijver krijgt bericht, met deze reden; ze staat ook in het logboek."))
        return {**common, "title": gettext("Discussie %(title)s verwijderen", title=thread["title"]),
                "explanation": gettext("De discussie en alle reacties verdwijnen voor iedereen; links ernaar geven "
                                       "'niet gevonden'. Dit kunt u niet ongedaan maken."),
                "reason_label": gettext("Reden"), "button": gettext("Discussie verwijderen")}
    return {**common, "title": gettext("Discussie %(title)s sluiten", title=thread["title"]),
            "explanation": gettext("Niemand kan nog reageren; alles blijft te lezen. U kunt de discussie later heropenen."),
            "reason_label": gettext("Reden"), "button": gettext("Discussie sluiten")}


async def moderate(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    thread_id = int_param(request, "thread_id")
    form = await form_of(request)
    action = form.get("action", "")
    if action in ("delete", "lock"):
        thread = await discussions.get_thread(svc, actor, thread_id)
        policy.require(actor, Action.MODERATE_THREAD, thread)
        confirm = thread_confirmation(thread, action, actor)
        if form.get("confirm") != "yes":
            return render(request, "confirm_action.html", {"confirm": confirm, "values": {}})
        try:
            if action == "delete":
                await discussions.delete_thread(svc, actor, thread_id, form.get("reason", ""))
                raise web.HTTPSeeOther(f"/groups/{thread['group_id']}?deleted=thread")  # which says so
            await discussions.update_thread(svc, actor, thread_id, locked=True, reason=form.get("reason", ""))
        except ServiceError as error:
            if error.status != 422:
                raise
            return rerender(request, "confirm_action.html", error, {"confirm": confirm, "values": form})
        raise redirect(request, "thread", thread_id=thread_id)
    if action == "move":
        target = form.get("group_id", "")
        if parse_id(target) is None:
            raise BadRequest(N_("Kies een groep."))
        change = {"group_id": parse_id(target)}
    else:
        change = MODERATION_FORM_ACTIONS.get(action)
    if change is None:
        raise BadRequest(N_("Onbekende actie."))
    await discussions.update_thread(svc, actor, thread_id, **change)
    raise redirect(request, "thread", thread_id=thread_id)


async def reply(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    thread_id = int_param(request, "thread_id")
    thread = await discussions.get_thread(svc, actor, thread_id)
    if thread["locked"] and not policy.can(actor, Action.REPLY, thread) \
            and policy.can(actor, Action.REPLY, {**dict(thread), "locked": 0}):
        # closed while they wrote: their words come back to them (a file is not read)
        return await _closed_meanwhile(request, thread_id, await text_fields_of(request, MAX_TEXT_BYTES))
    policy.require(actor, Action.REPLY, thread)  # before a byte of a file is read
    form, refused = await form_with_attachment(request, thread["group_id"], MAX_TEXT_BYTES)
    parent = form.get("parent_id", "")
    parent_id = parse_id(parent)
    try:
        if refused:
            raise refused
        post = await discussions.reply(svc, actor, thread_id, body=form.get("body", ""), parent_id=parent_id)
    except ServiceError as error:
        if error.status not in (409, 422, 429):  # too many at once: the words come back too
            raise
        if thread["news_id"] is not None:
            from forum.web.pages import news as news_page  # the news page renders its own article
            return await news_page.rerender_with_comments(request, thread["news_id"], error, parent, form)
        if thread["event_id"] is not None:
            from forum.web.pages import events as event_pages  # the event page renders its own article
            return await event_pages.rerender_with_comments(request, thread["event_id"], error, parent, form)
        # the page that holds the post answered (or the first page), with the words kept
        return rerender(request, "thread.html", error, await posts_context(
            request, thread_id, reply_to=parent, values=form, open_it=False))
    raise web.HTTPSeeOther(post_page_url(post, form.get("view") == "chronological"))  # the view written in


async def to_reply_box(request: web.Request) -> web.Response:
    """The reply form's address opened as a page (reloaded after a refusal, bookmarked): the
    reply box of that discussion."""
    raise web.HTTPSeeOther(f"/threads/{int_param(request, 'thread_id')}#reply")


async def _closed_meanwhile(request: web.Request, thread_id: int, form: dict) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    thread = await discussions.get_thread(svc, actor, thread_id)
    if discussions.is_comments(thread):  # comments close with their item; there is no page of their own
        raise Conflict(N_("Er kan hier niet meer worden gereageerd."))
    error = Conflict(N_("De discussie is gesloten terwijl u schreef. Uw tekst staat hieronder: kopieer hem als u "
                        "hem wilt bewaren."))
    context = await posts_context(request, thread_id, reply_to=form.get("parent_id", ""), values=form, open_it=False)
    return rerender(request, "thread.html", error, {**context, "unsent": form.get("body", "")})


async def edit_form(request: web.Request) -> web.Response:
    actor = request[actor_key]
    post = await discussions.get_post(request.app[services_key], actor, int_param(request, "post_id"))
    policy.require(actor, Action.EDIT_POST, post)
    return render(request, "post_edit.html", {"post": post, "values": {"body": post["body"]}})


async def edit_submit(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    post_id = int_param(request, "post_id")
    form = await form_of(request)
    try:
        post = await discussions.edit_post(svc, actor, post_id, body=form.get("body", ""))
    except ServiceError as error:
        post = await discussions.get_post(svc, actor, post_id)
        return rerender(request, "post_edit.html", error, {"post": post, "values": form})
    raise web.HTTPSeeOther(post_page_url(post))


async def delete(request: web.Request) -> web.Response:
    """Deleting a post asks first; a moderator deleting someone else's gives a reason to tell them."""
    actor, svc = request[actor_key], request.app[services_key]
    post = await discussions.get_post(svc, actor, int_param(request, "post_id"))
    policy.require(actor, Action.DELETE_POST, post)
    form = await form_of(request)
    someone_else = post["author_id"] != actor.user_id
    confirm = {"title": gettext("Bericht van %(name)s verwijderen", name=post["author_name"]) if someone_else
               else gettext("Uw bericht verwijderen"),
               "crumbs": [(post_page_url(post), post["thread_title"])],
               "quote": Markup(post["body_html"]), "quote_meta": f"{post['author_name']} · {when(post['created_at'])}",
               "explanation": gettext("Op de plaats van het bericht staat daarna 'Dit bericht is verwijderd'. "
                                      "Dit kunt u niet ongedaan maken."),
               "action": f"/posts/{post['id']}/delete", "value": "delete", "back": post_page_url(post),
               "button": gettext("Bericht verwijderen"), "reason_required": discussions.told(post, actor),
               "reason_label": gettext("Reden") if someone_else else "",
               "reason_hint": gettext("Verplicht. De schrijver krijgt bericht, met deze reden; ze staat ook in het logboek.")
               if discussions.told(post, actor) else gettext("Niet verplicht; ze staat in het logboek.")}
    if form.get("confirm") != "yes":
        return render(request, "confirm_action.html", {"confirm": confirm, "values": {}})
    try:
        await discussions.delete_post(svc, actor, post["id"], form.get("reason", "") if someone_else else "")
    except ServiceError as error:
        if error.status != 422:
            raise
        return rerender(request, "confirm_action.html", error, {"confirm": confirm, "values": form})
    raise web.HTTPSeeOther(post_page_url(post))


async def show_post(request: web.Request) -> web.Response:
    """A post's own address (the audit log, a notification): its place in its thread."""
    post = await discussions.get_post(request.app[services_key], request[actor_key], int_param(request, "post_id"))
    raise web.HTTPSeeOther(post_page_url(post))


async def revisions(request: web.Request) -> web.Response:
    post, rows = await discussions.revisions(request.app[services_key], request[actor_key],
                                             int_param(request, "post_id"))
    return render(request, "revisions.html", {"post": post, "revisions": rows})
