"""Attaching a file while writing a text (a reply, a discussion, news, an event) without
JavaScript: the writing form is sent as multipart with the file last, the file goes into the
library of where the text is published, and its line is put under the text, as the button of
static/attach.js does with JavaScript. The forms' token comes first (forum/web/middleware.py,
STREAMED_UPLOAD_ROUTES), so no file is read for a forged form."""
from __future__ import annotations

from typing import Awaitable, Callable

from aiohttp import web

from forum.errors import Invalid, N_, ServiceError
from forum.i18n import gettext
from forum.keys import actor_key, services_key
from forum.services import documents
from forum.services.checks import MAX_BODY
from forum.web.api import field_id
from forum.web.pages import form_of
from forum.web.uploads import read_form

DESCRIBE_IMAGE = N_("Uw afbeelding staat nu in de tekst. Vervang ‘%(placeholder)s’ door een korte beschrijving van wat"
                    " erop te zien is, voor wie haar niet kan zien, en plaats het dan. Kies het bestand niet opnieuw.")
NOT_BEFORE_PUBLISHED = N_("Een bericht dat later verschijnt, krijgt zijn bijlagen als het verschenen is: een bestand in"
                          " de documenten is daar meteen te vinden, eerder dan het bericht.")
MAX_TEXT_BYTES = 4 * MAX_BODY + 1024  # a text in an upload form (its length in characters is the service's check)
ATTACH_REFUSED = N_("Hier kunt u geen bestand toevoegen. Zet het in de documenten van een groep en plaats de link.")


async def form_with_attachment(request: web.Request, library: int | None | Callable[[dict], int | None],
                               max_field: int, *, text: str = "body", visibility: str | None = None,
                               may_publish: Callable[[int | None, dict], Awaitable[None]] | None = None,
                               ) -> tuple[dict[str, str], ServiceError | None]:
    """(the posted form, a refusal or None) for a form that writes a Markdown text (field
    `text`). A file chosen in it (the way without JavaScript: field "attachment", the form's
    last) goes into a library and its line is added under the text, as the button of
    static/attach.js would have put it there. `library`: a group's id, None for the site's, or
    a function of the form's fields naming one (a ServiceError: none). `may_publish(group id,
    fields)` raises when the writer may not publish there at all (then no file of theirs is kept
    either), or not with a file (an error at "attachment" says why).
    Both are asked before a byte of the file is read, and again of the whole form after it (a
    field sent twice or after the file must not move the file elsewhere). Into the site's
    library it goes with the form's `visibility` (else the one given: members-only news keeps
    its files to members). A refused file leaves the text as typed, with the refusal at the
    file field (422), so the writer's words come back to them."""
    if request.content_type != "multipart/form-data":
        return await form_of(request), None
    svc, actor = request.app[services_key], request[actor_key]

    async def target(fields: dict[str, str]) -> int | None:
        group_id = library(fields) if callable(library) else library
        if may_publish is not None:
            await may_publish(group_id, fields)
        await documents.require_may_upload(svc, actor, group_id)
        return group_id

    fields: dict[str, str] = {}
    upload = None
    try:
        fields, upload = await read_form(request, file_field="attachment", max_field=max_field, accept_file=target)
        if upload is None:
            return fields, None
        group_id = await target(fields)
        doc = await documents.create(svc, actor, group_id,
                                     {"visibility": fields.get("visibility") or visibility or ""}, upload)
    except ServiceError as error:
        if upload is not None:
            upload.discard()  # (create discards what it refuses; a refused target had not reached it)
        typed = getattr(error, "form_values", fields)
        if "attachment" in error.fields:
            return typed, Invalid(fields={"attachment": error.fields["attachment"]})
        if error.status in (408, 413, 415, 422) and not error.fields.keys() - {"file"}:  # the file is wrong
            message = (error.message, error.params) if error.params else error.message
            return typed, Invalid(fields={"attachment": error.fields.get("file", message)})
        if error.status in (401, 403, 404, 422):  # no library here this writer may add to
            return typed, Invalid(ATTACH_REFUSED)
        raise
    before = fields.get(text, "").rstrip("\n")
    placeholder = gettext("beschrijf wat erop staat")
    line = documents.attachment_line(doc, placeholder)
    fields = {**fields, text: f"{before}\n\n{line}" if before else line}
    if doc["inline_ok"]:  # shown in the text: the writer describes it first (the file is kept meanwhile)
        return fields, Invalid(fields={text: (DESCRIBE_IMAGE, {"placeholder": placeholder})})
    return fields, None


class _StopAtFile(ServiceError):
    status = 409


async def text_fields_of(request: web.Request, max_field: int) -> dict[str, str]:
    """A writing form's text fields only, for a form that is refused but whose words should
    come back to the writer: a file chosen in it (always last) is not read."""
    if request.content_type != "multipart/form-data":
        return await form_of(request)

    async def stop(fields: dict[str, str]) -> None:
        raise _StopAtFile()

    try:
        fields, _ = await read_form(request, file_field="attachment", max_field=max_field, accept_file=stop)
    except _StopAtFile as stopped:
        return stopped.form_values
    return fields


def where_library(fields: dict[str, str]) -> int | None:
    """The library a news item's or event's form publishes in: its "where" (the site, or a group)."""
    where = fields.get("where", "site")
    return None if where == "site" else field_id(where, "where")
