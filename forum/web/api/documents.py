"""API: libraries (a group's, the site's), folders, documents and their versions. Uploads are
multipart/form-data (fields: file, title, description, folder_id; visibility for the site's
library), read as they stream (forum/web/uploads.py); downloads go through /documents/ID/download."""
from __future__ import annotations

from aiohttp import web
from pydantic import Field

from forum.errors import Invalid, N_
from forum.keys import actor_key, services_key
from forum.services import documents
from forum.web.api import FOLDER_UNKNOWN, MAX_ID, In, field_id, int_param, json_out, read_json
from forum.web.uploads import read_form


class FolderIn(In):
    name: str
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class FolderUpdateIn(In):
    name: str


class DocumentUpdateIn(In):
    title: str | None = None
    description: str | None = None
    folder_id: int | None = Field(default=None, ge=1, le=MAX_ID)  # null: the library's top


def folder_out(folder) -> dict:
    return {"id": folder["id"], "name": folder["name"], "parent_id": folder["parent_id"]}


async def _library(request: web.Request, group_id: int | None) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    folder_id = field_id(request.query.get("folder_id"), "folder_id", FOLDER_UNKNOWN)
    shelf = await documents.library(svc, actor, group_id, folder_id)
    return json_out({"folder_id": shelf["folder"]["id"] if shelf["folder"] else None,
                     "folders": [folder_out(f) for f in shelf["folders"]],
                     "documents": [documents.document_out(d) for d in shelf["documents"]]})


async def group_documents(request: web.Request) -> web.Response:
    return await _library(request, int_param(request, "group_id"))


async def site_documents(request: web.Request) -> web.Response:
    return await _library(request, None)


async def _upload(request: web.Request, group_id: int | None) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    await documents.require_may_upload(svc, actor, group_id)  # before a byte of the file is read
    fields, upload = await read_form(request)
    doc = await documents.create(svc, actor, group_id, fields, upload)
    return json_out({"document": documents.document_out(doc)}, status=201)


async def upload_to_group(request: web.Request) -> web.Response:
    return await _upload(request, int_param(request, "group_id"))


async def upload_to_site(request: web.Request) -> web.Response:
    return await _upload(request, None)


async def _folder(request: web.Request, group_id: int | None) -> web.Response:
    data = await read_json(request, FolderIn)
    folder = await documents.create_folder(request.app[services_key], request[actor_key], group_id,
                                           name=data.name, parent_id=data.parent_id)
    return json_out({"folder": folder_out(folder)}, status=201)


async def group_folder(request: web.Request) -> web.Response:
    return await _folder(request, int_param(request, "group_id"))


async def site_folder(request: web.Request) -> web.Response:
    return await _folder(request, None)


async def rename_folder(request: web.Request) -> web.Response:
    data = await read_json(request, FolderUpdateIn)
    folder = await documents.rename_folder(request.app[services_key], request[actor_key],
                                           int_param(request, "folder_id"), name=data.name)
    return json_out({"folder": folder_out(folder)})


async def delete_folder(request: web.Request) -> web.Response:
    await documents.delete_folder(request.app[services_key], request[actor_key], int_param(request, "folder_id"))
    return json_out({"ok": True})


async def get_document(request: web.Request) -> web.Response:
    doc, rows = await documents.versions(request.app[services_key], request[actor_key],
                                         int_param(request, "document_id"))
    return json_out({"document": documents.document_out(doc), "versions": [
        {"version": row["version"], "filename": row["filename"], "size": row["size"],
         "content_type": row["content_type"], "created_at": row["created_at"], "uploader": row["uploader_name"],
         "download_url": documents.download_url(doc, row["version"])} for row in rows]})


async def update_document(request: web.Request) -> web.Response:
    data = await read_json(request, DocumentUpdateIn)
    given = data.model_dump(exclude_unset=True)
    doc = await documents.update(request.app[services_key], request[actor_key], int_param(request, "document_id"),
                                 title=given.get("title"), description=given.get("description"),
                                 folder_id=given.get("folder_id", "keep"))
    return json_out({"document": documents.document_out(doc)})


async def delete_document(request: web.Request) -> web.Response:
    await documents.delete(request.app[services_key], request[actor_key], int_param(request, "document_id"))
    return json_out({"ok": True})


async def new_version(request: web.Request) -> web.Response:
    svc, actor = request.app[services_key], request[actor_key]
    document_id = int_param(request, "document_id")
    await documents.require_may_edit(svc, actor, document_id)  # before the file is read
    _, upload = await read_form(request)
    if upload is None:
        raise Invalid(fields={"file": N_("Kies een bestand.")})
    doc = await documents.add_version(svc, actor, document_id, upload)
    return json_out({"document": documents.document_out(doc)}, status=201)
