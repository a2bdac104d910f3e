"""API: registration, login, the current user, profiles and site administration."""
from __future__ import annotations

from aiohttp import web
from pydantic import Field
from forum.keys import actor_key, config_key, csrf_token_key, services_key, session_hash_key
from forum.security import csrf_token_for_session, token_hash
from forum.services import accounts, addresses, administration, site_pages
from forum.errors import Invalid, N_, Unauthorized
from forum.files import Refused, photos
from forum.web.api import MAX_ID, In, TokenIn, int_param, json_out, photo_url, read_json, user_out
from forum.web.uploads import read_form
from forum.web.cookies import clear_session_cookie, set_session_cookie


class RegisterIn(In):
    email: str
    password: str
    display_name: str
    locale: str = "nl"
    accept_terms: bool = Field(default=False, description="Has read and accepts /pages/voorwaarden and "
                                                          "/pages/privacy (required while they exist)")


class LoginIn(In):
    email: str
    password: str


class PasswordChangeIn(In):
    current_password: str
    new_password: str


class ResetRequestIn(In):
    email: str


class ResetIn(In):
    token: str
    password: str


class ProfileIn(In):
    handle: str | None = None
    display_name: str
    bio: str = ""
    locale: str = "nl"
    organisation: str | None = None
    job_title: str | None = None


class RoleIn(In):
    role: str


class SuspendIn(In):
    reason: str
    until: str | None = None   # ISO date or date-time (UTC); absent: indefinitely


class SettingsIn(In):
    registration_mode: str
    members_create_werkgroepen: bool
    site_name: str | None = Field(default=None, description="Shown in the header and titles; left out: unchanged")
    logo_document_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                         description="A public image in the site's library; null: no logo "
                                                     "(left out: unchanged)")


async def register(request: web.Request) -> web.Response:
    data = await read_json(request, RegisterIn)
    fields = data.model_dump()
    fields["accepted_terms"] = fields.pop("accept_terms")
    user = await accounts.register(request.app[services_key], **fields, address=request.remote or "")
    return json_out({"user": user_out(user, private=True)}, status=201)


async def login(request: web.Request) -> web.Response:
    data = await read_json(request, LoginIn)
    svc = request.app[services_key]
    token, user = await accounts.login(svc, email=data.email, password=data.password, address=request.remote or "")
    response = json_out({"user": user_out(user, private=True),
                         "csrf_token": csrf_token_for_session(svc.config.secret_key, token_hash(token))})
    set_session_cookie(response, request.app[config_key], token)
    return response


async def logout(request: web.Request) -> web.Response:
    await accounts.logout(request.app[services_key], request[actor_key], request[session_hash_key])
    response = json_out({"ok": True})
    clear_session_cookie(response)
    return response


async def me(request: web.Request) -> web.Response:
    actor = request[actor_key]
    if not actor.active:
        raise Unauthorized()
    user, groups = await accounts.profile(request.app[services_key], actor, actor.user_id)
    return json_out({"user": user_out(user, private=True), "csrf_token": request[csrf_token_key],
                     "groups": [{"id": g["id"], "name": g["name"], "role": g["role"]} for g in groups]})


async def update_me(request: web.Request) -> web.Response:
    data = await read_json(request, ProfileIn)
    user = await accounts.update_profile(request.app[services_key], request[actor_key], **data.model_dump())
    return json_out({"user": user_out(user, private=True)})


async def set_photo(request: web.Request) -> web.Response:
    """multipart/form-data with the image as `file`: made square (256 px) on the server."""
    try:
        _, upload = await read_form(request)
    except Refused:  # the store's refusal names every kind of document: here only images count
        raise photos.refused_kind("file")
    if upload is None:
        raise Invalid(fields={"file": N_("Kies een foto.")})
    user = await accounts.set_photo(request.app[services_key], request[actor_key], upload)
    return json_out({"user": user_out(user, private=True)})


async def remove_photo(request: web.Request) -> web.Response:
    await accounts.remove_photo(request.app[services_key], request[actor_key])
    return json_out({"ok": True})


async def people(request: web.Request) -> web.Response:
    rows, after = await accounts.directory(request.app[services_key], request[actor_key],
                                           query=request.query.get("q", ""), after=request.query.get("after") or None)
    return json_out({"people": [{"id": r["id"], "display_name": r["display_name"], "handle": r["handle"],
                                 "organisation": r["organisation"], "job_title": r["job_title"],
                                 "photo_url": photo_url(r["id"], r["photo_blob"])} for r in rows], "next": after})


