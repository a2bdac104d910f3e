"""Reading an upload form (multipart/form-data) as it streams: small text fields into a dict,
the one file field into forum/files/ (to a temporary file, checked, never whole in memory).
For the pages' upload forms the CSRF field comes first and is checked before the file is read
(forum/web/middleware.py); the API sends its token in a header instead."""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

# What a broken multipart body raises as aiohttp reads it (a part's header that is no header is
# an HttpProcessingError, not a ValueError)
BROKEN = (ValueError, AssertionError, KeyError, HttpProcessingError)

from forum.errors import BadRequest, N_, ServiceError
from forum.files import Upload
from forum.keys import services_key, upload_key

MAX_FIELD = 10_000          # a text field of an upload form (a description)
MAX_FIELDS = 20


async def _reader(request: web.Request):
    if request.content_type != "multipart/form-data":
        raise BadRequest(N_("Stuur het bestand als multipart/form-data."))
    reader = request.get(upload_key)
    if reader is None:
        try:
            reader = await request.multipart()
        except BROKEN:
            raise BadRequest(N_("Het formulier kon niet worden gelezen."))
        request[upload_key] = reader
    return reader


async def _text(part: BodyPartReader, max_bytes: int = MAX_FIELD) -> str:
    raw = bytearray()
    while chunk := await part.read_chunk(8192):  # however the field arrives, in one read or many
        raw += chunk
        if len(raw) > max_bytes:
            raise BadRequest(N_("Een veld van het formulier is te lang."))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(N_("De tekst bevat ongeldige tekens."))


async def csrf_field(request: web.Request) -> str | None:
    """The token of a page's upload form: its first field, or None."""
    try:
        reader = await _reader(request)
        part = await reader.next()
    except (*BROKEN, BadRequest, ConnectionError):
        return None
    if not isinstance(part, BodyPartReader) or part.name != "csrf_token":
        return None
    try:
        return await _text(part)
    except (*BROKEN, BadRequest, ConnectionError):
        return None


async def read_form(request: web.Request, file_field: str = "file", max_field: int = MAX_FIELD,
                    accept_file: Callable[[dict[str, str]], Awaitable[None]] | None = None,
                    ) -> tuple[dict[str, str], Upload | None]:
    """(text fields, the received file or None). A refused file (too large, empty, not an
    allowed type) raises the files room's error; whatever was stored meanwhile is removed.
    `max_field`: bytes of one text field (a post's text is longer than a description).
    `accept_file(fields read so far)` raises a ServiceError to refuse a chosen file before a
    byte of it is read."""
    files = request.app[services_key].files
    reader = await _reader(request)
    fields: dict[str, str] = {}
    upload = None
    try:
        for _ in range(MAX_FIELDS + 1):
            part = await reader.next()
            if part is None:
                return fields, upload
            if not isinstance(part, BodyPartReader):
                raise BadRequest(N_("Het formulier kon niet worden gelezen."))
            if part.name == file_field and part.filename is not None:
                if not part.filename:
                    continue  # a browser sends an empty part when no file was chosen: "choose one"
                if accept_file is not None:
                    try:
                        await accept_file(fields)
                    except ServiceError as error:
                        error.form_values = fields  # what was typed before the file: the form shows it again
                        raise
                if upload is not None:
                    raise BadRequest(N_("Stuur één bestand tegelijk."))
                try:
                    upload = await files.receive(part, part.filename)
                except ServiceError as error:
                    error.form_values = fields  # what was typed before the file: the form shows it again
                    raise
            elif part.name:
                fields[part.name] = await _text(part, max_field)
        raise BadRequest(N_("Het formulier heeft te veel velden."))
    except BROKEN:  # a broken multipart body
        if upload is not None:
            upload.discard()
        raise BadRequest(N_("Het formulier kon niet worden gelezen."))
    except ConnectionError:  # the client went away mid-upload: nothing to answer, nothing kept
        if upload is not None:
            upload.discard()
        raise BadRequest(N_("Het uploaden is afgebroken."))
    except BaseException:
        if upload is not None:
            upload.discard()
        raise
