"""HTML page views: parse the form, call one service, render or redirect (post/redirect/get).
Helpers here keep each view to those steps."""
from __future__ import annotations

from aiohttp import web

from forum.errors import ServiceError, Unauthorized
from forum.keys import actor_key
from forum.limits import TooManyRequests
from forum.i18n import gettext
from forum.web.middleware import translate_fields
from forum.web.templating import render


async def form_of(request: web.Request) -> dict[str, str]:
    data = await request.post()
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


def safe_next(target: str | None) -> str:
    """Only same-site paths, so a login link cannot send someone elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
