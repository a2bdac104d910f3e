"""Rate limits: how often one account or one address may try something, per sliding window.
Each is set from the environment as FORUM_LIMIT_<NAME>=COUNT/SECONDS or `off`; a whole
municipality often reaches the site from one address, so the per-address limits are wide.
Counted in this process's memory: with several server processes each keeps its own count
(a shared store would be needed to make them one)."""
from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable

from forum.errors import N_, ServiceError

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


def parse(env: dict[str, str]) -> dict[str, tuple[int, int] | None]:
    """FORUM_LIMIT_<NAME>=COUNT/SECONDS or off, over the defaults. A malformed value stops the
    start: a limit silently ignored would be worse."""
    limits = dict(DEFAULT_LIMITS)
    for name in DEFAULT_LIMITS:
        raw = env.get(f"FORUM_LIMIT_{name}")
        if raw is None:
            continue
        if raw.strip().lower() == "off":
            limits[name] = None
            continue
        count, _, seconds = raw.partition("/")
        if not (count.strip().isdigit() and seconds.strip().isdigit() and int(count) > 0 and int(seconds) > 0):
            raise ValueError(f"FORUM_LIMIT_{name} must be COUNT/SECONDS or off, not {raw!r}")
        limits[name] = (int(count), int(seconds))
    return limits


class RateLimiter:
    def __init__(self, limits: dict[str, tuple[int, int] | None], clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def refund(self, name: str, key: object) -> None:
        """Take back the newest attempt counted for key: for limits meant to count only failures
        (logins), which count every attempt first so parallel ones cannot slip past."""
        stamps = self._hits.get((name, str(key)))
        if stamps:
            stamps.pop()

    def hit(self, name: str, key: object, cost: int = 1) -> None:
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
            oldest = stamps[max(0, len(stamps) + cost - count - 1)] if stamps else now
            raise TooManyRequests(max(1, math.ceil(oldest + seconds - now)))
        stamps.extend([now] * cost)
        if len(self._hits) > 100_000:  # forget idle keys rather than grow without end
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 3600}
