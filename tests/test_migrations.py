"""Migrations carry old data into today's promises: events written before redaction existed
lose the words of posts removed since (migration 6)."""
from __future__ import annotations

import json

from forum.db import Database, latest_version


async def test_old_events_of_removed_posts_are_redacted_on_upgrade(tmp_path):
    db = Database(tmp_path / "forum.sqlite3")
    await db.open()
    async with db.write() as tx:
        await tx.execute("INSERT INTO users (id, email, email_norm, display_name, password_hash, created_at)"
                         " VALUES (1, 'a@example.nl', 'a@example.nl', 'A', 'x', 'now')")
        await tx.execute("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at)"
                         " VALUES (1, 1, 1, 'Geheime titel', 'now', 'now')")
        for post_id, hidden in ((1, None), (2, "now")):
            await tx.execute("INSERT INTO posts (id, thread_id, author_id, body, body_html, created_at, hidden_at)"
                             " VALUES (?, 1, 1, 'woorden', '<p>woorden</p>', 'now', ?)", (post_id, hidden))
            await tx.execute("INSERT INTO events (channel, kind, payload, created_at) VALUES ('thread:1',"
                             " 'post.created', ?, 'now')",
                             (json.dumps({"post": {"id": post_id, "thread_id": 1, "parent_id": None, "depth": 0,
                                                   "body_html": f"<p>woorden {post_id}</p>"}}),))
        await tx.execute("INSERT INTO events (channel, kind, payload, created_at) VALUES ('user:1',"
                         " 'notification.created', ?, 'now')",
                         (json.dumps({"notification": {"id": 7, "text": "Geheime titel"}, "unread_count": 1}),))
        await tx.execute("INSERT INTO events (channel, kind, payload, created_at) VALUES ('group:1',"
                         " 'membership.changed', ?, 'now')", (json.dumps({"group_id": 1, "user_id": 1, "role": "pending"}),))
        await tx.execute("PRAGMA user_version = 5")
    await db.close()

    db = Database(tmp_path / "forum.sqlite3")
    await db.open()  # migrates
    async with db.read() as conn:
        version = (await conn.execute_fetchall("PRAGMA user_version"))[0][0]
        rows = [json.loads(row[0]) for row in await conn.execute_fetchall("SELECT payload FROM events ORDER BY id")]
    await db.close()
    assert version == latest_version()
    shown, hidden, note, request = rows
    assert shown["post"]["body_html"] == "<p>woorden 1</p>"  # still shown: untouched
    assert "woorden" not in json.dumps(hidden) and hidden["post"]["redacted"] and hidden["post"]["hidden"]
    assert note == {"notification": {"id": 7}, "unread_count": 1}
    assert request == {"group_id": 1, "redacted": True}  # a join request is not the group's news
