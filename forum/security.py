"""Passwords and tokens: hashing that never truncates, random tokens stored only as hashes,
and HMAC signatures for CSRF and signed links."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets

import bcrypt

# bcrypt reads at most 72 bytes (bcrypt 5 raises beyond that). Pre-hashing with SHA-256 and
# base64 (44 bytes) lets every password count in full; the prefix names the scheme so it can
# change later without invalidating stored hashes.
SCHEME = "bcrypt-sha256$v1$"
PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024  # far above any real passphrase; bounds the work per login


def _prehash(password: str) -> bytes:
    digest = hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
    return base64.b64encode(digest)


def _hash_sync(password: str, rounds: int) -> str:
    return SCHEME + bcrypt.hashpw(_prehash(password), bcrypt.gensalt(rounds)).decode()


def _verify_sync(password: str, stored: str) -> bool:
    if not stored.startswith(SCHEME):
        return False
    return bcrypt.checkpw(_prehash(password), stored[len(SCHEME):].encode())


async def hash_password(password: str, rounds: int = 12) -> str:
    return await asyncio.to_thread(_hash_sync, password, rounds)


async def verify_password(password: str, stored: str) -> bool:
    return await asyncio.to_thread(_verify_sync, password, stored)


_DUMMY_HASHES: dict[int, str] = {}


async def burn_password_check(password: str, rounds: int) -> None:
    """Spend the time of a real check, so an unknown email answers as slowly as a wrong password."""
    if rounds not in _DUMMY_HASHES:
        _DUMMY_HASHES[rounds] = await hash_password(secrets.token_hex(16), rounds)
    await verify_password(password, _DUMMY_HASHES[rounds])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, *parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    # compare_digest refuses non-ASCII str (a TypeError, so a 500); bytes compare anything
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogateescape"))


def csrf_token_for_session(secret: str, session_hash: str) -> str:
    return sign(secret, "csrf", session_hash)


def csrf_token_for_visitor(secret: str, anon_cookie: str) -> str:
    return sign(secret, "csrf-anon", anon_cookie)
