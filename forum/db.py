"""The database room: connections, PRAGMAs, one serialised writer, readers, and applying the
migrations (their text is forum/migrations.py).

Only this module, forum/migrations.py and forum/store know the database is SQLite. Every write goes through
`Database.write()` (one connection, BEGIN IMMEDIATE, serialised by a lock), so concurrent
requests never meet "database is locked"; reads use their own connections and, thanks to WAL,
never wait for the writer.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import sqlite3
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Callable

import aiosqlite

from forum import ROOT
from forum.migrations import FIRST_RELEASE_TO_1, MIGRATIONS
from forum.tally import Durations

log = logging.getLogger(__name__)

SCHEMA_FILE = ROOT / "schema.sql"

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # an acknowledged write survives a power cut
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


# each reader's own page cache (SQLite's default is 2 MiB): searching a big site reads each
# searched word's whole list to weigh it, and from SQLite's cache that is ~15% faster than from
# the operating system's at a million posts (bench/bench_search.py)
READER_CACHE_KIB = 32 * 1024

# Areas a write may declare itself confined to (Database.write(only=…)), with the tables such a
# write may change; tests/test_caches.py holds every confined write to its list. Besides its
# own tables a write records itself in the shared logs: the audit log, the search index, and the
# event log (on its own channels, so a page cached with an older last event id only makes its
# live client replay events of channels it does not watch).
AREAS = {
    "library": frozenset({"folders", "documents", "document_versions",
                          "audit_log", "search_docs", "search_fts", "events"}),
}


def latest_version() -> int:
    return max([1, *MIGRATIONS])


class Record(dict):
    """A row as a dict whose columns also read as attributes, so templates reach `post.title`
    on the first try (Jinja tries attributes before items; sqlite3.Row has none)."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def as_records(rows: list[sqlite3.Row]) -> list[Record]:
    """Rows come back as C-level sqlite3.Row (cheap to build); the column names are read
    once per result, not once per row."""
    if not rows:
        return []
    names = rows[0].keys()
    return [Record(zip(names, row)) for row in rows]


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    return conn


