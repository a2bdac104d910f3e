-- Schema version 1. Later changes go through numbered migrations in forum/db.py.
-- Times are UTC ISO-8601 text with microseconds, so they sort as text.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY,
    email           TEXT NOT NULL,
    email_norm      TEXT NOT NULL UNIQUE,          -- lower-cased: unique regardless of case
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'editor', 'admin')),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending', 'suspended')),
    status_reason   TEXT NOT NULL DEFAULT '',
    bio             TEXT NOT NULL DEFAULT '',
    locale          TEXT NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    created_at      TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash      TEXT PRIMARY KEY,              -- sha256 of the cookie value; the value itself is never stored
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE password_resets (
    token_hash      TEXT PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT
);

CREATE TABLE site_settings (
    key             TEXT PRIMARY KEY,
    value           TEXT NOT NULL
);
INSERT INTO site_settings (key, value) VALUES
    ('registration_mode', 'open'),                 -- 'open' or 'approval'
    ('members_create_werkgroepen', '0');

CREATE TABLE groups (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    name_norm       TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('proeftuin', 'werkgroep')),
    visibility      TEXT NOT NULL CHECK (visibility IN ('open', 'closed', 'hidden')),
    description     TEXT NOT NULL DEFAULT '',
    created_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    member_count    INTEGER NOT NULL DEFAULT 0,    -- kept by the triggers below, so lists
    thread_count    INTEGER NOT NULL DEFAULT 0     -- never count rows per group
);

CREATE TABLE memberships (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member', 'pending', 'invited')),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id, role);

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

-- An invitation to an email address nobody has registered yet; turned into an
-- 'invited' membership when that address registers.
CREATE TABLE email_invitations (
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    email_norm      TEXT NOT NULL,
    invited_by      INTEGER REFERENCES users(id),
    created_at      TEXT NOT NULL,
    PRIMARY KEY (group_id, email_norm)
);

CREATE TABLE threads (
    id              INTEGER PRIMARY KEY,
    group_id        INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    author_id       INTEGER NOT NULL REFERENCES users(id),
    title           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    last_poster_id  INTEGER REFERENCES users(id),
    reply_count     INTEGER NOT NULL DEFAULT 0,
    locked          INTEGER NOT NULL DEFAULT 0,
    pinned          INTEGER NOT NULL DEFAULT 0,
    deleted_at      TEXT
);
-- deleted_at in the key lets both the live-thread count and the keyset list stay inside the index.
CREATE TRIGGER threads_count_insert AFTER INSERT ON threads WHEN NEW.deleted_at IS NULL
BEGIN UPDATE groups SET thread_count = thread_count + 1 WHERE id = NEW.group_id; END;

CREATE TRIGGER threads_count_update AFTER UPDATE OF deleted_at, group_id ON threads
BEGIN
    UPDATE groups SET thread_count = thread_count - (OLD.deleted_at IS NULL) WHERE id = OLD.group_id;
    UPDATE groups SET thread_count = thread_count + (NEW.deleted_at IS NULL) WHERE id = NEW.group_id;
END;

CREATE TRIGGER threads_count_delete AFTER DELETE ON threads WHEN OLD.deleted_at IS NULL
BEGIN UPDATE groups SET thread_count = thread_count - 1 WHERE id = OLD.group_id; END;

CREATE INDEX threads_group_activity ON threads(group_id, deleted_at, last_activity_at DESC, id DESC);

CREATE TABLE posts (
    id              INTEGER PRIMARY KEY,
    thread_id       INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    parent_id       INTEGER REFERENCES posts(id),
    author_id       INTEGER NOT NULL REFERENCES users(id),
    depth           INTEGER NOT NULL DEFAULT 0,
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,                 -- rendered and sanitised once, at write time
    created_at      TEXT NOT NULL,
    edited_at       TEXT,
    deleted_at      TEXT,
    deleted_by      INTEGER REFERENCES users(id)
);
CREATE INDEX posts_thread ON posts(thread_id, id);

CREATE TABLE post_revisions (
    id              INTEGER PRIMARY KEY,
    post_id         INTEGER NOT NULL REFERENCES posts(id) ON DELETE CASCADE,
    body            TEXT NOT NULL,
    body_html       TEXT NOT NULL,
    author_id       INTEGER NOT NULL REFERENCES users(id),  -- who wrote this version
    created_at      TEXT NOT NULL
);
CREATE INDEX post_revisions_post ON post_revisions(post_id, id);

-- The transactional outbox of everything users watch: written in the same transaction as
-- the change; the live hub delivers it after commit.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    channel         TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX events_channel ON events(channel, id);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'stored', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    done_at         TEXT
);
CREATE INDEX outbox_status ON outbox(status, id);

INSERT INTO groups (name, name_norm, kind, visibility, description, created_at) VALUES
    ('Noordoost Fryslân', 'noordoost fryslân', 'proeftuin', 'open',
     'Gemeenten in Noordoost Fryslân werken samen aan een vitale regio.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Regio Zwolle', 'regio zwolle', 'proeftuin', 'open',
     'Twintig gemeenten in vier provincies werken samen op economisch gebied.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Metropoolregio Amsterdam', 'metropoolregio amsterdam', 'proeftuin', 'open',
     'Drieëndertig gemeenten en twee provincies in één grote proeftuin.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Drechtsteden', 'drechtsteden', 'proeftuin', 'open',
     'Een lange traditie van samenwerking in de Drechtraad, nòg beter gemaakt.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Zeeland', 'zeeland', 'proeftuin', 'open',
     'Dertien gemeenten, één waterschap en de provincie: samen een vuist maken.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    ('Stedelijk Gebied Eindhoven', 'stedelijk gebied eindhoven', 'proeftuin', 'open',
     'De Brainport behouden en uitbouwen: elkaar vinden is een succesfactor.', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
