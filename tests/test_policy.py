"""One policy, two faces: for every actor × group visibility × action, the single-object
check and the list filters agree, and every path (service, JSON, HTML) refuses what may not
be seen with 404."""
from __future__ import annotations

import pytest

from forum import policy
from forum.errors import Forbidden, NotFound, Unauthorized
from forum.policy import Action
from forum.services import accounts, discussions, groups
from forum.store import groups as group_store
from forum.store import users as user_store
from tests.conftest import PASSWORD, same_answer

# actor name → its role in every test group
GROUP_ROLES = {"owner": "owner", "moderator": "moderator", "group_member": "member", "requested": "pending",
               "invited": "invited", "banned": "banned"}
VISIBILITIES = ("open", "closed", "hidden")
# news actions are proven over news rows in tests/test_news.py
GROUP_ACTIONS = [a for a in Action if a not in (Action.ADMINISTER, Action.MANAGE_SITE_PAGES, Action.CREATE_GROUP,
                                                Action.READ_NEWS, Action.EDIT_NEWS, Action.READ_EVENT,
                                                Action.EDIT_EVENT, Action.RSVP,  # those take an event
                                                Action.READ_DOCUMENT, Action.EDIT_DOCUMENT,  # and a document
                                                Action.VIEW_DIRECTORY)]  # the site's, not a group's


@pytest.fixture
async def world(admin, make_user, svc):
    """Three groups (one per visibility), each with one thread, and an account for every
    kind of actor: site roles, every group role, a pending and a suspended account."""
    group_ids = {}
    for visibility in VISIBILITIES:
        created = await admin.post("/api/v1/groups", {"name": f"Groep {visibility}", "kind": "werkgroep",
                                                      "visibility": visibility}, expect=201)
        group_ids[visibility] = created["group"]["id"]
    threads = {}
    for visibility, gid in group_ids.items():
        body = await admin.post(f"/api/v1/groups/{gid}/threads", {"title": f"Over {visibility}", "body": "x"},
                                expect=201)
        threads[gid] = body["thread"]["id"]
    users = {"admin": admin}
    for name in ("editor", "site_member", *GROUP_ROLES, "pending_account", "suspended"):
        users[name] = await make_user(f"Actor {name}")
    await admin.patch(f"/api/v1/admin/users/{users['editor'].id}", {"role": "editor"})
    async with svc.db.write() as tx:
        for name, role in GROUP_ROLES.items():
            for gid in group_ids.values():
                if role == "banned":
                    await group_store.put_ban(tx, gid, users[name].id, reason="test", by=admin.id, now=svc.now())
                else:
                    await group_store.put_membership(tx, gid, users[name].id, role, svc.now())
        await user_store.set_status(tx, users["pending_account"].id, "pending")
    await admin.post(f"/api/v1/admin/users/{users['suspended'].id}/suspend", {"reason": "test"})
    return {"groups": group_ids, "threads": threads, "users": users}


async def _actor(svc, user) -> policy.Actor:
    if user is None:
        return policy.VISITOR
    async with svc.db.read() as conn:
        row = await user_store.by_id(conn, user.id)
        roles = await user_store.group_roles(conn, user.id)
    return accounts.actor_from_row(row, roles)


ACTOR_NAMES = ("visitor", "admin", "editor", "site_member", *GROUP_ROLES, "pending_account", "suspended")


async def test_single_object_checks_equal_list_filters(world, svc):
    for name in ACTOR_NAMES:
        actor = await _actor(svc, world["users"].get(name))
        listed = {g["id"] for g in await groups.list_groups(svc, actor)}
        readable_threads = {t["id"] for t in await discussions.recent_threads(svc, actor, limit=1000)}
        for visibility, gid in world["groups"].items():
            group = await groups.get_group(svc, policy.Actor(user_id=0, role="admin"), gid)
            may_view = policy.can(actor, Action.VIEW_GROUP, group)
            may_read = policy.can(actor, Action.READ, group)
            assert may_view == (gid in listed), (name, visibility)
            assert may_read == (world["threads"][gid] in readable_threads), (name, visibility)
            assert not may_read or may_view, (name, visibility)  # reading implies seeing

            # every action's refusal looks like absence exactly where the lists hide the object
            for action in GROUP_ACTIONS:
                obj = group
                if action in (Action.REPLY, Action.EDIT_POST, Action.DELETE_POST, Action.RENAME_THREAD,
                              Action.MODERATE_THREAD, Action.REPORT_POST, Action.SEE_HIDDEN_POST,
                              Action.VIEW_REVISIONS, Action.EDIT_FOLDER):  # a post, a thread, a folder in it
                    obj = {**dict(group), "group_id": gid, "group_visibility": group["visibility"],
                           "locked": 0, "deleted_at": None, "hidden_at": None, "author_id": -1, "created_by": -1}
                try:
                    policy.require(actor, action, obj)
                    outcome = "allowed"
                except NotFound:
                    outcome = "not_found"
                except (Forbidden, Unauthorized):
                    outcome = "refused"
                assert (outcome == "allowed") == policy.can(actor, action, obj), (name, visibility, action)
                # the thread page's one-pass answers say the same as the single-object checks
                one_pass = {Action.EDIT_POST: policy.editable_posts, Action.REPORT_POST: policy.reportable_posts,
                            Action.SEE_HIDDEN_POST: policy.own_hidden_posts}.get(action)
                if one_pass is not None:
                    for post in (obj, {**obj, "author_id": actor.user_id}, {**obj, "deleted_at": "x"},
                                 {**obj, "hidden_at": "x", "hidden_reason": "r"},
                                 {**obj, "hidden_at": "x", "hidden_reason": "r", "author_id": actor.user_id}):
                        assert (post["id"] in one_pass(actor, post, [post])) == \
                            policy.can(actor, action, post), (name, visibility, action, post)
                hidden = not (may_view if action in (Action.VIEW_GROUP, Action.JOIN, Action.LEAVE,
                                                     Action.MODERATE_GROUP, Action.TRANSFER_OWNERSHIP)
                              else may_read)
                if action is Action.ACCEPT_INVITATION_TOKEN:
                    hidden = False  # the mailed link told its holder the group exists
                assert (outcome == "not_found") == hidden, (name, visibility, action, outcome)


