"""Translations: Dutch is the source language, English comes from a gettext catalog
(forum/locale/en/LC_MESSAGES/messages.po), compiled in memory at start so there is no build step.

The current request's language lives in a context variable, set by the web middleware, so
templates and error messages translate without passing the locale around.
"""
from __future__ import annotations

import contextvars
import gettext as _gettext
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("nl", "en")
DISPLAY_ZONE = ZoneInfo("Europe/Amsterdam")  # every time is shown as Dutch time
DEFAULT_LOCALE = "nl"
LOCALE_DIR = Path(__file__).parent / "locale"

_current = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)
_catalogs: dict[str, _gettext.NullTranslations] = {}


def _load(locale: str) -> _gettext.NullTranslations:
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return _gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def translations(locale: str) -> _gettext.NullTranslations:
    if locale not in _catalogs:
        _catalogs[locale] = _load(locale) if locale != DEFAULT_LOCALE else _gettext.NullTranslations()
    return _catalogs[locale]


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def current_locale() -> str:
    return _current.get()


def gettext(message: str, **params) -> str:
    text = translations(_current.get()).gettext(message)
    return text % params if params else text


def translate_in(locale: str, message: str, **params) -> str:
    """Translate for someone else than the current request (a mail to another user)."""
    text = translations(locale if locale in LOCALES else DEFAULT_LOCALE).gettext(message)
    return text % params if params else text


def ntranslate_in(locale: str, singular: str, plural: str, n: int, **params) -> str:
    text = translations(locale if locale in LOCALES else DEFAULT_LOCALE).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def negotiate(accept_language: str | None) -> str:
    """Best of our locales for an Accept-Language header; Dutch when nothing matches."""
    best, best_q = DEFAULT_LOCALE, -1.0
    for part in (accept_language or "").split(","):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower().split("-")[0]
        q = 1.0
        for piece in pieces[1:]:
            key, _, value = piece.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag in LOCALES and q > best_q:
            best, best_q = tag, q
    return best


def template_gettext(message: str, **params) -> str:
    """`_()` in templates. Returns plain text, so autoescaping escapes the filled-in values
    with the rest; cheaper than Jinja's i18n extension, whose per-call Markup formatting
    was half the cost of rendering a thread."""
    text = translations(_current.get()).gettext(message)
    return text % params if params else text


def template_ngettext(singular: str, plural: str, n: int, **params) -> str:
    return translations(_current.get()).ngettext(singular, plural, n) % {"num": n, **params}


@lru_cache(maxsize=65536)
def format_moment(value: str, locale: str) -> str:
    """A stored UTC time as the one way the forum shows a moment: "6 dec. 2026 14:05" in Dutch
    time, in the reader's language; a moment at midnight Dutch time (a date chosen without a
    time, such as the end of a suspension or ban) shows as its date only. Cached: a page shows
    the same timestamps to every reader, and Babel's formatting is the costliest step of a render."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(DISPLAY_ZONE)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return format_date(moment.date(), "d MMM yyyy", locale=locale)
    return format_datetime(moment, "d MMM yyyy HH:mm", locale=locale)
