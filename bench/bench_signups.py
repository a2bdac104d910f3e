"""Sign-ups under a rush: M members sign up for an event with P places within about a second,
through the HTTP API of a real server (one process, its embedded SQLite). We check the promise
(exactly P going, the rest waiting, positions 1..M-P, the waiting list in the order the
answers were taken) and time each answer, beside the same number of requests to a plain read
of the event (GET /api/v1/events/ID) sent the same way in the same run.

    python bench/bench_signups.py [--members 200] [--places 100] [--rounds 3]

The server binds to 127.0.0.1; every loop is bounded in count and time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import NO_LIMITS, free_port, stop, wait_until_up  # noqa: E402

PASSWORD = "benchmark password 1"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def login(session: aiohttp.ClientSession, base: str, email: str) -> str:
    async with session.post(f"{base}/api/v1/login", json={"email": email, "password": PASSWORD}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["csrf_token"]


async def member(base: str, n: int) -> tuple[aiohttp.ClientSession, str]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), cookie_jar=aiohttp.CookieJar(unsafe=True))
    email = f"deelnemer{n}@example.nl"
    async with session.post(f"{base}/api/v1/register", json={"accept_terms": True, "email": email, "password": PASSWORD,
                                                             "display_name": f"Deelnemer {n}"}) as response:
        assert response.status == 201, await response.text()
    return session, await login(session, base, email)


async def timed(coroutine) -> tuple[float, dict, int]:
    started = time.perf_counter()
    async with await coroutine as response:
        body = await response.json()
        return (time.perf_counter() - started) * 1000, body, response.status


async def rush(base: str, admin, members, places: int, spread: float) -> dict:
    session, csrf = admin
    async with session.post(f"{base}/api/v1/events", headers={"X-CSRF-Token": csrf}, json={
            "title": "Werkconferentie PROEF VERSCHIL", "starts_at": "2030-03-15T10:00", "capacity": places,
            "visibility": "members"}) as response:
        answer = await response.json()
        assert response.status == 201, answer
        event = answer["event"]
    url = f"{base}/api/v1/events/{event['id']}"

    async def sign_up(index: int, member_session, member_csrf):
        await asyncio.sleep(spread * index / len(members))  # the rush: spread over about a second
        return await timed(member_session.put(f"{url}/rsvp", json={"answer": "going"},
                                              headers={"X-CSRF-Token": member_csrf}))

    async def read(index: int, member_session, _):
        await asyncio.sleep(spread * index / len(members))
        return await timed(member_session.get(url))

    started = time.perf_counter()
    answers = await asyncio.gather(*(sign_up(i, s, c) for i, (s, c) in enumerate(members)))
    wall = time.perf_counter() - started
    reads = await asyncio.gather(*(read(i, s, c) for i, (s, c) in enumerate(members)))
    statuses = [body["rsvp"]["status"] for _, body, status in answers if status == 200]
    positions = sorted(body["rsvp"]["position"] for _, body, _ in answers if body.get("rsvp", {}).get("position"))
    async with session.get(f"{url}/attendees") as response:
        listed = (await response.json())["attendees"]
    going_since = [a["since"] for a in listed if a["status"] == "going"]
    waiting_since = [a["since"] for a in listed if a["status"] == "waiting"]
    return {
        "errors": sum(1 for _, _, status in answers if status != 200),
        "going": statuses.count("going"), "waiting": statuses.count("waiting"),
        "positions_ok": positions == list(range(1, len(members) - places + 1)),
        "order_ok": waiting_since == sorted(waiting_since) and (not waiting_since or max(going_since) < min(waiting_since)),
        "wall_s": wall,
        "rsvp_ms": [ms for ms, _, _ in answers], "read_ms": [ms for ms, _, _ in reads],
    }


async def run(base: str, args) -> list[dict]:
    admin = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies from 127.0.0.1
    admin_csrf = await login(admin, base, "beheerder@example.nl")
    members = [await member(base, n) for n in range(args.members)]
    results = []
    try:
        for _ in range(args.rounds):
            results.append(await rush(base, (admin, admin_csrf), members, args.places, args.spread))
    finally:
        for session, _ in members:
            await session.close()
        await admin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--places", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the sign-ups arrive")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, **NO_LIMITS, "FORUM_DATA_DIR": data, "FORUM_PORT": str(port),
               "FORUM_LOG_LEVEL": "WARNING", "FORUM_BCRYPT_ROUNDS": "4", "FORUM_ADMIN_PASSWORD": PASSWORD}
        subprocess.run([sys.executable, str(ROOT / "run.py"), "create-admin", "beheerder@example.nl"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
        server = subprocess.Popen([sys.executable, str(ROOT / "run.py")], stdout=subprocess.DEVNULL, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base + "/")
            results = asyncio.run(asyncio.wait_for(run(base, args), timeout=600))
        finally:
            stop([server])
    print(f"{args.members} members, {args.places} places, sign-ups spread over {args.spread:.1f} s, "
          f"{args.rounds} rounds")
    for n, result in enumerate(results, 1):
        print(f"round {n}: going {result['going']}, waiting {result['waiting']}, errors {result['errors']}, "
              f"positions 1..{args.members - args.places} {'ok' if result['positions_ok'] else 'WRONG'}, "
              f"waiting list in arrival order {'ok' if result['order_ok'] else 'WRONG'}, "
              f"all answered in {result['wall_s']:.2f} s")
    rsvp = [ms for result in results for ms in result["rsvp_ms"]]
    read = [ms for result in results for ms in result["read_ms"]]
    print(f"sign-up (PUT rsvp): median {statistics.median(rsvp):.1f} ms, p95 {percentile(rsvp, .95):.1f} ms, "
          f"p99 {percentile(rsvp, .99):.1f} ms")
    print(f"baseline, reading the event (GET) the same way: median {statistics.median(read):.1f} ms, "
          f"p95 {percentile(read, .95):.1f} ms, p99 {percentile(read, .99):.1f} ms")
    print(f"ratio sign-up / read: median {statistics.median(rsvp) / statistics.median(read):.2f}x")


if __name__ == "__main__":
    main()
