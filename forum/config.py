"""Settings for one running forum, read once from the environment (and flags) into a frozen Config."""
from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from forum.limits import DEFAULT_LIMITS
from forum.limits import parse as parse_limits


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    site_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "forum@localhost"
    bcrypt_rounds: int = 12
    max_body_bytes: int = 1024 * 1024
    session_days: int = 30
    log_level: str = "INFO"
    reload_templates: bool = False
    page_cache_entries: int = 2000       # visitors' pages kept until the next write; 0 turns it off
    read_cache_entries: int = 1000       # hot reads (threads, group pages) likewise
    reader_page_cache_entries: int = 1000  # a logged-in reader's own pages (per session) likewise
    page_cache_bytes: int = 64 * 1024 * 1024  # and each of those two holds at most this many bytes
    events_keep_days: int = 7            # the live log reaches back at least this far...
    events_keep_count: int = 100_000     # ...or at least this many events, whichever keeps more
    notify_mail_minutes: int = 10        # an unseen notification is mailed after this (setting "batched")
    fragment_cache_bytes: int = 32 * 1024 * 1024  # rendered posts and thread rows kept, counted in bytes
    upload_max_bytes: int = 20 * 1024 * 1024       # one uploaded document (FORUM_UPLOAD_MAX_MB)
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))  # forum/limits.py
    # several processes on one site: they tell each other of commits, presence and typing over
    # Redis (forum/live/bus.py) and share the rate limits there; unset, one process does it all
    redis_url: str | None = None
    # the store: unset, SQLite in the data directory; postgresql://… for PostgreSQL (forum/postgres.py)
    database_url: str | None = None
    # the reverse proxies in front: only a request arriving from one of these may say, in
    # X-Forwarded-For / Forwarded and X-Forwarded-Proto, who the client is (forum/web/proxies.py)
    trusted_proxies: tuple = ()
    proxy_header: str = "x-forwarded-for"  # or "forwarded" (RFC 7239): the one the proxy writes
    bus_poll_seconds: float = 1.0  # with Redis: how often each process also reads the commit count
    # on SIGTERM, requests in flight get this long to finish before the process ends anyway
    shutdown_seconds: float = 10.0
    # who may read /metrics (Prometheus): addresses or networks; loopback unless told
    metrics_allow: tuple = field(default_factory=lambda: parse_networks("127.0.0.0/8 ::1", "FORUM_METRICS_ALLOW"))
    log_format: str = "text"  # or "json": one object per line, for a log collector
    extra: dict = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "forum.sqlite3"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def secure_cookies(self) -> bool:
        return self.site_url.startswith("https://")

    def with_secret(self) -> "Config":
        """Return a copy with a secret key: the configured one, or one generated once and kept
        in the data directory so sessions and signed links survive restarts. Processes started
        together (--workers) all end up with the one key: it is written whole to a file of its
        own and linked into place, so nobody reads it half written, and whoever comes second
        reads the first one's."""
        if self.secret_key:
            return self
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # only its owner may look inside
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            partial = self.data_dir / f"secret_key.{os.getpid()}.{secrets.token_hex(4)}"
            # created 0600, never readable by others even for a moment
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(partial, key_file)
            except FileExistsError:
                pass
            finally:
                os.unlink(partial)
        key = key_file.read_text().strip()
        if len(key) < 32:
            raise ValueError(f"{key_file} holds no usable secret key (remove it to have one made)")
        return replace(self, secret_key=key)


def parse_networks(raw: str, name: str = "FORUM_TRUSTED_PROXIES") -> tuple:
    """Addresses or networks, separated by commas or spaces (FORUM_TRUSTED_PROXIES, FORUM_METRICS_ALLOW)."""
    networks = []
    for part in raw.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{name}: {part!r} is not an address or a network (e.g. 10.0.0.0/8)") from None
    return tuple(networks)


def parse_proxy_header(raw: str) -> str:
    value = raw.strip().lower()
    if value not in ("x-forwarded-for", "forwarded"):
        raise ValueError(f"FORUM_PROXY_HEADER must be x-forwarded-for or forwarded, not {raw!r}")
    return value


def parse_redis_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"FORUM_REDIS_URL must start with redis://, rediss:// or unix://, not {raw.split(':', 1)[0]!r}")
    return raw


