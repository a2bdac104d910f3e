"""The schema's history: numbered migrations applied after schema.sql (which is version 1),
in order, all those a database lacks in one transaction, at start (forum/db.py). Append, never
edit one that has run anywhere; PRAGMA user_version records how far a database has come."""
from __future__ import annotations

# The first release (714c0eb) made version 1 without the groups' counters; schema.sql gained
# them the same day (b0f586c) without a migration of its own. A version-1 database without
# groups.member_count is that release's, and this brings it to version 1 as schema.sql makes it
# (the counts taken from the rows) before migration 2 runs (forum/db.py; tests/test_upgrade.py).
FIRST_RELEASE_TO_1 = """
ALTER TABLE groups ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN thread_count INTEGER NOT NULL DEFAULT 0;
UPDATE groups SET
    member_count = (SELECT COUNT(*) FROM memberships m
                    WHERE m.group_id = groups.id AND m.role IN ('owner', 'moderator', 'member')),
    thread_count = (SELECT COUNT(*) FROM threads t WHERE t.group_id = groups.id AND t.deleted_at IS NULL);

CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
WHEN NEW.role IN ('owner', 'moderator', 'member')
BEGIN UPDATE groups SET member_count = member_count + 1 WHERE id = NEW.group_id; END;

CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
WHEN OLD.role IN ('owner', 'moderator', 'member')
BEGIN UPDATE groups SET member_count = member_count - 1 WHERE id = OLD.group_id; END;

CREATE TRIGGER memberships_count_update AFTER UPDATE OF role ON memberships
BEGIN
    UPDATE groups SET member_count = member_count
        + (NEW.role IN ('owner', 'moderator', 'member')) - (OLD.role IN ('owner', 'moderator', 'member'))
    WHERE id = NEW.group_id;
END;

CREATE TRIGGER threads_count_insert AFTER INSERT ON threads WHEN NEW.deleted_at IS NULL
BEGIN UPDATE groups SET thread_count = thread_count + 1 WHERE id = NEW.group_id; END;

CREATE TRIGGER threads_count_update AFTER UPDATE OF deleted_at, group_id ON threads
BEGIN
    UPDATE groups SET thread_count = thread_count - (OLD.deleted_at IS NULL) WHERE id = OLD.group_id;
    UPDATE groups SET thread_count = thread_count + (NEW.deleted_at IS NULL) WHERE id = NEW.group_id;
END;

CREATE TRIGGER threads_count_delete AFTER DELETE ON threads WHEN OLD.deleted_at IS NULL
BEGIN UPDATE groups SET thread_count = thread_count - 1 WHERE id = OLD.group_id; END;

DROP INDEX threads_group_activity;
CREATE INDEX threads_group_activity ON threads(group_id, deleted_at, last_activity_at DESC, id DESC);
"""

