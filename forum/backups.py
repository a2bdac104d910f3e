"""Backing up and restoring a SQLite site (forum backup PATH, forum restore PATH): the database,
and beside it in PATH-files/ the uploaded files its rows name. A restore checks the backup
whole before it changes anything, and puts it in place with one rename."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from pathlib import Path

from forum.db import backup_file, latest_version
from forum.files import FileStore
from forum.store.documents import BLOB_COLUMNS, blobs_query

SQLITE_HEADER = b"SQLite format 3\x00"
# in every forum database since the first release
FORUM_TABLES = ("users", "sessions", "password_resets", "site_settings", "groups", "memberships",
                "email_invitations", "threads", "posts", "post_revisions", "events", "outbox")


class RestoreError(Exception):
    """Why a restore was refused, in one line; nothing was changed."""


def files_dir_of(backup: Path) -> Path:
    return backup.with_name(backup.name + "-files")


def blobs_named(conn: sqlite3.Connection) -> set[str]:
    """The files a database's rows name, in whichever of the columns its schema version has."""
    present = [(table, column) for table, column in BLOB_COLUMNS
               if conn.execute("SELECT 1 FROM pragma_table_info(?) WHERE name = ?", (table, column)).fetchone()]
    if not present:
        return set()
    return {row[0] for row in conn.execute(blobs_query(present))}


