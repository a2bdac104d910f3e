"""The cookies the forum sets, with one set of flags for all of them."""
from __future__ import annotations

from aiohttp import web

from forum.config import Config

SESSION_COOKIE = "forum_session"
ANON_COOKIE = "forum_anon"    # lets visitors' forms (login, register) carry a CSRF token
LANG_COOKIE = "forum_lang"


def set_cookie(response: web.StreamResponse, config: Config, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
        secure=config.secure_cookies,
    )


def set_session_cookie(response: web.StreamResponse, config: Config, token: str) -> None:
    set_cookie(response, config, SESSION_COOKIE, token, max_age=config.session_days * 86400)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
