"""Upkeep done once at start, for data made by earlier versions: handles for accounts made
before handles existed, posts rendered by an earlier version of the Markdown rendering, and the
search index for what was written before it existed."""
from __future__ import annotations

from forum.markdown import render_markdown
from forum.services import Services, search_index
from forum.services.accounts import free_handle
from forum.store import threads as thread_store
from forum.store import users as user_store


async def give_handles(svc: Services) -> None:
    """Accounts made before handles existed get one derived from their name (run at start)."""
    async with svc.db.write() as tx:
        for user in await user_store.without_handle(tx):
            await user_store.set_handle(tx, user["id"], await free_handle(tx, user["display_name"]))


RENDER_VERSION = "2"  # 1: other sites' images became links; 2: bare addresses and @mentions became links


async def rerender_stored_posts(svc: Services) -> int:
    """Once per version of the Markdown rendering (RENDER_VERSION), at start: posts and their
    revisions stored by an earlier one are rendered again, so they read as new ones do (other
    sites' images as links, bare addresses and @mentions linked). A site setting records the
    version done. Returns how many rows changed."""
    async with svc.db.read() as conn:
        if (await user_store.settings(conn)).get("posts_rendered_with") == RENDER_VERSION:
            return 0
    changed = 0
    for table in ("posts", "post_revisions"):
        after = 0
        while True:
            async with svc.db.read() as conn:
                rows = await thread_store.bodies_after(conn, table, after)
            if not rows:
                break
            async with svc.db.write() as tx:
                for row in rows:
                    html = render_markdown(row["body"])
                    if html != row["body_html"]:
                        await thread_store.set_body_html(tx, table, row["id"], html)
                        changed += 1
            after = rows[-1]["id"]
    async with svc.db.write() as tx:
        await user_store.set_setting(tx, "posts_rendered_with", RENDER_VERSION)
    return changed


async def index_for_search(svc: Services) -> int:
    """Once, at start: what was written before the search index existed goes into it (its words
    are stemmed in Python, so migration 7 could not). A site setting records that it was done;
    from then on every service keeps the index in its own transaction."""
    async with svc.db.read() as conn:
        if (await user_store.settings(conn)).get("search_indexed") == "1":
            return 0
    written = await search_index.index_existing(svc)
    if written:  # written in batches, it is many segments: fold them before serving searches
        await search_index.merge_index(svc, budget_seconds=120)
    async with svc.db.write() as tx:
        await user_store.set_setting(tx, "search_indexed", "1")
    return written
