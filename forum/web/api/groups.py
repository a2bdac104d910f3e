"""API: groups, membership flows and member roles."""
from __future__ import annotations

from aiohttp import web
from pydantic import Field

from forum.keys import actor_key, services_key
from forum.services import groups, invitations
from forum.web.api import MAX_ID, In, TokenIn, group_out, int_param, json_out, read_json, reason_of


class GroupIn(In):
    name: str
    kind: str
    visibility: str
    description: str = ""


class GroupUpdateIn(In):
    name: str
    visibility: str
    description: str = ""
    members_propose_events: bool | None = None  # members may propose events (moderators approve)
    intro: str | None = None  # the longer introduction (Markdown); left out: unchanged


class BanIn(In):
    user_id: int = Field(ge=1, le=MAX_ID)
    reason: str = ""
    days: int | None = Field(default=None, description="Ends by itself after this many days (1-3650); none: until lifted")


async def ban(request: web.Request) -> web.Response:
    data = await read_json(request, BanIn)
    await groups.ban(request.app[services_key], request[actor_key], int_param(request, "group_id"), data.user_id,
                     data.reason, data.days)
    return json_out({"user_id": data.user_id, "banned": True}, status=201)


async def unban(request: web.Request) -> web.Response:
    await groups.unban(request.app[services_key], request[actor_key], int_param(request, "group_id"),
                       int_param(request, "user_id"))
    return json_out({"ok": True})


async def list_bans(request: web.Request) -> web.Response:
    rows = await groups.bans(request.app[services_key], request[actor_key], int_param(request, "group_id"))
    return json_out({"bans": [{"user_id": r["user_id"], "display_name": r["display_name"], "reason": r["reason"],
                               "created_at": r["created_at"], "ends_at": r["ends_at"]} for r in rows]})


class InvitationIn(In):
    email: str | None = None
    user_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class MemberRoleIn(In):
    role: str


async def list_groups(request: web.Request) -> web.Response:
    rows = await groups.list_groups(request.app[services_key], request[actor_key])
    return json_out({"groups": [group_out(g) for g in rows]})


async def create_group(request: web.Request) -> web.Response:
    data = await read_json(request, GroupIn)
    group = await groups.create_group(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"group": group_out(group)}, status=201)


async def get_group(request: web.Request) -> web.Response:
    actor = request[actor_key]
    group = await groups.get_group(request.app[services_key], actor, int_param(request, "group_id"))
    role = actor.group_role(group["id"])
    return json_out({"group": group_out(group), "membership": {"role": role} if role else None})


async def update_group(request: web.Request) -> web.Response:
    data = await read_json(request, GroupUpdateIn)
    group = await groups.update_group(request.app[services_key], request[actor_key],
                                      int_param(request, "group_id"), **data.model_dump())
    return json_out({"group": group_out(group)})


class JoinIn(In):
    message: str = Field(default="", description="For a closed group's moderators: who you are, why you ask")


async def join(request: web.Request) -> web.Response:
    data = await read_json(request, JoinIn) if request.body_exists else JoinIn()
    role = await groups.join(request.app[services_key], request[actor_key], int_param(request, "group_id"),
                             data.message)
    return json_out({"membership": {"role": role}})


async def leave(request: web.Request) -> web.Response:
    await groups.leave(request.app[services_key], request[actor_key], int_param(request, "group_id"))
    return json_out({"membership": None})


async def members(request: web.Request) -> web.Response:
    _, rows, invited_emails = await groups.members(
        request.app[services_key], request[actor_key], int_param(request, "group_id"))
    return json_out({
        "members": [{"user": {"id": r["id"], "display_name": r["display_name"]}, "role": r["role"],
                     "since": r["created_at"]} for r in rows],
        "invited_emails": invited_emails,
    })


async def approve(request: web.Request) -> web.Response:
    role = await groups.decide_request(request.app[services_key], request[actor_key],
                                       int_param(request, "group_id"), int_param(request, "user_id"), approve=True)
    return json_out({"membership": {"role": role}})


async def reject(request: web.Request) -> web.Response:
    await groups.decide_request(request.app[services_key], request[actor_key],
                                int_param(request, "group_id"), int_param(request, "user_id"), approve=False)
    return json_out({"membership": None})


async def set_role(request: web.Request) -> web.Response:
    data = await read_json(request, MemberRoleIn)
    role = await groups.set_member_role(request.app[services_key], request[actor_key],
                                        int_param(request, "group_id"), int_param(request, "user_id"), data.role)
    return json_out({"membership": {"role": role}})


async def remove_member(request: web.Request) -> web.Response:
    await groups.remove_member(request.app[services_key], request[actor_key],
                               int_param(request, "group_id"), int_param(request, "user_id"), await reason_of(request))
    return json_out({"membership": None})


async def invite(request: web.Request) -> web.Response:
    data = await read_json(request, InvitationIn)
    result = await invitations.invite(request.app[services_key], request[actor_key], int_param(request, "group_id"),
                                 user_id=data.user_id, email=data.email)
    return json_out({"invitation": result}, status=201)


async def accept_invitation(request: web.Request) -> web.Response:
    data = await read_json(request, TokenIn)
    group = await invitations.accept_invitation(request.app[services_key], request[actor_key], data.token)
    return json_out({"group": group_out(group), "membership": {"role": "member"}})


async def my_invitations(request: web.Request) -> web.Response:
    rows = await invitations.invitations_for(request.app[services_key], request[actor_key])
    return json_out({"groups": [{"id": g["id"], "name": g["name"], "kind": g["kind"]} for g in rows]})


