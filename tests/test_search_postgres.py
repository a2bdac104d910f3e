"""Search on PostgreSQL: the store's translation of the FTS5 expressions forum/services/search.py
builds into tsquery text (forum/store/search.py fts_to_tsquery), and what both backends must
agree on where they differ most (phrases within one column, relevance). The API tests run on
SQLite, and on PostgreSQL with FORUM_TEST_POSTGRES."""
from __future__ import annotations

from urllib.parse import quote

import pytest

from forum.services import search, search_index
from forum.store.search import fts_to_tsquery

FRYSLAN = 1  # the seeded open group


def translated(q: str, kind: str | None = None) -> tuple[str, str]:
    """(match, exact) of what a person typed, as the store gets them, in tsquery text."""
    query = search.parse({"q": q})
    wrap = (lambda match: f'({match}) AND "{search_index.kind_token(kind)}"') if kind else (lambda match: match)
    return fts_to_tsquery(wrap(query.match)), fts_to_tsquery(wrap(query.exact))


def test_words_are_all_asked_for():
    assert translated("Fryslân samenwerkingen ") == ("('fryslan' & 'samenwerk')",) * 2
    assert translated("zon") == ("'zon'", "'zon'")  # under four letters: no prefix


def test_the_last_word_while_typing_is_a_prefix_of_stems_and_of_marked_forms():
    match, exact = translated("regionale energiel")
    assert match == "('regionaal' & ('energiel' | 'energiel':* | 'ǂenergiel':*))"
    assert exact == "('regionaal' & 'energiel')"


def test_a_phrase_keeps_its_order_within_one_column():
    match, _ = translated('"regionale energieloket" maart ')
    assert match == ("(('regionaal':A <-> 'energieloket':A | 'regionaal':B <-> 'energieloket':B"
                     " | 'regionaal':C <-> 'energieloket':C) & 'maart')")
    # an unclosed quote is plain words
    assert translated('maart "regionale energieloket')[1] == "('maart' & 'regionaal' & 'energieloket')"


def test_a_kind_is_one_more_word():
    assert translated("wadlo", kind="thread") == (
        "(('wadlo' | 'wadlo':* | 'ǂwadlo':*) & 'ǂǂthread')", "('wadlo' & 'ǂǂthread')")


def test_operators_keep_fts5_precedence():
    # NOT binds closest, then AND (also between words side by side), then OR
    assert fts_to_tsquery('"a" OR "b" "c" NOT "d"') == "('a' | ('b' & ('c' & !'d')))"
    assert fts_to_tsquery('("a" OR "b") AND "c"') == "(('a' | 'b') & 'c')"
    assert fts_to_tsquery('"x y" *') == "('x':A <-> 'y':*A | 'x':B <-> 'y':*B | 'x':C <-> 'y':*C)"


def test_quotes_and_backslashes_inside_words_stay_words():
    assert fts_to_tsquery('"it\'s"') == "'it''s'"
    assert fts_to_tsquery('"a\\b"') == "'a\\\\b'"
    assert fts_to_tsquery('"say ""so"""') == \
        "('say':A <-> '\"so\"':A | 'say':B <-> '\"so\"':B | 'say':C <-> '\"so\"':C)"


@pytest.mark.parametrize("match", ['zon', '"zon" NEAR "wind"', 'title: "zon"', '^"zon"', '""', '("zon"', '"zon")',
                                   '"zon" AND', 'OR "zon"', '"zon" * *', '"zon" + "wind"', 'NEAR("zon" "wind")'])
def test_anything_outside_the_subset_is_refused(match):
    with pytest.raises(ValueError):
        fts_to_tsquery(match)


TYPED = ["zon", "Zonnepanelen op het dak", '"zon wind" water', 'NEAR(zon wind)', "zon OR wind", "zon AND NOT wind",
         '"zon', "-zon*", "title:zon", "^zon", "zon)", "(zon", "zon NEAR/2 wind", "{title}: zon", "zon\x00 wind",
         "🙂 zon", "it's O'Brien\\", "regio's foto’s", "Fryslân ǂǂthread", "2026 12e", "漢字 مرحبا", "energiel",
         '"een twee drie vier vijf zes"', "samenwerkingsverban"]


@pytest.mark.parametrize("q", TYPED)
def test_whatever_people_type_translates(q):
    query = search.parse({"q": q})
    for match in (query.match, query.exact, f'({query.match}) AND "{search_index.kind_token("post")}"'):
        assert fts_to_tsquery(match)


