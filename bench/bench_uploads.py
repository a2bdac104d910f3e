"""Uploads beside readers: ten 20 MB documents uploaded at once while wrk reads a 20-post thread
page as a visitor; the page's p99 beside the same page read with no uploads (its idle value,
measured in the same run, alternating), and the server's memory (RSS, sampled every 50 ms)
during the uploads beside its idle value. Two loads: one burst of ten in a 4 s read (what the
target names), and bursts back to back for the whole read (a harsher, sustained 200+ MB/s).
Baseline, like with like: the same bursts sent to a plain aiohttp server in another process
that reads and discards them (bench/upload_sink.py) while wrk reads the same forum page: what
the machine itself (the uploading client, the kernel, wrk, two cores) does to the page's p99. Real server, one
process, its embedded SQLite; the uploads are PDFs whose 20 MB are an embedded stream (as a
report with pictures), so the words are read out of each one afterwards as well: the server
does that once no request has been answered for a moment (forum/scheduler.py), and the bench
prints how long after the loaded read every file's words were in the index (before the next
idle read begins, so none are read during it).

    python bench/bench_uploads.py [--files 10] [--mb 20] [--seconds 10] [--rounds 3] [--only burst]

The server binds to 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_live import rss_kb  # noqa: E402
from bench.bench_pages import NO_LIMITS, free_port, stop, wait_until_up, wrk  # noqa: E402

PASSWORD = "benchmark password 1"


def big_pdf(megabytes: int, n: int) -> bytes:
    """A valid one-page PDF carrying `megabytes` of incompressible data in an unused stream."""
    filler = os.urandom(megabytes * 1024 * 1024)
    text = f"BT /F1 12 Tf 72 720 Td (Rapport {n} Maak verschil) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream"]
    parts, offsets, size = [b"%PDF-1.4\n"], [], len(b"%PDF-1.4\n")
    for number, body in enumerate(objects, 1):
        offsets.append(size)
        chunk = b"%d 0 obj\n" % number + body + b"\nendobj\n"
        parts.append(chunk)
        size += len(chunk)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)] + [b"%010d 00000 n \n" % o for o in offsets]
    parts += xref + [b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, size)]
    return b"".join(parts)


async def setup(base: str) -> tuple[int, int, aiohttp.ClientSession, str]:
    """(group id, thread id, a logged-in member's session, its CSRF token)."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies from 127.0.0.1
    async with session.post(f"{base}/api/v1/login", json={"email": "beheerder@example.nl",
                                                           "password": PASSWORD}) as response:
        csrf = (await response.json())["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    async with session.post(f"{base}/api/v1/groups", headers=headers, json={
            "name": "Werkgroep Rapporten", "kind": "werkgroep", "visibility": "open"}) as response:
        group = (await response.json())["group"]["id"]
    async with session.post(f"{base}/api/v1/groups/{group}/threads", headers=headers,
                            json={"title": "Meting", "body": "Begin van de meting."}) as response:
        thread = (await response.json())["thread"]["id"]
    for n in range(19):
        async with session.post(f"{base}/api/v1/threads/{thread}/posts", headers=headers,
                                json={"body": f"Reactie {n} over het **rapport**."}) as response:
            assert response.status == 201
    return group, thread, session, csrf


