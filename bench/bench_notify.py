"""Notification fan-out: a reply in a thread watched by N users (default 10,000). Measures the
time the poster waits for the answer and the time until every watcher's notification and live
event is committed, beside, in the same run, the same reply in a thread nobody watches.
Rounds alternate: in odd rounds the watchers' notifications are new rows, in even rounds the
reply folds into the unread ones ("2 new posts in ...").

    python bench/bench_notify.py [--watchers 10000] [--rounds 6]

The server binds to 127.0.0.1; every wait is bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import NO_LIMITS, free_port, stop, wait_until_up  # noqa: E402

PASSWORD = "benchmark password 1"


def call(base: str, path: str, body: dict, headers: dict | None = None) -> tuple[dict, str]:
    request = urllib.request.Request(base + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read()), response.headers.get("Set-Cookie", "")


def add_watchers(db_path: Path, thread_id: int, count: int) -> None:
    """N accounts watching the thread, written straight into the database (registering them
    through the API would measure bcrypt, not notifications)."""
    with sqlite3.connect(db_path, timeout=30) as conn:
        conn.execute("PRAGMA busy_timeout=30000")
        now = "2026-11-28T00:00:00.000000Z"
        conn.executemany(
            "INSERT INTO users (email, email_norm, display_name, handle, password_hash, created_at,"
            " email_verified_at, email_notifications, digest) VALUES (?, ?, ?, ?, 'x', ?, ?, 'batched', 'never')",
            [(f"w{n}@example.nl", f"w{n}@example.nl", f"Watcher {n}", f"watcher-{n}", now, now) for n in range(count)])
        conn.execute("INSERT INTO thread_subscriptions (thread_id, user_id, level)"
                     " SELECT ?, id, 'watching' FROM users WHERE email_norm LIKE 'w%@example.nl'", (thread_id,))


def settled(db_path: Path, post_id: int, watchers: int, folded: bool) -> bool:
    with sqlite3.connect(db_path, timeout=30) as conn:
        jobs = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        if folded:
            done = conn.execute("SELECT COUNT(*) FROM notifications WHERE kind = 'watched_post' AND read_at IS NULL"
                                " AND count > 1").fetchone()[0]
        else:
            done = conn.execute("SELECT COUNT(*) FROM notifications WHERE post_id = ?", (post_id,)).fetchone()[0]
        return jobs == 0 and done >= watchers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--watchers", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="forum-notify-bench-"))
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env={
        **os.environ, **NO_LIMITS, "FORUM_DATA_DIR": str(data), "FORUM_PORT": str(port), "FORUM_LOG_LEVEL": "WARNING",
        "FORUM_BCRYPT_ROUNDS": "4"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/")
        call(base, "/api/v1/register", {"accept_terms": True, "email": "poster@example.nl", "password": PASSWORD, "display_name": "Poster"})
        body, cookie = call(base, "/api/v1/login", {"email": "poster@example.nl", "password": PASSWORD})
        headers = {"Cookie": cookie.split(";", 1)[0], "X-CSRF-Token": body["csrf_token"]}
        call(base, "/api/v1/groups/2/join", {}, headers)
        watched = call(base, "/api/v1/groups/2/threads", {"title": "Veel volgers", "body": "x"}, headers)[0]
        quiet = call(base, "/api/v1/groups/2/threads", {"title": "Niemand volgt", "body": "x"}, headers)[0]
        # the poster follows the threads it starts; take it off the quiet one
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/v1/threads/{quiet['thread']['id']}/subscription", method="PUT",
            data=json.dumps({"level": "muted"}).encode(), headers={"Content-Type": "application/json", **headers}))
        db_path = data / "forum.sqlite3"
        add_watchers(db_path, watched["thread"]["id"], args.watchers)

        answer, fanned, plain = [], [], []
        for round_number in range(args.rounds):
            folded = round_number % 2 == 1
            for thread, into in ((quiet, plain), (watched, None)):
                started = time.perf_counter()
                reply, _ = call(base, f"/api/v1/threads/{thread['thread']['id']}/posts", {"body": f"r{round_number}"},
                                headers)
                answered = time.perf_counter() - started
                if into is not None:
                    into.append(answered)
                    continue
                answer.append(answered)
                deadline = time.monotonic() + 30
                while not settled(db_path, reply["post"]["id"], args.watchers, folded):
                    if time.monotonic() > deadline:
                        raise SystemExit("fan-out did not finish within 30 s")
                    time.sleep(0.005)
                fanned.append(time.perf_counter() - started)
            if folded:  # the watchers "read" them, so the next round writes new rows again
                with sqlite3.connect(db_path, timeout=30) as conn:
                    conn.execute("UPDATE notifications SET read_at = 'x', mail_due_at = NULL WHERE read_at IS NULL")
            time.sleep(0.3)
        with sqlite3.connect(db_path) as conn:
            events = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'notification.created'").fetchone()[0]
        ms = lambda values: statistics.median(values) * 1000  # noqa: E731
        print(f"{args.watchers:,} watchers, {args.rounds} rounds (new rows and folding alternate), medians")
        print(f"{'reply answered, nobody watching (baseline)':46} {ms(plain):8.1f} ms")
        print(f"{f'reply answered, {args.watchers:,} watching':46} {ms(answer):8.1f} ms  (max {max(answer) * 1000:.1f})")
        print(f"{'all notifications and events committed':46} {ms(fanned):8.1f} ms  (max {max(fanned) * 1000:.1f})")
        print(f"notification.created events written: {events:,}")
    finally:
        stop([server])
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
