"""The database room for PostgreSQL (FORUM_DATABASE_URL=postgresql://…): the same promises as
forum/db.py's SQLite room, kept the same way, so services and store need not know which one
runs. Writes are one at a time for the whole site: every write transaction first takes one
transaction-level advisory lock, as every SQLite write takes the file's one write lock. So a
service that reads and then acts inside its write sees what it acts on unchanged (fan-out jobs,
digests, sign-ups rely on that), and event ids, which come from a sequence, commit in the order
they were handed out: no reader can see event 12 while 11 may still commit, so the hubs never
skip or reorder one. Reads run on other connections of the pool, each statement on its own
snapshot, as SQLite's readers do.

The store's SQL is written once, for SQLite; `translate` turns it into PostgreSQL's spelling
(placeholders, ILIKE for SQLite's ASCII-folding LIKE, json_each, ifnull, group_concat,
json_group_array, rowid), once per statement.
Text columns are COLLATE "C", so comparisons and ORDER BY are byte order like SQLite's.
"""
from __future__ import annotations

import asyncio
import logging
import re
import time
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, AsyncIterator, Iterable

from forum.db import AREAS, COUNT_COMMIT, Commits, SchemaError
from forum.errors import N_, BadRequest, Unavailable

log = logging.getLogger(__name__)

# Advisory locks are the database's, not a schema's: each is (what it is for, the site's schema),
# so sites in other schemas of one database (and the tests' schemas) never wait for each other.
WRITE_LOCK = 0x666f7201  # every write transaction holds it
START_LOCK = 0x666f7202  # held while one process creates or migrates the schema
SITE_LOCK = 0x666f7203   # held by each serving process: shared with Redis, alone without (forum/cli.py)
FOR_THIS_SITE = "hashtext(current_schema())"
POOL_SIZE = 8
WAIT_SECONDS = 5   # for a connection from the pool; then the request answers 503


class Row(tuple):
    """A row as aiosqlite gives it (the store's helpers read `keys()` and positions)."""

    __slots__ = ()
    names: tuple = ()

    def keys(self):
        return self.names

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names.index(key))
        return tuple.__getitem__(self, key)


def _row_factory(cursor):
    names = tuple(column.name for column in cursor.description or ())
    row_type = type("Row", (Row,), {"names": names, "__slots__": ()})
    return lambda values: row_type(values)


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\bIS\s+NOT\s+\?|\bIS\s+\?|\?\d*|%|\bLIKE\b|\bifnull\(|json_each\(\?\)"
                     r"|\bjson_extract\((\w+(?:\.\w+)?), '\$\.([\w.]+)'\)|\bMAX\(([\w.]+), ([\w.]+)\)"
                     r"|(?<![:\w]):([A-Za-z_]\w*)|\browid\b|\bgroup_concat\((\w+)(?:, ('[^']*'))?\)|\bjson_group_array\((\w+)\)"
                     r"|\bprintf\('%0(\d+)d', ([\w.]+)\)", re.IGNORECASE)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """SQLite's spelling of a statement in PostgreSQL's. Quoted text is left as it is (but a
    % in it is doubled, as the driver's placeholders need)."""
    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token[0] == ":":
            return f"%({match.group(5)})s"
        if token[0] == "?":
            if len(token) > 1:
                raise ValueError("numbered placeholders (?1) are not portable: repeat the parameter")
            return "%s"
        if token == "%":
            return "%%"
        upper = token.upper()
        if upper.startswith("IS") and upper.endswith("?"):  # SQLite's IS compares NULLs as values
            return "IS DISTINCT FROM %s" if "NOT" in upper else "IS NOT DISTINCT FROM %s"
        if upper == "ROWID":  # search_fts's, which is a plain table here with an id
            return "id"
        if upper == "LIKE":
            return "ILIKE"  # SQLite's LIKE folds ASCII case; on "C" columns ILIKE folds the same letters
        if upper == "IFNULL(":
            return "coalesce("
        if upper.startswith("JSON_EXTRACT("):  # a path of names: '$.post.id'
            return f"({match.group(1)}::json #>> '{{{','.join(match.group(2).split('.'))}}}')"
        if upper.startswith("MAX("):  # SQLite's max of two values
            return f"GREATEST({match.group(3)}, {match.group(4)})"
        if upper.startswith("PRINTF("):  # a number padded with zeros
            return f"lpad(CAST({match.group(10)} AS text), {match.group(9)}, '0')"
        if upper.startswith("GROUP_CONCAT("):
            return f"string_agg({match.group(6)}, {match.group(7) or chr(39) + ',' + chr(39)})"
        if upper.startswith("JSON_GROUP_ARRAY("):  # SQLite's is '[]' over no rows, and text
            return f"coalesce(json_agg({match.group(8)})::text, '[]')"
        return "json_array_elements_text(%s::json) AS json_each(value)"
    return _TOKENS.sub(replace, sql)


class _Result:
    """What aiosqlite's execute returns, as far as the store (rowcount) and tests (fetchone,
    fetchall, `async with`) read it: awaitable, and an async context manager."""

    def __init__(self, pending):
        self._pending = pending
        self._rows: list | None = None
        self.rowcount = -1

    async def _run(self) -> "_Result":
        cursor = await self._pending
        self.rowcount = cursor.rowcount
        self._rows = await cursor.fetchall() if cursor.description else []
        return self

    def __await__(self):
        return self._run().__await__()

    async def __aenter__(self) -> "_Result":
        return await self._run()

    async def __aexit__(self, *exc) -> None:
        pass

    async def fetchone(self):
        return self._rows[0] if self._rows else None

    async def fetchall(self):
        return list(self._rows)

    async def close(self) -> None:
        pass


