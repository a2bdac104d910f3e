"""Pages: the groups overview, one group with its threads, creating and editing groups,
joining and leaving, and the member page where moderators handle requests and invitations."""
from __future__ import annotations

from aiohttp import web

from forum import policy
from forum.errors import N_, BadRequest, Conflict, Invalid, NotFound, ServiceError
from forum.files import Refused, photos
from forum.i18n import current_locale, gettext
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import agenda, discussions, groups, invitations, live, moderation, news, reading
from forum.web.api import int_param
from forum.web.pages import form_of, picture, redirect, render, rerender
from forum.web.fragment_cache import fragment_cache_key
from forum.web.page_cache import valid_until
from forum.web.templating import fragment
from forum.web.uploads import read_form


async def index(request: web.Request) -> web.Response:
    actor = request[actor_key]
    svc = request.app[services_key]
    rows = await groups.list_groups(svc, actor)
    return render(request, "groups.html", {
        "proeftuinen": [g for g in rows if g["kind"] == "proeftuin"],
        "werkgroepen": [g for g in rows if g["kind"] == "werkgroep"],
        "invitations": await invitations.invitations_for(svc, actor),
        "may_create": bool(await groups.creatable_kinds(request.app[services_key], request[actor_key])),
        "welcome": actor.active and request.query.get("welcome") == "1",
    })




def thread_rows(request: web.Request, threads, new, logged_in: bool, week_ago: str) -> list:
    """A group page's rows: reused while the thread list and the reader's unread counts are
    the same objects (both come from the read cache, one object per version). Threads never
    opened count as new for a week."""
    def build() -> list:
        return [
            fragment(request, "thread_row.html", id=t["id"], title=t["title"], author_name=t["author_name"],
                     reply_count=t["reply_count"], last_poster_name=t["last_poster_name"],
                     last_activity_at=t["last_activity_at"], pinned=t["pinned"], locked=t["locked"],
                     new=new.get(t["id"], (0, None))[0], first_new=new.get(t["id"], (0, None))[1],
                     fresh=logged_in and t["id"] not in new and t["created_at"] > week_ago)
            for t in threads]
    return request.app[fragment_cache_key].assembled(("rows", logged_in, current_locale(), week_ago[:13]),
                                                     (threads, new), build)


GROUP_PAGE_NEWS = 5
GROUP_PAGE_EVENTS = 3  # the coming ones; the group's agenda has the rest


async def show(request: web.Request) -> web.Response:
    return await _group_page(request, int_param(request, "group_id"))


async def _group_page(request: web.Request, group_id: int, error: ServiceError | None = None,
                      values: dict | None = None) -> web.Response:
    actor = request[actor_key]
    svc = request.app[services_key]
    group = await groups.get_group(svc, actor, group_id)
    context = {"group": group, "role": actor.group_role(group_id), "thread_rows": [], "next": None,
               "first_page": not request.query.get("before"), "level": None,
               "last_event_id": 0,
               "may_read": policy.can(actor, Action.READ, group),
               "may_post": policy.can(actor, Action.START_THREAD, group),
               "may_moderate": policy.can(actor, Action.MODERATE_GROUP, group),
               "may_manage": policy.can(actor, Action.TRANSFER_OWNERSHIP, group),
               "may_join": policy.can(actor, Action.JOIN, group), "news": [], "more_news": False,
               "events": [], "more_events": False, "event_statuses": {},
               "thread_deleted": request.query.get("deleted") == "thread"}
    context["group_open_reports"] = await moderation.open_count(svc, actor, group_id) if context["may_moderate"] else 0
    context["my_ban"] = await groups.my_ban(svc, actor, group_id) if context["role"] == "banned" else None
    if context["may_read"]:
        context["last_event_id"] = await live.last_event_id(svc)  # before the list: it is at least this new
        threads, context["next"] = await discussions.threads_of_group(
            svc, actor, group, before=request.query.get("before"))
        new = await reading.new_counts(svc, actor, threads)
        context["thread_rows"] = thread_rows(request, threads, new, actor.active, svc.later(days=-7))
        context["level"] = await reading.open_group(svc, actor, group_id)
        context["news"], more = await news.listing(svc, actor, group_id=group_id, limit=GROUP_PAGE_NEWS)
        context["more_news"] = more is not None
        context["events"], more = await agenda.listing(svc, actor, group_id=group_id, limit=GROUP_PAGE_EVENTS)
        context["more_events"] = more is not None
        context["event_statuses"] = await agenda.my_statuses(svc, actor, context["events"])
        valid_until(request, agenda.next_change(context["events"], svc.now()))  # one ends: it leaves the list
    context["may_publish_news"] = policy.can(actor, Action.PUBLISH_NEWS, group)
    context["may_create_event"] = policy.can(actor, Action.CREATE_EVENT, group)
    context["values"] = values or {}
    if error is not None:
        return rerender(request, "group.html", error, context)
    return render(request, "group.html", context)


