"""The fuzzer's oracle: for one API request by one actor, would forum.policy let it succeed?
Judged before the request, on the real rows (group, thread, post, membership, report item), with
policy.can and friends, so a 2xx the policy refuses is caught whatever the view or service did.
Every documented operation needs a rule here: a new route without one fails the fuzz test."""
from __future__ import annotations

import re

from forum import policy
from forum.policy import Action, GroupDraft
from forum.services import accounts
from forum.services.groups import members_may_create_werkgroepen
from forum.store import agenda as agenda_store
from forum.store import documents as document_store
from forum.store import groups as group_store
from forum.store import moderation as moderation_store
from forum.store import news as news_store
from forum.store import threads as thread_store
from forum.store import users as user_store
from forum.web.cookies import SESSION_COOKIE

MEMBER_OR_ASKED = ("owner", "moderator", "member", "pending")


async def actor_of(svc, user) -> policy.Actor:
    """The actor behind an API user's session cookie, as the server sees it now."""
    token = next((cookie.value for cookie in user.client.session.cookie_jar if cookie.key == SESSION_COOKIE), None)
    return (await accounts.actor_for_session(svc, token))[0]


def _int(value) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if -2**63 <= number < 2**63 else None


async def may_succeed(svc, actor: policy.Actor, method: str, template: str, url: str, query: dict, body) -> bool:
    """Whether the policy allows this request (template: the documented path)."""
    names = re.findall(r"{(\w+)}", template)
    values = re.fullmatch(re.sub(r"{\w+}", "(.*?)", template), url).groups()
    ids = {name: _int(value) for name, value in zip(names, values)}
    body = body if isinstance(body, dict) else {}
    can = policy.can
    async with svc.db.read() as conn:
        async def group(key="group_id"):
            return await group_store.by_id(conn, ids[key]) if ids.get(key) is not None else None

        async def thread():
            return await thread_store.get_thread(conn, ids["thread_id"]) if ids["thread_id"] is not None else None

        async def post():
            return await thread_store.get_post(conn, ids["post_id"]) if ids["post_id"] is not None else None

        async def news():
            return await news_store.by_id(conn, ids["news_id"]) if ids["news_id"] is not None else None

        async def event():
            return await agenda_store.by_id(conn, ids["event_id"]) if ids["event_id"] is not None else None

        async def document():
            return await document_store.by_id(conn, ids["document_id"]) if ids["document_id"] is not None else None

        async def folder():
            return await document_store.folder_with_group(conn, ids["folder_id"]) if ids["folder_id"] is not None \
                else None

        async def role_of_target(g):
            return await group_store.membership(conn, g["id"], ids["user_id"]) if ids["user_id"] else None

        def on(row, action):
            return row is not None and can(actor, action, row)

        key = (method.upper(), template)
        if key in PUBLIC:
            return True
        if key in LOGGED_IN:
            return actor.active
        if template.startswith("/api/v1/admin/"):
            return can(actor, Action.ADMINISTER)
        if template.startswith("/api/v1/pages"):  # writing the site's own pages
            return can(actor, Action.MANAGE_SITE_PAGES)
        match key:
            case ("GET", "/api/v1/users/{user_id}"):
                user = await user_store.by_id(conn, ids["user_id"]) if ids["user_id"] else None
                return user is not None and policy.can_view_profile(actor, user)
            case ("POST", "/api/v1/groups"):
                return can(actor, Action.CREATE_GROUP,
                           GroupDraft(str(body.get("kind")), await members_may_create_werkgroepen(svc)))
            case ("GET", "/api/v1/groups/{group_id}"):
                return on(await group(), Action.VIEW_GROUP)
            case ("PATCH", "/api/v1/groups/{group_id}"):
                return on(await group(), Action.TRANSFER_OWNERSHIP)
            case ("POST", "/api/v1/groups/{group_id}/join"):
                g = await group()  # joining twice answers the same state, not an error
                return on(g, Action.JOIN) or (on(g, Action.VIEW_GROUP) and actor.active
                                              and actor.group_role(g["id"]) in MEMBER_OR_ASKED)
            case ("POST", "/api/v1/groups/{group_id}/leave"):
                return on(await group(), Action.LEAVE)
            case ("GET", "/api/v1/groups/{group_id}/members") | ("GET", "/api/v1/groups/{group_id}/threads"):
                return on(await group(), Action.READ)
            case ("POST", "/api/v1/groups/{group_id}/threads"):
                return on(await group(), Action.START_THREAD)
            case ("PATCH", "/api/v1/groups/{group_id}/members/{user_id}"):
                g = await group()
                return g is not None and policy.can_manage_member(actor, g, await role_of_target(g), body.get("role"))
            case ("DELETE", "/api/v1/groups/{group_id}/members/{user_id}"):
                g = await group()
                return g is not None and policy.can_manage_member(actor, g, await role_of_target(g))
            case ("POST", "/api/v1/groups/{group_id}/bans"):
                g = await group()
                target = _int(body.get("user_id")) if not isinstance(body.get("user_id"), bool) else None
                current = await group_store.membership(conn, g["id"], target) if g and target else None
                return g is not None and policy.can_manage_member(actor, g, current)
            case (_, "/api/v1/groups/{group_id}/members/{user_id}/approve" | "/api/v1/groups/{group_id}/members/{user_id}/reject"
                  | "/api/v1/groups/{group_id}/invitations" | "/api/v1/groups/{group_id}/bans"
                  | "/api/v1/groups/{group_id}/bans/{user_id}"):
                return on(await group(), Action.MODERATE_GROUP)
            case ("PUT", "/api/v1/groups/{group_id}/subscription"):
                return on(await group(), Action.FOLLOW)
            case ("POST", "/api/v1/groups/{group_id}/read"):
                return actor.active and on(await group(), Action.READ)
            case ("GET", "/api/v1/threads/{thread_id}"):
                return on(await thread(), Action.READ)
            case ("PATCH", "/api/v1/threads/{thread_id}"):
                t = await thread()
                if not on(t, Action.READ) or (body.get("title") is not None and not on(t, Action.RENAME_THREAD)):
                    return False
                if any(body.get(name) is not None for name in ("locked", "pinned", "group_id")) \
                        and not on(t, Action.MODERATE_THREAD):
                    return False
                target = _int(body.get("group_id")) if body.get("group_id") is not None else None
                if target is not None and target != t["group_id"]:
                    return on(await group_store.by_id(conn, target), Action.MODERATE_GROUP)
                return True
            case ("DELETE", "/api/v1/threads/{thread_id}"):
                return on(await thread(), Action.MODERATE_THREAD)
            case ("POST", "/api/v1/threads/{thread_id}/posts"):
                return on(await thread(), Action.REPLY)
            case ("PUT", "/api/v1/threads/{thread_id}/subscription"):
                return on(await thread(), Action.FOLLOW)
            case ("POST", "/api/v1/threads/{thread_id}/read"):
                return actor.active and on(await thread(), Action.READ)
            case ("GET", "/api/v1/posts/{post_id}"):
                return on(await post(), Action.READ)
            case ("PATCH", "/api/v1/posts/{post_id}"):
                return on(await post(), Action.EDIT_POST)
            case ("DELETE", "/api/v1/posts/{post_id}"):
                return on(await post(), Action.DELETE_POST)
            case ("GET", "/api/v1/posts/{post_id}/revisions"):
                return on(await post(), Action.VIEW_REVISIONS)
            case ("POST", "/api/v1/posts/{post_id}/reports"):
                return on(await post(), Action.REPORT_POST)
            case ("GET", "/api/v1/mentions"):  # the members of a group one may write in
                g = await group_store.by_id(conn, _int(query.get("group_id", ""))) \
                    if _int(query.get("group_id", "")) is not None else None
                return on(g, Action.SUGGEST_MENTIONS)
            case ("POST", "/api/v1/news"):
                wanted = body.get("group_id")
                if wanted is None:
                    return can(actor, Action.PUBLISH_NEWS, None)
                g = await group_store.by_id(conn, wanted) if type(wanted) is int and _int(wanted) is not None else None
                return on(g, Action.PUBLISH_NEWS)
            case ("GET", "/api/v1/news/{news_id}") | ("GET", "/api/v1/news/{news_id}/revisions"):
                return on(await news(), Action.READ_NEWS)
            case ("PATCH", "/api/v1/news/{news_id}") | ("DELETE", "/api/v1/news/{news_id}"):
                return on(await news(), Action.EDIT_NEWS)
            case ("POST", "/api/v1/events"):
                wanted = body.get("group_id")
                if wanted is None:
                    return can(actor, Action.CREATE_EVENT, None)
                g = await group_store.by_id(conn, wanted) if type(wanted) is int and _int(wanted) is not None else None
                return on(g, Action.CREATE_EVENT)
            case ("GET", "/api/v1/events/{event_id}"):
                return on(await event(), Action.READ_EVENT)
            case ("PATCH", "/api/v1/events/{event_id}") | ("DELETE", "/api/v1/events/{event_id}") \
                    | ("GET", "/api/v1/events/{event_id}/attendees") | ("POST", "/api/v1/events/{event_id}/message"):
                return on(await event(), Action.EDIT_EVENT)
            case ("PUT", "/api/v1/events/{event_id}/rsvp"):
                return on(await event(), Action.RSVP)
            case ("GET", "/api/v1/groups/{group_id}/documents"):
                return on(await group(), Action.READ)
            case ("POST", "/api/v1/groups/{group_id}/documents") | ("POST", "/api/v1/groups/{group_id}/folders"):
                return on(await group(), Action.UPLOAD_DOCUMENT)
            case ("POST", "/api/v1/documents") | ("POST", "/api/v1/folders"):
                return can(actor, Action.UPLOAD_DOCUMENT, None)
            case ("GET", "/api/v1/documents/{document_id}"):
                return on(await document(), Action.READ_DOCUMENT)
            case ("PATCH", "/api/v1/folders/{folder_id}") | ("DELETE", "/api/v1/folders/{folder_id}"):
                return on(await folder(), Action.EDIT_FOLDER)
            case ("PATCH", "/api/v1/documents/{document_id}") | ("DELETE", "/api/v1/documents/{document_id}") \
                    | ("POST", "/api/v1/documents/{document_id}/versions"):
                return on(await document(), Action.EDIT_DOCUMENT)
            case ("GET", "/api/v1/moderation/queue") | ("GET", "/api/v1/audit"):
                scope = policy.audit_groups(actor)  # None: everything; empty: nothing to read
                wanted = query.get("group_id", "")  # empty: no filter
                return scope is None or (bool(scope) and (wanted == "" or _int(wanted) in scope))
            case ("POST", "/api/v1/moderation/queue/{item_id}/resolve"):
                item = await moderation_store.item(conn, ids["item_id"]) if ids["item_id"] is not None else None
                return on(item, Action.MODERATE_GROUP)
    raise AssertionError(f"no policy rule for {key}: add one to tests/helpers_fuzz.py")