class Connection:
    """A pooled psycopg connection with the few aiosqlite methods the store's helpers use."""

    dialect = "postgresql"

    def __init__(self, raw):
        self.raw = raw

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()):
        cursor = await self._run(sql, params)
        return await cursor.fetchall() if cursor.description else []

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Result:
        return _Result(self._run(sql, params))

    async def _run(self, sql: str, params):
        import psycopg

        bound = params if isinstance(params, dict) else tuple(params)
        try:
            return await self.raw.execute(translate(sql), bound)
        except psycopg.DataError as error:
            # PostgreSQL's text cannot hold a NUL character (SQLite's can): text with one, typed
            # into a search box or a form, is refused as the bad input it is, not a 500
            if "NUL" in str(error):
                raise BadRequest(N_("Tekst met een NUL-teken kan niet worden verwerkt.")) from None
            raise

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        async with self.raw.cursor() as cursor:
            await cursor.executemany(translate(sql), [tuple(row) for row in rows])


async def take_write_lock(raw) -> None:
    """The site's one write lock, until this transaction ends (see the module's text)."""
    await raw.execute(f"SELECT pg_advisory_xact_lock(%s, {FOR_THIS_SITE})", (WRITE_LOCK,))


class PostgresDatabase(Commits):
    def __init__(self, url: str, *, shared: bool = False, pool_size: int = POOL_SIZE):
        super().__init__(shared)
        self.url = url
        self.pool_size = pool_size
        self._pool = None
        self._lock = asyncio.Lock()  # this process's writers queue here, not on the database's lock

    async def _configure(self, conn) -> None:
        conn.row_factory = _row_factory
        await conn.set_autocommit(True)

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._pool = AsyncConnectionPool(self.url, min_size=2, max_size=self.pool_size, open=False,
                                         configure=self._configure, timeout=WAIT_SECONDS)
        await self._pool.open(wait=True, timeout=10)
        try:
            await self._migrate()
        except BaseException:
            await self.close()
            raise
        if self.shared:
            self.site_commits = await self.read_site_commits()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def starting(self) -> AsyncIterator[None]:
        yield  # the schema is made under an advisory lock in open(); the rest is idempotent

    async def schema_current(self) -> bool:
        """As forum/db.py's: the database answers, at this code's schema version."""
        from forum.postgres_schema import VERSION

        async with self.read() as conn:
            rows = await conn.execute_fetchall("SELECT version FROM schema_version")
        return bool(rows) and rows[0][0] == VERSION

    async def _migrate(self) -> None:
        import psycopg

        from forum.postgres_schema import SCHEMA, UPGRADES, VERSION

        async with self._pool.connection() as raw:
            async with raw.transaction():
                await raw.execute(f"SELECT pg_advisory_xact_lock(%s, {FOR_THIS_SITE})", (START_LOCK,))
                cursor = await raw.execute("SELECT to_regclass('schema_version') IS NOT NULL")
                exists = (await cursor.fetchone())[0]
                if not exists:
                    log.info("creating the PostgreSQL schema")
                    await raw.execute(SCHEMA)
                    await raw.execute("CREATE TABLE schema_version (version bigint NOT NULL)")
                    await raw.execute("INSERT INTO schema_version (version) VALUES (%s)", (VERSION,))
                    return
                cursor = await raw.execute("SELECT version FROM schema_version")
                version = (await cursor.fetchone())[0]
                if version < VERSION and all(step in UPGRADES for step in range(version + 1, VERSION + 1)):
                    # all in the start's one transaction: a failed step rolls every one back
                    for step in range(version + 1, VERSION + 1):
                        log.info("upgrading the PostgreSQL schema to version %d", step)
                        try:
                            await raw.execute(UPGRADES[step])
                        except psycopg.Error as error:
                            said = str(error).splitlines()[0] if str(error) else type(error).__name__  # one line
                            raise SchemaError(f"upgrading the PostgreSQL schema from version {version} to {VERSION}"
                                              f" failed in upgrade {step}: {said}; rolled back, the database"
                                              " is as it was") from error
                    await raw.execute("UPDATE schema_version SET version = %s", (VERSION,))
                elif version != VERSION:
                    raise SchemaError(f"PostgreSQL schema version {version}, this forum needs {VERSION}"
                                      + (" (made by a later release: run that one)" if version > VERSION else ""))

    @asynccontextmanager
    async def write(self, *, visible: bool = True, only: str | None = None) -> AsyncIterator[Connection]:
        """One write transaction, the site's only one at this moment (see the module's text)."""
        async with _unavailable_when_down():
            async with self._write(visible=visible, only=only) as conn:
                yield conn

    @asynccontextmanager
    async def _write(self, *, visible: bool, only: str | None) -> AsyncIterator[Connection]:
        assert only is None or only in AREAS, only
        asked = time.perf_counter()
        async with self._lock:
            async with self._pool.connection() as raw:
                counted = None
                async with raw.transaction():
                    await take_write_lock(raw)
                    self.write_waits.observe(time.perf_counter() - asked)  # this process's queue and the site's lock
                    conn = Connection(raw)
                    yield conn
                    if visible and self.shared:
                        counted = (await conn.execute_fetchall(COUNT_COMMIT))[0][0]
                self._counted(visible=visible, only=only, counted=counted)
        if visible:
            self._committed()

    @asynccontextmanager
    async def read(self, *, least_busy: bool = False) -> AsyncIterator[Connection]:
        async with _unavailable_when_down():
            async with self._pool.connection() as raw:
                yield Connection(raw)


@asynccontextmanager
async def _unavailable_when_down() -> AsyncIterator[None]:
    """The database gone (refused, cut off, no connection free in time): 503, not 500."""
    import psycopg
    from psycopg_pool import PoolTimeout

    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as error:
        log.warning("database unavailable: %s", error)
        raise Unavailable() from error
