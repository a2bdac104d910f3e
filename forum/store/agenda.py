"""Events (the agenda), their sign-ups with the waiting list, and personal calendar feeds.
The table is agenda_events: `events` is the live log."""
from __future__ import annotations

from forum.store import execute, execute_many, fetch_all, fetch_one, fetch_value, insert_row

# group_visibility is NULL for site events: the policy reads them with their own visibility
EVENT_SELECT = (
    "SELECT e.id, e.group_id, e.thread_id, e.organiser_id, e.title, e.description, e.description_html,"
    " e.starts_at, e.ends_at, e.all_day, e.location, e.online_url, e.place_for_attendees, e.capacity,"
    " e.signup_deadline, e.questions, e.visibility, e.status, e.cancel_reason, e.going_count, e.waiting_count,"
    " e.maybe_count, e.remind_at, e.reminded_at, e.sequence, e.created_at, e.edited_at,"
    " g.visibility AS group_visibility, g.name AS group_name, o.display_name AS organiser_name,"
    " t.reply_count AS comment_count, t.group_id AS thread_group_id"
    " FROM agenda_events e LEFT JOIN groups g ON g.id = e.group_id JOIN users o ON o.id = e.organiser_id"
    " JOIN threads t ON t.id = e.thread_id"
)
EVENT_COLUMNS = ("title", "description", "description_html", "starts_at", "ends_at", "all_day", "location",
                 "online_url", "place_for_attendees", "capacity", "signup_deadline", "questions", "remind_at")


async def insert(conn, *, group_id, thread_id, organiser_id, visibility, status, now, **fields) -> int:
    columns = ("group_id", "thread_id", "organiser_id", "visibility", "status", "created_at", *EVENT_COLUMNS)
    values = (group_id, thread_id, organiser_id, visibility, status, now, *(fields[name] for name in EVENT_COLUMNS))
    return await insert_row(conn, f"INSERT INTO agenda_events ({', '.join(columns)})"
                               f" VALUES ({', '.join('?' * len(columns))}) RETURNING id", values)


async def update(conn, event_id: int, *, now, reminder_reset: bool, **fields) -> None:
    """Write the given fields; every change is a new version for calendars (SEQUENCE)."""
    sets = ", ".join(f"{name} = ?" for name in fields)
    await execute(conn, f"UPDATE agenda_events SET {sets}, edited_at = ?, sequence = sequence + 1"
                        + (", reminded_at = NULL" if reminder_reset else "") + " WHERE id = ?",
                  (*fields.values(), now, event_id))


async def move_thread(conn, thread_id: int, group_id: int) -> None:
    await execute(conn, "UPDATE threads SET group_id = ? WHERE id = ?", (group_id, thread_id))


async def set_status(conn, event_id: int, status: str, reason: str = "") -> None:
    await execute(conn, "UPDATE agenda_events SET status = ?, cancel_reason = ?, sequence = sequence + 1 WHERE id = ?",
                  (status, reason, event_id))


async def delete(conn, event_id: int) -> None:
    await execute(conn, "DELETE FROM agenda_events WHERE id = ?", (event_id,))


async def by_id(conn, event_id: int):
    return await fetch_one(conn, f"{EVENT_SELECT} WHERE e.id = ?", (event_id,))


async def by_thread(conn, thread_id: int):
    return await fetch_one(conn, f"{EVENT_SELECT} WHERE e.thread_id = ?", (thread_id,))


async def listing(conn, where: str, params: list, *, group_id: int | None, start: str | None, end: str | None,
                  past: bool, after: tuple[str, int] | None, limit: int):
    """Events the `where` filter lets through that overlap [start, end): upcoming ones by
    start (soonest first), past ones latest first; keyset-paginated on (starts_at, id)."""
    clauses, args = [where], list(params)
    if group_id is not None:
        clauses.append("e.group_id = ?")
        args.append(group_id)
    if start is not None:
        clauses.append("e.ends_at > ?")
        args.append(start)
    if end is not None:
        clauses.append("e.starts_at < ?")
        args.append(end)
    if after is not None:
        clauses.append("(e.starts_at, e.id) < (?, ?)" if past else "(e.starts_at, e.id) > (?, ?)")
        args += list(after)
    order = "DESC" if past else "ASC"
    return await fetch_all(conn, f"{EVENT_SELECT} WHERE {' AND '.join(clauses)}"
                                 f" ORDER BY e.starts_at {order}, e.id {order} LIMIT ?", (*args, limit))