def parse_database_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"FORUM_DATABASE_URL must start with postgresql://, not {raw.split(':', 1)[0]!r}")
    return raw


def parse_log_format(raw: str) -> str:
    value = raw.strip().lower() or "text"
    if value not in ("text", "json"):
        raise ValueError(f"FORUM_LOG_FORMAT must be text or json, not {raw!r}")
    return value


def parse_shutdown_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"FORUM_SHUTDOWN_SECONDS must be a number of seconds, not {raw!r}") from None
    if not 0 <= seconds <= 600:
        raise ValueError(f"FORUM_SHUTDOWN_SECONDS must be between 0 and 600, not {raw!r}")
    return seconds


def from_env(env: dict[str, str] | None = None, **overrides) -> Config:
    env = os.environ if env is None else env
    overrides = {k: v for k, v in overrides.items() if v is not None}
    # Flags win over the environment, and the default site URL follows the address actually
    # listened on: `--port 9000` must not leave mailed links pointing at :8080.
    host = overrides.get("host", env.get("FORUM_HOST", "127.0.0.1"))
    port = int(overrides.get("port", env.get("FORUM_PORT", "8080")))
    site_url = overrides.pop("site_url", None) or env.get("FORUM_SITE_URL") or f"http://{f'[{host}]' if ':' in host else host}:{port}"
    values = dict(
        host=host,
        port=port,
        data_dir=Path(env.get("FORUM_DATA_DIR", "data")),
        site_url=site_url.rstrip("/"),
        secret_key=env.get("FORUM_SECRET_KEY", ""),
        smtp_host=env.get("FORUM_SMTP_HOST") or None,
        smtp_port=int(env.get("FORUM_SMTP_PORT", "25")),
        smtp_user=env.get("FORUM_SMTP_USER") or None,
        smtp_password=env.get("FORUM_SMTP_PASSWORD") or None,
        mail_from=env.get("FORUM_SMTP_FROM", "forum@localhost"),
        log_level=env.get("FORUM_LOG_LEVEL", "INFO"),
        reload_templates=env.get("FORUM_RELOAD_TEMPLATES", "") == "1",
        page_cache_entries=int(env.get("FORUM_PAGE_CACHE", "2000")),
        read_cache_entries=int(env.get("FORUM_READ_CACHE", "1000")),
        reader_page_cache_entries=int(env.get("FORUM_READER_PAGE_CACHE", "1000")),
        page_cache_bytes=int(float(env.get("FORUM_PAGE_CACHE_MB", "64")) * 1024 * 1024),
        events_keep_days=max(1, int(env.get("FORUM_EVENTS_KEEP_DAYS", "7"))),
        events_keep_count=max(1000, int(env.get("FORUM_EVENTS_KEEP", "100000"))),
        notify_mail_minutes=max(1, int(env.get("FORUM_NOTIFY_MAIL_MINUTES", "10"))),
        fragment_cache_bytes=int(float(env.get("FORUM_FRAGMENT_CACHE_MB", "32")) * 1024 * 1024),
        upload_max_bytes=max(1, int(env.get("FORUM_UPLOAD_MAX_MB", "20"))) * 1024 * 1024,
        limits=parse_limits(env),
        redis_url=parse_redis_url(env.get("FORUM_REDIS_URL", "")),
        database_url=parse_database_url(env.get("FORUM_DATABASE_URL", "")),
        trusted_proxies=parse_networks(env.get("FORUM_TRUSTED_PROXIES", "")),
        proxy_header=parse_proxy_header(env.get("FORUM_PROXY_HEADER", "x-forwarded-for")),
        bus_poll_seconds=min(60.0, max(0.05, float(env.get("FORUM_BUS_POLL_SECONDS", "1")))),
        shutdown_seconds=parse_shutdown_seconds(env.get("FORUM_SHUTDOWN_SECONDS", "10")),
        metrics_allow=parse_networks(env.get("FORUM_METRICS_ALLOW", "127.0.0.0/8 ::1"), "FORUM_METRICS_ALLOW"),
        log_format=parse_log_format(env.get("FORUM_LOG_FORMAT", "text")),
        # Lower only to speed up tests; 12 is the production cost.
        bcrypt_rounds=max(4, min(15, int(env.get("FORUM_BCRYPT_ROUNDS", "12")))),
    )
    values.update(overrides)
    return Config(**values)
