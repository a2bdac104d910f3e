"""Moving a site from SQLite to PostgreSQL (`forum migrate-to-postgres URL`): every row of every
table, the event log with its ids, into an empty PostgreSQL database, in one transaction, then
checked: the same number of rows in every table, and each id sequence past the highest id, so
the next post, event or document gets a new id. Uploaded files stay where they are, in the data
directory. The search index is written anew on PostgreSQL from the same words.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from forum.db import latest_version

# SQLite's full-text tables are its own; PostgreSQL keeps the index in search_fts (a plain table)
_NOT_COPIED = {"sqlite_sequence", "search_fts", "search_fts_data", "search_fts_idx", "search_fts_content",
               "search_fts_docsize", "search_fts_config"}


class MoveError(Exception):
    pass


def _tables_in_order(conn) -> list[str]:
    """The forum's tables, each after the ones its foreign keys point to."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname = current_schema()").fetchall()
    tables = {row[0] for row in rows} - {"schema_version"}
    needs = {table: set() for table in tables}
    for child, parent in conn.execute(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
            " JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()"):
        child, parent = child.strip('"'), parent.strip('"')
        if child != parent and child in needs:
            needs[child].add(parent)
    ordered: list[str] = []
    while needs:
        ready = sorted(table for table, parents in needs.items() if not parents - set(ordered))
        if not ready:
            raise MoveError(f"foreign keys go round in circles among {sorted(needs)}")
        for table in ready:
            ordered.append(table)
            del needs[table]
    return ordered


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]


def move(sqlite_path: Path, url: str, *, report=print) -> dict[str, int]:
    """Copy the site; returns the rows copied per table. Raises MoveError, changing nothing,
    when the target is not empty or the copy does not check out."""
    import psycopg

    from forum.postgres_schema import SCHEMA, VERSION

    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        source.execute("BEGIN")  # one snapshot of the live site, however it is written meanwhile
        version = source.execute("PRAGMA user_version").fetchone()[0]
        if version != latest_version() or VERSION != latest_version():
            raise MoveError(f"the SQLite database is at schema version {version}; start the forum once"
                            f" on it (it migrates to {latest_version()}), then move it")
        with psycopg.connect(url) as target:
            with target.transaction():
                exists = target.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()[0]
                if exists:
                    raise MoveError("the PostgreSQL database already holds a forum: moving needs an empty one")
                others = [row[0] for row in target.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")]
                if others:
                    raise MoveError(f"the PostgreSQL schema is not empty ({', '.join(sorted(others)[:5])}):"
                                    " moving needs an empty one")
                target.execute(SCHEMA)
                target.execute("CREATE TABLE schema_version (version bigint NOT NULL)")
                target.execute("INSERT INTO schema_version (version) VALUES (%s)", (VERSION,))
                order = _tables_in_order(target)
                sqlite_tables = {row[0] for row in source.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")} - _NOT_COPIED
                missing = sqlite_tables - set(order)
                if missing:
                    raise MoveError(f"tables PostgreSQL's schema lacks: {sorted(missing)}")
                for table in order:  # the counters come as they are: their triggers must not count again
                    target.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
                # the starting rows a new schema has are replaced by the site's own
                target.execute("TRUNCATE " + ", ".join(f'"{table}"' for table in order) + " CASCADE")
                copied: dict[str, int] = {}
                for table in order:
                    if table == "search_fts":
                        continue
                    columns = _columns(source, table)
                    names = ", ".join(f'"{column}"' for column in columns)
                    count = 0
                    with target.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                        for row in source.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid'
                                                  if table not in _WITHOUT_ROWID else f'SELECT {names} FROM "{table}"'):
                            copy.write_row(_without_nul(row, table, report))
                            count += 1
                    copied[table] = count
                    report(f"{table}: {count}")
                copied["search_fts"] = _copy_search(source, target)
                for table in order:
                    target.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
                _advance_sequences(source, target)
                _verify(source, target, copied)
        return copied
    finally:
        source.close()


def _without_nul(row: tuple, table: str, report) -> tuple:
    """PostgreSQL's text cannot hold a NUL character, SQLite's could (a reply typed with one):
    it is taken out, and said so, rather than stopping the move."""
    if not any(isinstance(value, str) and "\x00" in value for value in row):
        return row
    report(f"{table}: a NUL character taken out of row {row[0]!r}")
    return tuple(value.replace("\x00", "") if isinstance(value, str) else value for value in row)


_WITHOUT_ROWID = {"thread_subscriptions", "group_subscriptions", "thread_reads", "group_bans", "news_tags"}


# search_fts's weighed words (tsv) are a column PostgreSQL computes from these three
INDEX_ROW = "INSERT INTO search_fts (id, title, body, words) VALUES (%s, %s, %s, %s)"


def _copy_search(source: sqlite3.Connection, target) -> int:
    count = 0
    with target.cursor() as cursor:
        batch = []
        for row in source.execute("SELECT rowid, title, body, words FROM search_fts ORDER BY rowid"):
            batch.append(tuple(row))
            if len(batch) == 1000:
                cursor.executemany(INDEX_ROW, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(INDEX_ROW, batch)
            count += len(batch)
    return count


def _identity_columns(target) -> list[tuple[str, str, str]]:
    """(table, column, its sequence) of every id PostgreSQL hands out."""
    return [(table, column, target.execute("SELECT pg_get_serial_sequence(%s, %s)",
                                           (f'"{table}"', column)).fetchone()[0])
            for table, column in target.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall()]


def _highest_ever(source: sqlite3.Connection, target, table: str, column: str) -> int | None:
    """The highest id the table has had: for AUTOINCREMENT tables SQLite remembers ids of rows
    deleted since (sqlite_sequence), and those are never handed out again (links and audit
    entries name them)."""
    highest = target.execute(f'SELECT MAX("{column}") FROM "{table}"').fetchone()[0]
    remembered = source.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    if remembered is not None and remembered[0] is not None:
        highest = max(highest or 0, remembered[0])
    return highest


def _advance_sequences(source: sqlite3.Connection, target) -> None:
    for table, column, sequence in _identity_columns(target):
        highest = _highest_ever(source, target, table, column)
        if highest:
            target.execute("SELECT setval(%s, %s)", (sequence, highest))


def _verify(source: sqlite3.Connection, target, copied: dict[str, int]) -> None:
    for table, count in copied.items():
        expected = source.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        there = target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        if not expected == count == there:
            raise MoveError(f"{table}: {expected} rows in SQLite, {there} in PostgreSQL")
    for table, column, sequence in _identity_columns(target):
        highest = _highest_ever(source, target, table, column)
        last_value, called = target.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
        if highest and (last_value < highest or not called):
            raise MoveError(f"{table}: the id sequence stands at {last_value}, below the highest id {highest}")