async def signed_up(conn, user_id: int, since: str, limit: int):
    """Events someone has a place for, or waits or maybe goes to, that end after `since`."""
    select = EVENT_SELECT.replace(" FROM agenda_events e", ", r.status AS my_status FROM agenda_events e"
                                  " JOIN agenda_rsvps r ON r.event_id = e.id", 1)
    return await fetch_all(
        conn, f"{select} WHERE r.user_id = ? AND r.status IN ('going', 'waiting', 'maybe') AND e.ends_at > ?"
              " AND e.status != 'proposed' ORDER BY e.starts_at, e.id LIMIT ?", (user_id, since, limit))


# --- sign-ups ----------------------------------------------------------------------------------

async def rsvp_of(conn, event_id: int, user_id: int):
    return await fetch_one(conn, "SELECT * FROM agenda_rsvps WHERE event_id = ? AND user_id = ?", (event_id, user_id))


async def rsvps_of_user(conn, user_id: int, event_ids: list[int]) -> dict[int, str]:
    if not event_ids:
        return {}
    rows = await fetch_all(conn, "SELECT event_id, status FROM agenda_rsvps WHERE user_id = ?"
                                 " AND event_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                           (user_id, "[" + ",".join(str(i) for i in event_ids) + "]"))
    return {row["event_id"]: row["status"] for row in rows}


async def put_rsvp(conn, event_id: int, user_id: int, *, answer: str, status: str, answers: str, place_at: str,
                   now: str) -> None:
    await execute(
        conn,
        "INSERT INTO agenda_rsvps (event_id, user_id, answer, status, answers, place_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, user_id) DO UPDATE SET answer = excluded.answer,"
        " status = excluded.status, answers = excluded.answers, place_at = excluded.place_at,"
        " updated_at = excluded.updated_at",
        (event_id, user_id, answer, status, answers, place_at, now, now))


async def position(conn, event_id: int, rsvp) -> int:
    """Someone's place on the waiting list, counting from 1."""
    return await fetch_value(
        conn, "SELECT COUNT(*) FROM agenda_rsvps WHERE event_id = ? AND status = 'waiting'"
              " AND (place_at, id) <= (?, ?)", (event_id, rsvp["place_at"], rsvp["id"]))


async def first_waiting(conn, event_id: int, limit: int) -> list[int]:
    rows = await fetch_all(conn, "SELECT user_id FROM agenda_rsvps WHERE event_id = ? AND status = 'waiting'"
                                 " ORDER BY place_at, id LIMIT ?", (event_id, limit))
    return [row["user_id"] for row in rows]


async def move_up(conn, event_id: int, user_ids: list[int], now: str) -> None:
    await execute_many(
        conn, "UPDATE agenda_rsvps SET status = 'going', updated_at = ? WHERE event_id = ? AND user_id = ?",
        [(now, event_id, user_id) for user_id in user_ids])


async def recount(conn, event_id: int) -> None:
    """The counts on the event row, from its sign-ups (in the transaction that changed them)."""
    await execute(
        conn,
        "UPDATE agenda_events SET"
        " going_count = (SELECT COUNT(*) FROM agenda_rsvps WHERE event_id = ? AND status = 'going'),"
        " waiting_count = (SELECT COUNT(*) FROM agenda_rsvps WHERE event_id = ? AND status = 'waiting'),"
        " maybe_count = (SELECT COUNT(*) FROM agenda_rsvps WHERE event_id = ? AND status = 'maybe')"
        " WHERE id = ?", (event_id,) * 4)


async def attendees(conn, event_id: int):
    """Everyone who answered, going first, then the waiting list in its order."""
    return await fetch_all(
        conn,
        "SELECT r.id, r.user_id, r.answer, r.status, r.answers, r.place_at, r.updated_at, u.display_name, u.email,"
        " u.handle FROM agenda_rsvps r JOIN users u ON u.id = r.user_id WHERE r.event_id = ?"
        " ORDER BY CASE r.status WHEN 'going' THEN 0 WHEN 'waiting' THEN 1 WHEN 'maybe' THEN 2 ELSE 3 END,"
        " r.place_at, r.id", (event_id,))


async def recipients(conn, event_id: int, statuses: tuple[str, ...]) -> list[int]:
    rows = await fetch_all(conn, "SELECT user_id FROM agenda_rsvps WHERE event_id = ?"
                                 " AND status IN (SELECT value FROM json_each(?))",
                           (event_id, "[" + ",".join(f'"{s}"' for s in statuses) + "]"))
    return [row["user_id"] for row in rows]


async def release_member(conn, group_id: int, user_id: int, now: str) -> list[int]:
    """Someone left (or was removed from, or banned in) a group: their answers to its events
    still ahead are withdrawn. Returns the events whose places changed."""
    rows = await fetch_all(
        conn, "UPDATE agenda_rsvps SET status = 'no', answer = 'no', updated_at = ? WHERE user_id = ?"
              " AND status != 'no' AND event_id IN (SELECT id FROM agenda_events WHERE group_id = ? AND starts_at > ?)"
              " RETURNING event_id", (now, user_id, group_id, now))
    return sorted({row["event_id"] for row in rows})


# --- reminders ---------------------------------------------------------------------------------

async def due_reminders(conn, now: str, limit: int = 20) -> list[int]:
    rows = await fetch_all(conn, "SELECT id FROM agenda_events WHERE reminded_at IS NULL AND status = 'scheduled'"
                                 " AND remind_at <= ? ORDER BY remind_at, id LIMIT ?", (now, limit))
    return [row["id"] for row in rows]


async def mark_reminded(conn, event_id: int, now: str) -> None:
    await execute(conn, "UPDATE agenda_events SET reminded_at = ? WHERE id = ?", (now, event_id))


# --- personal calendar feeds -------------------------------------------------------------------

async def set_feed_nonce(conn, user_id: int, nonce: str, now: str) -> None:
    await execute(conn, "INSERT INTO calendar_feeds (user_id, nonce, created_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (user_id) DO UPDATE SET nonce = excluded.nonce, created_at = excluded.created_at",
                  (user_id, nonce, now))


async def drop_feed(conn, user_id: int) -> None:
    await execute(conn, "DELETE FROM calendar_feeds WHERE user_id = ?", (user_id,))


async def feed_nonce(conn, user_id: int) -> str | None:
    return await fetch_value(conn, "SELECT nonce FROM calendar_feeds WHERE user_id = ?", (user_id,))


# --- the comment thread ------------------------------------------------------------------------

async def insert_comment_thread(conn, *, group_id, author_id, title, shown: bool, now) -> int:
    """The thread that holds an event's comments (event_id 0 until the event row exists, so the
    group's count of discussions never counts it); removed while the event is a proposal."""
    return await insert_row(
        conn,
        "INSERT INTO threads (group_id, author_id, title, created_at, last_activity_at, last_poster_id, deleted_at,"
        " event_id) VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
        (group_id, author_id, title, now, now, author_id, None if shown else now),
    )


async def link_thread(conn, thread_id: int, event_id: int) -> None:
    await execute(conn, "UPDATE threads SET event_id = ? WHERE id = ?", (event_id, thread_id))


async def retitle_thread(conn, thread_id: int, title: str) -> None:
    await execute(conn, "UPDATE threads SET title = ? WHERE id = ?", (title, thread_id))


async def set_thread_shown(conn, thread_id: int, shown: bool, now: str) -> None:
    """An event's comments are readable exactly while the event is: otherwise its thread is
    marked removed, which every thread rule (pages, API, live, search) already honours."""
    await execute(conn, "UPDATE threads SET deleted_at = ? WHERE id = ?", (None if shown else now, thread_id))
