"""An event's fields as typed, in forms and the API: times in Dutch time (a time the clock skips
refused, one it passes twice the first), all-day dates as whole Dutch days, a link, a number of
places, questions. Kept apart from the use cases in forum/services/agenda.py: the rules of a
date are a job of their own."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from forum.errors import N_
from forum.markdown import render_markdown
from forum.services import iso
from forum.services.checks import MAX_BODY, MAX_TITLE, FieldErrors, alt_texts, clean_text, text_field

ZONE = ZoneInfo("Europe/Amsterdam")  # typed and shown in Dutch time
MAX_LOCATION = 300
MAX_URL = 500
MAX_CAPACITY = 100_000
MAX_QUESTIONS = 10
MAX_QUESTION = 200
TIME_HINT = N_("Gebruik een datum en tijd als 2026-12-02T09:00.")
DATE_HINT = N_("Gebruik een datum als 2026-12-02.")


def local(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(ZONE)


def last_day(event) -> date:
    """An all-day event's last day (its end is the Dutch midnight after it)."""
    return (local(event["ends_at"]) - timedelta(days=1)).date()


def parse_local_time(errors: FieldErrors, name: str, value) -> datetime | None:
    """ISO 8601 date and time; without an offset it is Dutch time. A time the clock skips
    (02:30 on the night summer time starts) is refused; one it passes twice is the first."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors.add(name, TIME_HINT)
        return None
    if len(value.strip()) <= 10:  # a date alone: midnight is seldom meant
        errors.add(name, N_("Vul ook een tijd in, of kies de hele dag."))
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.add(name, TIME_HINT)
        return None
    if not 2000 <= moment.year <= 9998:  # checked before converting: year 1 or 9999 would leave datetime's range
        errors.add(name, TIME_HINT)
        return None
    if moment.tzinfo is None:
        wall = moment.replace(tzinfo=ZONE)
        if wall.astimezone(timezone.utc).astimezone(ZONE).replace(tzinfo=None) != moment:
            errors.add(name, N_("Die tijd bestaat niet in Nederland: de klok gaat die nacht een uur vooruit."))
            return None
        moment = wall
    stored = moment.astimezone(timezone.utc)
    if not 2000 <= stored.year <= 9998:  # as stored, too: read back, it must pass this check again
        errors.add(name, TIME_HINT)
        return None
    return stored


def parse_day(errors: FieldErrors, name: str, value) -> date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors.add(name, DATE_HINT)
        return None
    try:
        day = date.fromisoformat(value.strip()[:10])
    except ValueError:
        errors.add(name, DATE_HINT)
        return None
    if not 2000 <= day.year <= 9998:
        errors.add(name, DATE_HINT)
        return None
    return day


def midnight(day: date) -> datetime:
    """The start of a day in the Netherlands, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=ZONE).astimezone(timezone.utc)


def when_fields(errors: FieldErrors, *, starts_at, ends_at, all_day, signup_deadline) -> dict:
    if not isinstance(all_day, bool):
        errors.add("all_day", N_("Kies ja of nee."))
        return {}
    if all_day:
        first, last = parse_day(errors, "starts_at", starts_at), parse_day(errors, "ends_at", ends_at)
        if first is None:
            if "starts_at" not in errors.fields:
                errors.add("starts_at", N_("Dit veld is verplicht."))
            return {}
        last = last or first
        if last < first:
            errors.add("ends_at", N_("Een activiteit eindigt niet voor ze begint."))
            return {}
        start, end = midnight(first), midnight(last + timedelta(days=1))
    else:
        start, end = parse_local_time(errors, "starts_at", starts_at), parse_local_time(errors, "ends_at", ends_at)
        if start is None:
            if "starts_at" not in errors.fields:
                errors.add("starts_at", N_("Dit veld is verplicht."))
            return {}
        if end is None and "ends_at" not in errors.fields:
            end = start + timedelta(hours=1)
        if end is None:
            return {}
        if end < start:
            errors.add("ends_at", N_("Een activiteit eindigt niet voor ze begint."))
            return {}
    deadline = parse_local_time(errors, "signup_deadline", signup_deadline)
    if deadline is not None and deadline > start:
        errors.add("signup_deadline", N_("Aanmelden sluit uiterlijk als de activiteit begint."))
    return {"starts_at": iso(start), "ends_at": iso(end), "all_day": int(all_day),
            "signup_deadline": iso(deadline) if deadline else None, "remind_at": iso(start - timedelta(days=1))}


def url_field(errors: FieldErrors, value) -> str:
    value = clean_text(value) if isinstance(value, str) else value
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > MAX_URL or " " in value:
        errors.add("online_url", N_("Geef een webadres dat begint met https://."))
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port out of range raises here)
    except ValueError:
        errors.add("online_url", N_("Geef een webadres dat begint met https://."))
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        errors.add("online_url", N_("Geef een webadres dat begint met https://."))
        return ""
    return value


def capacity_field(errors: FieldErrors, value) -> int | None:
    if value is None or value == "":
        return None
    if type(value) is str and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if type(value) is not int or not 1 <= value <= MAX_CAPACITY:
        errors.add("capacity", N_("Geef een aantal plaatsen van 1 tot %(max)d, of laat het leeg."), max=MAX_CAPACITY)
        return None
    return value


def questions_field(errors: FieldErrors, value) -> list[str]:
    """A list of questions, or one text with a question per line (the form)."""
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors.add("questions", N_("Geef de vragen als een lijst van teksten."))
        return []
    questions = list(dict.fromkeys(q for q in (" ".join(clean_text(item).split()) for item in value) if q))
    if len(questions) > MAX_QUESTIONS:
        errors.add("questions", N_("Hoogstens %(max)d vragen."), max=MAX_QUESTIONS)
    elif any(len(q) > MAX_QUESTION for q in questions):
        errors.add("questions", N_("Een vraag is hoogstens %(max)d tekens."), max=MAX_QUESTION)
    return questions


def content_fields(errors: FieldErrors, values: dict) -> dict:
    def text(name):
        return values[name] if isinstance(values[name], str) else ""
    description = text_field(errors, "description", text("description"), max_len=MAX_BODY, required=False,
                             single_line=False)
    alt_texts(errors, "description", description)
    if not isinstance(values["location_for_attendees_only"], bool):
        errors.add("location_for_attendees_only", N_("Kies ja of nee."))
    return {
        "title": text_field(errors, "title", text("title"), max_len=MAX_TITLE),
        "description": description, "description_html": render_markdown(description) if description else "",
        "location": text_field(errors, "location", text("location"), max_len=MAX_LOCATION, required=False),
        "online_url": url_field(errors, values["online_url"]),
        "place_for_attendees": int(values["location_for_attendees_only"] is True),
        "capacity": capacity_field(errors, values["capacity"]),
        "questions": json.dumps(questions_field(errors, values["questions"]), ensure_ascii=False),
        **when_fields(errors, starts_at=values["starts_at"], ends_at=values["ends_at"], all_day=values["all_day"],
                       signup_deadline=values["signup_deadline"]),
    }
