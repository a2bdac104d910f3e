"""Accounts, their sessions, password-reset tokens and site settings."""
from __future__ import annotations

from forum.store import execute, fetch_all, fetch_one, fetch_value, insert_row

USER_COLUMNS = ("id, email, display_name, handle, role, status, status_reason, bio, locale, created_at,"
                " email_notifications, digest, suspended_until, email_verified_at, terms_accepted_at,"
                " organisation, job_title, photo_blob")


async def insert(conn, *, email, display_name, password_hash, role, status, locale, now,
                 terms_accepted_at: str | None = None) -> int:
    return await insert_row(
        conn,
        "INSERT INTO users (email, email_norm, display_name, password_hash, role, status, locale, created_at,"
        " terms_accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (email, email.lower(), display_name, password_hash, role, status, locale, now, terms_accepted_at),
    )


async def count(conn) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM users")


async def count_admins(conn) -> int:
    return await fetch_value(conn, "SELECT COUNT(*) FROM users WHERE role = 'admin'")


async def set_email_verified(conn, user_id: int, now: str) -> None:
    await execute(conn, "UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?) WHERE id = ?",
                  (now, user_id))


# --- address confirmations --------------------------------------------------------------

async def insert_confirmation(conn, token_hash: str, user_id: int, email: str, now: str, expires_at: str) -> None:
    await execute(
        conn, "INSERT INTO email_confirmations (token_hash, user_id, email_norm, created_at, expires_at)"
              " VALUES (?, ?, ?, ?, ?)", (token_hash, user_id, email.lower(), now, expires_at))


async def usable_confirmation(conn, token_hash: str, now: str):
    return await fetch_one(
        conn, "SELECT c.token_hash, c.user_id, c.email_norm FROM email_confirmations c"
              " JOIN users u ON u.id = c.user_id AND u.email_norm = c.email_norm"
              " WHERE c.token_hash = ? AND c.used_at IS NULL AND c.expires_at > ?", (token_hash, now))


async def use_confirmations_of(conn, user_id: int, now: str) -> None:
    await execute(conn, "UPDATE email_confirmations SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                  (now, user_id))


async def by_id(conn, user_id: int):
    return await fetch_one(conn, f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))


async def by_email_with_hash(conn, email: str):
    return await fetch_one(
        conn, f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE email_norm = ?", (email.lower(),)
    )


async def password_hash(conn, user_id: int) -> str | None:
    return await fetch_value(conn, "SELECT password_hash FROM users WHERE id = ?", (user_id,))


async def listing(conn, *, status: str | None = None, limit: int = 200):
    where, params = ("WHERE status = ?", [status]) if status else ("", [])
    return await fetch_all(
        conn, f"SELECT {USER_COLUMNS} FROM users {where} ORDER BY id LIMIT ?", (*params, limit)
    )


async def update_profile(conn, user_id: int, *, display_name: str, bio: str, locale: str,
                         organisation: str | None = None, job_title: str | None = None) -> None:
    await execute(
        conn, "UPDATE users SET display_name = ?, bio = ?, locale = ?, organisation = coalesce(?, organisation),"
              " job_title = coalesce(?, job_title) WHERE id = ?",
        (display_name, bio, locale, organisation, job_title, user_id),
    )


async def handles_like(conn, base: str) -> set[str]:
    """Handles taken that `base` or `base-N` would clash with."""
    rows = await fetch_all(conn, "SELECT handle FROM users WHERE handle = ? OR handle LIKE ?",
                           (base, base + "-%"))
    return {row["handle"] for row in rows}


async def handle_owner(conn, handle: str) -> int | None:
    return await fetch_value(conn, "SELECT id FROM users WHERE handle = ?", (handle,))


async def set_handle(conn, user_id: int, handle: str) -> None:
    await execute(conn, "UPDATE users SET handle = ? WHERE id = ?", (handle, user_id))


async def without_handle(conn):
    return await fetch_all(conn, "SELECT id, display_name FROM users WHERE handle IS NULL ORDER BY id")


async def plan_first_digest(conn, user_id: int, *, since: str, due: str) -> None:
    await execute(conn, "UPDATE users SET digest_since = ?, digest_due_at = ? WHERE id = ? AND digest != 'never'",
                  (since, due, user_id))


async def set_suspended_until(conn, user_id: int, until: str | None) -> None:
    await execute(conn, "UPDATE users SET suspended_until = ? WHERE id = ?", (until, user_id))


