"""Jinja2 set-up: translations through forum.i18n, and filters for dates and plain text."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime

from forum import i18n

DISPLAY_ZONE = ZoneInfo("Europe/Amsterdam")


def when(value: str | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_datetime(moment, "d MMM yyyy HH:mm", tzinfo=DISPLAY_ZONE, locale=i18n.current_locale())


def configure(env: jinja2.Environment) -> None:
    env.install_gettext_callables(i18n.template_gettext, i18n.template_ngettext, newstyle=True)
    env.filters["when"] = when
    env.globals["LOCALES"] = i18n.LOCALES