ALL = set(VISIBILITIES)
# actor: (visibilities whose group it may see, visibilities whose threads it may read)
EXPECTED = {
    "visitor": ({"open"}, {"open"}),
    "pending_account": ({"open"}, {"open"}),
    "suspended": ({"open"}, {"open"}),
    "site_member": ({"open", "closed"}, {"open"}),
    "editor": ({"open", "closed"}, {"open"}),
    "requested": (ALL, {"open"}),
    "invited": (ALL, {"open"}),
    "banned": ({"open", "closed"}, {"open"}),
    "group_member": (ALL, ALL),
    "moderator": (ALL, ALL),
    "owner": (ALL, ALL),
    "admin": (ALL, ALL),
}


@pytest.mark.parametrize("name", list(EXPECTED))
async def test_every_path_answers_alike(world, name, svc, anonymous):
    user = world["users"].get(name)
    if name in ("visitor", "pending_account", "suspended"):
        client = await anonymous()   # these cannot log in: they browse as visitors
        if name != "visitor":
            refused = await client.post("/api/v1/login", {"email": user.email, "password": PASSWORD}, expect=403)
            assert refused["error"]["code"] == "forbidden"
    else:
        client = user
    listed = {g["id"] for g in (await client.get("/api/v1/groups"))["groups"]}
    for visibility, gid in world["groups"].items():
        may_view = visibility in EXPECTED[name][0]
        may_read = visibility in EXPECTED[name][1]
        assert (gid in listed) == may_view, (name, visibility)
        await client.get(f"/api/v1/groups/{gid}", expect=200 if may_view else 404)
        page = await client.client.get(f"/groups/{gid}")
        assert page.status == (200 if may_view else 404), (name, visibility)
        await client.get(f"/api/v1/groups/{gid}/threads", expect=200 if may_read else 404)
        await client.get(f"/api/v1/groups/{gid}/members", expect=200 if may_read else 404)
        tid = world["threads"][gid]
        await client.get(f"/api/v1/threads/{tid}", expect=200 if may_read else 404)
        thread_page = await client.client.get(f"/threads/{tid}")
        assert thread_page.status == (200 if may_read else 404), (name, visibility)
        home = await (await client.client.get("/")).text()
        assert (f"/threads/{tid}\"" in home) == may_read, (name, visibility)


async def test_not_found_answers_are_identical_to_nonexistent_ids(world):
    outsider = world["users"]["site_member"]
    hidden = world["groups"]["hidden"]
    missing = await outsider.get("/api/v1/groups/999999", expect=404)
    secret = await outsider.get(f"/api/v1/groups/{hidden}", expect=404)
    assert same_answer(missing) == same_answer(secret)
    missing_thread = await outsider.get("/api/v1/threads/999999", expect=404)
    secret_thread = await outsider.get(f"/api/v1/threads/{world['threads'][hidden]}", expect=404)
    assert same_answer(missing_thread) == same_answer(secret_thread)


async def test_recipient_filter_equals_the_read_check(world, svc):
    """Who notifications, mail and digests may reach (SQL) is who may read (can)."""
    where = policy.account_reads_group_sql("u", "g")
    for name in ACTOR_NAMES:
        user = world["users"].get(name)
        if user is None:
            continue
        actor = await _actor(svc, user)
        async with svc.db.read() as conn:
            rows = await conn.execute_fetchall(f"SELECT g.id FROM users u, groups g WHERE u.id = ? AND {where}",
                                               (user.id,))
        reached = {row[0] for row in rows} & set(world["groups"].values())
        for visibility, gid in world["groups"].items():
            group = await groups.get_group(svc, policy.Actor(user_id=0, role="admin"), gid)
            expected = actor.active and policy.can(actor, Action.READ, group)
            assert (gid in reached) == expected, (name, visibility)



def test_the_directory_is_for_whoever_is_logged_in():
    visitor, member = policy.Actor(), policy.Actor(user_id=5, role="member")
    assert not policy.can(visitor, Action.VIEW_DIRECTORY) and policy.can(member, Action.VIEW_DIRECTORY)
    with pytest.raises(Unauthorized):  # the page exists: logging in opens it (not a 404)
        policy.require(visitor, Action.VIEW_DIRECTORY)
    suspended = policy.Actor(user_id=6, role="member", status="suspended")
    assert not policy.can(suspended, Action.VIEW_DIRECTORY)
