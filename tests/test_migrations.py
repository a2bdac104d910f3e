"""Migrations carry old data into today's promises: events written before redaction existed
lose the words of posts removed since (migration 6)."""
from __future__ import annotations

import json

import forum.db
from forum.db import Database, latest_version
from forum.migrations import MIGRATIONS


async def test_old_events_of_removed_posts_are_redacted_on_upgrade(tmp_path, monkeypatch):
    # the database as version 5 made it: the later migrations run on it at the second open
    monkeypatch.setattr(forum.db, "MIGRATIONS", {n: sql for n, sql in MIGRATIONS.items() if n <= 5})
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

    monkeypatch.setattr(forum.db, "MIGRATIONS", MIGRATIONS)
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


async def test_posts_stored_by_an_earlier_rendering_are_rendered_again_once(admin, make_user, svc):
    from forum.services import upkeep
    from tests.conftest import open_group
    group = await open_group(admin)
    created = await admin.post(f"/api/v1/groups/{group['id']}/threads",
                               {"title": "Plaatje", "body": "![kaart](https://elders.test/kaart.png) en ![logo](/static/logo.png)"
                                                            " voor @beheerder, zie www.zeeland.nl"},
                               expect=201)
    post_id = created["post"]["id"]
    async with svc.db.write() as tx:  # as an earlier version stored it
        await tx.execute("UPDATE posts SET body_html = ? WHERE id = ?",
                         ('<p><img src="https://elders.test/kaart.png" alt="kaart"></p>', post_id))
        await tx.execute("UPDATE site_settings SET value = '1' WHERE key = 'posts_rendered_with'")
    assert await upkeep.rerender_stored_posts(svc) == 1
    async with svc.db.read() as conn:
        html = (await conn.execute_fetchall("SELECT body_html FROM posts WHERE id = ?", (post_id,)))[0][0]
    assert 'src="https://elders.test' not in html and 'href="https://elders.test/kaart.png"' in html
    assert '<img src="/static/logo.png"' in html
    assert 'href="/users/@beheerder" class="mention"' in html and 'href="http://www.zeeland.nl"' in html
    assert await upkeep.rerender_stored_posts(svc) == 0  # done once


async def test_posts_written_before_pages_get_their_places_in_the_tree(tmp_path, monkeypatch):
    # migration 22: every post's place, as a new post gets it (forum/store/threads.py tree_place),
    # a chain deeper than the places keep included
    from forum.store.threads import TREE_LEVELS, tree_place
    monkeypatch.setattr(forum.db, "MIGRATIONS", {n: sql for n, sql in MIGRATIONS.items() if n <= 21})
    db = Database(tmp_path / "forum.sqlite3")
    await db.open()
    parents = {1: None, 2: None, 3: 1, 4: 3, 5: 1, 6: 2}
    for post_id in range(7, 7 + TREE_LEVELS + 3):
        parents[post_id] = post_id - 1 if post_id > 7 else 5
    async with db.write() as tx:
        await tx.execute("INSERT INTO users (id, email, email_norm, display_name, password_hash, created_at)"
                         " VALUES (1, 'a@example.nl', 'a@example.nl', 'A', 'x', 'now')")
        await tx.execute("INSERT INTO threads (id, group_id, author_id, title, created_at, last_activity_at)"
                         " VALUES (1, 1, 1, 'T', 'now', 'now')")
        for post_id, parent in parents.items():
            await tx.execute("INSERT INTO posts (id, thread_id, parent_id, author_id, body, body_html, created_at)"
                             " VALUES (?, 1, ?, 1, 'x', 'x', 'now')", (post_id, parent))
    await db.close()

    monkeypatch.setattr(forum.db, "MIGRATIONS", MIGRATIONS)
    db = Database(tmp_path / "forum.sqlite3")
    await db.open()  # migrates
    async with db.read() as conn:
        stored = dict(await conn.execute_fetchall("SELECT id, tree_path FROM posts"))
    await db.close()
    expected: dict[int, str] = {}
    for post_id, parent in parents.items():
        expected[post_id] = tree_place(post_id, expected[parent] if parent else None)
    assert stored == expected
    assert sorted(stored, key=stored.get)[:6] == [1, 3, 4, 5, 7, 8]  # the tree's reading order
