"""Middlewares, outermost first: errors → session (actor, language, CSRF token) → CSRF check;
and the security headers every response gets. Views can rely on request[actor_key] and request[csrf_token_key]."""
from __future__ import annotations

import functools
import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from forum.errors import BadRequest, N_, ServiceError, Unavailable
from forum.limits import TooManyRequests
from forum.logs import note_user
from forum.i18n import LOCALES, gettext, negotiate, set_locale
from forum.keys import (actor_key, config_key, csrf_token_key, new_anon_cookie_key, open_reports_key,
                        services_key, session_hash_key, site_menus_key)
from forum.security import (csrf_token_for_session, csrf_token_for_visitor,
                            signature_matches)
from forum import policy
from forum.services import accounts, moderation, site_pages
from forum.web import uploads
from forum.web.access_log import redact
from forum.web.request_info import current_request_id
from forum.web.templating import render
from forum.web.cookies import ANON_COOKIE, LANG_COOKIE, SESSION_COOKIE, set_cookie

log = logging.getLogger(__name__)

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def translate_fields(fields: dict) -> dict[str, str]:
    out = {}
    for name, message in fields.items():
        text, params = message if isinstance(message, tuple) else (message, {})
        out[name] = gettext(text, **params)
    return out


def error_json(status: int, code: str, message: str, fields: dict | None = None) -> web.Response:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    request_id = current_request_id()
    if request_id is not None:
        error["request_id"] = request_id
    return web.json_response({"error": error}, status=status)


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large",
              415: "unsupported_media_type", 422: "invalid", 429: "rate_limited"}


def _http_message(status: int) -> str:
    return {
        404: gettext("Niet gevonden."),
        405: gettext("Dit adres hoort bij een knop op een pagina, niet bij een pagina zelf. Ga terug en gebruik "
                     "de knop daar."),
        413: gettext("Het verzoek is te groot."),
    }.get(status, gettext("Ongeldig verzoek."))


async def _error_page(request: web.Request, status: int, message: str, fields: dict | None = None,
                      heading: str = "") -> web.Response:
    """An error where no form can show it again: what went wrong, each field's message when
    there are any (no form marks them here), and where to go from here."""
    return render(request, "error.html", {"status": status, "message": message, "fields": fields or {},
                                          "heading": heading, "request_id": current_request_id()}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ServiceError as error:
        message = gettext(error.message, **error.params)
        if isinstance(error, Unavailable):  # no page that needs the database to be drawn
            response = (error_json(error.status, error.code, message) if is_api(request)
                        else web.Response(status=503, text=_with_reference(message), content_type="text/plain"))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        if isinstance(error, TooManyRequests):
            response = (error_json(error.status, error.code, message) if is_api(request)
                        else await _error_page(request, error.status, message))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        if is_api(request):
            return error_json(error.status, error.code, message, translate_fields(error.fields))
        if error.status == 401:
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}" if request.method == "GET"
                                   else "/login")
        return await _error_page(request, error.status, message,
                                 {name: text for name, text in translate_fields(error.fields).items() if name})
    except web.HTTPException as http_error:
        if http_error.status < 400:
            raise
        if is_api(request):
            return error_json(http_error.status, HTTP_CODES.get(http_error.status, "error"),
                              _http_message(http_error.status))
        if actor_key not in request:  # failed before the session middleware: a plain page
            request[actor_key] = accounts.policy.VISITOR
            request[csrf_token_key] = ""
            request[new_anon_cookie_key] = None
        return await _error_page(request, http_error.status, _http_message(http_error.status))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, redact(request.path))  # no tokens in logs
        if is_api(request):
            return error_json(500, "internal", "Internal server error.")
        return web.Response(status=500, text=_with_reference("500: interne fout / internal server error"))


def _with_reference(text: str) -> str:
    """A plain-text error with the request's id, for the user to quote to support."""
    request_id = current_request_id()
    return f"{text}\nFoutcode / reference: {request_id}" if request_id else text


@web.middleware
async def session_middleware(request: web.Request, handler):
    if request.path.startswith("/static/"):
        return await handler(request)
    svc = request.app[services_key]
    secret = request.app[config_key].secret_key
    actor, session_hash = await accounts.actor_for_session(svc, request.cookies.get(SESSION_COOKIE))
    request[actor_key] = actor
    note_user(actor.user_id)  # the log lines of this request name the user from here on
    request[session_hash_key] = session_hash
    request[new_anon_cookie_key] = None
    if session_hash:
        request[csrf_token_key] = csrf_token_for_session(secret, session_hash)
    else:
        # A visitor's token is tied to a cookie, made only when a page first shows a form
        # (ensure_csrf_token): pages without forms stay the same for every visitor.
        anon = request.cookies.get(ANON_COOKIE)
        request[csrf_token_key] = csrf_token_for_visitor(secret, anon) if anon and len(anon) <= 100 else ""

    if actor.active:
        locale = actor.locale
    else:
        locale = request.cookies.get(LANG_COOKIE)
        if locale not in LOCALES:
            locale = negotiate(request.headers.get("Accept-Language"))
    set_locale(locale)

    response = await handler(request)
    if request[new_anon_cookie_key] and not is_api(request):
        set_cookie(response, request.app[config_key], ANON_COOKIE, request[new_anon_cookie_key])
    return response


