"""Pages: a library (a group's, or the site's at /library) with its folders and upload form, a
document with its versions, and the download, which asks the policy on every request and
serves the file so that no browser runs it: as an attachment (images that decoded cleanly may
be shown inline), its type as decided from its content, nosniff, and a CSP that forbids all."""
from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web

from forum import policy
from forum.errors import Invalid, N_, NotFound, ServiceError
from forum.files import sniff
from forum.keys import actor_key, services_key
from forum.policy import Action
from forum.services import documents, groups
from forum.web.api import FOLDER_UNKNOWN, field_id, int_param, parse_id
from forum.web.pages import form_of, my_groups, render, rerender
from forum.web.uploads import read_form

log = logging.getLogger(__name__)

DOWNLOAD_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _library_url(group_id: int | None, folder_id: int | None = None) -> str:
    base = f"/groups/{group_id}/documents" if group_id is not None else "/library"
    return base + (f"?folder_id={folder_id}" if folder_id else "")


async def _library_page(request: web.Request, group_id: int | None, *, error: ServiceError | None = None,
                        values: dict | None = None, folder_id: int | None = None) -> web.Response:
    """The library at a folder: `folder_id` if given (a form about that folder came back), else
    the address's, else the one a form named."""
    svc, actor = request.app[services_key], request[actor_key]
    if folder_id is None:
        folder_id = field_id(request.query.get("folder_id") or (values or {}).get("folder_id"), "folder_id",
                             FOLDER_UNKNOWN)
    shelf = await documents.library(svc, actor, group_id, folder_id)
    my_libraries = []
    if group_id is None and actor.active:  # the way on from the site's library to one's own groups'
        my_libraries = my_groups(actor, await groups.list_groups(svc, actor))
    context = {**shelf, "group_id": group_id, "values": values or {}, "uploaded": request.query.get("uploaded"),
               "my_libraries": my_libraries,
               "library_url": _library_url(group_id), "max_mb": svc.config.upload_max_bytes // (1024 * 1024),
               "deleted": request.query.get("deleted") == "1",
               "folder_deleted": request.query.get("folder_deleted") == "1",
               "folder_renamed": request.query.get("renamed") == "1",
               "upload_action": (f"/groups/{group_id}/documents" if group_id is not None else "/library")
               + (f"?folder_id={folder_id}" if folder_id else "")}
    if error is not None:
        return rerender(request, "library.html", error, context)
    return render(request, "library.html", context)


async def group_library(request: web.Request) -> web.Response:
    return await _library_page(request, int_param(request, "group_id"))


async def site_library(request: web.Request) -> web.Response:
    return await _library_page(request, None)


async def _upload(request: web.Request, group_id: int | None) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    await documents.require_may_upload(svc, actor, group_id)  # before a byte of the file is read
    folder = request.query.get("folder_id", "")
    fields: dict[str, str] = {}
    try:
        fields, upload = await read_form(request)
        doc = await documents.create(svc, actor, group_id, {**fields, "folder_id": folder}, upload)
    except ServiceError as error:
        if error.status in (401, 403, 404):
            raise
        fields = getattr(error, "form_values", fields)
        kept = {"title": fields.get("title", ""), "description": fields.get("description", ""), "folder_id": folder}
        return await _library_page(request, group_id, error=_at_file(error), values=kept)
    raise web.HTTPSeeOther(f"/documents/{doc['id']}")


def _at_file(error: ServiceError) -> ServiceError:
    """A refused file's message belongs at the file field (with its numbers: "hoogstens 20 MB")."""
    if not error.fields:
        error.fields = {"file": (error.message, error.params) if error.params else error.message}
    return error


async def group_upload(request: web.Request) -> web.Response:
    return await _upload(request, int_param(request, "group_id"))


async def site_upload(request: web.Request) -> web.Response:
    return await _upload(request, None)


async def _new_folder(request: web.Request, group_id: int | None) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    form = await form_of(request)
    parent = field_id(form.get("parent_id", ""), "parent_id", FOLDER_UNKNOWN)
    try:
        folder = await documents.create_folder(svc, actor, group_id, name=form.get("name", ""), parent_id=parent)
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return await _library_page(request, group_id, error=error, values={**form, "folder_id": form.get("parent_id")})
    raise web.HTTPSeeOther(_library_url(group_id, folder["id"]))


async def change_folder(request: web.Request) -> web.Response:
    """Rename a folder, or delete it when it is empty; back to its library."""
    svc, actor = request.app[services_key], request[actor_key]
    folder_id = int_param(request, "folder_id")
    form = await form_of(request)
    folder = await documents.folder_to_edit(svc, actor, folder_id)  # (the service checks again as it writes)
    try:
        if form.get("action") == "delete":
            await documents.delete_folder(svc, actor, folder_id)
            back = _library_url(folder["group_id"], folder["parent_id"])
            raise web.HTTPSeeOther(back + ("&" if "?" in back else "?") + "folder_deleted=1")
        if form.get("action") != "rename":
            raise Invalid(N_("Onbekende actie."))
        await documents.rename_folder(svc, actor, folder_id, name=form.get("name", ""))
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        if "name" in error.fields:  # the rename form's field, not the new folder's
            error.fields = {"folder_name": error.fields["name"]}
        values = {"from": "folder-edit"}  # its messages are shown at its own form, not the upload's
        if form.get("action") == "rename":
            values["folder_name"] = form.get("name", "")
        return await _library_page(request, folder["group_id"], error=error, values=values, folder_id=folder_id)
    raise web.HTTPSeeOther(_library_url(folder["group_id"], folder_id) + "&renamed=1")


