"""The command line (`forum`, `python -m forum`, run.py): serve (the default), create-admin EMAIL,
backup PATH (the database, and the uploaded files in PATH-files/), restore PATH, check, and
check-config; every one checks the whole configuration first (forum/config.py check)."""
from __future__ import annotations

import argparse
import asyncio
import fcntl
import getpass
import os
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

from forum import config as config_module
from forum import logs
from forum.app import create_app
from forum.backups import BackupError, RestoreError, backup_with_files, blobs_named_in, files_dir_of, restore
from forum.db import SchemaError, check_file
from forum.errors import ServiceError
from forum.files import FileStore
from forum.keys import services_key
from forum.services import accounts, setup
from forum.web.access_log import RedactingAccessLogger
from forum.workers import WORKER_ENV, end_with_parent, run_workers, say_listening


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="forum", description="forum: discussions and working groups")
    parser.add_argument("--host", help="address to listen on (FORUM_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (FORUM_PORT, default 8080)")
    parser.add_argument("--data-dir", type=Path, help="database, outbox and secret key (FORUM_DATA_DIR, default ./data)")
    parser.add_argument("--site-url", help="public address, e.g. https://forum.example.nl (FORUM_SITE_URL)")
    commands = parser.add_subparsers(dest="command")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes sharing the port (more than one needs FORUM_REDIS_URL)")
    commands.add_parser("serve", help="run the server (default)")
    admin = commands.add_parser("create-admin", help="create an admin account or promote an existing one")
    admin.add_argument("email")
    backup = commands.add_parser("backup", help="online backup of the live database, and its files in PATH-files/")
    backup.add_argument("path", type=Path)
    commands.add_parser("check", help="integrity check; exits non-zero on problems")
    commands.add_parser("check-config", help="check the settings (environment and flags); starts nothing")
    restore_command = commands.add_parser("restore", help="put a backup made by `backup` (and its PATH-files/) in"
                                                          " place; refused while a server runs on the data directory")
    restore_command.add_argument("path", type=Path)
    restore_command.add_argument("--force", action="store_true",
                                 help="replace the database there (kept aside as forum.sqlite3.before-restore-TIME)")
    move = commands.add_parser("migrate-to-postgres",
                               help="copy this SQLite site into an empty PostgreSQL database, and check the copy")
    move.add_argument("url", help="postgresql://user@host/database")
    return parser.parse_args(argv)