# Paths whose authority is a signed token in the URL itself, which only its recipient has:
# mail clients POST there (RFC 8058 one-click unsubscribe) with no cookie and no form token.
TOKEN_AUTHORISED_PREFIXES = ("/unsubscribe/",)


async def posted_form(request: web.Request):
    """The posted form fields; a body that is not a readable form (a broken multipart) is a 400."""
    try:
        return await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (ValueError, AssertionError, LookupError, UnicodeDecodeError, HttpProcessingError):
        raise BadRequest(N_("Het formulier kon niet worden gelezen."))


# Upload forms: their body is a file of up to FORUM_UPLOAD_MAX_MB, which must not be read into
# memory to find the form's token. Their token is the form's first field (forum/web/uploads.py).
# So are the forms that write a text: without JavaScript the file to attach comes with the text.
STREAMED_UPLOAD_ROUTES = ("documents.upload", "library.upload", "document.version.upload", "thread.new.submit",
                          "thread.reply", "news.new.submit", "news.edit.submit", "events.new.submit",
                          "event.edit.submit", "settings.profile.submit", "group.image")


def _streamed(request: web.Request) -> bool:
    route = request.match_info.route
    return route is not None and route.name in STREAMED_UPLOAD_ROUTES


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    if request.path.startswith(TOKEN_AUTHORISED_PREFIXES):
        return await handler(request)
    if request.method in UNSAFE_METHODS and csrf_token_key in request:
        expected = request[csrf_token_key]  # "" for a visitor without the cookie: nothing matches
        if is_api(request):
            # Only cookie-authenticated changes can be forged by another site.
            if request[session_hash_key] and not signature_matches(expected, request.headers.get("X-CSRF-Token")):
                return error_json(403, "csrf", gettext("De X-CSRF-Token-header ontbreekt of klopt niet."))
        else:
            given = request.headers.get("X-CSRF-Token")
            if given is None and request.content_type == "multipart/form-data" and _streamed(request):
                given = await uploads.csrf_field(request)  # the file itself is read by the view, streaming
            elif given is None and request.content_type in ("application/x-www-form-urlencoded",
                                                            "multipart/form-data"):
                given = (await posted_form(request)).get("csrf_token")
            if not signature_matches(expected, given if isinstance(given, str) else None):
                return await _error_page(
                    request, 403,
                    gettext("Het formulier is verlopen (bijvoorbeeld omdat u intussen opnieuw inlogde). Ga terug: "
                            "kopieer wat u schreef, laad de pagina opnieuw en probeer het nog eens."),
                    heading=gettext("Formulier verlopen"))
    return await handler(request)


@web.middleware
async def site_menus_middleware(request: web.Request, handler):
    """The header and footer menus of the site's own pages, for every HTML page (read through
    the read cache; visitors' cached pages never come this far); and for those who moderate,
    how many reported posts wait in their queues (the header shows it)."""
    # not for /metrics either: a scrape must answer while the database does not
    if not is_api(request) and not request.path.startswith("/static/") and request.path != "/metrics":
        svc = request.app[services_key]
        request[site_menus_key] = await site_pages.menus(svc)
        actor = request[actor_key]
        if actor.active and (actor.is_admin or policy.audit_groups(actor) or policy.moderates_site_news(actor)):
            request[open_reports_key] = await moderation.open_count(svc, actor)
    return await handler(request)


_CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                            "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


@functools.lru_cache(maxsize=2)
def _security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    values = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
              ("Content-Security-Policy", _CONTENT_SECURITY_POLICY)]
    if secure:
        values.append(("Strict-Transport-Security", "max-age=31536000"))
    return tuple(values)


class HeadersMade(web.Response):
    """An answer made with every header it needs, these included (the front door's kept pages,
    forum/web/page_cache.py): the hook below leaves it alone, which was a fifth of their time."""


def security_header_values(config) -> dict[str, str]:
    """The headers every response gets (a kept page's are made from these once: forum/web/page_cache.py)."""
    return dict(_security_headers(config.secure_cookies))


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response gets these, errors and static files included; a
    response that set one of its own keeps it."""
    if type(response) is HeadersMade:
        return
    headers = response.headers
    for name, value in _security_headers(request.app[config_key].secure_cookies):
        headers.setdefault(name, value)
    if response.content_type == "text/html":
        # a page changes with every write, and with the reader's language and session: a shared
        # cache in front (Varnish keeps cookieless answers by default) must ask every time
        headers.setdefault("Cache-Control", "no-cache")
