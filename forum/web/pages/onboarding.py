"""Pages reached from a link with a token in it: the first admin's set-up, confirming an
e-mail address, and accepting an invitation that came by mail. The token is the authority;
the pages say nothing about a token that does not work beyond "expired or used"."""
from __future__ import annotations

from aiohttp import web

from forum.errors import NotFound, ServiceError
from forum.i18n import current_locale, gettext
from forum.keys import config_key, services_key
from forum.services import accounts, addresses, invitations, setup
from forum.web.cookies import set_session_cookie
from forum.web.pages import form_of, redirect, render, require_login, rerender


def _expired(request: web.Request) -> web.Response:
    return render(request, "message.html", {
        "title": gettext("Link niet bruikbaar"),
        "message": gettext("Deze link is verlopen of al gebruikt."),
        "link": ("/", gettext("Naar de voorpagina")),
    }, status=404)


async def setup_form(request: web.Request) -> web.Response:
    try:
        await setup.check_token(request.app[services_key], request.match_info["token"])
    except NotFound:
        return _expired(request)
    return render(request, "setup.html", {"values": {}, "token": request.match_info["token"]})


async def setup_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    svc = request.app[services_key]
    token = request.match_info["token"]
    try:
        await setup.create_first_admin(svc, token, email=form.get("email", ""), password=form.get("password", ""),
                                       display_name=form.get("display_name", ""), locale=current_locale())
    except NotFound:
        return _expired(request)
    except ServiceError as error:
        return rerender(request, "setup.html", error, {"values": form, "token": token})
    session, _ = await accounts.login(svc, email=form["email"], password=form["password"],
                                      address=request.remote or "")
    response = web.HTTPSeeOther("/admin/users")
    set_session_cookie(response, request.app[config_key], session)
    raise response


async def confirm_form(request: web.Request) -> web.Response:
    """A button, not a change on GET: mail scanners open links before people do."""
    return render(request, "confirm_email.html", {"token": request.match_info["token"]})


async def confirm_submit(request: web.Request) -> web.Response:
    try:
        await addresses.confirm_email(request.app[services_key], request.match_info["token"])
    except NotFound:
        return _expired(request)
    raise web.HTTPSeeOther("/email-confirmed")  # a fresh page: the banner is gone, a reload resubmits nothing


async def confirmed(request: web.Request) -> web.Response:
    return render(request, "message.html", {
        "title": gettext("E-mailadres bevestigd"),
        "message": gettext("Dank u. U kunt nu uitnodigingen aannemen en lid worden van besloten groepen."),
        "link": ("/groups", gettext("Naar de groepen")),
    })


async def resend_confirmation(request: web.Request) -> web.Response:
    actor = require_login(request)
    try:
        await addresses.resend_confirmation(request.app[services_key], actor, address=request.remote or "")
    except ServiceError as error:
        return rerender(request, "message.html", error, {"title": gettext("E-mailadres bevestigen"),
                                                         "message": gettext(error.message, **error.params)})
    return render(request, "message.html", {
        "title": gettext("Kijk in uw mailbox"),
        "message": gettext("Wij stuurden u een nieuwe link om uw e-mailadres te bevestigen."),
    })


async def invitation_form(request: web.Request) -> web.Response:
    try:
        group = await invitations.invitation_group(request.app[services_key], request.match_info["token"])
    except NotFound:
        return _expired(request)
    return render(request, "invitation.html", {"group": group, "token": request.match_info["token"],
                                                "next": request.path})


async def invitation_submit(request: web.Request) -> web.Response:
    actor = require_login(request)
    try:
        group = await invitations.accept_invitation(request.app[services_key], actor, request.match_info["token"])
    except NotFound:
        return _expired(request)
    raise redirect(request, "group", group_id=group["id"])


def routes() -> list[web.RouteDef]:
    return [
        web.get("/setup/{token}", setup_form, name="setup"),
        web.post("/setup/{token}", setup_submit),
        web.get("/confirm-email/{token}", confirm_form, name="confirm_email"),
        web.post("/confirm-email/{token}", confirm_submit),
        web.post("/confirm-email", resend_confirmation, name="confirm_email.resend"),
        web.get("/email-confirmed", confirmed, name="email_confirmed"),
        web.get("/invitations/{token}", invitation_form, name="invitation"),
        web.post("/invitations/{token}", invitation_submit),
    ]
