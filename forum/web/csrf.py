"""CSRF tokens for forms: a session's token, or for a visitor one tied to a cookie that is
made only when a page first shows a form, so pages without forms are alike for every visitor
(and can be cached)."""
from __future__ import annotations

from aiohttp import web

from forum.keys import config_key, csrf_token_key, new_anon_cookie_key, personal_page_key
from forum.security import csrf_token_for_visitor, new_token


def ensure_csrf_token(request: web.Request) -> str:
    """The token for this request's forms; for a visitor without one yet, a new cookie. Either
    way the page now carries something of this visitor's, so it is never shared."""
    request[personal_page_key] = True
    if not request.get(csrf_token_key):
        anon = new_token()
        request[new_anon_cookie_key] = anon
        request[csrf_token_key] = csrf_token_for_visitor(request.app[config_key].secret_key, anon)
    return request[csrf_token_key]


class CsrfToken:
    """What templates print as {{ csrf_token }}: made on first use only."""

    __slots__ = ("request",)

    def __init__(self, request: web.Request):
        self.request = request

    def __str__(self) -> str:
        return ensure_csrf_token(self.request)

    __html__ = __str__
