"""Pages for site admins: accounts (approve, roles, suspend), site settings and the mail outbox."""
from __future__ import annotations

from aiohttp import web

from forum.errors import ServiceError
from forum.i18n import gettext
from forum.keys import actor_key, services_key
from forum.services import administration, outbox, site_pages
from forum.web.api import int_param, parse_id
from forum.web.pages import form_of, redirect, render, rerender


async def _users_page(request: web.Request, error: ServiceError | None = None) -> web.Response:
    status = request.query.get("status")
    users = await administration.list_users(request.app[services_key], request[actor_key],
                                      status if status in ("active", "pending", "suspended") else None)
    context = {"users": users, "status": status, "values": {}}
    if error is not None:
        return rerender(request, "admin_users.html", error, context)
    return render(request, "admin_users.html", context)


async def users(request: web.Request) -> web.Response:
    return await _users_page(request)


def suspend_confirmation(user) -> dict:
    return {"title": gettext("%(name)s schorsen", name=user["display_name"]),
            "crumbs": [("/admin/users", gettext("Accounts"))],
            "explanation": gettext("%(name)s kan dan niet meer inloggen; open sessies eindigen meteen. Berichten "
                                   "blijven staan. %(name)s krijgt een e-mail met uw reden en tot wanneer.",
                                   name=user["display_name"]),
            "action": f"/admin/users/{user['id']}", "value": "suspend", "back": "/admin/users",
            "button": gettext("Schorsen"), "reason_label": gettext("Reden"), "reason_required": True,
            "reason_hint": gettext("Verplicht. De persoon leest deze reden in de e-mail en bij het inloggen."),
            "until": True}


async def user_action(request: web.Request) -> web.Response:
    actor, svc = request[actor_key], request.app[services_key]
    user_id = int_param(request, "user_id")
    form = await form_of(request)
    action = form.get("action", "")
    if action == "suspend":  # drastic: asked on a page of its own, with a reason and an end
        user = await administration.account(svc, actor, user_id)
        confirm = suspend_confirmation(user)
        if form.get("confirm") != "yes":
            return render(request, "confirm_action.html", {"confirm": confirm, "values": {}})
        try:
            await administration.suspend_account(svc, actor, user_id, form.get("reason", ""), form.get("until") or None)
        except ServiceError as error:
            if error.status not in (409, 422):
                raise
            return rerender(request, "confirm_action.html", error, {"confirm": confirm, "values": form})
        raise redirect(request, "admin.users")
    try:
        if action == "approve":
            await administration.approve_account(svc, actor, user_id)
        elif action == "unsuspend":
            await administration.unsuspend_account(svc, actor, user_id)
        elif action == "confirm_email":
            await administration.confirm_email(svc, actor, user_id)
        else:
            await administration.set_site_role(svc, actor, user_id, form.get("role", ""))
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return await _users_page(request, error)
    raise redirect(request, "admin.users")


async def settings_form(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    settings = await administration.site_settings(svc, actor)
    values = {**settings, "site_name": settings.get("site_name") or site_pages.DEFAULT_SITE_NAME}
    choices = await administration.logo_choices(svc, actor)
    chosen = settings.get("logo_document_id", "")
    # a logo chosen once that is no public image any more (a new version of another kind, a
    # narrower audience): the header no longer shows it, and the admin is told why
    logo_lost = bool(chosen) and all(str(doc["id"]) != chosen for doc in choices)
    return render(request, "admin_settings.html", {"values": values, "saved": "saved" in request.query,
                                                   "logo_choices": choices, "logo_lost": logo_lost})


async def settings_submit(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    form = await form_of(request)
    logo = form.get("logo_document_id")  # absent (an older form): left as it is
    try:
        await administration.update_site_settings(
            svc, actor, registration_mode=form.get("registration_mode", ""),
            members_create_werkgroepen=form.get("members_create_werkgroepen") == "1",
            site_name=form.get("site_name"),
            logo_document_id="keep" if logo is None else parse_id(logo) or (0 if logo else None))
    except ServiceError as error:
        return rerender(request, "admin_settings.html", error, {
            "values": form, "logo_choices": await administration.logo_choices(svc, actor)})
    raise web.HTTPSeeOther("/admin/settings?saved=1")


async def outbox_page(request: web.Request) -> web.Response:
    mails = await outbox.latest(request.app[services_key], request[actor_key])
    return render(request, "admin_outbox.html", {"mails": mails})


async def mail(request: web.Request) -> web.Response:
    row = await outbox.get(request.app[services_key], request[actor_key], int_param(request, "mail_id"))
    return render(request, "admin_mail.html", {"mail": row})
