"""The first admin of a fresh site. Nobody becomes admin by registering first: while no admin
exists, the server makes a one-time setup token, prints a link with it at start and keeps it
in the data directory (mode 0600), so only whoever runs the server can finish the set-up.
`run.py create-admin` is the other way in; either one ends the set-up and the token with it.
"""
from __future__ import annotations

import hmac
import logging
import os
from pathlib import Path

from forum.config import Config
from forum.errors import N_, NotFound
from forum.security import new_token
from forum.services import Services, accounts
from forum.store import users as user_store

log = logging.getLogger(__name__)

TOKEN_FILE = "setup_token"


def token_path(config: Config) -> Path:
    return config.data_dir / TOKEN_FILE


def setup_url(config: Config, token: str) -> str:
    return f"{config.site_url}/setup/{token}"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an older file may have been made with a wider mode


async def admin_exists(svc: Services) -> bool:
    async with svc.db.read() as conn:
        return await user_store.count_admins(conn) > 0


async def prepare(svc: Services) -> str | None:
    """At start: the setup link while the site has no admin (the same token across restarts
    until it is used), or None and no token file once it has one."""
    path = token_path(svc.config)
    if await admin_exists(svc):
        path.unlink(missing_ok=True)
        return None
    token = path.read_text().strip() if path.exists() else ""
    if len(token) < 32:
        token = new_token()
        _write_private(path, token)
    link = setup_url(svc.config, token)
    log.warning("This site has no administrator yet. Open this one-time link to create one: %s "
                "(or run `forum create-admin EMAIL`). The token is also in %s.", link, path)
    return link


def token_matches(config: Config, given: str) -> bool:
    path = token_path(config)
    try:
        expected = path.read_text().strip()
    except OSError:
        return False
    return len(expected) >= 32 and hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


async def check_token(svc: Services, token: str) -> None:
    """NotFound unless the site still waits for its first admin and the token is the one."""
    if not token_matches(svc.config, token) or await admin_exists(svc):
        raise NotFound(N_("Deze link is verlopen of al gebruikt."))


async def create_first_admin(svc: Services, token: str, *, email: str, password: str, display_name: str,
                             locale: str = "nl"):
    """Finish the set-up with the token: the account becomes admin with a confirmed address,
    and the token is gone."""
    await check_token(svc, token)
    user, _ = await accounts.create_admin(svc, email=email, password=password, display_name=display_name,
                                          only_if_none=True, locale=locale)
    finished(svc.config)
    return user


def finished(config: Config) -> None:
    """Called once an admin exists, whichever way it was made."""
    token_path(config).unlink(missing_ok=True)