PUBLIC = {("GET", "/api/v1/openapi.json"), ("POST", "/api/v1/register"), ("POST", "/api/v1/login"),
          ("POST", "/api/v1/password/forgot"), ("POST", "/api/v1/password/reset"), ("GET", "/api/v1/groups"),
          ("POST", "/api/v1/unsubscribe/{token}"), ("POST", "/api/v1/confirm-email")}  # tokens: the link is the proof
PUBLIC.add(("GET", "/api/v1/me/invitations"))  # a visitor's list of invitations is empty, not refused
LOGGED_IN = {("GET", "/api/v1/me"), ("PATCH", "/api/v1/me"),
             ("GET", "/api/v1/notifications"), ("POST", "/api/v1/notifications/read"),
             ("PUT", "/api/v1/me/settings"), ("POST", "/api/v1/me/confirm-email"),
             ("POST", "/api/v1/invitations/accept")}  # needs a mailed token too, which the fuzzer never holds
LOGGED_IN.update({("PUT", "/api/v1/me/photo"), ("DELETE", "/api/v1/me/photo"),  # one's own photo
                  ("GET", "/api/v1/people")})  # the directory: for whoever is logged in
PUBLIC.add(("GET", "/api/v1/search"))  # anyone may search; what comes back is filtered (tests/test_search.py)
PUBLIC.update({("GET", "/api/v1/pages"), ("GET", "/api/v1/pages/{slug}")})  # the site's own pages are public
PUBLIC.add(("GET", "/api/v1/documents"))  # the site's library, filtered (tests/test_documents.py)
PUBLIC.add(("GET", "/api/v1/events"))  # filtered like news (tests/test_events.py)
PUBLIC.add(("GET", "/api/v1/news"))  # anyone may list news; what comes back is filtered (tests/test_news.py)
