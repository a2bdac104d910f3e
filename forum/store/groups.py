"""Groups (proeftuinen and werkgroepen), their memberships and email invitations."""
from __future__ import annotations

from forum.store import execute, execute_count, fetch_all, fetch_one, fetch_value, insert_row

GROUP_COLUMNS = ("g.id, g.name, g.kind, g.visibility, g.description, g.created_at, g.members_propose_events,"
                 " g.intro, g.intro_html, g.icon_blob, g.banner_blob")
COUNTS = "g.member_count, g.thread_count"  # kept current by triggers in schema.sql


async def insert(conn, *, name, kind, visibility, description, created_by, now) -> int:
    return await insert_row(
        conn,
        "INSERT INTO groups (name, name_norm, kind, visibility, description, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (name, name.casefold(), kind, visibility, description, created_by, now),
    )


async def name_taken(conn, name: str, except_id: int | None = None) -> bool:
    return bool(await fetch_value(
        conn, "SELECT 1 FROM groups WHERE name_norm = ? AND id IS NOT ?", (name.casefold(), except_id)
    ))


async def update(conn, group_id: int, *, name, visibility, description, members_propose_events: bool) -> None:
    await execute(
        conn, "UPDATE groups SET name = ?, name_norm = ?, visibility = ?, description = ?,"
        " members_propose_events = ? WHERE id = ?",
        (name, name.casefold(), visibility, description, int(members_propose_events), group_id),
    )


async def by_id(conn, group_id: int):
    return await fetch_one(conn, f"SELECT {GROUP_COLUMNS}, {COUNTS} FROM groups g WHERE g.id = ?", (group_id,))


async def visible(conn, where: str, params: list):
    """Groups passing a policy filter, with counts; proeftuinen first, then by name."""
    return await fetch_all(
        conn,
        f"SELECT {GROUP_COLUMNS}, {COUNTS} FROM groups g WHERE {where}"
        " ORDER BY g.kind = 'werkgroep', g.name_norm",
        params,
    )


async def of_user(conn, user_id: int, where: str, params: list):
    """The groups a user belongs to, as far as the viewer's filter lets them be seen."""
    return await fetch_all(
        conn,
        f"SELECT {GROUP_COLUMNS}, m.role FROM groups g JOIN memberships m ON m.group_id = g.id"
        f" WHERE m.user_id = ? AND m.role IN ('owner', 'moderator', 'member') AND {where}"
        " ORDER BY g.name_norm",
        (user_id, *params),
    )


# --- memberships ------------------------------------------------------------------------

async def membership(conn, group_id: int, user_id: int) -> str | None:
    return await fetch_value(
        conn, "SELECT role FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id)
    )


async def put_membership(conn, group_id: int, user_id: int, role: str, now: str, request_message: str = "") -> None:
    """A role in the group; a request (pending) carries its asker's message, any other role none."""
    await execute(
        conn,
        "INSERT INTO memberships (group_id, user_id, role, created_at, request_message) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role, request_message = excluded.request_message",
        (group_id, user_id, role, now, request_message if role == "pending" else ""),
    )


async def delete_membership(conn, group_id: int, user_id: int) -> None:
    await execute(conn, "DELETE FROM memberships WHERE group_id = ? AND user_id = ?", (group_id, user_id))


async def put_ban(conn, group_id: int, user_id: int, *, reason: str, by: int, now: str,
                  ends_at: str | None = None) -> None:
    await execute(conn, "INSERT INTO group_bans (group_id, user_id, reason, banned_by, created_at, ends_at)"
                        " VALUES (?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (group_id, user_id) DO UPDATE SET reason = excluded.reason, ends_at = excluded.ends_at",
                  (group_id, user_id, reason, by, now, ends_at))


async def ended_bans(conn, now: str):
    return await fetch_all(conn, "SELECT group_id, user_id FROM group_bans WHERE ends_at IS NOT NULL AND ends_at <= ?"
                                 " ORDER BY ends_at LIMIT 500", (now,))


async def delete_ban(conn, group_id: int, user_id: int) -> bool:
    return await execute_count(conn, "DELETE FROM group_bans WHERE group_id = ? AND user_id = ?",
                               (group_id, user_id)) > 0


async def is_banned(conn, group_id: int, user_id: int) -> bool:
    return await fetch_value(conn, "SELECT 1 FROM group_bans WHERE group_id = ? AND user_id = ?",
                             (group_id, user_id)) is not None