async def new_form(request: web.Request) -> web.Response:
    kinds = await groups.require_may_create(request.app[services_key], request[actor_key])
    return render(request, "group_form.html", {"values": {"kind": "werkgroep", "visibility": "open"},
                                               "creating": True, "may_create_proeftuin": "proeftuin" in kinds})


async def new_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        group = await groups.create_group(
            request.app[services_key], request[actor_key], name=form.get("name", ""), kind=form.get("kind", ""),
            visibility=form.get("visibility", ""), description=form.get("description", ""))
    except ServiceError as error:
        return rerender(request, "group_form.html", error, {
            "values": form, "creating": True,
            "may_create_proeftuin": "proeftuin" in await groups.creatable_kinds(request.app[services_key],
                                                                               request[actor_key])})
    raise redirect(request, "group", group_id=group["id"])


async def edit_form(request: web.Request) -> web.Response:
    actor = request[actor_key]
    group = await groups.get_group(request.app[services_key], actor, int_param(request, "group_id"))
    policy.require(actor, Action.TRANSFER_OWNERSHIP, group)
    return render(request, "group_form.html", {"values": dict(group), "group": group, "creating": False,
                                               "image_saved": "image" in request.query})


async def image_submit(request: web.Request) -> web.Response:
    """The group form's icon or banner (multipart: token, which, then the file)."""
    actor, svc = request[actor_key], request.app[services_key]
    group_id = int_param(request, "group_id")
    # who may not change the group is refused before a byte of the file is read
    policy.require(actor, Action.TRANSFER_OWNERSHIP, await groups.get_group(svc, actor, group_id))
    try:
        try:
            fields, upload = await read_form(request, file_field="image")
        except Refused as refused:  # the store's refusal names every kind of document: here only images count
            which = (getattr(refused, "form_values", None) or {}).get("which", "")
            raise photos.refused_kind(which if which in groups.IMAGE_KINDS else "image")
        which = fields.get("which", "")
        if upload is None:
            raise Invalid(fields={which if which in groups.IMAGE_KINDS else "image": N_("Kies een afbeelding.")})
        await groups.set_image(svc, actor, group_id, which, upload)
    except ServiceError as error:
        if error.status not in (413, 415, 422, 429):
            raise
        group = await groups.get_group(svc, actor, group_id)
        return rerender(request, "group_form.html", error, {"values": dict(group), "group": group, "creating": False})
    raise web.HTTPSeeOther(f"/groups/{group_id}/edit?image=1")


