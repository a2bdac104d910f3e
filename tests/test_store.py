"""The store's helpers: named parameters reach the database as values (made a tuple, a dict
once gave SQLite its keys), and SQLite's spelling of a statement becomes PostgreSQL's
(forum/postgres.py translate) without touching quoted text."""
from __future__ import annotations

import pytest

from forum.postgres import translate
from forum.store import fetch_all, fetch_value


async def test_named_and_positional_parameters_reach_the_database(svc):
    async with svc.db.read() as conn:
        assert await fetch_value(conn, "SELECT :a || '-' || :b AS joined", {"a": "A", "b": "B"}) == "A-B"
        assert await fetch_value(conn, "SELECT ? || '-' || ? AS joined", ["C", "D"]) == "C-D"
        rows = await fetch_all(conn, "SELECT CAST(value AS BIGINT) AS id FROM json_each(?) ORDER BY 1", ("[3, 1, 2]",))
    assert [row["id"] for row in rows] == [1, 2, 3]


def test_sqlite_spelling_becomes_postgresql_spelling():
    assert translate("SELECT * FROM t WHERE a = ? AND b LIKE ? ESCAPE '\\'") == \
        "SELECT * FROM t WHERE a = %s AND b ILIKE %s ESCAPE '\\'"
    assert translate("SELECT ifnull(x, 0), '50% of ?' FROM t WHERE y = :y") == \
        "SELECT coalesce(x, 0), '50%% of ?' FROM t WHERE y = %(y)s"
    assert translate("SELECT group_concat(r), group_concat(tag, ' ') FROM t") == \
        "SELECT string_agg(r, ','), string_agg(tag, ' ') FROM t"
    assert translate("SELECT (SELECT json_group_array(tag) FROM t) AS tags") == \
        "SELECT (SELECT coalesce(json_agg(tag)::text, '[]') FROM t) AS tags"
    assert translate("x IN (SELECT value FROM json_each(?))") == \
        "x IN (SELECT value FROM json_array_elements_text(%s::json) AS json_each(value))"
    assert translate("SELECT 'it''s ? here', \"col?\" FROM t WHERE a = ?") == \
        "SELECT 'it''s ? here', \"col?\" FROM t WHERE a = %s"
    with pytest.raises(ValueError):
        translate("SELECT ?1")


def test_sqlite_functions_become_postgresql_functions():
    assert translate("SELECT CAST(json_extract(payload, '$.post.id') AS BIGINT) FROM events") == \
        "SELECT CAST((payload::json #>> '{post,id}') AS BIGINT) FROM events"
    assert translate("SET x = MAX(t.x, excluded.x), y = (SELECT MAX(id) FROM t)") == \
        "SET x = GREATEST(t.x, excluded.x), y = (SELECT MAX(id) FROM t)"
    assert translate("WHERE a IS NOT ? AND b IS ? AND c IS NOT NULL") == \
        "WHERE a IS DISTINCT FROM %s AND b IS NOT DISTINCT FROM %s AND c IS NOT NULL"
    assert translate("SELECT lower(name) || '|' || printf('%012d', id) FROM users") == \
        "SELECT lower(name) || '|' || lpad(CAST(id AS text), 12, '0') FROM users"
