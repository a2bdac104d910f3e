"""Documents: a group's members keep files in its library, in folders; editors keep the site's.
A new version keeps the old ones. The file is checked and stored by forum/files/ before its
row is written here, in one transaction with its audit entry and live event; its words are
read out afterwards (the scheduler, in a separate process) and then found by search."""
from __future__ import annotations

import asyncio
import logging
import time
import unicodedata

from forum import policy
from forum.errors import Conflict, Invalid, N_, NotFound
from forum.files import Upload, extract
from forum.policy import Action, Actor
from forum.services import Services, audit, search_index
from forum.services.checks import MAX_DESCRIPTION, MAX_TITLE, FieldErrors, choice_field, plain_id, text_field
from forum.store import documents as store
from forum.store import groups as group_store
from forum.store import threads as thread_store

log = logging.getLogger(__name__)

MAX_FOLDER_NAME = 100
SITE_VISIBILITIES = ("public", "members")
SWEEP_SECONDS = 3600


def channel_of(doc) -> str:
    if doc["visibility"] == "group":
        return f"group:{doc['group_id']}"
    return "site" if doc["visibility"] == "public" else "members"


def download_url(doc, version: int | None = None) -> str:
    return f"/documents/{doc['id']}/download" + (f"?version={version}" if version else "")


def attachment_line(doc, describe: str) -> str:
    """The Markdown that attaches a document to a text (static/attach.js writes the same): a
    link, or for an image the image itself, its description `describe` still to be written."""
    if doc["inline_ok"]:
        return f"![{describe}]({download_url(doc)})"
    title = doc["title"].replace("[", "").replace("]", "")
    return f"[{title}](/documents/{doc['id']})"


def document_out(doc) -> dict:
    return {
        "id": doc["id"], "title": doc["title"], "description": doc["description"], "filename": doc["filename"],
        "size": doc["size"], "content_type": doc["content_type"], "version": doc["version"],
        "folder_id": doc["folder_id"], "group_id": doc["group_id"], "visibility": doc["visibility"],
        "uploader": {"id": doc["uploader_id"], "display_name": doc["uploader_name"]},
        "created_at": doc["created_at"], "updated_at": doc["updated_at"],
        "image": bool(doc["inline_ok"]), "url": f"/documents/{doc['id']}", "download_url": download_url(doc),
    }


# --- reading -----------------------------------------------------------------------------------

async def _group(svc: Services, actor: Actor, group_id: int | None):
    if group_id is None:
        return None
    async with svc.db.read() as conn:
        group = await group_store.by_id(conn, group_id)
    if group is None or not policy.can(actor, Action.READ, group):
        raise NotFound()
    return group


async def library(svc: Services, actor: Actor, group_id: int | None, folder_id: int | None = None) -> dict:
    """One folder of a library (the group's, or the site's with None) as the viewer may read it."""
    group = await _group(svc, actor, group_id)
    where, params = policy.readable_documents_sql(actor, "d", "g")
    async with svc.db.read() as conn:
        folder = await _folder_in(conn, group_id, folder_id)
        return {
            "group": group, "folder": folder, "path": await store.folder_path(conn, folder_id),
            "folders": await store.folders_in(conn, group_id, folder_id, where, params),
            "documents": await store.listing(conn, where, params, group_id=group_id, folder_id=folder_id),
            "may_upload": policy.can(actor, Action.UPLOAD_DOCUMENT, group),
            "may_edit_folder": folder is not None and policy.can(actor, Action.EDIT_FOLDER, {
                **folder, "group_visibility": group["visibility"] if group else None}),
        }


async def _folder_in(conn, group_id: int | None, folder_id: int | None):
    if folder_id is None:
        return None
    folder = await store.folder(conn, folder_id)
    if folder is None or folder["group_id"] != group_id:
        raise Invalid(fields={"folder_id": N_("Deze map bestaat niet in deze bibliotheek.")})
    return folder


async def get(svc: Services, actor: Actor, document_id: int):
    async with svc.db.read() as conn:
        doc = await store.by_id(conn, document_id)
    policy.require(actor, Action.READ_DOCUMENT, doc)
    return doc


