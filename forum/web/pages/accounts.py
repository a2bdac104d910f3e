"""Pages: Lid worden (register), log in and out, password reset, profile, photo and settings,
and the member directory."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from forum.errors import N_, NotFound, ServiceError
from forum.files import Refused, photos
from forum.i18n import LOCALES, current_locale, gettext
from forum.keys import actor_key, config_key, services_key, session_hash_key
from forum.services import accounts, site_pages
from forum.web.api import int_param
from forum.web.cookies import LANG_COOKIE, clear_session_cookie, set_cookie, set_session_cookie
from forum.web.pages import form_of, picture, render, require_login, rerender, safe_next, with_retry_after
from forum.web.uploads import read_form


async def register_form(request: web.Request) -> web.Response:
    return render(request, "register.html", {"values": {}, "next": safe_next(request.query.get("next"), ""),
                                             "terms": await site_pages.terms_pages(request.app[services_key])})


async def register_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    svc = request.app[services_key]
    try:
        user = await accounts.register(
            svc, email=form.get("email", ""), password=form.get("password", ""),
            display_name=form.get("display_name", ""), accepted_terms=form.get("accept_terms") == "1",
            locale=current_locale(), address=request.remote or "",
        )
    except ServiceError as error:
        return rerender(request, "register.html", error, {"values": form, "next": safe_next(form.get("next"), ""),
                                                          "terms": await site_pages.terms_pages(svc)})
    if user["status"] == "pending":
        return render(request, "message.html", {
            "title": gettext("Aanmelding ontvangen"),
            "message": gettext("Een beheerder keurt uw aanmelding goed. Daarna kunt u inloggen."),
        })
    token, _ = await accounts.login(svc, email=form["email"], password=form["password"], address=request.remote or "")
    # where they were going (an invitation), else the groups to join; the banner there asks
    # them to confirm their address
    response = web.HTTPSeeOther(safe_next(form.get("next"), "/groups?welcome=1"))
    set_session_cookie(response, request.app[config_key], token)
    raise response


async def login_form(request: web.Request) -> web.Response:
    return render(request, "login.html", {"values": {}, "next": safe_next(request.query.get("next"))})


async def login_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    target = safe_next(form.get("next"))
    try:
        token, _ = await accounts.login(request.app[services_key], email=form.get("email", ""),
                                        password=form.get("password", ""), address=request.remote or "")
    except ServiceError as error:
        return with_retry_after(render(request, "login.html", {
            "values": {"email": form.get("email", "")}, "next": target,
            "errors": {"": gettext(error.message, **error.params)},
        }, status=error.status), error)
    response = web.HTTPSeeOther(target)
    set_session_cookie(response, request.app[config_key], token)
    raise response


async def logout(request: web.Request) -> web.Response:
    await accounts.logout(request.app[services_key], request[actor_key], request[session_hash_key])
    response = web.HTTPSeeOther("/")
    clear_session_cookie(response)
    raise response


async def forgot_form(request: web.Request) -> web.Response:
    return render(request, "forgot.html", {"values": {}})


async def forgot_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        await accounts.request_password_reset(request.app[services_key], email=form.get("email", ""),
                                              address=request.remote or "")
    except ServiceError as error:
        return rerender(request, "forgot.html", error, {"values": form})
    return render(request, "message.html", {
        "title": gettext("Kijk in uw mailbox"),
        "message": gettext("Als dit adres bij ons bekend is, ontvangt u een link om een nieuw wachtwoord "
                           "in te stellen. De link is een uur geldig."),
    })


async def reset_form(request: web.Request) -> web.Response:
    usable = await accounts.reset_token_usable(request.app[services_key], request.match_info["token"])
    return render(request, "reset.html", {"usable": usable, "values": {}}, status=200 if usable else 404)


async def reset_submit(request: web.Request) -> web.Response:
    form = await form_of(request)
    try:
        await accounts.reset_password(request.app[services_key], token=request.match_info["token"],
                                      new_password=form.get("password", ""))
    except ServiceError as error:
        if error.status == 404:
            return render(request, "reset.html", {"usable": False, "values": {}}, status=404)
        return rerender(request, "reset.html", error, {"usable": True, "values": {}})
    return render(request, "message.html", {
        "title": gettext("Wachtwoord gewijzigd"),
        "message": gettext("Uw nieuwe wachtwoord is ingesteld. U kunt nu inloggen."),
        "link": ("/login", gettext("Inloggen")),
    })


async def set_language(request: web.Request) -> web.Response:
    form = await form_of(request)
    locale = form.get("locale") if form.get("locale") in LOCALES else "nl"
    actor = request[actor_key]
    svc = request.app[services_key]
    if actor.active:
        user, _ = await accounts.profile(svc, actor, actor.user_id)
        await accounts.update_profile(svc, actor, display_name=user["display_name"], bio=user["bio"], locale=locale)
    response = web.HTTPSeeOther(safe_next(form.get("next")))
    set_cookie(response, request.app[config_key], LANG_COOKIE, locale, max_age=365 * 86400)
    raise response


async def set_visitor_language(request: web.Request) -> web.Response:
    """GET /language: a visitor's language choice, kept in a cookie (members use the form,
    which stores it on their profile)."""
    locale = request.query.get("locale")
    response = web.HTTPSeeOther(safe_next(request.query.get("next")))
    if locale in LOCALES:
        set_cookie(response, request.app[config_key], LANG_COOKIE, locale, max_age=365 * 86400)
    raise response


async def profile(request: web.Request) -> web.Response:
    user, groups = await accounts.profile(request.app[services_key], request[actor_key], int_param(request, "user_id"))
    return render(request, "profile.html", {"user": user, "groups": groups})


async def profile_by_handle(request: web.Request) -> web.Response:
    """/users/@handle, where a mention links: the profile's own address; a name that is no one's
    handle (a mention written by hand, "@Mo") leads to the people found by it, not to a dead end."""
    handle = request.match_info["handle"]
    try:
        user_id = await accounts.profile_id_of(request.app[services_key], request[actor_key], handle)
    except NotFound:
        raise web.HTTPSeeOther("/people?" + urlencode({"q": handle[:100]}))
    raise web.HTTPSeeOther(f"/users/{user_id}")


async def settings_form(request: web.Request) -> web.Response:
    actor = require_login(request)
    user, _ = await accounts.profile(request.app[services_key], actor, actor.user_id)
    return render(request, "settings_profile.html", {"values": dict(user), "user": user,
                                                     "saved": request.query.get("saved", "")})


async def settings_submit(request: web.Request) -> web.Response:
    """The profile and its photo in one form (multipart: the token first, the file last), so
    one 'Opslaan' keeps both. Details that are refused save nothing; a photo refused after
    the details were saved comes back at its field, saying the rest was kept."""
    actor = require_login(request)
    svc = request.app[services_key]
    upload = None
    try:
        if request.content_type.startswith("multipart/"):
            try:
                form, upload = await read_form(request, file_field="photo")
            except Refused as refused:  # the store's refusal names every kind of document: here only images count
                error = photos.refused_kind("photo")
                error.form_values = getattr(refused, "form_values", None)
                raise error
        else:
            form = await form_of(request)
    except ServiceError as error:
        if error.status not in (413, 415, 422):
            raise
        return await _profile_again(request, error, getattr(error, "form_values", None) or {})
    photo_refused = None
    if upload is not None:
        try:
            photos.check(upload)  # a file that is no photo says so, whatever else is wrong
        except ServiceError as error:
            upload.discard()
            upload, photo_refused = None, error
    try:
        await accounts.update_profile(svc, actor, display_name=form.get("display_name", ""),
                                      bio=form.get("bio", ""), locale=form.get("locale", ""),
                                      handle=form.get("handle"), organisation=form.get("organisation"),
                                      job_title=form.get("job_title"))
    except ServiceError as error:
        if upload is not None:
            upload.discard()
            error.fields.setdefault("photo", N_("Kies de foto opnieuw: wij bewaren haar pas als de rest klopt."))
        if photo_refused is not None:
            error.fields.update(photo_refused.fields)
        return await _profile_again(request, error, form)
    if photo_refused is not None:
        return await _profile_again(request, photo_refused, form, details_saved=True)
    saved = "profile"
    try:
        if upload is not None:
            await accounts.set_photo(svc, actor, upload)
            saved = "photo"
        elif form.get("remove_photo") == "yes":
            await accounts.remove_photo(svc, actor)
            saved = "removed"
    except ServiceError as error:
        if error.status not in (413, 415, 422, 429):
            raise
        return await _profile_again(request, error, form, details_saved=True)
    raise web.HTTPSeeOther("/settings/profile?" + urlencode({"saved": saved}))


async def _profile_again(request: web.Request, error: ServiceError, form: dict, details_saved: bool = False):
    actor = request[actor_key]
    user, _ = await accounts.profile(request.app[services_key], actor, actor.user_id)
    return rerender(request, "settings_profile.html", error,
                    {"values": form or dict(user), "user": user, "saved": "not-photo" if details_saved else ""})


async def photo(request: web.Request) -> web.StreamResponse:
    """A profile photo, for whoever may see the profile; cached by the browser under its version."""
    path, blob = await accounts.photo_of(request.app[services_key], request[actor_key], int_param(request, "user_id"))
    return picture(request, path, blob)


async def directory(request: web.Request) -> web.Response:
    """Mensen: the member directory, searchable by name, organisation and function."""
    actor = require_login(request)
    query = request.query.get("q", "")
    rows, after = await accounts.directory(request.app[services_key], actor, query=query,
                                           after=request.query.get("after") or None)
    more = f"/people?{urlencode({'q': query, 'after': after} if query else {'after': after})}" if after else None
    return render(request, "people.html", {"people": rows, "q": query, "more": more})


async def password_form(request: web.Request) -> web.Response:
    require_login(request)
    return render(request, "settings_password.html", {"values": {}, "changed": "changed" in request.query})


async def password_submit(request: web.Request) -> web.Response:
    actor = require_login(request)
    form = await form_of(request)
    try:
        token = await accounts.change_password(
            request.app[services_key], actor, current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""))
    except ServiceError as error:
        return rerender(request, "settings_password.html", error, {"values": {}})
    response = web.HTTPSeeOther("/settings/password?changed=1")
    set_session_cookie(response, request.app[config_key], token)
    raise response
