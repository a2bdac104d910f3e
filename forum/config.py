"""Settings for one running forum, read once from the environment (and flags) into a frozen Config."""
from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

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


class ConfigError(ValueError):
    """Every problem found in the settings, one line each (forum/cli.py prints them and exits 2)."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _whole(name: str, low: int, high: int | None = None):
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of {low} or more"
            raise ValueError(f"{name} must be a whole number {span}, not {raw!r}")
        return value
    return parse


def _number(name: str, low: float, high: float, unit: str = ""):
    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # NaN is refused here too
            raise ValueError(f"{name} must be a number{unit} from {low:g} to {high:g}, not {raw!r}")
        return value
    return parse


def _choice(name: str, *allowed: str):
    def parse(raw: str) -> str:
        value = raw.strip().upper() if allowed[0].isupper() else raw.strip()
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")
        return value
    return parse


def parse_site_url(raw: str, name: str = "FORUM_SITE_URL") -> str:
    """http(s)://host[:port]: mailed links, feeds and calendars are made from it, and the forum
    is served at the root (its pages link to /threads/…), so a path would make broken links."""
    url = raw.strip().rstrip("/")
    expected = f"{name} must be http://host or https://host (a port may follow), not {raw!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is not a number or out of range)
    except ValueError:
        raise ValueError(expected) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(expected)
    if parts.path or parts.query or parts.fragment:
        raise ValueError(f"{name} must be http(s)://host without a path: the forum is served at the root, not {raw!r}")
    return url


def parse_mail_from(raw: str) -> str:
    address = parseaddr(raw)[1]
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(ch.isspace() for ch in address) or "\n" in raw or "\r" in raw:
        raise ValueError(f"FORUM_SMTP_FROM must be an address, forum@example.nl or Forum <forum@example.nl>, not {raw!r}")
    return raw.strip()


def _host(name: str):
    def parse(raw: str) -> str:
        value = raw.strip()
        if not value or any(ch.isspace() or ch in "/@" for ch in value):
            raise ValueError(f"{name} must be a host name or address (no scheme, no path), not {raw!r}")
        try:
            ipaddress.ip_address(value.strip("[]"))
        except ValueError:
            try:
                value.encode("idna")  # what the resolver will be asked (nonsense..host fails there, at start)
            except UnicodeError:
                raise ValueError(f"{name} must be a host name or address, not {raw!r}") from None
        return value
    return parse


def _flag(name: str):
    def parse(raw: str) -> bool:
        if raw.strip() not in ("", "0", "1"):
            raise ValueError(f"{name} must be 1 or 0, not {raw!r}")
        return raw.strip() == "1"
    return parse


# FORUM_ names read outside from_env: they are settings too, not typos
OTHER_NAMES = frozenset({
    "FORUM_ADMIN_PASSWORD",                                            # forum create-admin
    "FORUM_WORKER", "FORUM_WORKER_READY_FD", "FORUM_WORKER_PARENT",     # --workers tells its workers (forum/workers.py)
    "FORUM_TEST_POSTGRES", "FORUM_BENCH_POSTGRES", "FORUM_SOAK_SECONDS",  # the tests and bench/
})


def known_names() -> frozenset[str]:
    """Every FORUM_ variable this forum reads."""
    read: set[str] = set()

    class Recorder(dict):
        def get(self, name, default=None):
            read.add(name)
            return default
    from_env(Recorder())
    return frozenset(read | OTHER_NAMES)


def unknown_names(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """FORUM_ variables this forum does not read: (problems, warnings). A name that is nearly a
    setting's (FORUM_SMPT_HOST) or a rate limit that does not exist is a problem, as the setting
    meant would silently not take effect (mail kept instead of sent, proxies not believed, a
    limit left at its default). Any other name is only warned about: it may be another program's
    (Kubernetes gives a Service named forum FORUM_SERVICE_HOST and FORUM_PORT_8080_TCP, say)."""
    known = known_names()
    settings = sorted(known - OTHER_NAMES)
    problems, warnings = [], []
    for name in sorted(n for n in env if n.startswith("FORUM_") and n not in known):
        if name.startswith("FORUM_LIMIT_"):
            problems.append(f"{name} is not a rate limit; the limits are FORUM_LIMIT_ and one of "
                            + ", ".join(DEFAULT_LIMITS))
            continue
        # compared without the FORUM_ all share; Kubernetes' names stay below 0.6, typos above 0.7
        near = difflib.get_close_matches(name[6:], [known[6:] for known in settings], n=1, cutoff=0.7)
        if near:
            problems.append(f"{name} is not a setting; did you mean FORUM_{near[0]}?")
        else:
            warnings.append(f"{name} is not a setting of this forum; ignored")
    return problems, warnings


def check_data_dir(data_dir: Path, name: str = "FORUM_DATA_DIR") -> list[str]:
    """The data directory can be used: a writable directory, or one that can be made (the
    nearest existing parent writable). Only looked at, nothing made."""
    path = data_dir.absolute()
    if path.exists():
        if not path.is_dir():
            return [f"{name}: {data_dir} is not a directory"]
        if not os.access(path, os.W_OK | os.X_OK):
            return [f"{name}: {data_dir} is not writable by this user"]
        return []
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return [f"{name}: {data_dir} cannot be made: {parent} is not a directory"]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [f"{name}: {data_dir} does not exist and cannot be made: {parent} is not writable by this user"]
    return []


def from_env(env: dict[str, str] | None = None, **overrides) -> Config:
    """The settings from the environment (and flags, which win). Every value is checked; all the
    problems found are raised together (ConfigError, one line each) rather than the first."""
    env = os.environ if env is None else env
    overrides = {k: v for k, v in overrides.items() if v is not None}
    problems: list[str] = []

    def setting(name: str, default: str, parse):
        raw = env.get(name, default)
        try:
            return parse(raw)
        except ValueError as error:
            problems.append(str(error))
            try:  # on with the default, to find the other problems too
                return parse(default)
            except ValueError:  # a default made from another bad value (the site URL from the host)
                return default

    # Flags win over the environment, and the default site URL follows the address actually
    # listened on: `--port 9000` must not leave mailed links pointing at :8080.
    host = overrides.get("host") or setting("FORUM_HOST", "127.0.0.1", _host("FORUM_HOST"))
    port = setting("FORUM_PORT", "8080", _whole("FORUM_PORT", 1, 65535))
    if "port" in overrides:
        port = overrides["port"]
        if not 1 <= port <= 65535:
            problems.append(f"--port must be a whole number from 1 to 65535, not {port}")
    default_url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    if "site_url" in overrides:
        site_url = overrides.pop("site_url")
        try:
            site_url = parse_site_url(site_url, "--site-url")
        except ValueError as error:
            problems.append(str(error))
    else:
        site_url = setting("FORUM_SITE_URL", default_url, parse_site_url) if env.get("FORUM_SITE_URL") else default_url
    smtp_host = setting("FORUM_SMTP_HOST", "", lambda raw: raw and _host("FORUM_SMTP_HOST")(raw)) or None
    smtp_user = env.get("FORUM_SMTP_USER") or None
    smtp_password = env.get("FORUM_SMTP_PASSWORD") or None
    if bool(smtp_user) != bool(smtp_password):
        problems.append("FORUM_SMTP_USER and FORUM_SMTP_PASSWORD go together: set both, or neither for a server"
                        " that takes mail without logging in")
    if not smtp_host:
        for name in ("FORUM_SMTP_PORT", "FORUM_SMTP_USER", "FORUM_SMTP_PASSWORD"):
            if env.get(name):
                problems.append(f"{name} is set but FORUM_SMTP_HOST is not: without it mail is only kept in the"
                                " outbox, never sent")
    data_dir = overrides.get("data_dir") or Path(setting("FORUM_DATA_DIR", "data", _nonempty("FORUM_DATA_DIR")))
    values = dict(
        host=host,
        port=port,
        data_dir=data_dir,
        site_url=site_url,
        secret_key=env.get("FORUM_SECRET_KEY", ""),
        smtp_host=smtp_host,
        smtp_port=setting("FORUM_SMTP_PORT", "25", _whole("FORUM_SMTP_PORT", 1, 65535)),
        smtp_user=smtp_user,
        smtp_password=smtp_password,
        mail_from=setting("FORUM_SMTP_FROM", "forum@localhost", parse_mail_from),
        log_level=setting("FORUM_LOG_LEVEL", "INFO", _choice("FORUM_LOG_LEVEL", "DEBUG", "INFO", "WARNING", "ERROR",
                                                                  "CRITICAL")),
        reload_templates=setting("FORUM_RELOAD_TEMPLATES", "", _flag("FORUM_RELOAD_TEMPLATES")),
        page_cache_entries=setting("FORUM_PAGE_CACHE", "2000", _whole("FORUM_PAGE_CACHE", 0)),
        read_cache_entries=setting("FORUM_READ_CACHE", "1000", _whole("FORUM_READ_CACHE", 0)),
        reader_page_cache_entries=setting("FORUM_READER_PAGE_CACHE", "1000", _whole("FORUM_READER_PAGE_CACHE", 0)),
        page_cache_bytes=int(setting("FORUM_PAGE_CACHE_MB", "64", _number("FORUM_PAGE_CACHE_MB", 1, 65536, " of megabytes"))
                             * 1024 * 1024),
        events_keep_days=setting("FORUM_EVENTS_KEEP_DAYS", "7", _whole("FORUM_EVENTS_KEEP_DAYS", 1)),
        events_keep_count=setting("FORUM_EVENTS_KEEP", "100000", _whole("FORUM_EVENTS_KEEP", 1000)),
        notify_mail_minutes=setting("FORUM_NOTIFY_MAIL_MINUTES", "10", _whole("FORUM_NOTIFY_MAIL_MINUTES", 1)),
        fragment_cache_bytes=int(setting("FORUM_FRAGMENT_CACHE_MB", "32",
                                         _number("FORUM_FRAGMENT_CACHE_MB", 0, 65536, " of megabytes"))
                                 * 1024 * 1024),
        upload_max_bytes=setting("FORUM_UPLOAD_MAX_MB", "20", _whole("FORUM_UPLOAD_MAX_MB", 1)) * 1024 * 1024,
        limits=setting_of(problems, lambda: parse_limits(env), lambda: parse_limits({})),
        redis_url=setting("FORUM_REDIS_URL", "", parse_redis_url),
        database_url=setting("FORUM_DATABASE_URL", "", parse_database_url),
        trusted_proxies=setting("FORUM_TRUSTED_PROXIES", "", parse_networks),
        proxy_header=setting("FORUM_PROXY_HEADER", "x-forwarded-for", parse_proxy_header),
        bus_poll_seconds=setting("FORUM_BUS_POLL_SECONDS", "1", _number("FORUM_BUS_POLL_SECONDS", 0.05, 60, " of seconds")),
        shutdown_seconds=setting("FORUM_SHUTDOWN_SECONDS", "10", parse_shutdown_seconds),
        metrics_allow=setting("FORUM_METRICS_ALLOW", "127.0.0.0/8 ::1",
                              lambda raw: parse_networks(raw, "FORUM_METRICS_ALLOW")),
        log_format=setting("FORUM_LOG_FORMAT", "text", parse_log_format),
        # Lower only to speed up tests; 12 is the production cost, and past 15 a login takes seconds.
        bcrypt_rounds=setting("FORUM_BCRYPT_ROUNDS", "12", _whole("FORUM_BCRYPT_ROUNDS", 4, 15)),
    )
    if problems:
        raise ConfigError(problems)
    values.update(overrides)
    return Config(**values)


def setting_of(problems: list[str], parse, default):
    """A setting read by its own module's parser (the rate limits: forum/limits.py)."""
    try:
        return parse()
    except ValueError as error:
        problems.extend(str(error).splitlines())
        return default()


def _nonempty(name: str):
    def parse(raw: str) -> str:
        if not raw.strip():
            raise ValueError(f"{name} must not be empty")
        return raw
    return parse


def check(env: dict[str, str] | None = None, **overrides) -> tuple[Config | None, list[str], list[str]]:
    """The whole configuration looked at, nothing started (forum check-config, and every start):
    the Config (None when it has problems), the problems, and the warnings."""
    env = os.environ if env is None else env
    unknown, warnings = unknown_names(env)
    try:
        config, problems = from_env(env, **overrides), []
    except ConfigError as error:
        config, problems = None, error.problems
    problems += unknown
    problems += check_data_dir(overrides.get("data_dir") or Path(env.get("FORUM_DATA_DIR") or "data"))
    secret_key = env.get("FORUM_SECRET_KEY", "")
    if secret_key and len(secret_key) < 32:
        warnings.append("FORUM_SECRET_KEY is shorter than 32 characters: easier to guess than the 64 a generated"
                        " one has (python3 -c 'import secrets; print(secrets.token_hex(32))')")
    return (None if problems else config), problems, warnings
