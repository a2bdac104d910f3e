"""The command line (`forum`, `python -m forum`, run.py): serve (the default), create-admin EMAIL,
backup PATH (the database, and the uploaded files in PATH-files/), check."""
from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sqlite3
import sys
from pathlib import Path

from aiohttp import web

from forum import config as config_module
from forum.app import create_app
from forum.db import backup_file, check_file
from forum.errors import ServiceError
from forum.files import FileStore
from forum.keys import services_key
from forum.services import accounts, setup
from forum.web.access_log import RedactingAccessLogger


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="forum", description="forum: discussions and working groups")
    parser.add_argument("--host", help="address to listen on (FORUM_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (FORUM_PORT, default 8080)")
    parser.add_argument("--data-dir", type=Path, help="database, outbox and secret key (FORUM_DATA_DIR, default ./data)")
    parser.add_argument("--site-url", help="public address, e.g. https://forum.example.nl (FORUM_SITE_URL)")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the server (default)")
    admin = commands.add_parser("create-admin", help="create an admin account or promote an existing one")
    admin.add_argument("email")
    backup = commands.add_parser("backup", help="online backup of the live database, and its files in PATH-files/")
    backup.add_argument("path", type=Path)
    commands.add_parser("check", help="integrity check; exits non-zero on problems")
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


def files_dir_of(backup: Path) -> Path:
    return backup.with_name(backup.name + "-files")


def _blobs_named_in(database: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute("SELECT DISTINCT blob FROM document_versions")}
    finally:
        conn.close()


def backup_with_files(cfg, destination: Path) -> int:
    """The database first, then every file it names (files never change once stored, and one
    a later delete leaves behind is kept for an hour: all those it names are still there).
    A second backup to the same place copies only the files it lacks."""
    backup_file(cfg.db_path, destination)
    return FileStore(cfg.files_dir, cfg.upload_max_bytes).copy_to(files_dir_of(destination),
                                                                 _blobs_named_in(destination))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cfg = config_module.from_env(host=args.host, port=args.port, data_dir=args.data_dir, site_url=args.site_url)
    logging.basicConfig(level=cfg.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "create-admin":
        return asyncio.run(_create_admin(cfg, args.email))
    if args.command == "backup":
        if not cfg.db_path.exists():
            print(f"no database at {cfg.db_path}", file=sys.stderr)
            return 1
        copied = backup_with_files(cfg, args.path)
        print(f"backup written to {args.path}; {copied} new file(s) in {files_dir_of(args.path)}")
        return 0
    if args.command == "check":
        if not cfg.db_path.exists():
            print(f"no database at {cfg.db_path}", file=sys.stderr)
            return 1
        problems = check_file(cfg.db_path)
        if not problems:  # rows without their file, files without a row
            problems = FileStore(cfg.files_dir, cfg.upload_max_bytes).check(_blobs_named_in(cfg.db_path))
        for problem in problems:
            print(problem)
        print("ok" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    web.run_app(create_app(cfg), host=cfg.host, port=cfg.port, shutdown_timeout=5,
                access_log_class=RedactingAccessLogger)
    return 0

