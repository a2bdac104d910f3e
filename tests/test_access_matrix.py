"""The access matrix, generated: actors (visitor, member of A, member of B, moderator of A,
owner of A, admin, removed member, banned member, suspended user) × resources of closed group
A (the group, a thread, a post, its revisions, the member list, the thread list, the event
stream, the audit log, the moderation queue) × paths (JSON API, HTML page, lists on the home
page, websocket subscribe and delivery). Every cell gets what the policy says; what may not
be seen answers 404, the same as what does not exist."""
from __future__ import annotations

import asyncio
import json

import pytest

from forum.keys import scheduler_key
from tests.conftest import open_group, quiet, same_answer, snapshot

READERS = {"member_a", "moderator_a", "owner_a", "admin"}
MODERATORS = {"moderator_a", "owner_a", "admin"}
ACTORS = ("visitor", "member_a", "member_b", "moderator_a", "owner_a", "admin", "removed", "banned", "suspended")


@pytest.fixture
async def world(admin, make_user, anonymous, server):
    await admin.put("/api/v1/admin/settings", {"registration_mode": "open", "members_create_werkgroepen": True})
    users = {"admin": admin, "visitor": await anonymous()}
    for name in ACTORS[1:]:
        if name not in users:
            users[name] = await make_user(name.replace("_", " ").title())
    group_a = await open_group(users["owner_a"], "Groep A", "closed")
    group_b = await open_group(admin, "Groep B", "closed")
    for name, group in (("member_a", group_a), ("moderator_a", group_a), ("removed", group_a), ("banned", group_a),
                        ("suspended", group_a), ("member_b", group_b)):
        await users[name].post(f"/api/v1/groups/{group['id']}/join")
        await admin.post(f"/api/v1/groups/{group['id']}/members/{users[name].id}/approve")
    await admin.patch(f"/api/v1/groups/{group_a['id']}/members/{users['moderator_a'].id}", {"role": "moderator"})
    thread = await users["member_a"].post(f"/api/v1/groups/{group_a['id']}/threads",
                                          {"title": "Geheim plan", "body": "alleen voor A"}, expect=201)
    post = (await users["member_a"].post(f"/api/v1/threads/{thread['thread']['id']}/posts",
                                         {"body": "eerste versie"}, expect=201))["post"]
    await users["member_a"].patch(f"/api/v1/posts/{post['id']}", {"body": "tweede versie"})
    await users["moderator_a"].patch(f"/api/v1/threads/{thread['thread']['id']}", {"pinned": True})  # audited
    await users["removed"].post(f"/api/v1/posts/{post['id']}/reports", {"reason": "spam"}, expect=201)
    await admin.delete(f"/api/v1/groups/{group_a['id']}/members/{users['removed'].id}", {"reason": "afgerond"})
    await users["moderator_a"].post(f"/api/v1/groups/{group_a['id']}/bans", {"user_id": users["banned"].id, "reason": "spam"}, expect=201)
    await admin.post(f"/api/v1/admin/users/{users['suspended'].id}/suspend", {"reason": "test"})
    await server.app[scheduler_key].run_once()
    return {"users": users, "group": group_a["id"], "thread": thread["thread"]["id"], "post": post["id"]}


def expected(actor: str, resource: str) -> bool:
    if resource in ("group",):  # a closed group's name: every active account may see it
        return actor not in ("visitor", "suspended")
    if resource in ("audit", "queue"):
        return actor in MODERATORS
    return actor in READERS


@pytest.mark.parametrize("actor", ACTORS)
async def test_every_cell(world, actor):
    user = world["users"][actor]
    g, t, p = world["group"], world["thread"], world["post"]
    json_paths = {
        "group": f"/api/v1/groups/{g}",
        "thread": f"/api/v1/threads/{t}",
        "post": f"/api/v1/posts/{p}",
        "revisions": f"/api/v1/posts/{p}/revisions",
        "members": f"/api/v1/groups/{g}/members",
        "thread list": f"/api/v1/groups/{g}/threads",
        "audit": f"/api/v1/audit?group_id={g}",
        "queue": f"/api/v1/moderation/queue?group_id={g}",
    }
    missing = {"group": "/api/v1/groups/999999", "thread": "/api/v1/threads/999999", "post": "/api/v1/posts/999999"}
    for resource, path in json_paths.items():
        response = await user.client.get(path)
        allowed = expected(actor, resource)
        assert (response.status == 200) == allowed, (actor, resource, response.status)
        if not allowed and resource != "group":
            assert response.status in (401, 404), (actor, resource, response.status)
            if resource in missing:  # indistinguishable from what does not exist
                assert same_answer(await response.json()) == \
                    same_answer(await (await user.client.get(missing[resource])).json())
    html_paths = {"thread": f"/threads/{t}", "revisions": f"/posts/{p}/revisions", "members": f"/groups/{g}/members"}
    for resource, path in html_paths.items():
        response = await user.client.get(path, allow_redirects=False)
        assert (response.status == 200) == expected(actor, resource), (actor, path, response.status)
    home = await (await user.client.get("/")).text()
    assert (f'/threads/{t}"' in home) == expected(actor, "thread"), actor
    assert ("Geheim plan" in home) == expected(actor, "thread"), actor
    # the event stream: subscribe answers like the thread does, and only readers get deliveries
    ws = await user.client.ws_connect("/api/v1/live")
    await ws.send_json({"type": "subscribe", "channels": [f"thread:{t}", f"group:{g}"]})
    frames = []
    await world["users"]["admin"].post(f"/api/v1/threads/{t}/posts", {"body": f"voor de stroom {actor}"}, expect=201)
    try:
        while True:
            message = await asyncio.wait_for(ws.receive(), 0.5)
            frames.append(json.loads(message.data))
    except asyncio.TimeoutError:
        pass
    await ws.close()
    errors = [f for f in frames if f["type"] == "error"]
    delivered = [f for f in frames if f["type"] == "event" and f["kind"] == "post.created"]
    if expected(actor, "thread"):
        assert errors == [] and len(delivered) == 1, (actor, frames)
    else:
        assert {e["code"] for e in errors} == {"not_found"} and delivered == [], (actor, frames)