def _create_private(path: Path) -> None:
    """Make the database file 0600 (in a 0700 directory) before SQLite opens it: SQLite gives
    its -wal and -shm files the database file's mode, so they are private too. An existing
    file keeps the mode its operator chose."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


COUNT_COMMIT = "UPDATE site_commits SET n = n + 1 WHERE id = 1 RETURNING n"


class Commits:
    """What both database rooms (this one, and forum/postgres.py's) keep about commits: the
    generation forum/cache.py keys on, who is woken after each, and, when other processes
    share the database, the site's commit count (site_commits) that tells of their writes."""

    def __init__(self, shared: bool):
        # other processes write to the same database: each visible write counts itself in
        # site_commits, and a count newer than this process's tells it someone else wrote
        self.shared = shared
        self.site_commits = 0
        self._commit_listeners: list[Callable[[], None]] = []
        self.generation = 0  # commits made through this object; forum/cache.py keys on it
        self._confined: dict[str, int] = {}  # of those, how many changed one area only (write(only=…))
        # how long each write waited for the site's one writer, up to its transaction begun (/metrics)
        self.write_waits = Durations()

    def on_commit(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every committed write (the live hub and the mailer wake here)."""
        self._commit_listeners.append(listener)

    def generation_outside(self, area: str | None) -> int:
        """Commits that may have changed something outside `area` (all of them for None): a
        value that reads nothing of `area` stays right while only `area` is written."""
        return self.generation - self._confined.get(area, 0) if area else self.generation

    async def read_site_commits(self) -> int:
        async with self.read() as conn:
            rows = await conn.execute_fetchall("SELECT n FROM site_commits WHERE id = 1")
        return rows[0][0] if rows else 0

    def notice_commits(self, count: int) -> bool:
        """The site has had `count` commits (read from the database): when that is news,
        everything cached may be stale, and whoever waits for commits is woken."""
        if count <= self.site_commits:
            return False
        self.site_commits = count
        self.generation += 1
        self._committed()
        return True

    def _counted(self, *, visible: bool, only: str | None, counted: int | None) -> None:
        """After this process's own commit (`counted`: the site's count it made, when shared)."""
        if counted is not None:
            if counted > self.site_commits + 1:
                self.generation += 1  # others wrote since we last heard: none of it is confined to an area
            self.site_commits = max(self.site_commits, counted)
        if visible:
            self.generation += 1
            if only:
                self._confined[only] = self._confined.get(only, 0) + 1

    def _committed(self) -> None:
        for listener in self._commit_listeners:
            listener()


class Database(Commits):
    def __init__(self, path: Path, readers: int = 2, *, shared: bool = False):
        super().__init__(shared)
        self.path = path
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: list[aiosqlite.Connection] = []
        self._reading: dict[aiosqlite.Connection, int] = {}
        self._turn = 0
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        _create_private(self.path)
        self._writer = await _connect(self.path)
        try:
            await self._migrate()
        except BaseException:
            # its thread would keep the process alive after the failed start
            await self._writer.close()
            self._writer = None
            raise
        self._readers = [await _connect(self.path) for _ in range(self._reader_count)]
        for reader in self._readers:
            await reader.execute("PRAGMA query_only=ON")
            await reader.execute(f"PRAGMA cache_size=-{READER_CACHE_KIB}")
        self._reading = {reader: 0 for reader in self._readers}
        if self.shared:
            self.site_commits = await self.read_site_commits()

    @asynccontextmanager
    async def starting(self) -> AsyncIterator[None]:
        """One process at a time: opening (migrations) and the start's tidying up run under a
        lock on a file beside the database, so processes started together do not both migrate."""
        _create_private(self.path)
        lock_path = self.path.with_name(self.path.name + ".start-lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # and with it the lock

    async def close(self) -> None:
        for conn in [*self._readers, self._writer]:
            if conn is not None:
                await conn.close()
        self._readers, self._writer = [], None

    @asynccontextmanager
    async def write(self, *, visible: bool = True, only: str | None = None) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction. Anything raised inside rolls the whole change back. Not
        `visible`: it changes nothing a reader sees (the search index's segments merged), so
        caches stay and nobody is woken. `only` an area (AREAS): the write changes that area's
        tables and nothing else, so cached values that read none of it stay (a burst of uploads
        would otherwise void every cached thread page, many times a second)."""
        assert only is None or only in AREAS, only
        asked = time.perf_counter()
        async with self._lock:
            conn = self._writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                # cancelled while BEGIN ran on the connection's thread: it may have begun all the
                # same, and the next write would fail ("cannot start a transaction within a transaction")
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise
            self.write_waits.observe(time.perf_counter() - asked)
            counted = None
            try:
                yield conn
                if visible and self.shared:
                    counted = (await conn.execute_fetchall(COUNT_COMMIT))[0][0]
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
            self._counted(visible=visible, only=only, counted=counted)
        if visible:
            self._committed()

    @asynccontextmanager
    async def read(self, *, least_busy: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """A reader (each runs its queries one at a time on its own thread), taken in turn; or,
        for a long read (a search), the one with the fewest reads in progress: taken in turn,
        searches queued behind each other on one reader while the other stood idle (p95 at a
        million posts 40 ms against 32). Not for every read: the uncached pages at a million
        posts made ~10% fewer requests a second with it, not understood yet."""
        if least_busy:
            reader = min(self._readers, key=self._reading.__getitem__)
        else:
            reader = self._readers[self._turn % len(self._readers)]
            self._turn += 1
        self._reading[reader] += 1
        try:
            yield reader
        finally:
            self._reading[reader] -= 1

    async def schema_current(self) -> bool:
        """Whether the database answers at the schema version this code migrates to (another
        version of the forum may have migrated it since): for the readiness check."""
        async with self.read() as conn:
            rows = await conn.execute_fetchall("PRAGMA user_version")
        return rows[0][0] == latest_version()

    async def _migrate(self) -> None:
        """Bring the database to latest_version(): everything it lacks (schema.sql for a new
        one, the first release's fix-up, the migrations) in one transaction, one statement at a
        time, so a failure is rolled back whole and names the step that failed. A database newer
        than this forum knows is refused rather than served with a schema it does not know."""
        conn = self._writer
        version = (await (await conn.execute("PRAGMA user_version")).fetchone())["user_version"]
        if version > latest_version():
            raise SchemaError(f"{self.path} is at schema version {version}, newer than this forum's"
                              f" ({latest_version()}): it was made by a later release; run that one")
        steps: list[tuple[str, str]] = []
        if version == 0:
            log.info("creating schema in %s", self.path)
            steps.append(("schema.sql", SCHEMA_FILE.read_text()))
        elif version == 1 and not await conn.execute_fetchall(
                "SELECT 1 FROM pragma_table_info('groups') WHERE name = 'member_count'"):
            steps.append(("the first release's version 1", FIRST_RELEASE_TO_1))
        steps += [(f"migration {number}", MIGRATIONS[number]) for number in sorted(MIGRATIONS) if number > version]
        if not steps:
            return
        # Foreign keys off while migrations run, so one may rebuild a table (SQLite's only way to
        # change a CHECK) without DROP TABLE cascading into its children; the check before
        # COMMIT proves every reference whole. (The pragma means nothing inside a transaction.)
        await conn.execute("PRAGMA foreign_keys=OFF")
        step = "BEGIN"
        try:
            await conn.execute("BEGIN IMMEDIATE")
            for step, sql in steps:
                if version:
                    log.info("applying %s", step)
                for statement in statements(sql):
                    await conn.execute(statement)
            step = "the foreign key check"
            broken = await conn.execute_fetchall("PRAGMA foreign_key_check")
            if broken:
                raise SchemaError(f"foreign keys broken: {[tuple(row) for row in broken][:5]}")
            await conn.execute(f"PRAGMA user_version={latest_version()}")
            await conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            if not isinstance(error, Exception):
                raise
            raise SchemaError(f"upgrading {self.path} from schema version {version} to {latest_version()}"
                              f" failed in {step}: {error}; rolled back, the database is as it was") from error
        finally:
            await conn.execute("PRAGMA foreign_keys=ON")


class SchemaError(RuntimeError):
    """The database cannot be brought to this forum's schema (forum/cli.py says why in one line)."""


def statements(script: str) -> list[str]:
    """A script's statements one by one, as SQLite itself tells where each ends (a trigger's
    body holds semicolons of its own); executescript would run them all but commits first and
    leaves a failed script's transaction open."""
    found, start = [], 0
    for end, char in enumerate(script):
        if char == ";" and sqlite3.complete_statement(script[start:end + 1]):
            if script[start:end].strip():
                found.append(script[start:end + 1].strip())
            start = end + 1
    rest = script[start:]
    if any(line.strip() and not line.strip().startswith("--") for line in rest.splitlines()):
        found.append(rest.strip())  # the last statement, without its semicolon
    return found


def backup_file(source: Path, destination: Path) -> None:
    """Online backup: consistent even while the server is writing. A new backup file is made
    0600, like the database it copies (it holds password hashes and every private post)."""
    try:
        os.close(os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    src = sqlite3.connect(source)
    dst = sqlite3.connect(destination)
    try:
        with dst:
            src.backup(dst)
        # one file, without the -wal and -shm the live database's mode would leave beside it
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()


def check_file(path: Path) -> list[str]:
    """Problems found by SQLite's own checks; an empty list means healthy."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
        problems += [f"foreign key: {row}" for row in conn.execute("PRAGMA foreign_key_check")]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != latest_version():
            problems.append(f"schema version {version}, expected {latest_version()}")
        return problems
    finally:
        conn.close()