async def change_password(request: web.Request) -> web.Response:
    data = await read_json(request, PasswordChangeIn)
    svc = request.app[services_key]
    token = await accounts.change_password(svc, request[actor_key], **data.model_dump())
    response = json_out({"ok": True, "csrf_token": csrf_token_for_session(svc.config.secret_key, token_hash(token))})
    set_session_cookie(response, request.app[config_key], token)
    return response


async def request_reset(request: web.Request) -> web.Response:
    data = await read_json(request, ResetRequestIn)
    await accounts.request_password_reset(request.app[services_key], email=data.email, address=request.remote or "")
    return json_out({"ok": True}, status=202)


async def reset(request: web.Request) -> web.Response:
    data = await read_json(request, ResetIn)
    await accounts.reset_password(request.app[services_key], token=data.token, new_password=data.password)
    return json_out({"ok": True})


async def confirm_email(request: web.Request) -> web.Response:
    data = await read_json(request, TokenIn)
    user = await addresses.confirm_email(request.app[services_key], data.token)
    return json_out({"user": {"id": user["id"], "email_verified": True}})


async def resend_confirmation(request: web.Request) -> web.Response:
    await addresses.resend_confirmation(request.app[services_key], request[actor_key], address=request.remote or "")
    return json_out({"ok": True}, status=202)


async def admin_confirm_email(request: web.Request) -> web.Response:
    user = await administration.confirm_email(request.app[services_key], request[actor_key],
                                              int_param(request, "user_id"))
    return json_out({"user": user_out(user, private=True)})


async def user_profile(request: web.Request) -> web.Response:
    user, groups = await accounts.profile(request.app[services_key], request[actor_key], int_param(request, "user_id"))
    return json_out({"user": user_out(user),
                     "groups": [{"id": g["id"], "name": g["name"], "kind": g["kind"], "role": g["role"]} for g in groups]})


# --- administration ---------------------------------------------------------------------

async def admin_users(request: web.Request) -> web.Response:
    status = request.query.get("status")
    users = await administration.list_users(request.app[services_key], request[actor_key],
                                      status if status in ("active", "pending", "suspended") else None)
    return json_out({"users": [user_out(u, private=True) for u in users]})


async def admin_set_role(request: web.Request) -> web.Response:
    data = await read_json(request, RoleIn)
    user = await administration.set_site_role(request.app[services_key], request[actor_key],
                                        int_param(request, "user_id"), data.role)
    return json_out({"user": user_out(user, private=True)})


async def admin_approve(request: web.Request) -> web.Response:
    user = await administration.approve_account(request.app[services_key], request[actor_key], int_param(request, "user_id"))
    return json_out({"user": user_out(user, private=True)})


async def admin_suspend(request: web.Request) -> web.Response:
    data = await read_json(request, SuspendIn)
    user = await administration.suspend_account(request.app[services_key], request[actor_key],
                                          int_param(request, "user_id"), data.reason, data.until)
    return json_out({"user": user_out(user, private=True)})


async def admin_unsuspend(request: web.Request) -> web.Response:
    user = await administration.unsuspend_account(request.app[services_key], request[actor_key], int_param(request, "user_id"))
    return json_out({"user": user_out(user, private=True)})


async def admin_get_settings(request: web.Request) -> web.Response:
    settings = await administration.site_settings(request.app[services_key], request[actor_key])
    return json_out({"settings": _settings_out(settings)})


async def admin_put_settings(request: web.Request) -> web.Response:
    data = await read_json(request, SettingsIn)
    fields = data.model_dump(exclude_unset=True)  # a logo left out stays; null takes it away
    fields.setdefault("logo_document_id", "keep")
    settings = await administration.update_site_settings(request.app[services_key], request[actor_key], **fields)
    return json_out({"settings": _settings_out(settings)})


def _settings_out(settings: dict) -> dict:
    logo = settings.get("logo_document_id", "")
    return {"registration_mode": settings["registration_mode"],
            "members_create_werkgroepen": settings["members_create_werkgroepen"] == "1",
            "site_name": settings.get("site_name") or site_pages.DEFAULT_SITE_NAME,
            "logo_document_id": int(logo) if logo.isdigit() else None}