def test_postgresql_reads_every_translation():
    """On the machine's PostgreSQL, whichever database this run's site uses."""
    import os

    import psycopg
    with psycopg.connect(os.environ.get("FORUM_TEST_POSTGRES", "postgresql://127.0.0.1/test")) as conn:
        for q in TYPED:
            query = search.parse({"q": q})
            for match in (query.match, query.exact):
                assert conn.execute("SELECT to_tsquery('simple', %s)::text", (fts_to_tsquery(match),)).fetchone()[0], q


async def found(user, q: str, **params) -> list[tuple[str, int]]:
    query = "&".join(f"{key}={quote(str(value))}" for key, value in {"q": q, **params}.items())
    return [(hit["type"], hit["id"]) for hit in (await user.get(f"/api/v1/search?{query}"))["results"]]


async def test_a_phrase_is_found_within_a_column_not_across_two(admin, anonymous):
    """FTS5 finds a phrase inside the title or inside the body; PostgreSQL's tsvector numbers the
    body's words on from the title's, so there it is asked for per column."""
    await admin.post("/api/v1/pages", {"slug": "loket", "title": "Het regionale",
                                       "body": "Energieloket opent in maart.", "menu": "footer", "menu_order": 1},
                     expect=201)
    visitor = await anonymous()
    assert await found(visitor, '"energieloket opent"', type="page") != []
    assert await found(visitor, '"het regionale"', type="page") != []
    assert await found(visitor, '"regionale energieloket"', type="page") == []
    assert await found(visitor, "regionale energieloket", type="page") != []  # as words, across columns


async def test_relevance_weighs_titles_and_length_as_bm25_does(admin, anonymous, clock):
    """A word in the title outranks the same word twice in a body; among bodies, the shorter
    one; the newer of each pair is the lower-ranked one, so date order would fail this."""
    made = {}
    for name, title, body in [("title", "Kwelderbeheer", "Over het beheer."),
                              ("body", "Beheer", "Het kwelderbeheer en nog eens kwelderbeheer."),
                              ("short", "Dijk", "Kwelderbeheer loont."),
                              ("long", "Dijk", "Kwelderbeheer loont, zegt de provincie, maar de boeren in het noorden"
                                               " van de regio zien vooral de kosten van het onderhoud en de"
                                               " afspraken met de waterschappen over de dijken en het land.")]:
        clock.advance(minutes=1)
        made[name] = (await admin.post("/api/v1/pages",
                                       {"slug": f"kwelder-{name}", "title": title, "body": body, "menu": "footer",
                                        "menu_order": 1}, expect=201))
    visitor = await anonymous()
    hits = (await visitor.get("/api/v1/search?q=kwelderbeheer&type=page"))["results"]
    order = [hit["url"].rsplit("-", 1)[1] for hit in hits]
    assert order.index("title") < order.index("body") and order.index("short") < order.index("long"), order
    by_date = (await visitor.get("/api/v1/search?q=kwelderbeheer&type=page&sort=date"))["results"]
    assert [hit["url"].rsplit("-", 1)[1] for hit in by_date] == ["long", "short", "body", "title"]


def test_the_phrases_bm25_weighs_are_those_asked_for():
    from forum.store.search import fts_phrases
    assert fts_phrases('("regionaal" AND ("energiel" OR "energiel" * OR "ǂenergiel" *)) AND "ǂǂpost" NOT "x"') == (
        "'regionaal'", "'energiel'", "'energiel':*", "'ǂenergiel':*", "'ǂǂpost'")
    assert fts_phrases('"a" AND "a"') == ("'a'",)


async def test_relevance_weighs_a_rare_word_above_a_common_one(admin, anonymous, clock):
    """bm25's idf: of two entries holding both words, the one with the rare word in its title
    comes first; without idf they would tie and the newer (the other) would."""
    for n in range(6):
        await admin.post("/api/v1/pages", {"slug": f"dijk-{n}", "title": f"Dijk {n}", "body": "De dijk.",
                                           "menu": "footer", "menu_order": 1}, expect=201)
    clock.advance(minutes=1)
    await admin.post("/api/v1/pages", {"slug": "rare-title", "title": "Kwelder", "body": "Dijk.", "menu": "footer",
                                       "menu_order": 1}, expect=201)
    clock.advance(minutes=1)
    await admin.post("/api/v1/pages", {"slug": "common-title", "title": "Dijk", "body": "Kwelder.", "menu": "footer",
                                       "menu_order": 1}, expect=201)
    hits = (await (await anonymous()).get("/api/v1/search?q=kwelder+dijk+&type=page"))["results"]
    assert [hit["url"] for hit in hits] == ["/pages/rare-title", "/pages/common-title"]
