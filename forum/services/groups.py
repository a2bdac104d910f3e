"""Groups: proeftuinen and werkgroepen, joining, requests and member roles (invitations are
in invitations.py)."""
from __future__ import annotations

from dataclasses import replace

from forum import policy
from forum.errors import Conflict, Forbidden, Invalid, N_, NotFound
from forum.files import Upload, photos
from forum.markdown import render_markdown
from forum.policy import GROUP_MEMBER_ROLES, Action, Actor, GroupDraft
from forum.services import Services, audit, notifications, search_index, signups
from forum.services.checks import (MAX_DESCRIPTION, MAX_NAME, MAX_REASON, FieldErrors, alt_texts, choice_field,
                                   text_field, told_reason)
from forum.store import groups as group_store
from forum.store import notifications as note_store
from forum.store import threads as thread_store
from forum.store import users as user_store

MAX_BAN_DAYS = 3650

KINDS = ("proeftuin", "werkgroep")
VISIBILITIES = ("open", "closed", "hidden")


async def membership_event(tx, svc: Services, group_id: int, user_id: int, role: str | None,
                            was: str | None = None) -> None:
    payload = {"group_id": group_id, "user_id": user_id, "role": role}
    # The user's own channel first: the live hub updates that user's rights before the
    # group hears of it, so a removed member gets nothing more from the group.
    await thread_store.append_event(tx, f"user:{user_id}", "membership.changed", payload, svc.now())
    # The group's channel hears only what its member list shows to every reader: requests and
    # invitations are for the person concerned (above) and the moderators' own pages.
    if role in policy.GROUP_MEMBER_ROLES or was in policy.GROUP_MEMBER_ROLES:
        await thread_store.append_event(tx, f"group:{group_id}", "membership.changed", payload, svc.now())
    if was in policy.GROUP_MEMBER_ROLES and role not in policy.GROUP_MEMBER_ROLES:
        await signups.release_member(tx, svc, group_id, user_id)  # their places go to those waiting


async def list_groups(svc: Services, actor: Actor):
    where, params = policy.visible_groups_sql(actor)
    async with svc.db.read() as conn:
        return await group_store.visible(conn, where, params)


async def groups_where(svc: Services, actor: Actor, action: Action):
    """The groups where the actor may do this (a form's picker of where to publish, propose or
    upload): among their own groups, or every group for an admin."""
    if not actor.active:
        return []
    where, params = policy.visible_groups_sql(actor)
    async with svc.db.read() as conn:
        groups = await group_store.visible(conn, where, params) if actor.is_admin \
            else await group_store.of_user(conn, actor.user_id, where, params)
    return [group for group in groups if policy.can(actor, action, group)]


async def target_group(svc: Services, actor: Actor, group_id):
    """The group something is to be published or proposed in, given as a JSON id (None: the
    site): a 422 for what is no id, 404 for a group the actor does not see."""
    if group_id is None:
        return None
    if type(group_id) is not int or not 0 < group_id < 2**63:
        raise Invalid(fields={"group_id": N_("Deze groep bestaat niet.")})
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    if group is None or not policy.can(actor, Action.VIEW_GROUP, group):
        raise NotFound()
    return group


async def get_group(svc: Services, actor: Actor, group_id: int):
    group = await svc.cached_read(("group", group_id), lambda conn: group_store.by_id(conn, group_id),
                                  ignoring="library")
    policy.require(actor, Action.VIEW_GROUP, group)
    return group


def _group_fields(errors: FieldErrors, name: str, visibility: str, description: str):
    name = text_field(errors, "name", name, max_len=MAX_NAME)
    choice_field(errors, "visibility", visibility, VISIBILITIES)
    description = text_field(errors, "description", description, max_len=MAX_DESCRIPTION, required=False)
    return name, description


async def create_group(svc: Services, actor: Actor, *, name: str, kind: str, visibility: str,
                       description: str = ""):
    errors = FieldErrors()
    name, description = _group_fields(errors, name, visibility, description)
    choice_field(errors, "kind", kind, KINDS)
    async with svc.db.write() as tx:
        settings = await user_store.settings(tx)
        policy.require(actor, Action.CREATE_GROUP,
                       GroupDraft(kind, settings["members_create_werkgroepen"] == "1"))
        errors.raise_if_any()
        if await group_store.name_taken(tx, name):
            raise Conflict(fields={"name": N_("Er bestaat al een groep met deze naam.")})
        group_id = await group_store.insert(
            tx, name=name, kind=kind, visibility=visibility, description=description,
            created_by=actor.user_id, now=svc.now(),
        )
        await group_store.put_membership(tx, group_id, actor.user_id, "owner", svc.now())
        await membership_event(tx, svc, group_id, actor.user_id, "owner")
        await search_index.index_group(tx, group_id)
        return await group_store.by_id(tx, group_id)