# --- writes ---------------------------------------------------------------------------------
# Actors × open, closed and hidden groups × the writes people try (follow, report, reply, edit,
# rename, invite, ban). The expectation is written out here from the rules in words, not
# computed from forum/policy.py, so a policy mistake cannot agree with itself. Every refusal
# is 404 where the object may not be seen, 401/403 where it may, and changes no row.

WRITERS = ("visitor", "outsider", "member", "author", "moderator", "admin", "banned", "suspended")
ACTIVE = {"outsider", "member", "author", "moderator", "admin", "banned"}
GROUP_MEMBERS = {"member", "author", "moderator", "admin"}


def reads(actor: str, visibility: str) -> bool:
    return visibility == "open" or actor in GROUP_MEMBERS


def sees(actor: str, visibility: str) -> bool:
    return reads(actor, visibility) or (visibility == "closed" and actor in ACTIVE)


WRITE_RULES = {  # write: (may do it, what must be visible to be told "refused" rather than 404)
    "follow": (lambda a, v: a in ACTIVE and reads(a, v), reads),
    "report": (lambda a, v: a in ACTIVE and reads(a, v) and a not in ("author", "banned"), reads),  # a ban silences reports too
    "reply": (lambda a, v: a in GROUP_MEMBERS, reads),
    "edit": (lambda a, v: a in {"author", "moderator", "admin"}, reads),
    "rename": (lambda a, v: a in {"author", "moderator", "admin"}, reads),
    "invite": (lambda a, v: a in {"moderator", "admin"}, sees),
    "ban": (lambda a, v: a in {"moderator", "admin"}, sees),
}


@pytest.fixture
async def write_world(admin, make_user, anonymous, server):
    users = {"admin": admin, "visitor": await anonymous()}
    for name in WRITERS:
        if name not in users:
            users[name] = await make_user(name.title())
    users["target"] = await make_user("Doelwit")
    groups = {}
    for visibility in ("open", "closed", "hidden"):
        group = await open_group(admin, f"Groep {visibility}", visibility)
        gid = group["id"]
        for name in ("member", "author", "moderator", "banned", "suspended"):
            await admin.post(f"/api/v1/groups/{gid}/invitations", {"user_id": users[name].id}, expect=201)
            await users[name].post(f"/api/v1/groups/{gid}/join")
        await admin.patch(f"/api/v1/groups/{gid}/members/{users['moderator'].id}", {"role": "moderator"})
        thread = await users["author"].post(f"/api/v1/groups/{gid}/threads", {"title": "Plan", "body": "begin"},
                                            expect=201)
        post = await users["author"].post(f"/api/v1/threads/{thread['thread']['id']}/posts", {"body": "woorden"},
                                          expect=201)
        await admin.post(f"/api/v1/groups/{gid}/bans", {"user_id": users["banned"].id, "reason": "spam"}, expect=201)
        groups[visibility] = {"group": gid, "thread": thread["thread"]["id"], "post": post["post"]["id"]}
    await admin.post(f"/api/v1/admin/users/{users['suspended'].id}/suspend", {"reason": "test"})
    await quiet(server.app)  # background work would change rows between the snapshots
    return users, groups


def _write(name: str, ids: dict, target_id: int) -> tuple[str, str, dict]:
    g, t, p = ids["group"], ids["thread"], ids["post"]
    return {
        "follow": ("PUT", f"/api/v1/groups/{g}/subscription", {"level": "watching"}),
        "report": ("POST", f"/api/v1/posts/{p}/reports", {"reason": "spam"}),
        "reply": ("POST", f"/api/v1/threads/{t}/posts", {"body": "een reactie"}),
        "edit": ("PATCH", f"/api/v1/posts/{p}", {"body": "andere woorden"}),
        "rename": ("PATCH", f"/api/v1/threads/{t}", {"title": "Nieuwe titel"}),
        "invite": ("POST", f"/api/v1/groups/{g}/invitations", {"email": "iemand@example.nl"}),
        "ban": ("POST", f"/api/v1/groups/{g}/bans", {"user_id": target_id, "reason": "test"}),
    }[name]


@pytest.mark.parametrize("actor", WRITERS)
async def test_every_write(write_world, actor, svc):
    users, groups = write_world
    user = users[actor]
    for visibility, ids in groups.items():
        for name, (may, visible) in WRITE_RULES.items():
            method, path, body = _write(name, ids, users["target"].id)
            before = await snapshot(svc)
            outcome = await user.call(method, path, body, expect=None)
            if may(actor, visibility):
                assert "error" not in outcome, (actor, visibility, name, outcome)
            else:
                assert "error" in outcome, (actor, visibility, name, outcome)
                code = outcome["error"]["code"]
                if visible(actor, visibility):
                    # (reporting one's own post is refused with a conflict that says why)
                    assert code in ("unauthorized", "forbidden", "conflict"), (actor, visibility, name, code)
                else:
                    assert code == "not_found", (actor, visibility, name, code)
                assert await snapshot(svc) == before, (actor, visibility, name)
