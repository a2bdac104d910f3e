"""Field rules shared by forms and the API, so both refuse the same input with the same words."""
from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from forum.errors import BadRequest, Invalid, N_
from forum.security import PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS

EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
MAX_ID = 2**63 - 1  # SQLite's largest integer


def plain_id(raw: str | None) -> int | None:
    """An id written in ASCII digits within SQLite's range, else None. (str.isdigit() alone
    also takes '²', which int() refuses.)"""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 0 < int(raw) <= MAX_ID:
        return None
    return int(raw)


HANDLE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$")
MAX_TITLE = 200
MAX_BODY = 50_000
MAX_REASON = 500  # why a moderator or admin acted: told to the person and kept in the audit log
MAX_NAME = 80
MAX_BIO = 2_000
MAX_DESCRIPTION = 500


class FieldErrors:
    """Collects per-field messages and raises them together, so a form shows every problem at once."""

    def __init__(self):
        self.fields: dict[str, str | tuple[str, dict]] = {}

    def add(self, name: str, message: str, **params) -> None:
        self.fields.setdefault(name, (message, params) if params else message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(fields=self.fields)


BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


def _kept(ch: str) -> bool:
    code = ord(ch)
    # control characters, lone surrogates and U+FFFE/U+FFFF: none belongs in a text, and XML
    # (the Atom feeds) cannot carry them at all; the bidirectional overrides and isolates
    # would turn the rest of a sentence a name stands in around (attacker review), while
    # right-to-left script shows right without them
    return ch in "\n\t" or (code >= 32 and not 0x7F <= code <= 0x9F and not 0xD800 <= code <= 0xDFFF
                            and code not in (0xFFFE, 0xFFFF) and code not in BIDI_CONTROLS)


# What shows nothing: spaces and separators, controls, format characters (zero-width spaces,
# soft hyphens, joiners), lone surrogates; and letters that are blank by design. Not unassigned
# (Cn) or private-use (Co) characters: Python's tables lag Unicode, and an emoji newer than
# them (🩷, Unicode 15) is a whole reply.
_INVISIBLE = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs"})
_BLANK_LETTERS = frozenset("\u2800\u3164\u115f\u1160\uffa0")  # braille blank, Hangul fillers


def visible_text(value: str) -> bool:
    """Whether a text shows anything: not only spaces and invisible characters, which would
    fill a required field with nothing to read."""
    return any(unicodedata.category(ch) not in _INVISIBLE and ch not in _BLANK_LETTERS for ch in value)


def clean_text(value: str) -> str:
    """Strip surrounding space and characters that have no place in a text."""
    return "".join(ch for ch in value if _kept(ch)).strip()


def text_field(errors: FieldErrors, name: str, value: str, *, max_len: int, required: bool = True,
               single_line: bool = True) -> str:
    value = clean_text(value)
    if single_line:
        value = " ".join(value.split())
    if required and not visible_text(value):
        errors.add(name, N_("Dit veld is verplicht."))
    elif len(value) > max_len:
        errors.add(name, N_("Dit is te lang (hoogstens %(max)d tekens)."), max=max_len)
    return value


def told_reason(errors: FieldErrors, value: str, *, told: bool) -> str:
    """Why a moderator removes someone's words or membership: when that is someone else, they
    read it (the terms promise a reason), so it is required then."""
    value = text_field(errors, "reason", value, max_len=MAX_REASON, required=False)
    if told and not visible_text(value):
        errors.add("reason", N_("Geef een reden: de betrokkene krijgt bericht en leest die."))
    return value


def email_field(errors: FieldErrors, value: str) -> str:
    value = value.strip()
    if not value:
        errors.add("email", N_("Dit veld is verplicht."))
    elif len(value) > 254 or not EMAIL_RE.match(value):
        errors.add("email", N_("Vul een geldig e-mailadres in."))
    return value


def password_field(errors: FieldErrors, value: str, name: str = "password") -> str:
    if not value:  # a form that came back shows no password again: say to type it, not that it is short
        errors.add(name, N_("Vul uw wachtwoord in. Na een fout in het formulier tonen wij het niet opnieuw."))
    elif len(value) < PASSWORD_MIN_CHARS:
        errors.add(name, N_("Het wachtwoord moet minstens 12 tekens lang zijn."))
    elif len(value) > PASSWORD_MAX_CHARS:
        errors.add(name, N_("Het wachtwoord mag hoogstens 1024 tekens lang zijn."))
    return value


# what static/attach.js and a document's page put between the brackets, to be replaced
ALT_PLACEHOLDERS = frozenset({"beschrijf wat erop staat", "describe what it shows", "wat erop staat",
                              "what it shows"})


def alt_texts(errors: FieldErrors, name: str, markdown: str) -> None:
    """Every image shown in a text needs its description: ![wat erop staat](/documents/…)."""
    from forum.markdown import images_without_alt  # (the renderer loads only where texts are written)
    missing = images_without_alt(markdown, ALT_PLACEHOLDERS)
    if missing:
        errors.add(name, N_("Geef elke afbeelding een beschrijving voor wie haar niet kan zien:"
                            " ![wat erop staat](%(src)s)."), src=missing[0])


def choice_field(errors: FieldErrors, name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:  # named: a client of the API learns what it may send
        errors.add(name, N_("Kies een van de mogelijkheden: %(choices)s."), choices=", ".join(choices))
    return value


def handle_field(errors: FieldErrors, name: str, raw: str) -> str:
    """A handle as typed ("@Jan-de-Vries" is "jan-de-vries"), its form checked."""
    handle = raw.strip().lstrip("@").lower()
    if not HANDLE_RE.match(handle):
        errors.add(name, N_("Een gebruikersnaam heeft 1 tot 30 kleine letters, cijfers of streepjes (niet aan het begin of eind)."))
    return handle


def keyset_cursor(moment: str, row_id: int) -> str:
    """A list's "next page" as (time, id) of the page's last row, opaque in the URL."""
    return base64.urlsafe_b64encode(f"{moment}|{row_id}".encode()).decode().rstrip("=")


def parse_keyset_cursor(cursor: str | None) -> tuple[str, int] | None:
    """The (time, id) of a cursor keyset_cursor made; anything else is a 400."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, row_id = raw.partition("|")
        number = int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadRequest(N_("Ongeldige paginaverwijzing."))
    if not moment or len(moment) > 40 or not 0 < number < 2**63:
        raise BadRequest(N_("Ongeldige paginaverwijzing."))
    return moment, number
