"""Jinja2 set-up: translations through forum.i18n, and filters for dates and plain text."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache

import aiohttp_jinja2
import jinja2
from aiohttp import web
from babel.dates import format_date, format_datetime, get_day_names, get_month_names
from markupsafe import Markup

from forum import i18n
from forum.errors import N_
from forum.keys import actor_key, config_key, open_reports_key, site_menus_key
from forum.web.csrf import CsrfToken
from forum.web.fragment_cache import FragmentCache, fragment_cache_key, key_size

DISPLAY_ZONE = i18n.DISPLAY_ZONE


def when(value: str | None) -> str:
    """A stored UTC time as Dutch (or English) local time (forum.i18n.format_moment)."""
    return i18n.format_moment(value, i18n.current_locale()) if value else ""


def event_time(event) -> str:
    """When an event is, in Dutch time and the reader's language: "maandag 16 maart 2026,
    09:30–12:00", or its days for an all-day event."""
    locale = i18n.current_locale()
    start = datetime.fromisoformat(event["starts_at"].replace("Z", "+00:00")).astimezone(DISPLAY_ZONE)
    end = datetime.fromisoformat(event["ends_at"].replace("Z", "+00:00")).astimezone(DISPLAY_ZONE)
    if event["all_day"]:
        last = (end - timedelta(days=1)).date()
        if last <= start.date():
            return format_date(start.date(), "EEEE d MMMM yyyy", locale=locale)
        return (format_date(start.date(), "EEE d MMM", locale=locale) + " – "
                + format_date(last, "EEE d MMM yyyy", locale=locale))
    if start.date() == end.date():
        return f"{format_date(start.date(), 'EEEE d MMMM yyyy', locale=locale)}, {start:%H:%M}–{end:%H:%M}"
    return (format_datetime(start, "EEE d MMM yyyy HH:mm", locale=locale) + " – "
            + format_datetime(end, "EEE d MMM yyyy HH:mm", locale=locale))


def initials(name: str) -> str:
    """'Anna de Vries' -> 'AV': the first letters of the first and last word."""
    words = [word for word in (name or "").split() if word[:1].isalnum()]
    if not words:
        return "?"
    return (words[0][0] + (words[-1][0] if len(words) > 1 else "")).upper()


def filesize(size: int) -> str:
    """A file's size as people read it: 820 kB, 4,2 MB (Dutch decimal comma)."""
    locale = i18n.current_locale()
    if size < 1000 * 1000:
        text = f"{max(1, round(size / 1000))} kB"
    else:
        text = f"{size / 1_000_000:.1f} MB"
    return text.replace(".", ",") if locale == "nl" else text


def clock(value: str) -> str:
    """The Dutch time of day of a stored UTC time (09:30)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(DISPLAY_ZONE).strftime("%H:%M")


def month_name(day) -> str:
    return format_date(day, "LLLL yyyy", locale=i18n.current_locale())


def weekday_names() -> list[tuple[str, str]]:
    """(short, full) names of the days from Monday, in the reader's language."""
    locale = i18n.current_locale()
    short, full = get_day_names("abbreviated", locale=locale), get_day_names("wide", locale=locale)
    return [(short[day], full[day]) for day in range(7)]


LIVE_TEXTS = {  # what static/live.js says, in the page's language
    "typing": N_("%(name)s typt…"), "reading": N_("%(num)s lezen mee"), "reconnecting": N_("Opnieuw verbinden…"),
    "new": N_("%(num)s nieuw"), "new_post": N_("Nieuw bericht van %(name)s"),
    "new_post_elsewhere": N_("Nieuw bericht van %(name)s, op een andere pagina van deze discussie"),
    "show_it": N_("Bekijken"), "removed": N_("Dit bericht is verwijderd."),
    "edited": N_("bewerkt"), "reply_to": N_("in reactie op"), "reply": N_("Reageren"),
    "edit": N_("Bewerken"), "delete": N_("Verwijderen"), "report": N_("Melden"),
    "of_post": N_("bericht van"),
    "new_thread": N_("Nieuwe discussie: %(title)s"), "new_news": N_("Nieuw bericht: %(title)s"),
    "kind_news": N_("Nieuws"), "kind_interview": N_("Interview"), "kind_report": N_("Verslag"), "kind_blog": N_("Blog"),
    "members_only": N_("alleen voor leden"), "by": N_("door %(name)s"),
    "ended": N_("Uw sessie is beëindigd. Laad de pagina opnieuw."),
    "pinned": N_("Vastgezet"), "closed": N_("Gesloten"), "renamed": N_("Nieuwe titel: %(title)s"),
    "locked": N_("Deze discussie is gesloten: er kunnen geen reacties meer bij."),
    "reopened": N_("Deze discussie is weer open. Laad de pagina opnieuw om te reageren."),
    "lock": N_("Discussie sluiten"), "unlock": N_("Discussie heropenen"), "pin": N_("Discussie vastzetten"),
    "unpin": N_("Discussie losmaken"),
    "hidden": N_("Dit bericht is verborgen door een moderator."),
    "thread_removed": N_("Deze discussie is verwijderd."),
}


