"""API: a group's threads, a thread's posts, replies, edits, deletions and revisions."""
from __future__ import annotations

from aiohttp import web
from pydantic import Field

from forum import policy
from forum.errors import BadRequest, N_
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import discussions, thread_pages
from forum.services.discussions import post_out, thread_out
from forum.web.api import MAX_ID, In, id_query, int_param, json_out, read_json, reason_of


class ThreadIn(In):
    title: str
    body: str


class ThreadUpdateIn(In):
    title: str | None = None
    locked: bool | None = None
    pinned: bool | None = None
    group_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PostIn(In):
    body: str
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class PostEditIn(In):
    body: str


async def group_threads(request: web.Request) -> web.Response:
    _, rows, next_cursor = await discussions.group_threads(
        request.app[services_key], request[actor_key], int_param(request, "group_id"),
        before=request.query.get("before"),
    )
    return json_out({"threads": [thread_out(t) for t in rows], "next": next_cursor})


async def start_thread(request: web.Request) -> web.Response:
    data = await read_json(request, ThreadIn)
    thread, post = await discussions.start_thread(
        request.app[services_key], request[actor_key], int_param(request, "group_id"), **data.model_dump())
    return json_out({"thread": thread_out(thread), "post": post_out(post)}, status=201)


API_POSTS, API_POSTS_MAX = 20, 100  # posts per answer unless ?limit= asks for up to the most


async def get_thread(request: web.Request) -> web.Response:
    """The thread and its posts in time order, a part at a time (`?limit=`, 20 unless asked,
    at most 100): `?after=<post id>` (the previous answer's `next`) continues; `next` is null
    on the last part. Each part carries last_event_id, so a client that subscribes live from
    the first part's misses nothing written while it read the rest."""
    limit = id_query(request, "limit") or API_POSTS
    if limit > API_POSTS_MAX:
        raise BadRequest(N_("Ongeldige waarde voor %(name)s."), name="limit")
    thread, posts, last_event_id = await thread_pages.posts_after(
        request.app[services_key], request[actor_key], int_param(request, "thread_id"),
        id_query(request, "after") or 0, limit + 1)
    shown = posts[:limit]
    revealed = policy.own_hidden_posts(request[actor_key], thread, shown)  # one pass, as on the page
    return json_out({"thread": thread_out(thread), "posts": [post_out(p, p["id"] in revealed) for p in shown],
                     "next": str(shown[-1]["id"]) if len(posts) > limit else None,
                     "last_event_id": last_event_id})


async def update_thread(request: web.Request) -> web.Response:
    data = await read_json(request, ThreadUpdateIn)
    thread = await discussions.update_thread(request.app[services_key], request[actor_key],
                                             int_param(request, "thread_id"), **data.model_dump())
    return json_out({"thread": thread_out(thread)})


async def delete_thread(request: web.Request) -> web.Response:
    await discussions.delete_thread(request.app[services_key], request[actor_key], int_param(request, "thread_id"),
                                    await reason_of(request))
    return json_out({"ok": True})


async def create_post(request: web.Request) -> web.Response:
    data = await read_json(request, PostIn)
    post = await discussions.reply(request.app[services_key], request[actor_key],
                                   int_param(request, "thread_id"), body=data.body, parent_id=data.parent_id)
    return json_out({"post": post_out(post)}, status=201)


async def get_post(request: web.Request) -> web.Response:
    actor = request[actor_key]
    post = await discussions.get_post(request.app[services_key], actor, int_param(request, "post_id"))
    return json_out({"post": post_out(post, policy.can(actor, Action.SEE_HIDDEN_POST, post))})


async def edit_post(request: web.Request) -> web.Response:
    data = await read_json(request, PostEditIn)
    actor = request[actor_key]
    post = await discussions.edit_post(request.app[services_key], actor, int_param(request, "post_id"), body=data.body)
    return json_out({"post": post_out(post, policy.can(actor, Action.SEE_HIDDEN_POST, post))})


async def delete_post(request: web.Request) -> web.Response:
    await discussions.delete_post(request.app[services_key], request[actor_key], int_param(request, "post_id"),
                                  await reason_of(request))
    return json_out({"ok": True})


async def post_revisions(request: web.Request) -> web.Response:
    _, rows = await discussions.revisions(request.app[services_key], request[actor_key], int_param(request, "post_id"))
    return json_out({"revisions": [
        {"id": r["id"], "body_html": r["body_html"], "created_at": r["created_at"],
         "author": {"id": r["author_id"], "display_name": r["author_name"]}} for r in rows]})
