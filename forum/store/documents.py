"""Documents in libraries (a group's, the site's), their folders and versions."""
from __future__ import annotations

import string

from forum.store import execute, fetch_all, fetch_one, fetch_value, insert_row

# group_visibility is NULL for the site's library: the policy reads its own visibility
DOC_SELECT = (
    "SELECT d.id, d.group_id, d.folder_id, d.visibility, d.title, d.description, d.uploader_id, d.version,"
    " d.created_at, d.updated_at, g.visibility AS group_visibility, g.name AS group_name,"
    " u.display_name AS uploader_name, v.filename, v.content_type, v.size, v.blob, v.inline_ok, v.text_state,"
    " f.name AS folder_name"
    " FROM documents d LEFT JOIN groups g ON g.id = d.group_id JOIN users u ON u.id = d.uploader_id"
    " JOIN document_versions v ON v.document_id = d.id AND v.version = d.version"
    " LEFT JOIN folders f ON f.id = d.folder_id"
)


async def insert(conn, *, group_id, folder_id, visibility, title, description, uploader_id, now) -> int:
    return await insert_row(
        conn, "INSERT INTO documents (group_id, folder_id, visibility, title, description, uploader_id, version,"
              " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) RETURNING id",
        (group_id, folder_id, visibility, title, description, uploader_id, now, now))