async def versions(svc: Services, actor: Actor, document_id: int):
    doc = await get(svc, actor, document_id)
    async with svc.db.read() as conn:
        return doc, await store.versions(conn, document_id)


async def all_folders(svc: Services, actor: Actor, doc):
    """Every folder of the document's library, with its path as a name (the move picker)."""
    policy.require(actor, Action.EDIT_DOCUMENT, doc)
    async with svc.db.read() as conn:
        rows = await store.all_folders(conn, doc["group_id"])
    by_id = {row["id"]: row for row in rows}

    def full_name(row) -> str:
        names, seen = [], set()
        while row is not None and row["id"] not in seen:
            seen.add(row["id"])
            names.insert(0, row["name"])
            row = by_id.get(row["parent_id"])
        return " / ".join(names)
    return sorted(({"id": row["id"], "name": full_name(row)} for row in rows), key=lambda f: f["name"].lower())


async def file_of(svc: Services, actor: Actor, document_id: int, version: int | None = None):
    """(document, version row, path on disk) of a download, checked against the policy now."""
    doc = await get(svc, actor, document_id)
    async with svc.db.read() as conn:
        row = await store.version(conn, document_id, version or doc["version"])
    if row is None:
        raise NotFound()
    return doc, row, svc.files.path_of(row["blob"])


# --- writing -----------------------------------------------------------------------------------

async def require_may_upload(svc: Services, actor: Actor, group_id: int | None):
    """Checked before an upload is read at all: a stranger's 20 MB never reach the disk."""
    group = await _group(svc, actor, group_id) if group_id is not None else None
    policy.require(actor, Action.UPLOAD_DOCUMENT, group)
    return group


async def require_may_edit(svc: Services, actor: Actor, document_id: int):
    async with svc.db.read() as conn:
        doc = await store.by_id(conn, document_id)
    policy.require(actor, Action.EDIT_DOCUMENT, doc)
    return doc


def _fields(errors: FieldErrors, fields: dict, *, title_required: bool) -> dict:
    title = text_field(errors, "title", fields.get("title", ""), max_len=MAX_TITLE, required=title_required)
    description = text_field(errors, "description", fields.get("description", ""), max_len=MAX_DESCRIPTION,
                             required=False, single_line=False)
    raw_folder = fields.get("folder_id", "")
    folder_id = plain_id(raw_folder) if raw_folder else None
    if raw_folder and folder_id is None:
        errors.add("folder_id", N_("Deze map bestaat niet in deze bibliotheek."))
    return {"title": title, "description": description, "folder_id": folder_id}


async def create(svc: Services, actor: Actor, group_id: int | None, fields: dict, upload: Upload | None):
    """A new document from a received upload (fields as typed: title, description, folder_id,
    visibility for the site's library). The upload is discarded if anything is refused."""
    try:
        group = await require_may_upload(svc, actor, group_id)
        errors = FieldErrors()
        values = _fields(errors, fields, title_required=False)
        visibility = "group" if group else fields.get("visibility") or "public"
        if group is None:
            choice_field(errors, "visibility", visibility, SITE_VISIBILITIES)
        if upload is None:
            errors.add("file", N_("Kies een bestand."))
        errors.raise_if_any()
        async with svc.db.read() as conn:  # before the file is kept: a refusal leaves nothing on disk
            await _folder_in(conn, group_id, values["folder_id"])
        blob = await svc.files.keep(upload)
    except BaseException:
        if upload is not None:
            upload.discard()
        raise
    async with svc.db.write(only="library") as tx:
        await _folder_in(tx, group_id, values["folder_id"])
        now = svc.now()
        title = values["title"] or upload.filename.rsplit(".", 1)[0]  # "Jaarverslag 2026", not "….pdf"
        document_id = await store.insert(tx, group_id=group_id, folder_id=values["folder_id"], visibility=visibility,
                                         title=title, description=values["description"], uploader_id=actor.user_id,
                                         now=now)
        await store.insert_version(tx, document_id, 1, blob=blob, filename=upload.filename,
                                   content_type=upload.content_type, size=upload.size, inline_ok=upload.inline_ok,
                                   uploader_id=actor.user_id, now=now)
        doc = await store.by_id(tx, document_id)
        await search_index.index_document(tx, document_id)
        await audit.record(tx, svc, actor, "document.upload", target_type="document", target_id=document_id,
                           label=title, group_id=group_id)
        await thread_store.append_event(tx, channel_of(doc), "document.created", {"document": {"id": document_id}},
                                        now)
        return doc


