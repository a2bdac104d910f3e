"""JSON API views under /api/v1 and the helpers they share: strict input parsing into pydantic
models, integer path parameters, and the user/group shapes clients see."""
from __future__ import annotations

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from forum.errors import BadRequest, Invalid, N_, NotFound, ServiceError
from forum.services import checks

try:  # GET /api/v1/threads/{id} answers 1.3-1.6x as often (README, Speed); without it, the standard json
    import orjson
except ImportError:  # pragma: no cover  the install brings it; a hand-made environment may not
    orjson = None

Model = TypeVar("Model", bound=BaseModel)
MAX_ID = checks.MAX_ID  # the request models' bound


class In(BaseModel):
    """Base of request bodies: exact JSON types (no "1" for 1, no true for 1)."""
    model_config = ConfigDict(strict=True, extra="ignore")


class ReasonIn(In):
    """The optional body of a moderator's delete: why, told to the person concerned (required
    when that is someone else)."""
    reason: str = ""


async def reason_of(request: web.Request) -> str:
    return (await read_json(request, ReasonIn)).reason if request.body_exists else ""


class TokenIn(In):
    """A token from a mailed link (confirmation, invitation)."""
    token: str


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"
    default_message = N_("Stuur JSON (Content-Type: application/json).")


class TooLarge(ServiceError):
    status, code = 413, "too_large"
    default_message = N_("Het verzoek is te groot.")


PYDANTIC_MESSAGES = {
    "missing": N_("Dit veld is verplicht."),
    "string_type": N_("Verwacht tekst."),
    "int_type": N_("Verwacht een geheel getal."),
    "bool_type": N_("Verwacht true of false."),
    "list_type": N_("Verwacht een lijst."),
}


MAX_JSON_DEPTH = 20


def parse_json(raw: bytes | str):
    """JSON as the forum accepts it: nested at most MAX_JSON_DEPTH deep (deeper would reach
    Python's recursion limit) and without lone surrogates (text that cannot be stored as UTF-8).
    Anything else is a BadRequest, never a 500."""
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise BadRequest(N_("De JSON is te diep genest."))
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(N_("De body is geen geldige JSON."))
    pending = [(data, 0)]
    while pending:  # iterative: the check itself must not recurse
        value, depth = pending.pop()
        if isinstance(value, str):
            if not _is_utf8(value):
                raise BadRequest(N_("De tekst bevat ongeldige tekens."))
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise BadRequest(N_("De JSON is te diep genest."))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and not _is_utf8(key):
                    raise BadRequest(N_("De tekst bevat ongeldige tekens."))
                pending.append((item, depth + 1))
    return data


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def read_json(request: web.Request, model: type[Model]) -> Model:
    if request.content_type != "application/json":
        raise UnsupportedMediaType()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge()
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise BadRequest(N_("De body moet een JSON-object zijn."))
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = {}
        for problem in error.errors():
            name = ".".join(str(part) for part in problem["loc"]) or "body"
            fields.setdefault(name, PYDANTIC_MESSAGES.get(problem["type"], N_("Ongeldige waarde.")))
        raise Invalid(fields=fields)


parse_id = checks.plain_id  # the services' rule for an id as typed (forum/services/checks.py)


FOLDER_UNKNOWN = N_("Deze map bestaat niet in deze bibliotheek.")


def field_id(raw: str | None, field: str, unknown: str = N_("Deze groep bestaat niet.")) -> int | None:
    """An optional id (a group's, unless `unknown` says what else) typed in a form or a filter:
    None when empty, a 422 naming the field when it is no id at all."""
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise Invalid(fields={field: unknown})
    return value


def int_param(request: web.Request, name: str) -> int:
    """A path id; anything that is not a plausible id cannot name anything, so it is a 404."""
    value = parse_id(request.match_info[name])
    if value is None:
        raise NotFound()
    return value


def id_query(request: web.Request, name: str) -> int | None:
    """An optional id in the query string (a filter or a cursor); anything else is a 400."""
    raw = request.query.get(name, "")
    if not raw:
        return None
    value = parse_id(raw)
    if value is None:
        raise BadRequest(N_("Ongeldige waarde voor %(name)s."), name=name)
    return value


def json_out(data: dict, status: int = 200) -> web.Response:
    body = None
    if orjson is not None:
        try:  # integer keys become strings, as json.dumps makes them
            body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # what orjson refuses and json takes (an integer past 64 bits): the same answer, slower
            pass
    if body is None:
        body = json.dumps(data).encode()
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


def photo_url(user_id: int, blob: str | None) -> str | None:
    """A profile photo's address; its version in the query, so a new photo is never a cached old one."""
    return f"/users/{user_id}/photo?v={blob[:12]}" if blob else None


def user_out(user, *, private: bool = False) -> dict:
    out = {"id": user["id"], "handle": user["handle"], "display_name": user["display_name"], "bio": user["bio"],
           "role": user["role"], "created_at": user["created_at"],
           "organisation": user.get("organisation") or "", "job_title": user.get("job_title") or "",
           "photo_url": photo_url(user["id"], user.get("photo_blob"))}
    if private:
        out.update(email=user["email"], locale=user["locale"], status=user["status"],
                   email_notifications=user["email_notifications"], digest=user["digest"],
                   suspended_until=user.get("suspended_until"),
                   email_verified=user.get("email_verified_at") is not None)
    return out


def group_out(group) -> dict:
    return {**{key: group[key] for key in
               ("id", "name", "kind", "visibility", "description", "member_count", "thread_count", "created_at")},
            "members_propose_events": bool(group["members_propose_events"]),
            "intro": group.get("intro", ""), "intro_html": group.get("intro_html", ""),
            "icon_url": _picture(group, "icon"), "banner_url": _picture(group, "banner")}


def _picture(group, which: str) -> str | None:
    blob = group.get(f"{which}_blob")
    return f"/groups/{group['id']}/{which}?v={blob[:12]}" if blob else None
