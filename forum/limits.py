"""Rate limits: how often one account or one address may try something, per sliding window.
Each is set from the environment as FORUM_LIMIT_<NAME>=COUNT/SECONDS or `off`; a whole
municipality often reaches the site from one address, so the per-address limits are wide.
One process counts in its memory (RateLimiter); several processes count together in Redis
(RedisRateLimiter), or N processes would allow N times the limit."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import re
import secrets
import time
from collections import deque
from typing import Callable

from forum.errors import N_, ServiceError

log = logging.getLogger(__name__)

DEFAULT_LIMITS: dict[str, tuple[int, int] | None] = {
    "LOGIN": (10, 300),            # failed logins per account and address per 5 minutes
    "LOGIN_ADDRESS": (100, 300),   # failed logins per address per 5 minutes
    "REGISTER": (20, 3600),        # new accounts per address per hour
    "POST": (30, 60),              # posts and threads per account per minute
    "POST_NEW": (5, 60),           # the same for accounts younger than a day
    "REPORT": (10, 3600),          # reports per account per hour
    "MENTION": (50, 3600),         # people mentioned per account per hour
    "MAIL_TO": (5, 3600),          # reset, confirmation and invitation mails per receiving address per hour
    "MAIL_FROM": (30, 3600),       # the same mails asked for by one account or address per hour
    "PICTURE": (20, 3600),         # profile photos, groups' icons and banners cut per account per hour
}
ALL_OFF: dict[str, tuple[int, int] | None] = {name: None for name in DEFAULT_LIMITS}


class TooManyRequests(ServiceError):
    status, code = 429, "rate_limited"
    default_message = N_("Te veel pogingen. Probeer het over %(seconds)d seconden opnieuw.")

    def __init__(self, retry_after: int):
        super().__init__(seconds=retry_after)
        self.retry_after = retry_after


_DIGITS = re.compile(r"[0-9]{1,12}")


def parse(env: dict[str, str]) -> dict[str, tuple[int, int] | None]:
    """FORUM_LIMIT_<NAME>=COUNT/SECONDS or off, over the defaults. A malformed value stops the
    start: a limit silently ignored would be worse. Every malformed one is named, a line each."""
    limits = dict(DEFAULT_LIMITS)
    problems = []
    for name in DEFAULT_LIMITS:
        raw = env.get(f"FORUM_LIMIT_{name}")
        if raw is None:
            continue
        if raw.strip().lower() == "off":
            limits[name] = None
            continue
        count, _, seconds = raw.partition("/")
        # ASCII digits, not str.isdigit's ("²" is one, and int() refuses it), and not thousands of them
        if not (_DIGITS.fullmatch(count.strip()) and _DIGITS.fullmatch(seconds.strip())
                and int(count) > 0 and int(seconds) > 0):
            problems.append(f"FORUM_LIMIT_{name} must be COUNT/SECONDS (such as 10/300) or off, not {raw!r}")
            continue
        limits[name] = (int(count), int(seconds))
    if problems:
        raise ValueError("\n".join(problems))
    return limits


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, int] | None], clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self.refused: dict[str, int] = {}  # attempts refused, by limit name (/metrics)

    async def refund(self, name: str, key: object) -> None:
        """Take back the newest attempt counted for key: for limits meant to count only failures
        (logins), which count every attempt first so parallel ones cannot slip past."""
        stamps = self._hits.get((name, str(key)))
        if stamps:
            stamps.pop()

    async def hit(self, name: str, key: object, cost: int = 1) -> None:
        """Count `cost` attempts for key under the named limit; raise TooManyRequests (with the
        seconds until one is free again) when that would go over. Refused attempts do not count."""
        limit = self.limits.get(name)
        if limit is None or cost <= 0:
            return
        count, seconds = limit
        now = self.clock()
        stamps = self._hits.setdefault((name, str(key)), deque())
        while stamps and stamps[0] <= now - seconds:
            stamps.popleft()
        if len(stamps) + cost > count:
            self.refused[name] = self.refused.get(name, 0) + 1
            oldest = stamps[max(0, len(stamps) + cost - count - 1)] if stamps else now
            raise TooManyRequests(max(1, math.ceil(oldest + seconds - now)))
        stamps.extend([now] * cost)
        if len(self._hits) > 100_000:  # forget idle keys rather than grow without end
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 3600}


# One sliding window per key, as a sorted set of attempt stamps (ms, Redis's own clock so every
# process counts on one): drop what fell out of the window; refuse (answering the ms until the
# attempt that must expire first does) or add `cost` stamps. One script, so two processes
# checking at once cannot both slip under the limit.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window, count, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
if n + cost > count then
  local first = redis.call('ZRANGE', KEYS[1], math.max(0, n + cost - count - 1), math.max(0, n + cost - count - 1), 'WITHSCORES')
  local oldest = now
  if first[2] then oldest = tonumber(first[2]) end
  return math.max(1, oldest + window - now)
end
for i = 1, cost do redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i) end
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""


REDIS_SECONDS = 0.25
# after Redis failed to answer, this process counts alone this long before asking Redis again:
# a Redis that hangs then costs one wait of REDIS_SECONDS per pause, not one per request
REDIS_PAUSE_SECONDS = 5.0


class RedisRateLimiter:
    """The same limits, counted in Redis for every process of the site. Redis holds no e-mail
    or IP address, not even recoverably. If Redis cannot be reached, this process counts alone
    meanwhile (RateLimiter): looser by the number of processes, never open. Keys are HMACs
    with the site's secret."""

    def __init__(self, limits: dict[str, tuple[int, int] | None], redis_url: str, prefix: str, secret: str,
                 timeout: float = REDIS_SECONDS):
        import redis.asyncio as redis  # only sites with several processes need the package loaded

        self.limits = limits
        self.prefix = prefix
        self._secret = hashlib.sha256(("limits:" + secret).encode()).digest()
        # short, and then a pause (REDIS_PAUSE_SECONDS): a count is often taken inside a write
        # transaction, which holds the site's one write lock meanwhile; a Redis that hangs must
        # not stall every write (attacker review)
        self._timeout = timeout
        self._redis = redis.from_url(redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._hit = self._redis.register_script(_HIT)
        self._local = RateLimiter(limits)
        self.refused = self._local.refused  # counted alone or in Redis, refused here either way
        self._asleep_until = 0.0  # time.monotonic(): Redis failed; until then this process counts alone

    def _redis_failed(self, name: str, error: Exception) -> None:
        if time.monotonic() >= self._asleep_until:
            log.warning("rate limits counted in this process only for %ss (Redis, counting %s: %s)",
                        REDIS_PAUSE_SECONDS, name, error)
        self._asleep_until = time.monotonic() + REDIS_PAUSE_SECONDS
        self._local.limits = self.limits

    def _key(self, name: str, key: object) -> str:
        # keyed with the site's secret: a plain hash of an address or e-mail is undone by hashing guesses
        return f"{self.prefix}:limit:{name}:" + hmac.new(self._secret, str(key).encode(), "sha256").hexdigest()[:32]

    async def hit(self, name: str, key: object, cost: int = 1) -> None:
        limit = self.limits.get(name)
        if limit is None or cost <= 0:
            return
        count, seconds = limit
        if time.monotonic() < self._asleep_until:
            await self._local.hit(name, key, cost)
            return
        try:
            async with asyncio.timeout(self._timeout):
                wait_ms = int(await self._hit(keys=[self._key(name, key)],
                                              args=[seconds * 1000, count, cost, secrets.token_hex(6)]))
        except Exception as error:
            self._redis_failed(name, error)
            await self._local.hit(name, key, cost)
            return
        if wait_ms:
            self.refused[name] = self.refused.get(name, 0) + 1
            raise TooManyRequests(max(1, math.ceil(wait_ms / 1000)))

    async def refund(self, name: str, key: object) -> None:
        if self.limits.get(name) is None:
            return
        if time.monotonic() < self._asleep_until:
            await self._local.refund(name, key)
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.zpopmax(self._key(name, key))
        except Exception as error:
            self._redis_failed(name, error)
            await self._local.refund(name, key)

    async def close(self) -> None:
        await self._redis.aclose()
