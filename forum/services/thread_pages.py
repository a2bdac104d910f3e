"""A thread a page at a time: which of a thread's posts one page shows, in the tree or in time
order, the page that holds a given post, and the API's cursor. A long thread is never loaded
whole (issue 14: a 10,000-post thread's page within 1.5x of a short one's)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from forum import policy
from forum.errors import BadRequest, N_, NotFound
from forum.policy import Action, Actor
from forum.services import Services
from forum.services.discussions import get_thread
from forum.store import threads as store

# A long thread is never loaded whole. The tree shows ROOTS_PER_PAGE posts that answer the
# discussion itself and as many of their replies (in tree order) as fit in PAGE_POSTS, shared
# out evenly, each root's rest behind a link to a page of its replies: at most 15 answers on a
# page would leave room for only 5 replies in all (a newcomer found most of a thread hidden).
# A short thread fits on one page whole. A root's replies, and the thread in time order, come
# POSTS_PER_PAGE at a time.
ROOTS_PER_PAGE = 10
PAGE_POSTS = 25
POSTS_PER_PAGE = 20
TREE, CHRONOLOGICAL = "tree", "chronological"


def replies_shown(counts: list[int], room: int) -> list[int]:
    """How many replies each root shows: the same for all (the most that fits in `room`), and
    what is left over one more each for the first roots that have more."""
    cap = 0
    while cap < room and sum(min(n, cap + 1) for n in counts) <= room:
        cap += 1
    shown = [min(n, cap) for n in counts]
    left = room - sum(shown)
    for i, n in enumerate(counts):
        if left and n > shown[i]:
            shown[i], left = shown[i] + 1, left - 1
    return shown


@dataclass(frozen=True)
class PostsPage:
    """One page of a thread's posts, the same for every reader (what a reader may do with
    each is decided per request)."""
    posts: list                   # in reading order: tree order, or time order
    number: int                   # 1-based
    count: int                    # pages in this view (at least 1)
    view: str = TREE
    under: object | None = None   # the post whose replies this page lists (a root's "more")
    more: dict = field(default_factory=dict)  # root id -> (replies not shown, the first of them)
    parents: dict = field(default_factory=dict)  # id -> a post named by one here but shown elsewhere
    opening_id: int | None = None  # the thread's first post (a discussion's opening post)

    @property
    def last(self) -> bool:
        return self.number >= self.count


def _pages(items: int, size: int) -> int:
    return max(1, -(-items // size))


async def _load_page(conn, thread_id: int, view: str, number: int, under) -> PostsPage | None:
    if view == CHRONOLOGICAL:
        count = _pages(await store.post_count(conn, thread_id), POSTS_PER_PAGE)
        if number > count:
            return None
        posts = await store.posts_in_time_order(conn, thread_id, (number - 1) * POSTS_PER_PAGE, POSTS_PER_PAGE)
        page = PostsPage(posts, number, count, view)
    elif under is not None:
        replies = (await store.replies_under(conn, thread_id, [under["tree_path"]]))[under["tree_path"]]
        count = _pages(replies, POSTS_PER_PAGE)
        if number > count:
            return None
        posts = await store.posts_under(conn, thread_id, under["tree_path"], (number - 1) * POSTS_PER_PAGE,
                                        POSTS_PER_PAGE)
        page = PostsPage(([under] if number == 1 else []) + posts, number, count, view, under)
    else:
        count = _pages(await store.root_count(conn, thread_id), ROOTS_PER_PAGE)
        if number > count:
            return None
        roots = await store.roots(conn, thread_id, (number - 1) * ROOTS_PER_PAGE, ROOTS_PER_PAGE)
        room = max(0, PAGE_POSTS - len(roots))
        # places only (one more than can be shown says whether a root has more), words only
        # for the replies shown
        places = await store.first_places(conn, thread_id, [r["tree_path"] for r in roots if r["tree_path"]], room + 1)
        by_root: dict[int, list] = {r["id"]: [] for r in roots}
        for place in places:
            by_root[int(place["tree_path"][:store.PLACE_DIGITS], 16)].append(place)  # under a root asked for
        shown = dict(zip(by_root, replies_shown([len(rows) for rows in by_root.values()], room)))
        cut = [r for r in roots if len(by_root[r["id"]]) > shown[r["id"]]]
        totals = await store.replies_under(conn, thread_id, [r["tree_path"] for r in cut])
        more = {r["id"]: (totals[r["tree_path"]] - shown[r["id"]], by_root[r["id"]][shown[r["id"]]]["id"]) for r in cut}
        replies = await store.posts_by_id(conn, [p["id"] for root_id, rows in by_root.items() for p in rows[:shown[root_id]]])
        posts = sorted([*roots, *replies], key=lambda row: row["tree_path"])
        page = PostsPage(posts, number, count, view, None, more)
    page = replace(page, opening_id=await store.first_post_id(conn, thread_id))
    shown = {post["id"] for post in page.posts}
    named = sorted({post["parent_id"] for post in page.posts if post["parent_id"] and post["parent_id"] not in shown})
    if named:
        page.parents.update({row["id"]: row for row in await store.posts_by_id(conn, named)})
    return page


async def thread_page(svc: Services, actor: Actor, thread_id: int, *, view: str = TREE, number: int = 1,
                      under_id: int | None = None, post_id: int | None = None):
    """(thread, page, event id) for a reader: the page `number` of a view, the replies under a
    root, or (post_id) the page that holds a post. A page, root or post that is not there
    answers 404, as an unknown thread does."""
    async def place(conn):
        post = await store.get_post(conn, post_id)
        if post is None or post["thread_id"] != thread_id:
            return None
        if view == CHRONOLOGICAL:
            return 1 + await store.posts_before(conn, thread_id, post_id) // POSTS_PER_PAGE, None
        place = post["tree_path"] or store.tree_place(post_id, None)  # (a row written by hand has none)
        root_id = int(place[:store.PLACE_DIGITS], 16)
        number = 1 + await store.roots_before(conn, thread_id, root_id) // ROOTS_PER_PAGE
        if root_id != post_id:
            page = await _load_page(conn, thread_id, TREE, number, None)
            if all(shown["id"] != post_id for shown in page.posts):  # on a page of its root's replies
                rank = await store.places_before(conn, thread_id, place[:store.PLACE_DIGITS], place)
                return 1 + rank // POSTS_PER_PAGE, root_id
        return number, None

    async def load(conn):
        _, last_event_id = await store.event_id_range(conn)  # read first: the data is at least this new
        thread = await store.get_thread(conn, thread_id)
        if thread is None:
            return None, None, last_event_id
        under = None
        if under_id is not None:
            under = await store.get_post(conn, under_id)
            if under is None or under["thread_id"] != thread_id or under["parent_id"] is not None:
                return thread, None, last_event_id
        return thread, await _load_page(conn, thread_id, view, number, under), last_event_id

    if view not in (TREE, CHRONOLOGICAL):
        raise BadRequest(N_("Onbekende weergave."))
    if post_id is not None:
        # the thread's access is checked below before anything of the page is shown
        found = await svc.cached_read(("post_place", thread_id, view, post_id), place, ignoring="library")
        if found is None:
            await get_thread(svc, actor, thread_id)  # one who may not read the thread learns nothing of its posts
            raise NotFound()
        number, under_id = found
    if view == CHRONOLOGICAL:
        under_id = None
    # a post's attachments are links in its words (their list is made from them), never rows of the library
    thread, page, last_event_id = await svc.cached_read(("thread_page", thread_id, view, number, under_id), load,
                                                        ignoring="library")
    policy.require(actor, Action.READ, thread)
    if page is None:
        raise NotFound()
    return thread, page, last_event_id


async def posts_after(svc: Services, actor: Actor, thread_id: int, after_id: int, limit: int):
    """(thread, posts, event id) for the API's cursor: posts in time order after a post id."""
    async def load(conn):
        _, last_event_id = await store.event_id_range(conn)
        thread = await store.get_thread(conn, thread_id)
        return thread, (await store.posts_after(conn, thread_id, after_id, limit) if thread else []), last_event_id

    # not through the read cache: any number is a cursor, and each would keep its own copy of
    # the same posts (the attacker review grew a process by 726 MB in 300 requests)
    async with svc.db.read() as conn:
        thread, posts, last_event_id = await load(conn)
    policy.require(actor, Action.READ, thread)
    return thread, posts, last_event_id
