"""The forum as an installed package: build the wheel, install it into a fresh virtualenv,
start the `forum` console script outside the source tree and see it serve its templates,
static files and English translations. Slow-ish (a wheel build and a pip install), so it
runs once, in one test."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from forum import ROOT


def _run(*args, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Accept-Language": "en"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def _wait_until_up(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, f"server stopped early:\n{log.read_text()}"
        try:
            _get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise AssertionError(f"server did not answer within 60 s:\n{log.read_text()}")


def test_wheel_installs_and_serves_outside_the_source_tree(tmp_path, database_url):
    # Nothing of the source tree may leak in: no PYTHONPATH, and a working directory elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "FORUM_"))}
    wheels, venv, elsewhere, data = (tmp_path / name for name in ("wheels", "venv", "elsewhere", "data"))
    elsewhere.mkdir()

    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ROOT, cwd=elsewhere, env=env)
    wheel = next(wheels.glob("forum-*.whl"))
    _run(sys.executable, "-m", "venv", venv, cwd=elsewhere, env=env)
    python, forum = venv / "bin" / "python", venv / "bin" / "forum"
    _run(python, "-m", "pip", "install", "-q", wheel, cwd=elsewhere, env=env, timeout=600)

    # The installed package carries its own templates, static files and schema.
    where = _run(python, "-c", "import forum; print(forum.ROOT)", cwd=elsewhere, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    assert (Path(where) / "templates" / "base.html").is_file() and (Path(where) / "schema.sql").is_file()
    assert "create-admin" in _run(python, "-m", "forum", "--help", cwd=elsewhere, env=env).stdout

    port = _free_port()
    log = tmp_path / "server.log"
    server_env = {**env, "FORUM_DATA_DIR": str(data), "FORUM_HOST": "127.0.0.1", "FORUM_PORT": str(port)}
    if database_url:  # the suite's run on PostgreSQL: the installed package brings its driver
        server_env["FORUM_DATABASE_URL"] = database_url
    with log.open("w") as sink:
        server = subprocess.Popen([str(forum)], cwd=elsewhere, env=server_env, stdout=sink, stderr=sink,
                                  stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/", server, log)
        status, home = _get(base + "/")
        assert status == 200 and "</html>" in home
        status, css = _get(base + "/static/style.css")
        assert status == 200 and css == (ROOT / "static" / "style.css").read_text()
        status, login = _get(base + "/login")
        assert status == 200 and "Log in" in login and "Inloggen" not in login
        try:
            _get(base + "/password/reset/SECRETtoken123")
        except urllib.error.HTTPError as refused:  # an unknown token: the page says so
            assert refused.code in (400, 404, 410)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)
    assert server.returncode == 0, log.read_text()  # SIGTERM is a clean stop for aiohttp's run_app
    assert (data / "forum.sqlite3").exists() != bool(database_url)
    logged = log.read_text()
    assert '"GET /login HTTP/1.1" 200' in logged and "/password/reset/…" in logged
    assert "SECRET" not in logged  # the console script logs through the redacting access logger

    # The other subcommands work from the installed script too.
    if database_url:  # `check` is SQLite's; on PostgreSQL it points to PostgreSQL's own tools
        refused = subprocess.run([str(forum), "check"], cwd=elsewhere, env=server_env, capture_output=True, text=True,
                                 timeout=60, stdin=subprocess.DEVNULL)
        assert refused.returncode != 0 and "pg_dump" in refused.stderr and "Traceback" not in refused.stderr
    else:
        assert _run(forum, "check", cwd=elsewhere, env=server_env).stdout.strip().endswith("ok")