async def update_group(svc: Services, actor: Actor, group_id: int, *, name: str, visibility: str,
                       description: str, members_propose_events: bool | None = None, intro: str | None = None):
    """members_propose_events and intro (the longer introduction, Markdown) None keep them as they are."""
    errors = FieldErrors()
    name, description = _group_fields(errors, name, visibility, description)
    if intro is not None:
        intro = text_field(errors, "intro", intro, max_len=MAX_INTRO, required=False, single_line=False)
        alt_texts(errors, "intro", intro)
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.TRANSFER_OWNERSHIP, group)
        errors.raise_if_any()
        if await group_store.name_taken(tx, name, except_id=group_id):
            raise Conflict(fields={"name": N_("Er bestaat al een groep met deze naam.")})
        proposing = bool(group["members_propose_events"]) if members_propose_events is None \
            else members_propose_events
        await group_store.update(tx, group_id, name=name, visibility=visibility, description=description,
                                 members_propose_events=proposing)
        if intro is not None:
            await group_store.set_intro(tx, group_id, intro, render_markdown(intro) if intro else "")
        await search_index.index_group(tx, group_id)
        await audit.record(tx, svc, actor, "group.update", target_type="group", target_id=group_id, label=name,
                           group_id=group_id, data={"visibility": visibility, "was": group["visibility"]})
        await thread_store.append_event(
            tx, f"group:{group_id}", "group.updated",
            {"group_id": group_id, "name": name, "visibility": visibility}, svc.now())
        return await group_store.by_id(tx, group_id)


MAX_REQUEST_MESSAGE = 1000


async def join(svc: Services, actor: Actor, group_id: int, message: str = "") -> str:
    """Join an open group, request to join a closed one (with a message for its moderators), or
    accept an invitation. Returns the role."""
    errors = FieldErrors()
    message = text_field(errors, "message", message, max_len=MAX_REQUEST_MESSAGE, required=False, single_line=False)
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        current = await group_store.membership(tx, group_id, actor.user_id) if actor.active else None
        if group is not None and current in ("owner", "moderator", "member", "pending"):
            if policy.can(actor, Action.VIEW_GROUP, group):
                return current  # joining twice is not an error: the answer is the same state
        if (group is not None and not policy.can(actor, Action.JOIN, group) and not actor.email_verified
                and policy.can(replace(actor, email_verified=True), Action.JOIN, group)):
            raise Forbidden(N_("Bevestig eerst uw e-mailadres: wij stuurden u een link. "
                               "Daarna kunt u uitnodigingen aannemen en lid worden van besloten groepen."))
        policy.require(actor, Action.JOIN, group)
        errors.raise_if_any()
        invited = actor.group_role(group_id) == "invited"  # by account, or by mail to a proven address
        role = "member" if invited or group["visibility"] == "open" else "pending"
        await enter(tx, svc, group_id, actor.user_id, actor.email, role, current, request_message=message)
        if role == "pending":  # moderators hear of requests whatever their level, with the message
            await notifications.notify_moderators(tx, svc, group_id, "join_request", actor_id=actor.user_id,
                                                  data={"message": message}, once_unread=True)
        return role


async def enter(tx, svc: Services, group_id: int, user_id: int, email: str, role: str, current: str | None,
                request_message: str = "") -> None:
    await group_store.put_membership(tx, group_id, user_id, role, svc.now(), request_message)
    if role == "member":
        await group_store.delete_email_invitation(tx, group_id, email)
        await note_store.set_group_level(tx, user_id, group_id, "normal")
    await membership_event(tx, svc, group_id, user_id, role, was=current)