MIGRATIONS: dict[int, str] = {
    # pinned threads are listed apart, above the keyset-paginated rest
    2: "CREATE INDEX threads_group_pinned ON threads(group_id, last_activity_at DESC, id DESC)"
       " WHERE pinned = 1 AND deleted_at IS NULL;",
    # notifications, following, read tracking, handles and mail settings (issue 4)
    3: """
ALTER TABLE users ADD COLUMN handle TEXT;
CREATE UNIQUE INDEX users_handle ON users(handle);
ALTER TABLE users ADD COLUMN email_notifications TEXT NOT NULL DEFAULT 'batched'
    CHECK (email_notifications IN ('immediately', 'batched', 'never'));
ALTER TABLE users ADD COLUMN digest TEXT NOT NULL DEFAULT 'weekly' CHECK (digest IN ('daily', 'weekly', 'never'));
ALTER TABLE users ADD COLUMN digest_since TEXT;   -- activity after this goes into the next digest
ALTER TABLE users ADD COLUMN digest_due_at TEXT;  -- when the next digest is made (NULL: not planned)
CREATE INDEX users_digest_due ON users(digest_due_at) WHERE digest_due_at IS NOT NULL;
-- accounts made before this get their first weekly digest a week from now
UPDATE users SET digest_since = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
                 digest_due_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+7 days');

CREATE TABLE thread_subscriptions (
    thread_id       INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    level           TEXT NOT NULL CHECK (level IN ('watching', 'normal', 'muted')),
    PRIMARY KEY (thread_id, user_id)
) WITHOUT ROWID;

CREATE TABLE group_subscriptions (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    level           TEXT NOT NULL CHECK (level IN ('watching', 'new_threads', 'normal', 'muted')),
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;

CREATE TABLE thread_reads (
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_id       INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    last_read_post_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, thread_id)
) WITHOUT ROWID;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    actor_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,
    thread_id       INTEGER REFERENCES threads(id) ON DELETE CASCADE,
    post_id         INTEGER REFERENCES posts(id) ON DELETE CASCADE,  -- the first post it is about
    count           INTEGER NOT NULL DEFAULT 1,                      -- posts folded into it
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    read_at         TEXT,
    mail_due_at     TEXT,   -- when it is mailed if still unseen; NULL once mailed, read or not to be mailed
    mailed_at       TEXT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
CREATE INDEX notifications_unread ON notifications(user_id, thread_id) WHERE read_at IS NULL;
CREATE INDEX notifications_folding ON notifications(thread_id, kind, user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_mail_due ON notifications(mail_due_at) WHERE mail_due_at IS NOT NULL;

-- Durable work for the server's own scheduler (notification fan-out): written in the
-- transaction of the change that causes it, deleted in the transaction that finishes it.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
);

ALTER TABLE outbox ADD COLUMN body_html TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';
""",
    # moderation: audit log, bans, timed suspensions, reports (issue 5)
    4: """
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    actor_id        INTEGER REFERENCES users(id),
    action          TEXT NOT NULL,
    group_id        INTEGER,            -- the group it happened in (a moderator's scope); no FK: entries outlive groups
    target_type     TEXT NOT NULL,
    target_id       INTEGER,
    target_label    TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    data            TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX audit_log_group ON audit_log(group_id, id);
CREATE INDEX audit_log_actor ON audit_log(actor_id, id);
-- append-only, whatever code runs against it
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TABLE group_bans (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL DEFAULT '',
    banned_by       INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_bans_user ON group_bans(user_id);

ALTER TABLE users ADD COLUMN suspended_until TEXT;   -- NULL with status suspended: indefinitely

ALTER TABLE posts ADD COLUMN hidden_at TEXT;         -- hidden by a moderator: the author sees why
ALTER TABLE posts ADD COLUMN hidden_reason TEXT NOT NULL DEFAULT '';

CREATE TABLE moderation_items (
    id              INTEGER PRIMARY KEY,
    post_id         INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'open'
                    CHECK (status IN ('open', 'dismissed', 'hidden', 'deleted', 'warned')),
    created_at      TEXT NOT NULL,
    resolved_by     INTEGER REFERENCES users(id),
    resolved_at     TEXT,
    resolution_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX moderation_items_open ON moderation_items(post_id) WHERE status = 'open';

CREATE TABLE reports (
    id              INTEGER PRIMARY KEY,
    item_id         INTEGER NOT NULL REFERENCES moderation_items(id) ON DELETE CASCADE,
    reporter_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    reason          TEXT NOT NULL CHECK (reason IN ('spam', 'inappropriate', 'off_topic', 'other')),
    text            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    UNIQUE (item_id, reporter_id)
);
""",
    # issue 9: verified addresses, invitation tokens, mail that can fail without stopping the queue
    5: """
ALTER TABLE users ADD COLUMN email_verified_at TEXT;   -- NULL: the address is not proven yet
-- admins were made on purpose by whoever runs the site; members must confirm their address
UPDATE users SET email_verified_at = created_at WHERE role = 'admin';

CREATE TABLE email_confirmations (
    token_hash      TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email_norm      TEXT NOT NULL,                 -- the address the link proves (it may change)
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);
CREATE INDEX email_confirmations_user ON email_confirmations(user_id);

-- an invitation by mail carries its own token: only its holder (or a verified owner of the
-- address) can accept it
ALTER TABLE email_invitations ADD COLUMN token_hash TEXT;
CREATE UNIQUE INDEX email_invitations_token ON email_invitations(token_hash) WHERE token_hash IS NOT NULL;

CREATE INDEX password_resets_user ON password_resets(user_id);

ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;    -- NULL: now; later after a failed attempt
""",
    # issue 9: events written before redaction existed lose the words of what was removed since
    # (the same shapes forum/store/threads.py writes now), and notification events their texts
    6: """
UPDATE events SET payload = json_object('notification', json_object('id', json_extract(payload, '$.notification.id')),
  'unread_count', json_extract(payload, '$.unread_count')) WHERE kind = 'notification.created';
UPDATE events SET payload = (SELECT json_object('post', json_object('id', p.id, 'thread_id', p.thread_id,
  'parent_id', p.parent_id, 'depth', p.depth, 'deleted', json(CASE WHEN p.deleted_at IS NULL THEN 'false' ELSE 'true' END),
  'hidden', json(CASE WHEN p.hidden_at IS NULL THEN 'false' ELSE 'true' END), 'redacted', json('true')))
  FROM posts p WHERE p.id = json_extract(events.payload, '$.post.id'))
 WHERE channel LIKE 'thread:%' AND kind IN ('post.created', 'post.edited') AND EXISTS (SELECT 1 FROM posts p
  WHERE p.id = json_extract(events.payload, '$.post.id') AND (p.deleted_at IS NOT NULL OR p.hidden_at IS NOT NULL));
UPDATE events SET payload = json_object('thread', json_object('id', json_extract(payload, '$.thread.id'), 'redacted', json('true')))
 WHERE channel LIKE 'group:%' AND kind IN ('thread.created', 'thread.updated') AND EXISTS (SELECT 1 FROM threads t
  WHERE t.id = json_extract(events.payload, '$.thread.id') AND (t.deleted_at IS NOT NULL OR events.channel != 'group:' || t.group_id));
UPDATE events SET payload = json_object('thread_id', CAST(substr(channel, 8) AS INTEGER), 'redacted', json('true'))
 WHERE channel LIKE 'thread:%' AND kind != 'thread.removed'
  AND CAST(substr(channel, 8) AS INTEGER) IN (SELECT id FROM threads WHERE deleted_at IS NOT NULL);
-- join requests and invitations were told on the group's channel to every reader of it
UPDATE events SET payload = json_object('group_id', json_extract(payload, '$.group_id'), 'redacted', json('true'))
 WHERE channel LIKE 'group:%' AND kind = 'membership.changed'
  AND COALESCE(json_extract(payload, '$.role'), '') NOT IN ('owner', 'moderator', 'member');
""",
    # issue 10: the search index. Its words are normalised and stemmed in Python
    # (forum/services/search.py), so rows made before this are indexed at start
    # (forum/services/upkeep.py), not here. `kind` is open-ended: news and pages join later.
    # IF NOT EXISTS: run again on a database that says it is older, it changes nothing.
    7: """
CREATE TABLE IF NOT EXISTS search_docs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,              -- thread, post, group, user
    object_id       INTEGER NOT NULL,
    title           TEXT NOT NULL DEFAULT '',   -- stemmed words
    body            TEXT NOT NULL DEFAULT '',   -- stemmed words
    words           TEXT NOT NULL DEFAULT '',   -- unstemmed words, for a prefix while typing
    UNIQUE (kind, object_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, body, words, content='search_docs', content_rowid='id',
    tokenize='unicode61 remove_diacritics 0');
CREATE TRIGGER IF NOT EXISTS search_docs_insert AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, title, body, words) VALUES (NEW.id, NEW.title, NEW.body, NEW.words);
END;
CREATE TRIGGER IF NOT EXISTS search_docs_delete AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, title, body, words) VALUES ('delete', OLD.id, OLD.title, OLD.body, OLD.words);
END;
CREATE TRIGGER IF NOT EXISTS search_docs_update AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, title, body, words) VALUES ('delete', OLD.id, OLD.title, OLD.body, OLD.words);
    INSERT INTO search_fts (rowid, title, body, words) VALUES (NEW.id, NEW.title, NEW.body, NEW.words);
END;
""",
    # issue 10: the site's own pages (Over het programma, Privacyverklaring, ...) and their revisions
    8: """
CREATE TABLE IF NOT EXISTS site_pages (
    id              INTEGER PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,          -- /pages/SLUG: lower-case letters, digits, hyphens
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,                 -- rendered and sanitised once, at write time
    menu            TEXT NOT NULL DEFAULT 'none' CHECK (menu IN ('header', 'footer', 'none')),
    menu_order      INTEGER NOT NULL DEFAULT 0,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    updated_by      INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE TABLE IF NOT EXISTS site_page_revisions (
    id              INTEGER PRIMARY KEY,
    page_id         INTEGER NOT NULL REFERENCES site_pages(id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    author_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- who wrote this version
    created_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS site_page_revisions_page ON site_page_revisions(page_id, id);
""",
    # issue 10: news items, their tags and revisions. Comments on news are an ordinary thread
    # (threads.news_id). Site news needs a home for its comment thread that no user group gives:
    # two groups of kind 'site', readable by everyone ('public') or by every active account
    # ('members') and moderated by editors. SQLite changes a CHECK only by rebuilding the table
    # (forum/db.py turns foreign keys off while a migration runs, and checks them before COMMIT).
    9: """
PRAGMA legacy_alter_table=ON;
CREATE TABLE groups_rebuilt (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    name_norm       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('proeftuin', 'werkgroep', 'site')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('open', 'closed', 'hidden', 'public', 'members')),
    description     TEXT NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    member_count    INTEGER NOT NULL DEFAULT 0,
    thread_count    INTEGER NOT NULL DEFAULT 0,
    CHECK ((kind = 'site') = (visibility IN ('public', 'members')))
);
INSERT INTO groups_rebuilt (id, name, name_norm, kind, visibility, description, created_by, created_at,
                            member_count, thread_count)
    SELECT id, name, name_norm, kind, visibility, description, created_by, created_at, member_count, thread_count
    FROM groups;
DROP TABLE groups;
ALTER TABLE groups_rebuilt RENAME TO groups;
PRAGMA legacy_alter_table=OFF;
-- name_norm starts with a character a group name cannot hold, so no user's group takes it
INSERT INTO groups (name, name_norm, kind, visibility, created_at) VALUES
    ('Actueel', char(1) || 'site:public', 'site', 'public', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Actueel (leden)', char(1) || 'site:members', 'site', 'members', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

ALTER TABLE threads ADD COLUMN news_id INTEGER;  -- set: the comments of that news item, not a discussion
-- a group's count of discussions leaves out the comment threads of its news
DROP TRIGGER threads_count_insert;
DROP TRIGGER threads_count_update;
DROP TRIGGER threads_count_delete;
CREATE TRIGGER threads_count_insert AFTER INSERT ON threads WHEN NEW.deleted_at IS NULL AND NEW.news_id IS NULL
BEGIN UPDATE groups SET thread_count = thread_count + 1 WHERE id = NEW.group_id; END;
CREATE TRIGGER threads_count_update AFTER UPDATE OF deleted_at, group_id, news_id ON threads
BEGIN
    UPDATE groups SET thread_count = thread_count - (OLD.deleted_at IS NULL AND OLD.news_id IS NULL)
        WHERE id = OLD.group_id;
    UPDATE groups SET thread_count = thread_count + (NEW.deleted_at IS NULL AND NEW.news_id IS NULL)
        WHERE id = NEW.group_id;
END;
CREATE TRIGGER threads_count_delete AFTER DELETE ON threads WHEN OLD.deleted_at IS NULL AND OLD.news_id IS NULL
BEGIN UPDATE groups SET thread_count = thread_count - 1 WHERE id = OLD.group_id; END;

CREATE TABLE news (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: audit entries and threads name it
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,  -- NULL: site news
    thread_id       INTEGER NOT NULL REFERENCES threads(id),           -- its comments
    author_id       INTEGER NOT NULL REFERENCES users(id),
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,              -- rendered and sanitised once, at write time
    kind            TEXT NOT NULL CHECK (kind IN ('news', 'interview', 'report', 'blog')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'group')),
    publish_at      TEXT NOT NULL,              -- when it appears (may be in the future)
    published_at    TEXT,                       -- set when it appeared and its announcements went out
    unpublished_at  TEXT,                       -- withdrawn by its author or a moderator
    announced_at    TEXT,                       -- when its readers were told, once: putting it back tells nobody again
    created_at      TEXT NOT NULL,
    edited_at       TEXT,
    edited_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- who wrote the current version
    CHECK ((group_id IS NULL) = (visibility != 'group'))
);
CREATE INDEX news_shown ON news(publish_at DESC, id DESC) WHERE published_at IS NOT NULL AND unpublished_at IS NULL;
CREATE INDEX news_group ON news(group_id, publish_at DESC, id DESC);
CREATE INDEX news_due ON news(publish_at) WHERE published_at IS NULL AND unpublished_at IS NULL;
CREATE INDEX news_thread ON news(thread_id);
CREATE TABLE news_tags (
    news_id         INTEGER NOT NULL REFERENCES news(id) ON DELETE CASCADE,
    tag             TEXT NOT NULL,              -- lower-cased, as typed otherwise
    PRIMARY KEY (news_id, tag)
) WITHOUT ROWID;
CREATE INDEX news_tags_tag ON news_tags(tag, news_id);
CREATE TABLE news_revisions (
    id              INTEGER PRIMARY KEY,
    news_id         INTEGER NOT NULL REFERENCES news(id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    summary         TEXT NOT NULL,
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    tags            TEXT NOT NULL,              -- JSON list, as it was
    author_id       INTEGER REFERENCES users(id) ON DELETE SET NULL,  -- who wrote this version
    created_at      TEXT NOT NULL
);
CREATE INDEX news_revisions_news ON news_revisions(news_id, id);
""",
    # issue 10, search at a million posts: the index made anew. Its id is ordered by date
    # ((minute << 10) + n), so FTS5's rowid order is newest first and a search reads only as
    # far as a page (or the candidates it ranks); search_docs keeps just what the viewer's
    # filter reads (kind, group, author), the words live in search_fts alone. The words are
    # stemmed in Python, so the entries are written again at start (forum/services/upkeep.py).
    10: """
DROP TRIGGER IF EXISTS search_docs_insert;
DROP TRIGGER IF EXISTS search_docs_delete;
DROP TRIGGER IF EXISTS search_docs_update;
DROP TABLE IF EXISTS search_fts;
DROP TABLE IF EXISTS search_docs;
CREATE TABLE search_docs (
    id              INTEGER PRIMARY KEY,        -- (minute written << 10) + n; search_fts's rowid
    kind            TEXT NOT NULL,              -- thread, post, news, page, group, user
    object_id       INTEGER NOT NULL,
    group_id        INTEGER,                    -- the group it is in (a group: itself); no FK: see the query
    author_id       INTEGER,
    UNIQUE (kind, object_id)
);
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, words, tokenize='unicode61 remove_diacritics 0');
-- no merging while a post is written (FTS5 merged segments there, a stall of seconds on a big
-- index now and then): the scheduler merges in its own transactions (forum/services/search.py)
INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 0);
DELETE FROM site_settings WHERE key = 'search_indexed';
""",
    # issue 10, posting at a million posts: a new post's index entry is written after its
    # commit, many in one transaction (forum/services/search_index.py, index_queued); until
    # then its id waits here. Removing or hiding a post still leaves the index at once.
    11: """
CREATE TABLE search_queue (
    post_id         INTEGER PRIMARY KEY     -- no FK: a post deleted meanwhile is simply not indexed
);
""",
    # issue 10: the index made anew once more, as forum/services/search_index.py now writes it:
    # the `words` column keeps only the forms that differ from their stem, marked, so a whole
    # word never matches there. Written again at start (forum/services/upkeep.py).
    12: """
DROP TABLE search_fts;
DELETE FROM search_docs;
DELETE FROM search_queue;
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, words, tokenize='unicode61 remove_diacritics 0');
INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 0);
DELETE FROM site_settings WHERE key = 'search_indexed';
""",
    # issue 11: events (the agenda) with sign-up and a waiting list, their comment threads,
    # groups that let members propose events, and the private calendar feed of each person.
    # The live log's table is called `events`: these are `agenda_events`.
    13: """
ALTER TABLE groups ADD COLUMN members_propose_events INTEGER NOT NULL DEFAULT 0;
ALTER TABLE threads ADD COLUMN event_id INTEGER;  -- set: the comments of that event, not a discussion
DROP TRIGGER threads_count_insert;
DROP TRIGGER threads_count_update;
DROP TRIGGER threads_count_delete;
CREATE TRIGGER threads_count_insert AFTER INSERT ON threads
WHEN NEW.deleted_at IS NULL AND NEW.news_id IS NULL AND NEW.event_id IS NULL
BEGIN UPDATE groups SET thread_count = thread_count + 1 WHERE id = NEW.group_id; END;
CREATE TRIGGER threads_count_update AFTER UPDATE OF deleted_at, group_id, news_id, event_id ON threads
BEGIN
    UPDATE groups SET thread_count = thread_count
        - (OLD.deleted_at IS NULL AND OLD.news_id IS NULL AND OLD.event_id IS NULL) WHERE id = OLD.group_id;
    UPDATE groups SET thread_count = thread_count
        + (NEW.deleted_at IS NULL AND NEW.news_id IS NULL AND NEW.event_id IS NULL) WHERE id = NEW.group_id;
END;
CREATE TRIGGER threads_count_delete AFTER DELETE ON threads
WHEN OLD.deleted_at IS NULL AND OLD.news_id IS NULL AND OLD.event_id IS NULL
BEGIN UPDATE groups SET thread_count = thread_count - 1 WHERE id = OLD.group_id; END;

CREATE TABLE agenda_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: calendars keep its UID
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,  -- NULL: a site event
    thread_id       INTEGER NOT NULL REFERENCES threads(id),           -- its comments
    organiser_id    INTEGER NOT NULL REFERENCES users(id),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    description_html TEXT NOT NULL DEFAULT '',   -- rendered and sanitised once, at write time
    starts_at       TEXT NOT NULL,               -- UTC; an all-day event: Dutch midnight of its first day
    ends_at         TEXT NOT NULL,               -- UTC; an all-day event: Dutch midnight after its last day
    all_day         INTEGER NOT NULL DEFAULT 0,
    location        TEXT NOT NULL DEFAULT '',
    online_url      TEXT NOT NULL DEFAULT '',
    place_for_attendees INTEGER NOT NULL DEFAULT 0,  -- location and link shown to those going only
    capacity        INTEGER,                     -- NULL: no limit
    signup_deadline TEXT,                        -- NULL: until it starts
    questions       TEXT NOT NULL DEFAULT '[]',  -- JSON list of the questions asked at sign-up
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'group')),
    status          TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('proposed', 'scheduled', 'cancelled')),
    cancel_reason   TEXT NOT NULL DEFAULT '',
    going_count     INTEGER NOT NULL DEFAULT 0,  -- kept by the service in the sign-up's transaction
    waiting_count   INTEGER NOT NULL DEFAULT 0,
    maybe_count     INTEGER NOT NULL DEFAULT 0,
    remind_at       TEXT NOT NULL,               -- a day before it starts
    reminded_at     TEXT,
    sequence        INTEGER NOT NULL DEFAULT 0,  -- iCalendar SEQUENCE: calendars take the newest version
    created_at      TEXT NOT NULL,
    edited_at       TEXT,
    CHECK ((group_id IS NULL) = (visibility != 'group')),
    CHECK (ends_at >= starts_at)
);
CREATE INDEX agenda_events_start ON agenda_events(starts_at, id);
CREATE INDEX agenda_events_group ON agenda_events(group_id, starts_at, id);
CREATE INDEX agenda_events_thread ON agenda_events(thread_id);
CREATE INDEX agenda_events_remind ON agenda_events(remind_at) WHERE reminded_at IS NULL AND status = 'scheduled';

CREATE TABLE agenda_rsvps (
    id              INTEGER PRIMARY KEY,         -- with place_at: the order of the waiting list
    event_id        INTEGER NOT NULL REFERENCES agenda_events(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    answer          TEXT NOT NULL CHECK (answer IN ('going', 'maybe', 'no')),
    status          TEXT NOT NULL CHECK (status IN ('going', 'waiting', 'maybe', 'no')),
    answers         TEXT NOT NULL DEFAULT '{}',  -- JSON: question -> answer
    place_at        TEXT NOT NULL,               -- when they last asked for a place: first come, first served
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (event_id, user_id)
);
CREATE INDEX agenda_rsvps_waiting ON agenda_rsvps(event_id, status, place_at, id);
CREATE INDEX agenda_rsvps_user ON agenda_rsvps(user_id, status);

CREATE TABLE calendar_feeds (
    user_id         INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    nonce           TEXT NOT NULL,               -- the feed's URL is signed over it: a new one revokes the old URL
    created_at      TEXT NOT NULL
);
""",
    # issue 11: documents, in a group's library (its members) or the site's (editors), in
    # folders, each with its versions; the files themselves live under the data directory by a
    # random name (forum/files/), named here.
    14: """
CREATE TABLE folders (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,  -- NULL: the site's library
    parent_id       INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX folders_name ON folders(ifnull(group_id, 0), ifnull(parent_id, 0), lower(name));

CREATE TABLE documents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: links and audit entries name it
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,  -- NULL: the site's library
    folder_id       INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'group')),
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    uploader_id     INTEGER NOT NULL REFERENCES users(id),
    version         INTEGER NOT NULL DEFAULT 1,  -- the current one
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((group_id IS NULL) = (visibility != 'group'))
);
CREATE INDEX documents_place ON documents(ifnull(group_id, 0), folder_id, title);

CREATE TABLE document_versions (
    id              INTEGER PRIMARY KEY,
    document_id     INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    blob            TEXT NOT NULL,               -- the file's random name on disk (64 hex digits)
    filename        TEXT NOT NULL,               -- as uploaded, made safe for a download's header
    content_type    TEXT NOT NULL,               -- decided from the content
    size            INTEGER NOT NULL,
    inline_ok       INTEGER NOT NULL DEFAULT 0,  -- an image that decodes as what it claims
    uploader_id     INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    text            TEXT,                        -- the words inside (search), once extracted
    text_state      TEXT NOT NULL DEFAULT 'pending' CHECK (text_state IN ('pending', 'done', 'none', 'failed')),
    UNIQUE (document_id, version)
);
CREATE INDEX document_versions_blob ON document_versions(blob);
CREATE INDEX document_versions_pending ON document_versions(id) WHERE text_state = 'pending';
""",
    # issue 11: the index made anew once more, each entry now carrying its kind as a token
    # (forum/services/search_index.py, KIND_MARK), so a search for one kind is answered by FTS5
    # itself. Written again at start (forum/services/upkeep.py).
    15: """
DROP TABLE search_fts;
DELETE FROM search_docs;
DELETE FROM search_queue;
CREATE VIRTUAL TABLE search_fts USING fts5(title, body, words, tokenize='unicode61 remove_diacritics 0');
INSERT INTO search_fts (search_fts, rank) VALUES ('automerge', 0);
DELETE FROM site_settings WHERE key = 'search_indexed';
""",
    # issue 11: folders can be deleted now, so their ids are never reused (a link, an upload
    # form left open or an audit entry would otherwise name another folder); SQLite's only way
    # to add AUTOINCREMENT is to build the table anew.
    16: """
CREATE TABLE folders_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id        INTEGER REFERENCES groups(id) ON DELETE CASCADE,  -- NULL: the site's library
    parent_id       INTEGER REFERENCES folders(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    created_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
INSERT INTO folders_rebuilt (id, group_id, parent_id, name, created_by, created_at)
    SELECT id, group_id, parent_id, name, created_by, created_at FROM folders;
DROP TABLE folders;
ALTER TABLE folders_rebuilt RENAME TO folders;
CREATE UNIQUE INDEX folders_name ON folders(ifnull(group_id, 0), ifnull(parent_id, 0), lower(name));
""",
    # issue 12: a ban may end by itself (ends_at; the scheduler lifts it), a membership request
    # carries its asker's message to the moderators, and a registration records when the terms
    # and privacy statement were accepted (NULL: before they were asked for, or made by an admin);
    # profiles name an organisation and a function, as Pleio's do.
    17: """
ALTER TABLE group_bans ADD COLUMN ends_at TEXT;
CREATE INDEX group_bans_ending ON group_bans(ends_at) WHERE ends_at IS NOT NULL;
ALTER TABLE memberships ADD COLUMN request_message TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN terms_accepted_at TEXT;
ALTER TABLE users ADD COLUMN organisation TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN job_title TEXT NOT NULL DEFAULT '';
""",
    # issue 12: a profile photo, a square JPEG made on the server, kept in forum/files/ like
    # documents (the sweep keeps what a user row names)
    18: """
ALTER TABLE users ADD COLUMN photo_blob TEXT;
""",
    # issue 12: a group's look, as Pleio's groups have it: a longer introduction in Markdown
    # (rendered once, sanitised) and an icon and a banner, made on the server like photos
    19: """
ALTER TABLE groups ADD COLUMN intro TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN intro_html TEXT NOT NULL DEFAULT '';
ALTER TABLE groups ADD COLUMN icon_blob TEXT;
ALTER TABLE groups ADD COLUMN banner_blob TEXT;
""",
    # issue 12: the language a site page is written in (WCAG 3.1.2): an English reader is shown
    # the Dutch starting pages marked as Dutch, so a screen reader speaks them as Dutch
    20: """
ALTER TABLE site_pages ADD COLUMN lang TEXT NOT NULL DEFAULT 'nl' CHECK (lang IN ('nl', 'en'));
""",
    # issue 13: several processes on one database. Every visible write counts itself here, in
    # its own transaction, so a process learns that another one wrote (and drops what it cached)
    # from one small row, with or without the wake-up over Redis.
    21: """
CREATE TABLE site_commits (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
INSERT INTO site_commits (id, n) VALUES (1, 0);
""",
    # issue 14: long threads are read a page at a time. A post's place in the tree is a text
    # that sorts as the tree reads (each ancestor's id as 8 hex digits, then its own), so a page
    # of a thread, a root's first replies and where a post lands are index ranges, never the
    # whole thread. Below 16 levels a post is placed among its ancestor-at-16's descendants by
    # id (the page names whom it answers), so a place stays short however deep a chain grows.
    22: """
ALTER TABLE posts ADD COLUMN tree_path TEXT NOT NULL DEFAULT '';
CREATE TEMP TABLE post_places AS
WITH RECURSIVE place(id, path) AS (
    SELECT id, printf('%08x', id) FROM posts WHERE parent_id IS NULL
    UNION ALL
    SELECT p.id, substr(place.path, 1, 128) || printf('%08x', p.id) FROM posts p JOIN place ON p.parent_id = place.id
) SELECT id, path FROM place;
CREATE INDEX temp.post_places_id ON post_places(id);
UPDATE posts SET tree_path = (SELECT path FROM post_places WHERE post_places.id = posts.id);
DROP TABLE post_places;
CREATE INDEX posts_tree ON posts(thread_id, tree_path);
CREATE INDEX posts_roots ON posts(thread_id, id) WHERE parent_id IS NULL;
""",
}