async def ban_of(conn, group_id: int, user_id: int):
    return await fetch_one(conn, "SELECT reason, created_at, ends_at FROM group_bans WHERE group_id = ? AND user_id = ?",
                           (group_id, user_id))


async def bans(conn, group_id: int):
    return await fetch_all(
        conn, "SELECT b.user_id, u.display_name, b.reason, b.created_at, b.ends_at FROM group_bans b"
              " JOIN users u ON u.id = b.user_id WHERE b.group_id = ? ORDER BY b.created_at DESC, b.user_id", (group_id,))


async def count_role(conn, group_id: int, role: str) -> int:
    return await fetch_value(
        conn, "SELECT COUNT(*) FROM memberships WHERE group_id = ? AND role = ?", (group_id, role)
    )


async def members(conn, group_id: int):
    """Everyone with a relation to the group, owners first, then moderators, members, requests, invitations."""
    return await fetch_all(
        conn,
        "SELECT u.id, u.display_name, m.role, m.created_at, m.request_message FROM memberships m"
        " JOIN users u ON u.id = m.user_id WHERE m.group_id = ?"
        " ORDER BY CASE m.role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 WHEN 'member' THEN 2"
        " WHEN 'pending' THEN 3 ELSE 4 END, u.display_name, u.id",
        (group_id,),
    )


async def pending_invitations_for(conn, user_id: int):
    """Invitations to this account, and those by mail to its address once it is proven."""
    return await fetch_all(
        conn,
        f"SELECT {GROUP_COLUMNS} FROM groups g WHERE g.id IN ("
        " SELECT m.group_id FROM memberships m WHERE m.user_id = ? AND m.role = 'invited'"
        " UNION SELECT e.group_id FROM email_invitations e JOIN users u ON u.email_norm = e.email_norm"
        " WHERE u.id = ? AND u.email_verified_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM memberships m2 WHERE m2.group_id = e.group_id AND m2.user_id = u.id)"
        " AND NOT EXISTS (SELECT 1 FROM group_bans b WHERE b.group_id = e.group_id AND b.user_id = u.id))"
        " ORDER BY g.name_norm",
        (user_id, user_id),
    )


# --- invitations by email ---------------------------------------------------------------

async def put_email_invitation(conn, group_id: int, email: str, invited_by: int, now: str,
                               token_hash: str) -> None:
    """A new invitation, or a fresh token for one already open (the newest mail is the one that works)."""
    await execute(
        conn,
        "INSERT INTO email_invitations (group_id, email_norm, invited_by, created_at, token_hash)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id, email_norm) DO UPDATE SET"
        " invited_by = excluded.invited_by, created_at = excluded.created_at, token_hash = excluded.token_hash",
        (group_id, email.lower(), invited_by, now, token_hash),
    )


async def email_invitation_by_token(conn, token_hash: str):
    return await fetch_one(conn, "SELECT group_id, email_norm, invited_by, created_at FROM email_invitations"
                                 " WHERE token_hash = ?", (token_hash,))


async def has_email_invitation(conn, group_id: int, email: str) -> bool:
    return await fetch_value(conn, "SELECT COUNT(*) FROM email_invitations WHERE group_id = ? AND email_norm = ?",
                             (group_id, email.lower())) > 0


async def delete_email_invitation(conn, group_id: int, email: str) -> None:
    await execute(conn, "DELETE FROM email_invitations WHERE group_id = ? AND email_norm = ?",
                  (group_id, email.lower()))


async def email_invitations(conn, group_id: int) -> list[str]:
    """Addresses invited by a moderator who typed them. An invitation to an account (by id) also
    keeps its mailed token here, under the account's address: that address is not listed, or
    inviting someone would show moderators their e-mail address."""
    rows = await fetch_all(
        conn, "SELECT e.email_norm FROM email_invitations e WHERE e.group_id = ? AND NOT EXISTS ("
              " SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id AND m.group_id = e.group_id"
              " WHERE u.email_norm = e.email_norm) ORDER BY e.created_at, e.email_norm", (group_id,)
    )
    return [row["email_norm"] for row in rows]


async def set_intro(conn, group_id: int, intro: str, intro_html: str) -> None:
    await execute(conn, "UPDATE groups SET intro = ?, intro_html = ? WHERE id = ?", (intro, intro_html, group_id))


async def set_image(conn, group_id: int, which: str, blob: str | None) -> None:
    column = {"icon": "icon_blob", "banner": "banner_blob"}[which]
    await execute(conn, f"UPDATE groups SET {column} = ? WHERE id = ?", (blob, group_id))