@lru_cache(maxsize=8)
def _live_texts(locale: str) -> Markup:
    translations = i18n.translations(locale)
    texts = {key: translations.gettext(message) for key, message in LIVE_TEXTS.items()}
    # the month names Babel gives the server's dates, so a post inserted live shows its time
    # exactly as one rendered on the server does (forum.i18n.format_moment)
    months = get_month_names("abbreviated", context="format", locale=locale)
    texts["months"] = [months[number] for number in range(1, 13)]
    return Markup.escape(json.dumps(texts, ensure_ascii=False))


def live_texts() -> Markup:
    """The script's words as escaped JSON for a data- attribute: built once per language, not
    once per page (it was a tenth of a thread page's render)."""
    return _live_texts(i18n.current_locale())


def configure(env: jinja2.Environment) -> None:
    """Called by create_app right after aiohttp_jinja2.setup, while the app can still be changed:
    the app gets its own fragment cache here, sized from its config."""
    env.globals.update(_=i18n.template_gettext, gettext=i18n.template_gettext, ngettext=i18n.template_ngettext,
                       live_texts=live_texts)
    env.filters["when"] = when
    env.filters["event_time"] = event_time
    env.filters["clock"] = clock
    env.filters["filesize"] = filesize
    env.filters["month_name"] = month_name
    env.globals["weekday_names"] = weekday_names
    env.globals["initials"] = initials
    env.filters["fromjson"] = json.loads  # a news item's tags come from the store as a JSON list
    env.globals["LOCALES"] = i18n.LOCALES
    app = env.globals.get("app")  # aiohttp_jinja2.setup puts the app there
    if isinstance(app, web.Application) and fragment_cache_key not in app:
        config = app.get(config_key)
        app[fragment_cache_key] = FragmentCache(config.fragment_cache_bytes if config else 32 * 1024 * 1024)


NO_MENUS = {"header": [], "footer": [], "site_name": "Maak verschil", "logo_id": None}


def render(request: web.Request, template: str, context: dict | None = None, status: int = 200) -> web.Response:
    """Render a page with what every page needs: who is looking, their CSRF token and language."""
    base = {
        "actor": request.get(actor_key),
        "csrf_token": CsrfToken(request),
        "locale": i18n.current_locale(),
        "current_path": request.path_qs,
        "site_menus": request.get(site_menus_key) or NO_MENUS,
        "open_reports": request.get(open_reports_key, 0),
        "errors": {},
        "values": {},
    }
    return aiohttp_jinja2.render_template(template, request, {**base, **(context or {})}, status=status)


def fragment(request: web.Request, name: str, **values) -> Markup:
    """A piece of page that depends only on `values` and the language (a post, a thread row):
    rendered once per distinct set of values and reused for every reader, from the app's
    byte-bounded cache (forum/web/fragment_cache.py). An edit or a new reply count simply
    makes a new entry; old ones age out."""
    cache = request.app.get(fragment_cache_key)
    locale = i18n.current_locale()
    items = tuple(values.items())
    key = (name, locale, items)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            return hit
    rendered = Markup(aiohttp_jinja2.get_env(request.app).get_template(name).render(values))
    if cache is not None:
        cache.put(key, rendered, key_size(items))
    return rendered