def blobs_named_in(database: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return blobs_named(conn)
    finally:
        conn.close()


class BackupError(Exception):
    """Why a backup was refused, in one line; nothing was written."""


def check_destination(cfg, destination: Path) -> None:
    """A backup overwrites only an earlier backup: never the live database, another site's, a
    file that is not a database, or a directory (an operator's review: two paths swapped wrote
    one site's data over a running other's)."""
    if destination.is_dir():
        raise BackupError(f"{destination} is a directory; give the backup's file name, e.g. {destination}/forum.sqlite3")
    if not destination.parent.is_dir():
        raise BackupError(f"no directory {destination.parent} to write {destination.name} in")
    if not destination.exists():
        return
    if destination.resolve() == cfg.db_path.resolve() or os.path.samefile(destination, cfg.db_path):
        raise BackupError(f"{destination} is the live database itself")
    with open(destination, "rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{destination} exists and is not an SQLite database; it was not overwritten")
    data_dir = destination.parent
    if destination.name == cfg.db_path.name and ((data_dir / "serving.lock").exists() or (data_dir / "secret_key").exists()):
        raise BackupError(f"{destination} is a site's database (its data directory holds serving.lock or secret_key),"
                          " not a backup; it was not overwritten")


def backup_with_files(cfg, destination: Path) -> int:
    """The database first, then every file it names (files never change once stored, and one
    a later delete leaves behind is kept for an hour: all those it names are still there).
    A second backup to the same place copies only the files it lacks."""
    check_destination(cfg, destination)
    backup_file(cfg.db_path, destination)
    return FileStore(cfg.files_dir, cfg.upload_max_bytes).copy_to(files_dir_of(destination),
                                                                 blobs_named_in(destination))


def restore(cfg, backup: Path, *, force: bool = False) -> str:
    """Put `backup` (and the files in its -files directory) in place of the data directory's
    database. Refused, changing nothing, when a server holds the data directory, when a
    database is there already (unless `force`: then it is kept aside), and when the backup is
    not a whole forum database with its files. Returns what was done, in one line."""
    if not backup.is_file():
        raise RestoreError(f"no backup file at {backup}")
    with open(backup, "rb") as handle:
        if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise RestoreError(f"{backup} is not an SQLite database (what `forum backup` writes is one)")
    cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(cfg.data_dir / "serving.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            # held until the end: no server starts on the data directory halfway through
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RestoreError(f"a server is running on {cfg.data_dir} (it holds serving.lock): stop it first") from None
        if cfg.db_path.exists() and not force:
            raise RestoreError(f"there is a database at {cfg.db_path} already: restore --force replaces it,"
                               " keeping it aside as forum.sqlite3.before-restore-TIME")
        return _restore(cfg, backup)
    finally:
        os.close(lock)


def _restore(cfg, backup: Path) -> str:
    # a restore killed midway (kill -9, power) left its partial copy: none runs now (the lock)
    for stale in cfg.data_dir.glob(f"{cfg.db_path.name}.restoring-*"):
        stale.unlink(missing_ok=True)
    partial = cfg.data_dir / f"forum.sqlite3.restoring-{os.getpid()}"
    try:
        try:
            _copy(backup, partial)
            version, names = _check(partial, backup)
            source_files = FileStore(files_dir_of(backup), cfg.upload_max_bytes)
            _check_files(source_files, names, backup)
            have = {name for name, _ in source_files.blobs()} | {name for name, _ in FileStore(cfg.files_dir, 0).blobs()}
            missing = sorted(names - have)
            if missing:
                raise RestoreError(f"the database names {len(missing)} uploaded file(s) that are neither in"
                                   f" {files_dir_of(backup)} nor in {cfg.files_dir} (the first: {missing[0]})")
            # added beside those there (a file's name is its own, never reused): harmless should
            # the rest fail, and on disk before the database that names them is in place
            copied = source_files.copy_to(cfg.files_dir, names)
            for name in names:  # 0600 like every upload, whatever modes the backup's copies came with
                os.chmod(FileStore(cfg.files_dir, 0).path_of(name), 0o600)
            os.sync()
            aside = _set_aside(cfg.db_path)
        except OSError as error:  # no room, no permission: said in one line like the rest
            raise RestoreError(str(error)) from error
        os.replace(partial, cfg.db_path)
        _sync_dir(cfg.data_dir)
    finally:
        for path in (partial, partial.with_name(partial.name + "-wal"), partial.with_name(partial.name + "-shm")):
            path.unlink(missing_ok=True)
    done = f"restored {backup} into {cfg.db_path} (schema version {version}"
    done += f"; the next start migrates it to {latest_version()})" if version < latest_version() else ")"
    done += f"; {copied} uploaded file(s) copied into {cfg.files_dir}"
    if aside:
        done += f"; the database it replaced is kept as {aside}"
    return done


def _copy(source: Path, target: Path) -> None:
    """A copy made 0600 (it holds password hashes and every private post), on disk before use."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out, open(source, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def _check(path: Path, backup: Path) -> tuple[int, set[str]]:
    """The copy passes what `forum check` asks, and is a forum's, of a version this forum knows.
    Opened for writing only so that closing it leaves no -wal and -shm behind; nothing is written."""
    try:
        conn = sqlite3.connect(path)
        try:
            damage = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
            if damage:
                raise RestoreError(f"{backup} is damaged (integrity check: {damage[0]}"
                                   + (f", and {len(damage) - 1} more)" if len(damage) > 1 else ")"))
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            lacking = [table for table in FORUM_TABLES if table not in tables]
            if lacking or version < 1:
                raise RestoreError(f"{backup} is an SQLite database but not a forum's"
                                   f" ({'no table ' + ', '.join(lacking) if lacking else 'schema version 0'})")
            if version > latest_version():
                raise RestoreError(f"{backup} was made by a later release (schema version {version}; this forum"
                                   f" knows up to {latest_version()}): restore it with that release")
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RestoreError(f"{backup} is damaged: {len(broken)} row(s) name rows that are not there"
                                   f" (the first: {tuple(broken[0])})")
            return version, blobs_named(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as error:  # a damaged page met while reading (a truncated file)
        raise RestoreError(f"{backup} is damaged: {error}") from None


def _check_files(source: FileStore, names: set[str], backup: Path) -> None:
    """Every name a row gives is a file's name as uploads are named, and what the backup holds
    under it is a plain file: not a link to a file elsewhere (its content would be served as
    the upload), a FIFO or a directory."""
    for name in sorted(names):
        try:
            path = source.path_of(name)
        except ValueError:
            raise RestoreError(f"{backup} names an uploaded file {name!r}, which is not an upload's name") from None
        if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
            raise RestoreError(f"{path} is not a plain file (a link, a directory or a device): copy the backup's"
                               " files as files")


def _set_aside(db_path: Path) -> Path | None:
    """The database being replaced, whole, under a name of its own: a crashed server's
    write-ahead log is folded in first, so nothing it held is lost and no log is left beside
    the restored database for SQLite to replay into it. The old name keeps pointing at the old
    database until the restored one replaces it in one rename."""
    if not db_path.exists():
        return None
    damaged = False
    try:
        conn = sqlite3.connect(db_path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # not a database any more: what a restore is for; kept as it is
        damaged = True
    logs = [db_path.with_name(db_path.name + suffix) for suffix in ("-wal", "-shm")]
    if not damaged:
        for log in logs:
            if log.exists():
                raise RestoreError(f"{db_path} is open in another process (its {log.name[-3:]} file stays): stop it first")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for n in range(1, 100):
        aside = db_path.with_name(f"{db_path.name}.before-restore-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            os.link(db_path, aside)
        except FileExistsError:  # restored twice within a second
            continue
        for log in logs:  # a damaged database's log goes with it: SQLite would replay it into the restored one
            if log.exists():
                os.replace(log, aside.with_name(aside.name + log.name[len(db_path.name):]))
        return aside
    raise RestoreError(f"too many databases set aside at {stamp} beside {db_path}")


def _sync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
