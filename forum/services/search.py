"""Search: one query over everything the viewer may read (threads, posts, news, the site's
pages, groups, people).

Words are normalised here, in Python, at index and at query time alike: accents and case go
(NFKD, combining marks dropped, casefold: "Fryslân" is "fryslan") and Dutch word forms meet
in their Snowball stem ("gemeenten" and "gemeente"). A user's query never reaches FTS5 as
syntax: it is cut into words and quoted phrases, and the MATCH expression is built from those,
each quoted. Snippets are escaped before the <mark> tags go in. The index changes in the
transaction that changes the content: services call forum/services/search_index.py's
index_* with their transaction.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Mapping

from markupsafe import escape

from forum import policy
from forum.errors import Invalid, N_
from forum.policy import Actor
from forum.security import sign, signature_matches
from forum.services import Services, search_index
from forum.services.checks import FieldErrors, handle_field, plain_id
from forum.services.search_index import KINDS, WORD_MARK, stem, words
from forum.store import search as store
from forum.store import users as user_store

log = logging.getLogger(__name__)

SORTS = ("relevance", "date")
MAX_QUERY = 500
# what one search may ask of bm25: its cost grows with every word and every phrase position,
# and a query of 240 repeated words over long posts took seconds (found in review)
MAX_TERMS = 10
SNIPPET_SCAN = 2000  # words read looking for the first hit of a snippet
MAX_PHRASE = 6
PAGE_SIZE = 20
SNIPPET_WORDS = 30


# --- searching ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    q: str
    match: str                 # the FTS5 expression, built here from quoted words
    exact: str                 # the same without the unfinished last word as a prefix
    stems: frozenset[str]      # stems to highlight
    prefix: str | None         # the last word as typed so far (folded), if it may be unfinished
    kind: str | None
    group_id: int | None
    author_id: int | None
    since: date | None
    until: date | None
    sort: str
    cursor: str
    author: str | None = None  # a person's handle, for author_id (the search page's field)

    def fingerprint(self) -> str:
        return json.dumps([self.q, self.kind, self.group_id, self.author_id, str(self.since), str(self.until),
                           self.sort])


# a prefix is looked up by merging every indexed word it starts: from four letters on these
# are few (the index keeps no separate prefix index, which tripled what each post writes)
MIN_PREFIX = 4


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'  # words hold no quotes; doubled anyway


def _build_match(q: str) -> tuple[str, str, frozenset[str], str | None, int, int]:
    """(MATCH expression, the same with whole words only, stems, unfinished last word, number of
    words, words in the longest phrase). Text between double quotes is a phrase; an unclosed
    quote counts as plain words; everything else FTS5 would read as syntax (*, -, :, ^,
    parentheses, NEAR, AND/OR/NOT) is only ever a quoted word here. A word asked for twice is
    asked for once. No column filter: the `words` column's forms are marked, so a stem is
    found in titles and bodies only, and a filter makes bm25() read each word's whole list
    position by position (+30% at a million posts)."""
    parts, all_stems, prefix, terms, longest = [], set(), None, 0, 0
    seen: set[str] = set()
    chunks = q.split('"')
    closed = len(chunks) % 2 == 1
    for index, chunk in enumerate(chunks):
        is_phrase = index % 2 == 1 and (closed or index < len(chunks) - 1)
        tokens = words(chunk)
        if not tokens:
            continue
        if is_phrase:
            phrase = [stem(token) for token in tokens]
            all_stems.update(phrase)
            key = '"' + " ".join(phrase)
            if key not in seen:
                seen.add(key)
                parts.append(_quoted(" ".join(phrase)))
                terms += len(phrase)
                longest = max(longest, len(phrase))
            prefix = None
            continue
        last_added = False
        for token in tokens:
            stemmed = stem(token)
            all_stems.add(stemmed)
            last_added = stemmed not in seen
            if last_added:
                seen.add(stemmed)
                parts.append(_quoted(stemmed))
                terms += 1
        last = tokens[-1]
        # the query ends in this word (no space after it): it may still be being typed
        prefix = last if (last_added and len(last) >= MIN_PREFIX and index == len(chunks) - 1
                          and not chunk[-1:].isspace()) else None
    exact = " AND ".join(parts)
    if prefix is not None:
        # a prefix reaches the stems and the forms that differ from them (marked, in `words`)
        parts[-1] = f"({parts[-1]} OR {_quoted(prefix)} * OR {_quoted(WORD_MARK + prefix)} *)"
    return " AND ".join(parts), exact, frozenset(all_stems), prefix, terms, longest


def _date(errors: FieldErrors, name: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        day = date.fromisoformat(raw)
        if day == date.max:  # the day after it, where a range ends, does not exist
            raise ValueError
        return day
    except ValueError:
        errors.add(name, N_("Geef een datum als JJJJ-MM-DD."))
        return None


def _id(errors: FieldErrors, name: str, raw: str) -> int | None:
    if not raw:
        return None
    value = plain_id(raw)
    if value is None:
        errors.add(name, N_("Verwacht een geheel getal."))
    return value


def parse(params: Mapping[str, str]) -> Query:
    """The search parameters of a URL, checked; Invalid (422) names each field that is wrong."""
    errors = FieldErrors()
    raw = params.get("q", "")
    q = raw.strip()
    match, exact, found, prefix, terms, longest = "", "", frozenset(), None, 0, 0
    if not q:
        errors.add("q", N_("Geef een zoekterm op."))
    elif len(q) > MAX_QUERY:
        errors.add("q", N_("Dit is te lang (hoogstens %(max)d tekens)."), max=MAX_QUERY)
    else:
        match, exact, found, prefix, terms, longest = _build_match(raw)  # unstripped: a trailing space ends the last word
        if not terms:
            errors.add("q", N_("Geef minstens één woord op."))
        elif terms > MAX_TERMS:
            errors.add("q", N_("Gebruik hoogstens %(max)d woorden."), max=MAX_TERMS)
        elif longest > MAX_PHRASE:
            errors.add("q", N_("Een zin tussen aanhalingstekens heeft hoogstens %(max)d woorden."), max=MAX_PHRASE)
    author = handle_field(errors, "author", params["author"]) if params.get("author", "").strip() else ""
    kind = params.get("type", "") or None
    if kind is not None and kind not in KINDS:
        errors.add("type", N_("Kies een van de soorten."))
    sort = params.get("sort", "") or "relevance"
    if sort not in SORTS:
        errors.add("sort", N_("Sorteer op relevantie of datum."))
    since, until = _date(errors, "from", params.get("from", "")), _date(errors, "to", params.get("to", ""))
    if since and until and until < since:
        errors.add("to", N_("De einddatum ligt voor de begindatum."))
    query = Query(q=q, match=match, exact=exact, stems=found, prefix=prefix, kind=kind,
                  group_id=_id(errors, "group_id", params.get("group_id", "")),
                  author_id=_id(errors, "author_id", params.get("author_id", "")),
                  since=since, until=until, sort=sort, cursor=params.get("cursor", ""), author=author or None)
    errors.raise_if_any()
    return query


MAX_OFFSET = store.CANDIDATES  # relevance pages reach as far as the candidates ranked


def _encode_cursor(secret: str, viewer: str, query: Query, key: list) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    return f"{payload}.{sign(secret, 'search', viewer, query.fingerprint(), payload)[:32]}"


def _decode_cursor(secret: str, viewer: str, query: Query) -> tuple[int, bool] | None:
    """Where the page before ended, from a cursor this server signed for this same query and
    this same viewer (someone else's cursor would tell where *their* results ended). By date
    it is the last hit's id (ordered by date); by relevance only an offset, since bm25 scores are
    computed over the whole index and would tell how often a word occurs where the viewer may
    not read. With it: whether the pages match the last word as a prefix."""
    if not query.cursor:
        return None
    payload, _, signature = query.cursor.partition(".")
    errors = FieldErrors()
    try:
        if len(query.cursor) > 400 or not signature_matches(
                sign(secret, "search", viewer, query.fingerprint(), payload)[:32], signature):
            raise ValueError
        key = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        if not isinstance(key, list) or len(key) != 2 or type(key[0]) is not int or not 0 <= key[0] < 2**63 \
                or type(key[1]) is not bool:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        errors.add("cursor", N_("Ongeldige paginaverwijzing."))
        errors.raise_if_any()
    return key[0], key[1]


def _normal(word: str) -> tuple[str, str]:
    """(folded, stem) of a word as written."""
    folded = "".join(words(word))
    return folded, stem(folded)


# Snippets meet the same words over and over (every search writes twenty), and folding and
# stemming each anew was most of their cost. Only words of ordinary length are kept: a post
# may be one word of 50,000 characters, and 50,000 of those would be gigabytes (found in review).
_normal_kept = functools.lru_cache(maxsize=50_000)(_normal)
CACHED_WORD = 40


_WORDS = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


def snippet_html(text: str, query: Query, limit: int = SNIPPET_WORDS) -> str:
    """A stretch of `text` around its first match: every piece of the user's text escaped first,
    then the matched words wrapped in <mark>. Never FTS5's own snippet(), which does not escape."""
    stems, prefix = query.stems, query.prefix

    def hit(word: str) -> bool:
        folded, stemmed = _normal_kept(word) if len(word) <= CACHED_WORD else _normal(word)
        return stemmed in stems or (prefix is not None and folded.startswith(prefix))

    # read words only as far as the window around the first hit needs (a post may hold 50,000
    # characters, and this runs on the event loop); no hit in the first SNIPPET_SCAN: the start
    spans, first, stop = [], None, SNIPPET_SCAN
    for m in _WORDS.finditer(text):
        spans.append(m)
        if first is None and hit(m.group()):
            first = len(spans) - 1
            stop = max(0, first - limit // 3) + limit
        if len(spans) >= stop:
            break
    if not spans:
        return str(escape(text[:200]))
    first = first or 0
    start = max(0, first - limit // 3)
    chosen = spans[start:start + limit]
    begin, end = chosen[0].start() if start else 0, chosen[-1].end()
    out, position = ["…" if start else ""], begin
    for m in chosen:
        word = m.group()
        if hit(word):
            out += [str(escape(text[position:m.start()])), "<mark>", str(escape(word)), "</mark>"]
            position = m.end()
    out.append(str(escape(text[position:end])))
    if end < len(text.rstrip()):
        out.append("…")
    return _SPACE.sub(" ", "".join(out)).strip()


def _url(row) -> str:
    kind, object_id = row["kind"], row["object_id"]
    if kind == "post":  # a comment on a news item or an event is read on its page
        if row["news_id"] is not None:
            return f"/news/{row['news_id']}?post={object_id}#post-{object_id}"
        if row["event_id"] is not None:
            return f"/events/{row['event_id']}?post={object_id}#post-{object_id}"
        return f"/threads/{row['thread_id']}?post={object_id}#post-{object_id}"  # the page that holds it
    if kind == "page":
        return f"/pages/{row['slug']}"
    return {"thread": "/threads/", "group": "/groups/", "user": "/users/", "news": "/news/",
            "event": "/events/", "document": "/documents/"}[kind] + str(object_id)


# what Markdown writes around words ("**samenwerking**", "[tekst](url)", "# Kop"): a snippet
# shows the words, not the marks (newcomer review)
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_MARKS = re.compile(r"(?m)[*_`~]{1,3}|^\s{0,3}(?:#{1,6}|>)\s*")


def plain_text(markdown: str) -> str:
    return _MARKDOWN_MARKS.sub("", _MARKDOWN_LINK.sub(r"\1", markdown))


def result_out(row, query: Query) -> dict:
    # the groups that hold site news's comments have no page of their own: no group to show
    shown_group = row["group_id"] is not None and row["group_kind"] != "site"
    return {
        "type": row["kind"], "id": row["object_id"], "title": row["title"],
        "snippet_html": snippet_html(plain_text(row["text"]) or row["title"], query), "url": _url(row),
        "group": {"id": row["group_id"], "name": row["group_name"]} if shown_group else None,
        "author": {"id": row["author_id"], "display_name": row["author_name"]}
        if row["author_id"] is not None else None,
        "created_at": row["created_at"],
        **({"starts_at": row["event_starts_at"]} if row["kind"] == "event" else {}),
    }


async def search(svc: Services, actor: Actor, params: Mapping[str, str]) -> tuple[Query, list[dict], str | None]:
    """(the checked query, one page of results, cursor of the next page or None)."""
    query = parse(params)
    if query.author is not None:  # a name typed in the form wins over an id left in the URL
        async with svc.db.read() as conn:
            author_id = await user_store.handle_owner(conn, query.author)
            author = await user_store.by_id(conn, author_id) if author_id is not None else None
        # a handle names someone only when their profile is there for this viewer: a pending or
        # suspended account is not confirmed to exist (attacker review)
        if author is None or not policy.profile_exists_for(actor, author):
            if actor.active:
                raise Invalid(fields={"author": N_("Niemand heeft deze gebruikersnaam.")})
            author_id = 0  # a visitor learns no one's existence here: nothing found, as for a handle that wrote nothing
        query = replace(query, author_id=author_id)
    viewer = str(actor.user_id if actor.active else "")
    cursor = _decode_cursor(svc.config.secret_key, viewer, query)
    after, widened = cursor if cursor else (None, False)
    if after is not None and query.sort != "date" and not 0 < after <= MAX_OFFSET:
        raise Invalid(fields={"cursor": N_("Ongeldige paginaverwijzing.")})

    if svc.search_queued:  # posts committed before this search are found by it
        try:  # one batch at most: a longer queue is the scheduler's
            await search_index.index_queued(svc, batches=1)
        except Exception:  # the search still answers; the scheduler writes the entries later
            log.exception("could not write the queued index entries before a search")
    filters = dict(
        readable=policy.readable_groups_sql(actor, "g"), visible=policy.visible_groups_sql(actor, "g"),
        # only what is published and not withdrawn, for its editors too: a draft is not a find
        news=policy.readable_news_sql(actor, "n", "g", shown_only=True),
        events=policy.readable_events_sql(actor, "e", "g"),
        documents=policy.readable_documents_sql(actor, "doc", "g"), people=policy.findable_people_sql(actor, "pu"),
        kind=query.kind,
        group_id=query.group_id, author_id=query.author_id,
        since=query.since.isoformat() if query.since else None,
        until=(query.until + timedelta(days=1)).isoformat() if query.until else None,
        # where a long document's snippet is cut from: its longest (most telling) stem
        near=max(query.stems, key=len, default="") or "\x00")

    async def page(match: str):
        if query.kind:  # FTS5 reads only entries of that kind (search_index.KIND_MARK)
            match = f'({match}) AND "{search_index.kind_token(query.kind)}"'
        async with svc.db.read(least_busy=True) as conn:
            if query.sort == "date":
                return await store.newest(conn, match, before=after, limit=PAGE_SIZE + 1, **filters)
            return await store.ranked(conn, match, offset=after or 0, limit=PAGE_SIZE + 1, **filters)

    # The unfinished last word as a prefix widens a search that whole words leave short of a
    # page (typing "investe" finds "investering"); a prefix costs FTS5 a merge of every word
    # it starts, so a search that whole words fill does without. Its pages keep the choice.
    if widened or cursor is None and query.prefix is None:
        rows = await page(query.match)
    else:
        rows = await page(query.exact)
        if cursor is None and len(rows) <= PAGE_SIZE:
            rows, widened = await page(query.match), True
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        last = rows[PAGE_SIZE - 1]
        key = [last["doc_id"] if query.sort == "date" else (after or 0) + PAGE_SIZE, widened]
        if query.sort == "date" or key[0] <= MAX_OFFSET:
            next_cursor = _encode_cursor(svc.config.secret_key, viewer, query, key)
    return query, [result_out(row, query) for row in rows[:PAGE_SIZE]], next_cursor