async def _create_admin(cfg, email: str) -> int:
    password = os.environ.get("FORUM_ADMIN_PASSWORD")
    if password is None:
        password = getpass.getpass("Wachtwoord / password: ")
    app = create_app(cfg, announce_setup=False)
    runner = web.AppRunner(app)
    await runner.setup()  # runs cleanup_ctx: opens and migrates the database
    try:
        user, created = await accounts.create_admin(app[services_key], email=email, password=password)
        setup.finished(cfg)  # the one-time link is spent
    except ServiceError as error:
        print(f"error: {error.message} {error.fields}", file=sys.stderr)
        return 2
    finally:
        await runner.cleanup()
    print(("created" if created else "promoted") + f" admin {user['email']} (id {user['id']})")
    if not created:
        print("its other sessions have ended" + ("; its password is unchanged: whoever registered this"
                                                 " address can still log in with it" if not password else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # every command, a start included, checks every setting first: one clear line per problem,
    # not a traceback, and nothing started
    cfg, problems, warnings = config_module.check(host=args.host, port=args.port, data_dir=args.data_dir,
                                                  site_url=args.site_url)
    said = sys.stdout if args.command == "check-config" else sys.stderr
    for line in warnings:
        print(f"warning: {line}", file=said)
    for line in problems:
        print(f"error: {line}", file=said)
    if args.command == "check-config":
        print("ok" if not problems else f"{len(problems)} problem(s)")
    if problems or args.command == "check-config":
        return 2 if problems else 0
    logs.configure(cfg.log_level, cfg.log_format)  # text, or FORUM_LOG_FORMAT=json: one object per line
    if args.command == "create-admin":
        try:
            return asyncio.run(_create_admin(cfg, args.email))
        except SchemaError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.command == "migrate-to-postgres":
        return _migrate_to_postgres(cfg, args.url)
    if args.command in ("backup", "check", "restore") and cfg.database_url:
        print(f"{args.command} is for SQLite; on PostgreSQL use its own tools (pg_dump -Fc, pg_restore)"
              " and back up the data directory's files/", file=sys.stderr)
        return 2
    if args.command == "backup":
        if not cfg.db_path.exists():
            print(f"no database at {cfg.db_path}", file=sys.stderr)
            return 1
        try:
            copied = backup_with_files(cfg, args.path)
        except BackupError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        except (OSError, sqlite3.Error) as error:  # a full disk, no rights: one line, not a traceback
            print(f"error: the backup to {args.path} failed: {error}", file=sys.stderr)
            return 1
        print(f"backup written to {args.path}; {copied} new file(s) in {files_dir_of(args.path)}")
        return 0
    if args.command == "restore":
        try:
            print(restore(cfg, args.path, force=args.force))
        except RestoreError as error:
            print(f"error: {error}; nothing was changed", file=sys.stderr)
            return 1
        return 0
    if args.command == "check":
        if not cfg.db_path.exists():
            print(f"no database at {cfg.db_path}", file=sys.stderr)
            return 1
        problems = check_file(cfg.db_path)
        if not problems:  # rows without their file, files without a row
            problems = FileStore(cfg.files_dir, cfg.upload_max_bytes).check(blobs_named_in(cfg.db_path))
        for problem in problems:
            print(problem)
        print("ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    if args.workers < 1:
        print("--workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1:
        if not cfg.redis_url:
            print(NEEDS_REDIS, file=sys.stderr)
            return 2
        return run_workers(args.workers, sys.argv[1:] if argv is None else argv)
    if os.environ.get(WORKER_ENV):
        end_with_parent()
    if not os.environ.get(WORKER_ENV):  # workers share the port on purpose (reuse_port)
        taken = _cannot_listen(cfg.host, cfg.port)
        if taken:  # said before anything is made or a setup link printed for the wrong server
            print(f"error: cannot listen on {cfg.host}:{cfg.port}: {taken}", file=sys.stderr)
            return 1
    serving = _claim_site(cfg)
    if serving is None:
        return 2
    try:
        web.run_app(create_app(cfg), host=cfg.host, port=cfg.port, shutdown_timeout=cfg.shutdown_seconds, print=say_listening,
                    access_log_class=RedactingAccessLogger, reuse_port=bool(os.environ.get(WORKER_ENV)))
    except SchemaError as error:  # a migration failed and was rolled back, or the database is newer
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the port taken, an address not on this machine
        print(f"error: cannot listen on {cfg.host}:{cfg.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    finally:
        serving.close() if hasattr(serving, "close") else os.close(serving)
    return 0


def _cannot_listen(host: str, port: int) -> str | None:
    """Why this process could not listen there (the port taken, an address not on this
    machine), or None."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as error:
        return f"{host} is not an address of this machine ({error})"
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's own listener
            try:
                probe.bind(address)
            except OSError as error:
                return error.strerror or str(error)
    return None


def _migrate_to_postgres(cfg, url: str) -> int:
    from forum.moving import MoveError, move

    if not url.startswith(("postgresql://", "postgres://")):
        print("error: the URL must start with postgresql://", file=sys.stderr)
        return 2
    if not cfg.db_path.exists():
        print(f"error: no database at {cfg.db_path}", file=sys.stderr)
        return 1
    try:
        copied = move(cfg.db_path, url)
    except MoveError as error:
        print(f"error: {error}; nothing was changed", file=sys.stderr)
        return 1
    except Exception as error:  # psycopg's errors: cannot connect, no rights, ...
        print(f"error: {type(error).__name__}: {error}; nothing was changed", file=sys.stderr)
        return 1
    print(f"moved {sum(copied.values())} rows in {len(copied)} tables, checked; start the forum with"
          f" FORUM_DATABASE_URL set to that address (the files stay in {cfg.files_dir})")
    return 0


NEEDS_REDIS = ("error: several server processes need FORUM_REDIS_URL (redis://host:6379/0): without it"
               " they would not hear of each other's writes")


def _claim_site(cfg):
    """A lock on a file in the data directory says who serves this site: processes with Redis
    share it, one without Redis holds it alone. Returns the lock's descriptor (held while
    serving), or None after saying why this process may not serve."""
    if cfg.database_url:
        return _claim_postgres_site(cfg)
    cfg.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(cfg.data_dir / "serving.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_SH if cfg.redis_url else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        print(NEEDS_REDIS if not cfg.redis_url else
              "error: another process serves this data directory without FORUM_REDIS_URL; stop it, or give"
              " every process the same FORUM_REDIS_URL", file=sys.stderr)
        return None
    return descriptor


def _claim_postgres_site(cfg):
    """The same rule on PostgreSQL, where the processes may be on other machines: a session's
    advisory lock, held by a connection kept open while this process serves."""
    import psycopg

    from forum.postgres import FOR_THIS_SITE, SITE_LOCK

    try:
        conn = psycopg.connect(cfg.database_url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        print(f"error: cannot reach PostgreSQL: {error}", file=sys.stderr)
        return None
    function = "pg_try_advisory_lock_shared" if cfg.redis_url else "pg_try_advisory_lock"
    if not conn.execute(f"SELECT {function}(%s, {FOR_THIS_SITE})", (SITE_LOCK,)).fetchone()[0]:
        conn.close()
        print(NEEDS_REDIS if not cfg.redis_url else
              "error: another process serves this database without FORUM_REDIS_URL; stop it, or give"
              " every process the same FORUM_REDIS_URL", file=sys.stderr)
        return None
    return conn