async def insert_version(conn, document_id: int, version: int, *, blob, filename, content_type, size, inline_ok,
                         uploader_id, now) -> int:
    return await insert_row(
        conn, "INSERT INTO document_versions (document_id, version, blob, filename, content_type, size, inline_ok,"
              " uploader_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (document_id, version, blob, filename, content_type, size, int(inline_ok), uploader_id, now))


async def set_version(conn, document_id: int, version: int, now: str) -> None:
    await execute(conn, "UPDATE documents SET version = ?, updated_at = ? WHERE id = ?", (version, now, document_id))


async def update(conn, document_id: int, *, title, description, folder_id, now) -> None:
    await execute(conn, "UPDATE documents SET title = ?, description = ?, folder_id = ?, updated_at = ? WHERE id = ?",
                  (title, description, folder_id, now, document_id))


async def delete(conn, document_id: int) -> None:
    await execute(conn, "DELETE FROM documents WHERE id = ?", (document_id,))


async def by_id(conn, document_id: int):
    return await fetch_one(conn, f"{DOC_SELECT} WHERE d.id = ?", (document_id,))


async def listing(conn, where: str, params: list, *, group_id: int | None, folder_id: int | None, limit: int = 500):
    """A library's documents in one folder (None: its top), by title."""
    place = "d.group_id = ?" if group_id is not None else "d.group_id IS NULL"
    args = [*params] + ([group_id] if group_id is not None else [])
    folder = "d.folder_id = ?" if folder_id is not None else "d.folder_id IS NULL"
    args += [folder_id] if folder_id is not None else []
    return await fetch_all(conn, f"{DOC_SELECT} WHERE {where} AND {place} AND {folder}"
                                 " ORDER BY lower(d.title), d.id LIMIT ?", (*args, limit))


async def versions(conn, document_id: int):
    return await fetch_all(
        conn, "SELECT v.version, v.filename, v.content_type, v.size, v.created_at, v.blob, v.inline_ok,"
              " u.display_name AS uploader_name FROM document_versions v LEFT JOIN users u ON u.id = v.uploader_id"
              " WHERE v.document_id = ? ORDER BY v.version DESC", (document_id,))


async def version(conn, document_id: int, number: int):
    return await fetch_one(conn, "SELECT * FROM document_versions WHERE document_id = ? AND version = ?",
                           (document_id, number))


# the columns that name a kept file (forum/files/): documents' versions, profile photos, groups'
# icons and banners; backups carry and `forum check` accounts for these too (forum/backups.py)
BLOB_COLUMNS = (("document_versions", "blob"), ("users", "photo_blob"), ("groups", "icon_blob"),
                ("groups", "banner_blob"))


def blobs_query(columns=BLOB_COLUMNS) -> str:
    return " UNION ".join(f"SELECT {column} AS blob FROM {table} WHERE {column} IS NOT NULL"
                          for table, column in columns)


async def referenced_blobs(conn) -> set[str]:
    """Every kept file a row names."""
    rows = await fetch_all(conn, blobs_query())
    return {row["blob"] for row in rows}


# --- text for search -----------------------------------------------------------------------------

async def pending_texts(conn, limit: int = 5):
    return await fetch_all(conn, "SELECT id, document_id, blob, content_type FROM document_versions"
                                 " WHERE text_state = 'pending' ORDER BY id LIMIT ?", (limit,))


async def set_text(conn, version_id: int, text: str | None, state: str) -> None:
    await execute(conn, "UPDATE document_versions SET text = ?, text_state = ? WHERE id = ?", (text, state, version_id))


# --- folders -------------------------------------------------------------------------------------

async def insert_folder(conn, *, group_id, parent_id, name, created_by, now) -> int:
    return await insert_row(conn, "INSERT INTO folders (group_id, parent_id, name, created_by, created_at)"
                               " VALUES (?, ?, ?, ?, ?) RETURNING id", (group_id, parent_id, name, created_by, now))


async def folder(conn, folder_id: int):
    return await fetch_one(conn, "SELECT * FROM folders WHERE id = ?", (folder_id,))


async def folder_with_group(conn, folder_id: int):
    """A folder with its group's visibility, as the policy judges it (None: no such folder)."""
    return await fetch_one(conn, "SELECT f.*, g.visibility AS group_visibility FROM folders f"
                                 " LEFT JOIN groups g ON g.id = f.group_id WHERE f.id = ?", (folder_id,))


async def rename_folder(conn, folder_id: int, name: str) -> None:
    await execute(conn, "UPDATE folders SET name = ? WHERE id = ?", (name, folder_id))


async def folder_is_empty(conn, folder_id: int) -> bool:
    return not await fetch_value(conn, "SELECT EXISTS (SELECT 1 FROM documents WHERE folder_id = ?)"
                                       " OR EXISTS (SELECT 1 FROM folders WHERE parent_id = ?)", (folder_id, folder_id))


async def delete_folder(conn, folder_id: int) -> None:
    await execute(conn, "DELETE FROM folders WHERE id = ?", (folder_id,))


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


async def folder_taken(conn, group_id, parent_id, name: str, other_than: int = 0) -> bool:
    """Whether another folder there has this name, as the unique index compares names (lower()
    of the column, which folds ASCII letters only on both databases). The name is lowered here
    alike: PostgreSQL's lower() of a parameter follows the database's collation and folds É too,
    which let "ÉCOLE" past the check and into the index's refusal, a 500."""
    return bool(await fetch_value(
        conn, "SELECT 1 FROM folders WHERE ifnull(group_id, 0) = ifnull(?, 0) AND ifnull(parent_id, 0) = ifnull(?, 0)"
              " AND lower(name) = ? AND id != ?", (group_id, parent_id, name.translate(_ASCII_LOWER), other_than)))


async def folders_in(conn, group_id: int | None, parent_id: int | None, where: str, params: list):
    """The folders in a folder, each with how many of its documents the viewer may read
    (`where`: the policy's filter over d and g)."""
    return await fetch_all(
        conn, "SELECT id, name, parent_id, (SELECT COUNT(*) FROM documents d LEFT JOIN groups g ON g.id = d.group_id"
              f" WHERE d.folder_id = folders.id AND {where}) AS documents FROM folders"
              " WHERE ifnull(group_id, 0) = ifnull(?, 0) AND ifnull(parent_id, 0) = ifnull(?, 0) ORDER BY lower(name), id",
        (*params, group_id, parent_id))


async def all_folders(conn, group_id: int | None):
    return await fetch_all(conn, "SELECT id, name, parent_id FROM folders WHERE ifnull(group_id, 0) = ifnull(?, 0)"
                                 " ORDER BY lower(name), id LIMIT 1000", (group_id,))


async def folder_path(conn, folder_id: int | None) -> list:
    """The folders from the library's top down to this one."""
    path = []
    while folder_id is not None and len(path) < 20:
        row = await folder(conn, folder_id)
        if row is None:
            break
        path.insert(0, row)
        folder_id = row["parent_id"]
    return path


# a site logo: a public image of the site's library whose current version is shown inline
LOGO_WHERE = ("d.group_id IS NULL AND d.visibility = 'public' AND v.inline_ok = 1")


async def logo_choices(conn):
    return await fetch_all(conn, f"SELECT d.id, d.title FROM documents d JOIN document_versions v"
                                 f" ON v.document_id = d.id AND v.version = d.version WHERE {LOGO_WHERE}"
                                 " ORDER BY d.title, d.id LIMIT 200")


async def usable_logo(conn, document_id: int) -> bool:
    return bool(await fetch_value(conn, f"SELECT 1 FROM documents d JOIN document_versions v"
                                        f" ON v.document_id = d.id AND v.version = d.version"
                                        f" WHERE d.id = ? AND {LOGO_WHERE}", (document_id,)))
