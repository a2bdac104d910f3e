"""Upkeep done once at start, for data made by earlier versions: handles for accounts made
before handles existed, and posts stored while other sites' images were still embedded."""
from __future__ import annotations

from forum.markdown import render_markdown
from forum.services import Services
from forum.services.accounts import free_handle
from forum.store import threads as thread_store
from forum.store import users as user_store


async def give_handles(svc: Services) -> None:
    """Accounts made before handles existed get one derived from their name (run at start)."""
    async with svc.db.write() as tx:
        for user in await user_store.without_handle(tx):
            await user_store.set_handle(tx, user["id"], await free_handle(tx, user["display_name"]))


async def rerender_stored_images(svc: Services) -> int:
    """Once, at start: posts (and revisions) stored while other sites' images were embedded are
    rendered again, so those images become links as in new posts (the CSP would otherwise show
    them broken). A site setting records that it was done. Returns how many rows changed."""
    async with svc.db.read() as conn:
        if (await user_store.settings(conn)).get("images_rerendered") == "1":
            return 0
    changed = 0
    for table in ("posts", "post_revisions"):
        after = 0
        while True:
            async with svc.db.read() as conn:
                rows = await thread_store.bodies_with_images(conn, table, after)
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
        await user_store.set_setting(tx, "images_rerendered", "1")
    return changed