async def upload_rounds(url: str, session, csrf: str, files: list[bytes], seconds: float) -> list[float]:
    """Ten at once, round after round, until the time is up: each round's seconds."""
    rounds, deadline = [], time.monotonic() + seconds

    async def one(n: int, content: bytes):
        data = aiohttp.FormData()
        data.add_field("title", f"Rapport {n}")
        data.add_field("file", content, filename=f"rapport-{n}.pdf", content_type="application/pdf")
        async with session.post(url, data=data, headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 201, await response.text()

    await asyncio.sleep(0.5)  # the readers first: the burst lands inside the measured window
    while not rounds or (time.monotonic() < deadline and len(rounds) < 50):  # at least one burst
        started = time.monotonic()
        await asyncio.gather(*(one(n, content) for n, content in enumerate(files)))
        rounds.append(time.monotonic() - started)
    return rounds


def words_pending(data_dir: str) -> int:
    """Uploaded versions whose words are still to be read (the server reads them once it is quiet)."""
    conn = sqlite3.connect(f"file:{Path(data_dir) / 'forum.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute("SELECT COUNT(*) FROM document_versions WHERE text_state = 'pending'").fetchone()[0]
    finally:
        conn.close()


def wait_for_words(data_dir: str, limit: float = 120.0) -> float:
    """Seconds until every upload's words are read, so none are read during the next idle run."""
    started = time.monotonic()
    while words_pending(data_dir) and time.monotonic() - started < limit:
        time.sleep(0.05)
    return time.monotonic() - started


def sample_rss(pid: int, stop_event: threading.Event, out: list[int]) -> None:
    while not stop_event.is_set():
        out.append(rss_kb(pid))
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="idle and loaded measurements, alternated")
    parser.add_argument("--only", choices=("burst", "sustained"), help="one of the two loads (with its baseline)")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, **NO_LIMITS, "FORUM_DATA_DIR": data, "FORUM_PORT": str(port), "FORUM_LOG_LEVEL": "WARNING",
               "FORUM_BCRYPT_ROUNDS": "4", "FORUM_ADMIN_PASSWORD": PASSWORD, "FORUM_UPLOAD_MAX_MB": str(args.mb + 1)}
        subprocess.run([sys.executable, str(ROOT / "run.py"), "create-admin", "beheerder@example.nl"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env=env)
        sink_port = free_port()
        sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "upload_sink.py"), str(sink_port)],
                                stdout=subprocess.DEVNULL)
        try:
            wait_until_up(base + "/")
            loop = asyncio.new_event_loop()
            group, thread, session, csrf = loop.run_until_complete(setup(base))
            files = [big_pdf(args.mb, n) for n in range(args.files)]
            page = f"{base}/threads/{thread}"
            wrk(page, 2, 32)  # warm-up
            results = {}
            forum_upload = f"{base}/api/v1/groups/{group}/documents"
            sink_upload = f"http://127.0.0.1:{sink_port}/upload"
            for mode, target, seconds, upload_for in (
                    ("burst", forum_upload, 4, 0.1), ("burst to a plain sink (baseline)", sink_upload, 4, 0.1),
                    ("sustained", forum_upload, args.seconds, args.seconds - 1),
                    ("sustained to a plain sink (baseline)", sink_upload, args.seconds, args.seconds - 1)):
                if args.only and not mode.startswith(args.only):
                    continue
                idle, loaded, idle_rss, peak_rss, round_seconds, words = [], [], [], [], [], []
                for _ in range(args.rounds):
                    idle_rss.append(rss_kb(server.pid))
                    idle.append(wrk(page, seconds, 32)[1])
                    samples, stop_event = [], threading.Event()
                    sampler = threading.Thread(target=sample_rss, args=(server.pid, stop_event, samples))
                    sampler.start()
                    reader = threading.Thread(target=lambda: loaded.append(wrk(page, seconds, 32)[1]))
                    reader.start()
                    round_seconds += loop.run_until_complete(asyncio.wait_for(
                        upload_rounds(target, session, csrf, files, upload_for), timeout=300))
                    reader.join()
                    stop_event.set()
                    sampler.join()
                    peak_rss.append(max(samples))
                    if target == forum_upload:
                        words.append(wait_for_words(data))
                    time.sleep(1)
                results[mode] = (idle, loaded, idle_rss, peak_rss, round_seconds, words)
            loop.run_until_complete(session.close())
            loop.close()
        finally:
            stop([server, sink])
    print(f"{args.files} uploads of {args.mb} MB at once; thread page (20 posts, visitor) read with wrk,"
          f" 32 connections; {args.rounds} rounds, idle and loaded alternating")
    for mode, (idle, loaded, idle_rss, peak_rss, round_seconds, words) in results.items():
        print(f"{mode}: {len(round_seconds)} upload round(s) of all {args.files} files, median"
              f" {statistics.median(round_seconds):.2f} s ({args.files * args.mb / statistics.median(round_seconds):.0f}"
              f" MB/s)")
        print(f"  thread page p99 idle: {', '.join(f'{v:.1f}' for v in idle)} ms; with the uploads:"
              f" {', '.join(f'{v:.1f}' for v in loaded)} ms; ratio of medians"
              f" {statistics.median(loaded) / statistics.median(idle):.2f}x")
        growth = [(peak - rest) / 1024 for peak, rest in zip(peak_rss, idle_rss)]
        print(f"  server memory idle {statistics.median(idle_rss) / 1024:.0f} MB; peak growth with the uploads:"
              f" {', '.join(f'{g:.1f}' for g in growth)} MB")
        if words:
            print(f"  every upload's words read (found by search) {', '.join(f'{w:.1f}' for w in words)} s after the"
                  f" read with uploads ended")


if __name__ == "__main__":
    main()