async def leave(svc: Services, actor: Actor, group_id: int) -> None:
    """Leave a group, withdraw a request, or decline an invitation."""
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.LEAVE, group)
        role = await group_store.membership(tx, group_id, actor.user_id)
        if role == "owner" and await group_store.count_role(tx, group_id, "owner") <= 1:
            raise Conflict(N_("U bent de enige eigenaar. Draag het eigenaarschap eerst over."))
        if role is not None:
            await group_store.delete_membership(tx, group_id, actor.user_id)
        await group_store.delete_email_invitation(tx, group_id, actor.email)  # declining one by mail
        await membership_event(tx, svc, group_id, actor.user_id, None, was=role)


async def members(svc: Services, actor: Actor, group_id: int):
    """Members for anyone who may read the group; requests and invitations for its moderators only."""
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
        policy.require(actor, Action.READ, group)
        rows = await group_store.members(conn, group_id)
        invited_emails = await group_store.email_invitations(conn, group_id)
    if policy.can(actor, Action.MODERATE_GROUP, group):
        return group, rows, invited_emails
    return group, [r for r in rows if r["role"] in policy.GROUP_MEMBER_ROLES], []


async def _moderated_target(tx, actor: Actor, group_id: int, user_id: int):
    group = await group_store.by_id(tx, group_id)
    policy.require(actor, Action.MODERATE_GROUP, group)
    role = await group_store.membership(tx, group_id, user_id)
    if role is None:
        raise NotFound(N_("Deze persoon hoort niet bij de groep."))
    return group, role


async def decide_request(svc: Services, actor: Actor, group_id: int, user_id: int, *, approve: bool) -> str | None:
    async with svc.db.write() as tx:
        group, role = await _moderated_target(tx, actor, group_id, user_id)
        if role != "pending":
            raise Conflict(N_("Er ligt geen verzoek van deze persoon."))
        if approve:
            await group_store.put_membership(tx, group_id, user_id, "member", svc.now())
        else:
            await group_store.delete_membership(tx, group_id, user_id)
            await withdraw_mailed_invitation(tx, group_id, user_id)
        new_role = "member" if approve else None
        await membership_event(tx, svc, group_id, user_id, new_role, was=role)
        await audit.record(tx, svc, actor, "member.approve" if approve else "member.reject", target_type="user",
                           target_id=user_id, label=await _name(tx, user_id), group_id=group_id)
        if approve:
            await note_store.set_group_level(tx, user_id, group_id, "normal")
        await notifications.notify_one(tx, svc, user_id, "request_approved" if approve else "request_rejected",
                                       actor_id=None, group_id=group_id)
        return new_role


async def set_member_role(svc: Services, actor: Actor, group_id: int, user_id: int, role: str) -> str:
    """Promote, demote, or (owner and admin only) hand over ownership."""
    errors = FieldErrors()
    choice_field(errors, "role", role, ("owner", "moderator", "member"))
    async with svc.db.write() as tx:
        group, current = await _moderated_target(tx, actor, group_id, user_id)
        errors.raise_if_any()
        if current not in policy.GROUP_MEMBER_ROLES:
            raise Conflict(N_("Alleen leden kunnen een andere rol krijgen."))
        if not policy.can_manage_member(actor, group, current, role):
            raise Forbidden()
        if current == "owner" and await group_store.count_role(tx, group_id, "owner") <= 1:
            raise Conflict(N_("Een groep houdt altijd een eigenaar. Draag het eigenaarschap eerst over."))
        await group_store.put_membership(tx, group_id, user_id, role, svc.now())
        await membership_event(tx, svc, group_id, user_id, role, was=current)
        await audit.record(tx, svc, actor, "member.role", target_type="user", target_id=user_id,
                           label=await _name(tx, user_id), group_id=group_id, data={"from": current, "to": role})
        if role != current and user_id != actor.user_id:
            await notifications.notify_one(tx, svc, user_id, "role_changed", actor_id=actor.user_id,
                                           group_id=group_id, data={"role": role})
        if role == "owner" and actor.group_role(group_id) == "owner" and actor.user_id != user_id:
            await group_store.put_membership(tx, group_id, actor.user_id, "moderator", svc.now())
            await membership_event(tx, svc, group_id, actor.user_id, "moderator", was="owner")
        return role


