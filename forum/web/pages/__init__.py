"""HTML page views: parse the form, call one service, render or redirect (post/redirect/get).
Helpers here keep each view to those steps."""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

from aiohttp import web

from forum.errors import NotFound, ServiceError, Unauthorized
from forum.keys import actor_key
from forum.limits import TooManyRequests
from forum.i18n import gettext
from forum.web.middleware import posted_form, translate_fields
from forum.web.templating import render


async def form_of(request: web.Request) -> dict[str, str]:
    data = await posted_form(request)
    return {key: value for key, value in data.items() if isinstance(value, str)}


def url(request: web.Request, name: str, query: dict | None = None, **parts) -> str:
    resource = request.app.router[name]
    built = resource.url_for(**{key: str(value) for key, value in parts.items()})
    return str(built.with_query(query) if query else built)


def redirect(request: web.Request, name: str, anchor: str = "", **parts) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(url(request, name, **parts) + anchor)


def form_errors(error: ServiceError) -> dict[str, str]:
    """Messages per field, plus a form-level one under '' when the error names no field."""
    fields = translate_fields(error.fields)
    if not fields:
        fields[""] = gettext(error.message, **error.params)
    return fields


def with_retry_after(response: web.Response, error: ServiceError) -> web.Response:
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def rerender(request: web.Request, template: str, error: ServiceError, context: dict) -> web.Response:
    """The form again, with the user's input kept and a message at each field."""
    if error.status in (401, 404):
        raise error
    return with_retry_after(render(request, template, {**context, "errors": form_errors(error)},
                                   status=error.status), error)


def require_login(request: web.Request):
    """The logged-in actor of a page that is only for them (visitors go to the login page)."""
    actor = request[actor_key]
    if not actor.active:
        raise Unauthorized()
    return actor


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths, so a login link cannot send someone elsewhere. Browsers drop tabs
    and line breaks and read a backslash as a slash, so '/\t/evil.test' would be '//evil.test':
    control characters, backslashes and a leading '//' are refused, also once decoded again."""
    if not target or len(target) > 2000:
        return default
    for candidate in (target, unquote(target)):
        if (not candidate.startswith("/") or candidate.startswith("//") or "\\" in candidate
                or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in candidate)):
            return default
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return default
    return target


MY_GROUP_ROLES = ("owner", "moderator", "member")
LIVE_GROUPS = 50  # a page listens to at most this many of the viewer's groups


def my_groups(actor, groups) -> list:
    """The viewer's own groups among those listed (their roles come with the session)."""
    return [group for group in groups if actor.group_role(group["id"]) in MY_GROUP_ROLES]


def news_channels(actor, mine) -> str:
    """The live channels that carry news this viewer reads: the site's, the members' and
    their groups' (for Actueel and the news index)."""
    return " ".join(["site"] + (["members"] if actor.active else [])
                    + [f"group:{group['id']}" for group in mine[:LIVE_GROUPS]])


def picture(request: web.Request, path, blob: str) -> web.StreamResponse:
    """A picture made on the server (a profile photo, a group's icon or banner), kept long by the
    browser when asked for under its version (?v=), checked again otherwise."""
    if not path.is_file():
        raise NotFound()
    return web.FileResponse(path, headers={
        "Content-Type": "image/jpeg", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=86400" if request.query.get("v") == blob[:12] else "private, no-cache",
        "Cross-Origin-Resource-Policy": "same-origin"})