async def image_remove(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    form = await form_of(request)
    await groups.remove_image(request.app[services_key], request[actor_key], group_id, form.get("which", ""))
    raise web.HTTPSeeOther(f"/groups/{group_id}/edit?image=1")


async def image(request: web.Request) -> web.StreamResponse:
    """A group's icon or banner, for whoever may see the group."""
    which = request.match_info["which"]
    path, blob = await groups.image_of(request.app[services_key], request[actor_key],
                                       int_param(request, "group_id"), which)
    return picture(request, path, blob)


async def edit_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    group_id = int_param(request, "group_id")
    try:
        await groups.update_group(request.app[services_key], request[actor_key], group_id,
                                  name=form.get("name", ""), visibility=form.get("visibility", ""),
                                  description=form.get("description", ""),
                                  members_propose_events=form.get("members_propose_events") == "1",
                                  intro=form.get("intro"))
    except ServiceError as error:
        group = await groups.get_group(request.app[services_key], request[actor_key], group_id)
        return rerender(request, "group_form.html", error, {"values": form, "group": group, "creating": False})
    raise redirect(request, "group", group_id=group_id)


async def join(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    form = await form_of(request)
    try:
        await groups.join(request.app[services_key], request[actor_key], group_id, form.get("message", ""))
    except ServiceError as error:
        if error.status != 422:
            raise
        return await _group_page(request, group_id, error, form)  # the message kept, its field marked
    raise redirect(request, "group", group_id=group_id)


async def leave(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    try:
        await groups.leave(request.app[services_key], request[actor_key], group_id)
    except ServiceError as error:
        if error.status != 409:
            raise
        return await _members_page(request, group_id, notice=error)
    raise redirect(request, "group", group_id=group_id)


async def _members_page(request: web.Request, group_id: int, notice: ServiceError | None = None,
                        values: dict | None = None) -> web.Response:
    actor = request[actor_key]
    group, rows, invited_emails = await groups.members(request.app[services_key], actor, group_id)
    may_moderate = policy.can(actor, Action.MODERATE_GROUP, group)
    context = {"group": group, "members": rows, "invited_emails": invited_emails, "values": values or {},
               "may_moderate": may_moderate, "may_manage": policy.can(actor, Action.TRANSFER_OWNERSHIP, group),
               "bans": await groups.bans(request.app[services_key], actor, group_id) if may_moderate else [],
               "done": request.query.get("done", "") if notice is None else ""}
    if notice is not None:
        return rerender(request, "members.html", notice, context)
    return render(request, "members.html", context)


async def members(request: web.Request) -> web.Response:
    return await _members_page(request, int_param(request, "group_id"))


CONFIRMED_ACTIONS = ("remove", "ban")  # drastic: asked again on a page of their own, with a reason for a ban


def ban_durations() -> list[tuple[str, str]]:
    return [("", gettext("Tot een moderator het opheft")), ("1", gettext("1 dag")), ("7", gettext("1 week")),
            ("30", gettext("30 dagen")), ("90", gettext("90 dagen")), ("365", gettext("1 jaar"))]


def ban_days(value: str) -> int | None:
    """The ban form's duration: empty is until lifted; anything not a whole number is refused
    by the service with the field marked."""
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else 0


async def member_action(request: web.Request) -> web.Response:
    """One form target for the member list's buttons: approve, reject, a new role, remove, ban
    or lift a ban. Removing, banning and handing over ownership first answer with a page that
    asks to confirm."""
    actor, svc = request[actor_key], request.app[services_key]
    group_id, user_id = int_param(request, "group_id"), int_param(request, "user_id")
    form = await form_of(request)
    action = form.get("action", "")
    if action == "role" and form.get("role") == "owner" and form.get("confirm") != "yes":
        group, rows, _ = await groups.members(svc, actor, group_id)
        policy.require(actor, Action.TRANSFER_OWNERSHIP, group)
        person = next((row for row in rows if row["id"] == user_id and row["role"] in ("moderator", "member")), None)
        if person is None:
            raise NotFound()
        return render(request, "member_confirm.html", {"group": group, "person": person, "action": "owner",
                                                       "ban_durations": []})
    if action in CONFIRMED_ACTIONS and form.get("confirm") != "yes":
        group, rows, _ = await groups.members(svc, actor, group_id)
        policy.require(actor, Action.MODERATE_GROUP, group)
        person = next((row for row in rows if row["id"] == user_id), None)
        if person is None:
            raise NotFound()
        if person["role"] == "owner" or user_id == actor.user_id:  # refused anyway: say so before asking
            return await _members_page(request, group_id, notice=Conflict(
                N_("De eigenaar kan niet worden verwijderd.") if person["role"] == "owner"
                else N_("Wilt u zelf uit de groep? Kies 'Groep verlaten' op de pagina van de groep.")))
        if not policy.can_manage_member(actor, group, person["role"]):  # a fellow moderator: the owner decides
            return await _members_page(request, group_id, notice=Conflict(
                N_("Alleen de eigenaar van de groep kan een moderator verwijderen of weren.")))
        return render(request, "member_confirm.html", {"group": group, "person": person, "action": action,
                                                       "ban_durations": ban_durations()})
    try:
        if action == "unban":
            try:
                await groups.unban(svc, actor, group_id, user_id)
            except NotFound:  # lifted already (a second click, another moderator): the list shows it
                await groups.bans(svc, actor, group_id)  # the one who may not see bans still gets 404

        elif action in ("approve", "reject"):
            await groups.decide_request(svc, actor, group_id, user_id, approve=action == "approve")
        elif action == "remove":
            await groups.remove_member(svc, actor, group_id, user_id, form.get("reason", ""))
        elif action == "ban":
            await groups.ban(svc, actor, group_id, user_id, form.get("reason", ""), ban_days(form.get("days", "")))
        elif action == "role":
            await groups.set_member_role(svc, actor, group_id, user_id, form.get("role", ""))
        else:  # (a handover reaches the role change only through its confirmation, above)
            raise BadRequest(N_("Onbekende actie."))
        done = action
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        if action in CONFIRMED_ACTIONS and error.status == 422:  # the reason: back to the page that asked for it
            group, rows, _ = await groups.members(svc, actor, group_id)
            person = next((row for row in rows if row["id"] == user_id), None)
            if person is not None:
                return rerender(request, "member_confirm.html", error, {
                    "group": group, "person": person, "action": action, "values": form,
                    "ban_durations": ban_durations()})
        return await _members_page(request, group_id, notice=error)
    raise web.HTTPSeeOther(f"/groups/{group_id}/members?done={done}")  # the page says what was done


async def invite(request: web.Request) -> web.Response:
    group_id = int_param(request, "group_id")
    form = await form_of(request)
    try:
        await invitations.invite(request.app[services_key], request[actor_key], group_id, email=form.get("email", ""))
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return await _members_page(request, group_id, notice=error, values=form)
    raise redirect(request, "group.members", group_id=group_id)