async def remove_member(svc: Services, actor: Actor, group_id: int, user_id: int, reason: str = "") -> None:
    """Take someone out of the group (they may join or ask again); a member is told, with the
    reason (required then; withdrawing an invitation or a request needs none)."""
    async with svc.db.write() as tx:
        group, current = await _moderated_target(tx, actor, group_id, user_id)
        if current == "owner":
            raise Conflict(N_("De eigenaar kan niet worden verwijderd."))
        if not policy.can_manage_member(actor, group, current):
            raise Forbidden()
        errors = FieldErrors()
        reason = told_reason(errors, reason, told=current in GROUP_MEMBER_ROLES)
        errors.raise_if_any()
        await group_store.delete_membership(tx, group_id, user_id)
        await withdraw_mailed_invitation(tx, group_id, user_id)  # its link must stop working too
        await membership_event(tx, svc, group_id, user_id, None, was=current)
        if current in GROUP_MEMBER_ROLES:  # a withdrawn request or invitation is no news to tell
            await notifications.notify_one(tx, svc, user_id, "member_removed", actor_id=None,
                                           group_id=group_id, data={"reason": reason, "group_name": group["name"]})
        await audit.record(tx, svc, actor, "member.remove", target_type="user", target_id=user_id,
                           label=await _name(tx, user_id), group_id=group_id, reason=reason)


async def ban(svc: Services, actor: Actor, group_id: int, user_id: int, reason: str, days: int | None = None) -> None:
    """Remove someone from the group, for a number of days or until a moderator lifts it: a
    banned person cannot rejoin or ask to. A ban given again replaces the first (its reason and end).
    The reason is required: the person is told it, as the terms promise."""
    errors = FieldErrors()
    reason = text_field(errors, "reason", reason, max_len=MAX_REASON)
    if days is not None and (type(days) is not int or not 1 <= days <= MAX_BAN_DAYS):
        errors.add("days", N_("Kies een duur van 1 tot 3650 dagen, of voor onbepaalde tijd."))
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.MODERATE_GROUP, group)
        target = await user_store.by_id(tx, user_id)
        if target is None:
            raise NotFound(N_("Deze gebruiker bestaat niet."))
        if user_id == actor.user_id:
            raise Conflict(N_("U kunt uzelf niet weren."))
        current = await group_store.membership(tx, group_id, user_id)
        if current == "owner":
            raise Conflict(N_("De eigenaar kan niet worden verwijderd."))
        if not policy.can_manage_member(actor, group, current):
            raise Forbidden()
        errors.raise_if_any()
        was_banned = await group_store.is_banned(tx, group_id, user_id)
        if current is not None:
            await group_store.delete_membership(tx, group_id, user_id)
        await group_store.delete_email_invitation(tx, group_id, target["email"])
        ends_at = svc.later(days=days) if days else None
        await group_store.put_ban(tx, group_id, user_id, reason=reason, by=actor.user_id, now=svc.now(), ends_at=ends_at)
        await membership_event(tx, svc, group_id, user_id, None, was=current)
        if current in GROUP_MEMBER_ROLES + ("pending",) and not was_banned:
            # the person hears of it, and why and until when (the group page says the same to
            # them); someone who was never in the group is not sent its name and a stranger's words
            await notifications.notify_one(tx, svc, user_id, "banned", actor_id=None, group_id=group_id,
                                           data={"reason": reason, "ends_at": ends_at, "group_name": group["name"]})
        await audit.record(tx, svc, actor, "member.ban", target_type="user", target_id=user_id,
                           label=target["display_name"], group_id=group_id, reason=reason,
                           data={"ends_at": ends_at} if ends_at else None)


async def unban(svc: Services, actor: Actor, group_id: int, user_id: int) -> None:
    async with svc.db.write() as tx:
        group = await group_store.by_id(tx, group_id)
        policy.require(actor, Action.MODERATE_GROUP, group)
        if not await group_store.delete_ban(tx, group_id, user_id):
            raise NotFound(N_("Deze persoon is niet geweerd."))
        await membership_event(tx, svc, group_id, user_id, None)
        await _tell_ban_lifted(tx, svc, user_id, group_id)
        await audit.record(tx, svc, actor, "member.unban", target_type="user", target_id=user_id,
                           label=await _name(tx, user_id), group_id=group_id)


MAX_INTRO = 20_000
IMAGE_KINDS = ("icon", "banner")