async def group_folder(request: web.Request) -> web.Response:
    return await _new_folder(request, int_param(request, "group_id"))


async def site_folder(request: web.Request) -> web.Response:
    return await _new_folder(request, None)


# --- a document ----------------------------------------------------------------------------------

async def _document_context(request: web.Request, document_id: int, values: dict | None = None) -> dict:
    svc, actor = request.app[services_key], request[actor_key]
    doc, rows = await documents.versions(svc, actor, document_id)
    context = {"doc": doc, "versions": rows, "may_edit": policy.can(actor, Action.EDIT_DOCUMENT, doc),
               "library_url": _library_url(doc["group_id"], doc["folder_id"]), "folders": [],
               "values": values or {"title": doc["title"], "description": doc["description"]},
               "max_mb": svc.config.upload_max_bytes // (1024 * 1024)}
    if context["may_edit"]:
        context["folders"] = await documents.all_folders(svc, actor, doc)
    return context


async def show(request: web.Request) -> web.Response:
    return render(request, "document.html", await _document_context(request, int_param(request, "document_id")))


async def edit(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    document_id = int_param(request, "document_id")
    form = await form_of(request)
    raw_folder = form.get("folder_id", "")
    try:
        folder_id = field_id(raw_folder, "folder_id", FOLDER_UNKNOWN) if raw_folder else None
        await documents.update(svc, actor, document_id, title=form.get("title", ""),
                               description=form.get("description", ""), folder_id=folder_id)
    except ServiceError as error:
        if error.status not in (409, 422):
            raise
        return rerender(request, "document.html", error, await _document_context(request, document_id, form))
    raise web.HTTPSeeOther(f"/documents/{document_id}")


async def new_version(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    document_id = int_param(request, "document_id")
    await documents.require_may_edit(svc, actor, document_id)  # before the file is read
    try:
        _, upload = await read_form(request)
        if upload is None:
            raise Invalid(fields={"file": N_("Kies een bestand.")})
        await documents.add_version(svc, actor, document_id, upload)
    except ServiceError as error:
        if error.status in (401, 403, 404):
            raise
        return rerender(request, "document.html", _at_file(error), await _document_context(request, document_id))
    raise web.HTTPSeeOther(f"/documents/{document_id}")


async def delete_form(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    doc = await documents.require_may_edit(svc, actor, int_param(request, "document_id"))
    return render(request, "document_delete.html", {"doc": doc})


async def delete(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    document_id = int_param(request, "document_id")
    form = await form_of(request)
    doc = await documents.require_may_edit(svc, actor, document_id)
    if form.get("confirm") != "yes":
        raise Invalid(fields={"confirm": N_("Bevestig dat u dit document wilt verwijderen.")})
    await documents.delete(svc, actor, document_id)
    raise web.HTTPSeeOther(_library_url(doc["group_id"], doc["folder_id"]) + ("&" if doc["folder_id"] else "?")
                           + "deleted=1")


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII fallback (quotes, backslashes and controls gone) and the name itself
    in filename* (RFC 5987), so no name can break out of the header or reach another path."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename) or "bestand"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def download(request: web.Request) -> web.StreamResponse:
    svc, actor = request.app[services_key], request[actor_key]
    raw_version = request.query.get("version", "")
    version = parse_id(raw_version) if raw_version else None
    if raw_version and version is None:
        raise Invalid(fields={"version": N_("Deze versie bestaat niet.")})
    doc, row, path = await documents.file_of(svc, actor, int_param(request, "document_id"), version)
    if not path.is_file():
        log.error("document %s version %s: its file %s is missing", doc["id"], row["version"], row["blob"])
        raise NotFound()
    inline = bool(row["inline_ok"]) and row["content_type"] in sniff.IMAGES
    content_type = row["content_type"] + ("; charset=utf-8" if row["content_type"].startswith("text/") else "")
    return web.FileResponse(path, headers={
        "Content-Type": content_type,
        "Content-Disposition": content_disposition("inline" if inline else "attachment", row["filename"]),
        "Content-Security-Policy": DOWNLOAD_CSP,
        "Cache-Control": "private, no-cache",  # the policy is asked again each time
        "Cross-Origin-Resource-Policy": "same-origin",
    })


def routes() -> list[web.RouteDef]:
    return [
        web.get(r"/groups/{group_id:\d+}/documents", group_library, name="group.documents"),
        web.post(r"/groups/{group_id:\d+}/documents", group_upload, name="documents.upload"),
        web.post(r"/groups/{group_id:\d+}/folders", group_folder, name="group.folders"),
        web.get("/library", site_library, name="library"),
        web.post("/library", site_upload, name="library.upload"),
        web.post("/library/folders", site_folder, name="library.folders"),
        web.post(r"/folders/{folder_id:\d+}", change_folder, name="folder.change"),
        web.get(r"/documents/{document_id:\d+}", show, name="document"),
        web.post(r"/documents/{document_id:\d+}/edit", edit, name="document.edit"),
        web.post(r"/documents/{document_id:\d+}/versions", new_version, name="document.version.upload"),
        web.get(r"/documents/{document_id:\d+}/delete", delete_form, name="document.delete"),
        web.post(r"/documents/{document_id:\d+}/delete", delete),
        web.get(r"/documents/{document_id:\d+}/download", download, name="document.download"),
    ]