async def add_version(svc: Services, actor: Actor, document_id: int, upload: Upload):
    """A new version of the file; the earlier ones stay and can still be downloaded."""
    try:
        await require_may_edit(svc, actor, document_id)
        blob = await svc.files.keep(upload)
    except BaseException:
        upload.discard()
        raise
    async with svc.db.write(only="library") as tx:
        doc = await store.by_id(tx, document_id)
        policy.require(actor, Action.EDIT_DOCUMENT, doc)
        now, number = svc.now(), doc["version"] + 1
        await store.insert_version(tx, document_id, number, blob=blob, filename=upload.filename,
                                   content_type=upload.content_type, size=upload.size, inline_ok=upload.inline_ok,
                                   uploader_id=actor.user_id, now=now)
        await store.set_version(tx, document_id, number, now)
        await search_index.index_document(tx, document_id)
        await audit.record(tx, svc, actor, "document.version", target_type="document", target_id=document_id,
                           label=doc["title"], group_id=doc["group_id"], data={"version": number})
        return await store.by_id(tx, document_id)


async def update(svc: Services, actor: Actor, document_id: int, *, title=None, description=None,
                 folder_id: int | None | str = "keep"):
    """Title, description, or folder (None: the library's top; "keep": where it is)."""
    async with svc.db.write(only="library") as tx:
        doc = await store.by_id(tx, document_id)
        policy.require(actor, Action.EDIT_DOCUMENT, doc)
        errors = FieldErrors()
        values = _fields(errors, {"title": doc["title"] if title is None else title,
                                  "description": doc["description"] if description is None else description},
                         title_required=True)
        errors.raise_if_any()
        folder = doc["folder_id"] if folder_id == "keep" else folder_id
        if folder is not None and (type(folder) is not int or not 0 < folder < 2**63):
            raise Invalid(fields={"folder_id": N_("Deze map bestaat niet in deze bibliotheek.")})
        await _folder_in(tx, doc["group_id"], folder)
        await store.update(tx, document_id, title=values["title"], description=values["description"],
                           folder_id=folder, now=svc.now())
        await search_index.index_document(tx, document_id)
        return await store.by_id(tx, document_id)


async def delete(svc: Services, actor: Actor, document_id: int) -> None:
    """The document and its versions go; their files are swept once no row names them, an hour
    after this (so a backup already under way still finds them)."""
    async with svc.db.write(only="library") as tx:
        doc = await store.by_id(tx, document_id)
        policy.require(actor, Action.EDIT_DOCUMENT, doc)
        blobs = [row["blob"] for row in await store.versions(tx, document_id)]
        await store.delete(tx, document_id)
        await search_index.index_document(tx, document_id)
        await audit.record(tx, svc, actor, "document.delete", target_type="document", target_id=document_id,
                           label=doc["title"], group_id=doc["group_id"])
    await asyncio.to_thread(svc.files.touch, blobs)


def _folder_name(errors: FieldErrors, name) -> str:
    # no invisible characters: a name of a zero-width space is no name, and a direction override
    # would turn the breadcrumbs after it around (the file names' rule, forum/files/sniff.py)
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf") if isinstance(name, str) else ""
    name = text_field(errors, "name", name, max_len=MAX_FOLDER_NAME)
    if "/" in name or "\\" in name:
        errors.add("name", N_("Een mapnaam bevat geen / of \\."))
    return name