async def set_image(svc: Services, actor: Actor, group_id: int, which: str, upload: Upload):
    """A group's icon or banner from an upload, made on the server (forum/files/photos.py) by
    whoever may edit the group; the earlier one is left to the sweep."""
    try:
        if which not in IMAGE_KINDS:
            raise NotFound()
        async with svc.db.read() as conn:
            policy.require(actor, Action.TRANSFER_OWNERSHIP, await group_store.by_id(conn, group_id))
    except BaseException:
        upload.discard()
        raise
    blob = await photos.make(svc.files, upload, which, which, count=lambda: svc.limiter.hit("PICTURE", actor.user_id))
    async with svc.db.write() as tx:
        policy.require(actor, Action.TRANSFER_OWNERSHIP, await group_store.by_id(tx, group_id))
        await group_store.set_image(tx, group_id, which, blob)
        return await group_store.by_id(tx, group_id)


async def remove_image(svc: Services, actor: Actor, group_id: int, which: str) -> None:
    if which not in IMAGE_KINDS:
        raise NotFound()
    async with svc.db.write() as tx:
        policy.require(actor, Action.TRANSFER_OWNERSHIP, await group_store.by_id(tx, group_id))
        await group_store.set_image(tx, group_id, which, None)


async def image_of(svc: Services, actor: Actor, group_id: int, which: str):
    """(file path, blob) of a group's icon or banner, for whoever may see the group."""
    if which not in IMAGE_KINDS:
        raise NotFound()
    group = await get_group(svc, actor, group_id)
    blob = group[f"{which}_blob"]
    if not blob:
        raise NotFound()
    return svc.files.path_of(blob), blob


async def end_bans_due(svc: Services) -> int:
    """Bans given for a period end by themselves (the scheduler's tick): as if lifted, so the
    person may join again, and the log says so."""
    async with svc.db.read() as conn:  # a write (even an empty one) would void every cache each tick
        if not await group_store.ended_bans(conn, svc.now()):
            return 0
    async with svc.db.write() as tx:
        ended = await group_store.ended_bans(tx, svc.now())
        for row in ended:
            await group_store.delete_ban(tx, row["group_id"], row["user_id"])
            await membership_event(tx, svc, row["group_id"], row["user_id"], None)
            await _tell_ban_lifted(tx, svc, row["user_id"], row["group_id"])
            await audit.record(tx, svc, None, "member.ban_ended", target_type="user", target_id=row["user_id"],
                               label=await _name(tx, row["user_id"]), group_id=row["group_id"])
    return len(ended)


async def _tell_ban_lifted(tx, svc: Services, user_id: int, group_id: int) -> None:
    """Whoever was told of their ban hears that it is over (a stranger banned ahead was told
    nothing, and is told nothing now)."""
    told = await note_store.last_told(tx, user_id, "banned", group_id)
    if told is not None:  # named as they were told it then: a hidden group's later name is not theirs
        await notifications.notify_one(tx, svc, user_id, "ban_lifted", actor_id=None, group_id=group_id,
                                       data={"group_name": told.get("group_name", "")})


async def my_ban(svc: Services, actor: Actor, group_id: int):
    """The actor's own ban from this group (its reason and date), or None."""
    if not actor.active:
        return None
    async with svc.db.read() as conn:
        return await group_store.ban_of(conn, group_id, actor.user_id)


async def bans(svc: Services, actor: Actor, group_id: int):
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
        policy.require(actor, Action.MODERATE_GROUP, group)
        return await group_store.bans(conn, group_id)


async def _name(tx, user_id: int) -> str:
    user = await user_store.by_id(tx, user_id)
    return user["display_name"] if user else ""


async def creatable_kinds(svc: Services, actor: Actor) -> tuple[str, ...]:
    """The kinds of group the actor may start now (the site setting decides for members)."""
    if not actor.active:
        return ()
    members_may = await members_may_create_werkgroepen(svc)
    return tuple(kind for kind in KINDS if policy.can(actor, Action.CREATE_GROUP, GroupDraft(kind, members_may)))


async def require_may_create(svc: Services, actor: Actor) -> tuple[str, ...]:
    kinds = await creatable_kinds(svc, actor)
    if not kinds:
        policy.require(actor, Action.CREATE_GROUP, GroupDraft("werkgroep", await members_may_create_werkgroepen(svc)))
    return kinds


async def members_may_create_werkgroepen(svc: Services) -> bool:
    async with svc.db.read() as conn:
        return (await user_store.settings(conn))["members_create_werkgroepen"] == "1"


async def withdraw_mailed_invitation(tx, group_id: int, user_id: int) -> None:
    user = await user_store.by_id(tx, user_id)
    if user is not None:
        await group_store.delete_email_invitation(tx, group_id, user["email"])