async def set_password_hash(conn, user_id: int, password_hash: str) -> None:
    await execute(conn, "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


async def set_role(conn, user_id: int, role: str) -> None:
    await execute(conn, "UPDATE users SET role = ? WHERE id = ?", (role, user_id))


async def set_status(conn, user_id: int, status: str, reason: str = "") -> None:
    await execute(conn, "UPDATE users SET status = ?, status_reason = ? WHERE id = ?", (status, reason, user_id))


async def group_roles(conn, user_id: int) -> dict[int, str]:
    """Group roles, with 'banned' for groups that banned the user (a ban replaces membership)."""
    rows = await fetch_all(conn, "SELECT group_id, role FROM memberships WHERE user_id = ?"
                                 " UNION ALL SELECT group_id, 'banned' FROM group_bans WHERE user_id = ?",
                           (user_id, user_id))
    return {row["group_id"]: row["role"] for row in rows}


# --- sessions ---------------------------------------------------------------------------

async def insert_session(conn, token_hash: str, user_id: int, now: str, expires_at: str) -> None:
    await execute(
        conn, "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_hash, user_id, now, expires_at),
    )


async def session_user(conn, token_hash: str, now: str):
    """The user behind a session, with their group roles packed as 'id:role,...' (one trip)."""
    return await fetch_one(
        conn,
        f"SELECT {', '.join('u.' + c for c in USER_COLUMNS.split(', '))},"
        " (SELECT group_concat(r) FROM (SELECT m.group_id || ':' || m.role AS r FROM memberships m"
        " WHERE m.user_id = u.id UNION ALL SELECT b.group_id || ':banned' FROM group_bans b WHERE b.user_id = u.id"
        # an invitation by mail counts as one once the address is proven (and no other role is held)
        " UNION ALL SELECT e.group_id || ':invited' FROM email_invitations e WHERE e.email_norm = u.email_norm"
        " AND u.email_verified_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM memberships m2"
        " WHERE m2.group_id = e.group_id AND m2.user_id = u.id)"
        " AND NOT EXISTS (SELECT 1 FROM group_bans b2 WHERE b2.group_id = e.group_id AND b2.user_id = u.id)) AS roles)"
        " AS group_roles, s.expires_at,"
        " (SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.read_at IS NULL) AS unread_notifications"
        " FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?",
        (token_hash, now),
    )


def unpack_group_roles(packed: str | None) -> dict[int, str]:
    roles = {}
    for item in (packed or "").split(","):
        if item:
            group_id, _, role = item.partition(":")
            roles[int(group_id)] = role
    return roles


async def delete_session(conn, token_hash: str) -> None:
    await execute(conn, "DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


async def delete_sessions_of(conn, user_id: int, keep: str | None = None) -> None:
    await execute(
        conn, "DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?", (user_id, keep)
    )


# --- password resets --------------------------------------------------------------------

async def insert_reset(conn, token_hash: str, user_id: int, now: str, expires_at: str) -> None:
    await execute(
        conn,
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
        (token_hash, user_id, now, expires_at),
    )


async def usable_reset(conn, token_hash: str, now: str):
    return await fetch_one(
        conn,
        "SELECT token_hash, user_id FROM password_resets"
        " WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
        (token_hash, now),
    )


async def use_reset(conn, token_hash: str, now: str) -> None:
    await execute(conn, "UPDATE password_resets SET used_at = ? WHERE token_hash = ?", (now, token_hash))


async def void_resets_of(conn, user_id: int, now: str) -> None:
    """Every outstanding reset link of the account stops working (a new password was set)."""
    await execute(conn, "UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                  (now, user_id))


# --- site settings ----------------------------------------------------------------------

async def settings(conn) -> dict[str, str]:
    return {row["key"]: row["value"] for row in await fetch_all(conn, "SELECT key, value FROM site_settings")}


async def set_setting(conn, key: str, value: str) -> None:
    await execute(
        conn,
        "INSERT INTO site_settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def set_photo(conn, user_id: int, blob: str | None) -> None:
    await execute(conn, "UPDATE users SET photo_blob = ? WHERE id = ?", (blob, user_id))



async def directory(conn, *, query: str, after: str | None, limit: int):
    """Active accounts by name, whose name or organisation contains the query (a page of them)."""
    where, params = ["status = 'active'"], []
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(display_name LIKE ? ESCAPE '\\' OR organisation LIKE ? ESCAPE '\\'"
                     " OR job_title LIKE ? ESCAPE '\\')")
        params += [pattern, pattern, pattern]
    if after:
        where.append("(lower(display_name) || '|' || printf('%012d', id)) > ?")
        params.append(after)
    return await fetch_all(
        conn, "SELECT id, display_name, handle, organisation, job_title, photo_blob,"
              " lower(display_name) || '|' || printf('%012d', id) AS sort_key FROM users"
              f" WHERE {' AND '.join(where)} ORDER BY sort_key LIMIT ?", (*params, limit))