async def create_folder(svc: Services, actor: Actor, group_id: int | None, *, name, parent_id=None):
    group = await require_may_upload(svc, actor, group_id)
    errors = FieldErrors()
    name = _folder_name(errors, name)
    errors.raise_if_any()
    async with svc.db.write(only="library") as tx:
        try:
            await _folder_in(tx, group_id, parent_id)
        except Invalid:  # the field that names it here
            raise Invalid(fields={"parent_id": N_("Deze map bestaat niet in deze bibliotheek.")})
        if await store.folder_taken(tx, group_id, parent_id, name):
            raise Conflict(fields={"name": N_("Hier is al een map met deze naam.")})
        folder_id = await store.insert_folder(tx, group_id=group["id"] if group else None, parent_id=parent_id,
                                              name=name, created_by=actor.user_id, now=svc.now())
        return await store.folder(tx, folder_id)


async def folder_to_edit(svc: Services, actor: Actor, folder_id: int):
    async with svc.db.read() as conn:
        folder = await store.folder_with_group(conn, folder_id)
    policy.require(actor, Action.EDIT_FOLDER, folder)
    return folder


async def rename_folder(svc: Services, actor: Actor, folder_id: int, *, name):
    """A folder's new name (unique where it is, as when it was made): its maker while a member,
    or the library's keepers (the group's moderators; the site's editors)."""
    errors = FieldErrors()
    name = _folder_name(errors, name)
    async with svc.db.write(only="library") as tx:
        folder = await store.folder_with_group(tx, folder_id)
        policy.require(actor, Action.EDIT_FOLDER, folder)
        errors.raise_if_any()
        if await store.folder_taken(tx, folder["group_id"], folder["parent_id"], name, other_than=folder_id):
            raise Conflict(fields={"name": N_("Hier is al een map met deze naam.")})
        await store.rename_folder(tx, folder_id, name)
        await audit.record(tx, svc, actor, "folder.rename", target_type="folder", target_id=folder_id,
                           label=name, group_id=folder["group_id"], data={"from": folder["name"]})
        return await store.folder(tx, folder_id)


async def delete_folder(svc: Services, actor: Actor, folder_id: int):
    """An empty folder goes (what is in one is moved or deleted first: nothing goes unseen).
    Returns the folder it was in (None: the library's top)."""
    async with svc.db.write(only="library") as tx:
        folder = await store.folder_with_group(tx, folder_id)
        policy.require(actor, Action.EDIT_FOLDER, folder)
        if not await store.folder_is_empty(tx, folder_id):
            raise Conflict(N_("Deze map is niet leeg. Verplaats of verwijder eerst wat erin staat."))
        await store.delete_folder(tx, folder_id)
        await audit.record(tx, svc, actor, "folder.delete", target_type="folder", target_id=folder_id,
                           label=folder["name"], group_id=folder["group_id"])
        return folder


# --- the scheduler's part ----------------------------------------------------------------------

async def extract_pending(svc: Services, limit: int = 5) -> int:
    """Read the words out of new versions, each in its own limited process, then index them.
    One caller at a time (the scheduler's tick and its background task): a version is read once."""
    async with svc.extract_lock:
        return await _extract(svc, limit)


async def has_pending_text(svc: Services) -> bool:
    async with svc.db.read() as conn:
        return bool(await store.pending_texts(conn, 1))


async def _extract(svc: Services, limit: int) -> int:
    async with svc.db.read() as conn:
        pending = await store.pending_texts(conn, limit)
    for row in pending:
        text = None
        state = "none"
        if row["content_type"] in extract.EXTRACTABLE:
            try:
                text = await extract.text_of(svc.files.path_of(row["blob"]), row["content_type"])
                state = "done" if text is not None else "failed"
            except Exception:  # the document stays unsearchable by its contents; the rest goes on
                log.exception("text extraction failed for version %s", row["id"])
                state = "failed"
        async with svc.db.write(only="library") as tx:
            await store.set_text(tx, row["id"], text, state)
            await search_index.index_document(tx, row["document_id"])
    return len(pending)


async def sweep_files(svc: Services, *, force: bool = False) -> int:
    """Files no version names, older than the grace period, are removed (at most hourly)."""
    now = time.monotonic()
    if not force and svc.last_file_sweep is not None and now - svc.last_file_sweep < SWEEP_SECONDS:
        return 0
    svc.last_file_sweep = now
    async with svc.db.read() as conn:
        referenced = await store.referenced_blobs(conn)
    return await asyncio.to_thread(svc.files.sweep, referenced)
