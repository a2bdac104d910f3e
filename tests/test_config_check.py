"""The configuration is checked whole before anything starts (`forum check-config`, and every
command, a start included): each problem is one line naming the variable and what it takes,
all of them at once, never a traceback; a setting's near-miss name is refused, another
program's FORUM_ variable only warned about."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from forum import ROOT
from forum.config import ConfigError, check, from_env, known_names
from tests.test_crash import free_port

# a variable, a value it refuses, and words its one line must hold
BAD = [
    ("FORUM_PORT", "tcp://10.0.0.11:8080", "FORUM_PORT must be a whole number from 1 to 65535"),
    ("FORUM_SMTP_PORT", "70000", "FORUM_SMTP_PORT must be a whole number from 1 to 65535"),
    ("FORUM_SITE_URL", "forum.example.nl", "FORUM_SITE_URL must be http://host or https://host"),
    ("FORUM_SMTP_FROM", "forum", "FORUM_SMTP_FROM must be an address"),
    ("FORUM_LIMIT_POST", "30 per minute", "FORUM_LIMIT_POST must be COUNT/SECONDS (such as 10/300) or off"),
    ("FORUM_LIMIT_LOGIN", "0/300", "FORUM_LIMIT_LOGIN must be COUNT/SECONDS"),
    ("FORUM_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.nl", "FORUM_TRUSTED_PROXIES: 'proxy.example.nl' is not an address"),
    ("FORUM_METRICS_ALLOW", "everyone", "FORUM_METRICS_ALLOW: 'everyone' is not an address"),
    ("FORUM_LOG_FORMAT", "xml", "FORUM_LOG_FORMAT must be text or json"),
    ("FORUM_LOG_LEVEL", "loud", "FORUM_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ("FORUM_SHUTDOWN_SECONDS", "soon", "FORUM_SHUTDOWN_SECONDS must be a number of seconds"),
    ("FORUM_PAGE_CACHE", "-1", "FORUM_PAGE_CACHE must be a whole number of 0 or more"),
    ("FORUM_READ_CACHE", "1e3", "FORUM_READ_CACHE must be a whole number of 0 or more"),
    ("FORUM_READER_PAGE_CACHE", "lots", "FORUM_READER_PAGE_CACHE must be a whole number of 0 or more"),
    ("FORUM_FRAGMENT_CACHE_MB", "nan", "FORUM_FRAGMENT_CACHE_MB must be a number of megabytes from 0 to 65536"),
    ("FORUM_BCRYPT_ROUNDS", "31", "FORUM_BCRYPT_ROUNDS must be a whole number from 4 to 15"),
    ("FORUM_EVENTS_KEEP", "10", "FORUM_EVENTS_KEEP must be a whole number of 1000 or more"),
    ("FORUM_EVENTS_KEEP_DAYS", "0", "FORUM_EVENTS_KEEP_DAYS must be a whole number of 1 or more"),
    ("FORUM_NOTIFY_MAIL_MINUTES", "ten", "FORUM_NOTIFY_MAIL_MINUTES must be a whole number of 1 or more"),
    ("FORUM_UPLOAD_MAX_MB", "0", "FORUM_UPLOAD_MAX_MB must be a whole number of 1 or more"),
    ("FORUM_BUS_POLL_SECONDS", "0", "FORUM_BUS_POLL_SECONDS must be a number of seconds from 0.05 to 60"),
    ("FORUM_REDIS_URL", "localhost:6379", "FORUM_REDIS_URL must start with redis://"),
    ("FORUM_DATABASE_URL", "mysql://db/forum", "FORUM_DATABASE_URL must start with postgresql://"),
    ("FORUM_PROXY_HEADER", "x-real-ip", "FORUM_PROXY_HEADER must be x-forwarded-for or forwarded"),
    ("FORUM_RELOAD_TEMPLATES", "yes", "FORUM_RELOAD_TEMPLATES must be 1 or 0"),
    ("FORUM_HOST", "http://0.0.0.0", "FORUM_HOST must be a host name or address"),
]


def clean_env(**settings) -> dict[str, str]:
    """This environment without the FORUM_ variables the test run itself may carry."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("FORUM_")}, **settings}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("name, value, said", BAD, ids=[name for name, _, _ in BAD])
def test_a_bad_value_is_one_line_naming_the_variable_and_what_it_takes(name, value, said, tmp_path):
    config, problems, _ = check({name: value, "FORUM_DATA_DIR": str(tmp_path), "FORUM_SMTP_HOST": "smtp.example.nl"})
    assert config is None
    assert len(problems) == 1 and problems[0].startswith(said) and "\n" not in problems[0], problems


def test_every_problem_is_said_at_once(tmp_path):
    env = {**{name: value for name, value, _ in BAD}, "FORUM_SMTP_HOST": "smtp.example.nl"}
    with pytest.raises(ConfigError) as raised:
        from_env(env)
    assert len(raised.value.problems) == len(BAD)
    for (name, _, said), line in zip(sorted(BAD), sorted(raised.value.problems)):
        assert line.startswith(said) and "\n" not in line
    assert isinstance(raised.value, ValueError)  # as before: callers catching ValueError still do


def test_good_values_pass(tmp_path):
    config, problems, warnings = check({
        "FORUM_HOST": "::1", "FORUM_PORT": "8443", "FORUM_SITE_URL": "https://forum.example.nl/",
        "FORUM_SMTP_HOST": "smtp.example.nl", "FORUM_SMTP_PORT": "587", "FORUM_SMTP_USER": "forum",
        "FORUM_SMTP_PASSWORD": "geheim", "FORUM_SMTP_FROM": "Maak verschil <forum@example.nl>",
        "FORUM_LOG_LEVEL": "warning", "FORUM_LIMIT_POST": "off", "FORUM_LIMIT_LOGIN": "5/60",
        "FORUM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8", "FORUM_BCRYPT_ROUNDS": "12", "FORUM_PAGE_CACHE": "0",
        "FORUM_FRAGMENT_CACHE_MB": "0.5", "FORUM_DATA_DIR": str(tmp_path / "new" / "data")})
    assert problems == [] and warnings == []
    assert (config.host, config.port, config.site_url, config.smtp_port, config.log_level) == \
        ("::1", 8443, "https://forum.example.nl", 587, "WARNING")
    assert config.limits["POST"] is None and config.limits["LOGIN"] == (5, 60)
    assert config.fragment_cache_bytes == 512 * 1024
    assert not (tmp_path / "new").exists()  # looked at, not made
    assert from_env({}, port=9000).site_url == "http://127.0.0.1:9000"  # the default follows the port
    assert check({"FORUM_HOST": "::1"})[0].site_url == "http://[::1]:8080"


@pytest.mark.parametrize("url", ["https://forum.example.nl/forum", "https://forum.example.nl?x=1",
                                 "https://user:pw@forum.example.nl", "ftp://forum.example.nl",
                                 "https://forum.example.nl:99999", "https://"])
def test_a_site_url_is_an_address_of_the_root(url):
    assert check({"FORUM_SITE_URL": url})[1][0].startswith("FORUM_SITE_URL must be http")
    with pytest.raises(ConfigError, match="--site-url must be http"):
        from_env({}, site_url=url)


def test_smtp_settings_must_agree():
    problems = check({"FORUM_SMTP_HOST": "smtp.example.nl", "FORUM_SMTP_USER": "forum"})[1]
    assert problems == ["FORUM_SMTP_USER and FORUM_SMTP_PASSWORD go together: set both, or neither for a server"
                        " that takes mail without logging in"]
    problems = check({"FORUM_SMTP_PORT": "587", "FORUM_SMTP_USER": "forum", "FORUM_SMTP_PASSWORD": "geheim"})[1]
    assert problems == [f"{name} is set but FORUM_SMTP_HOST is not: without it mail is only kept in the outbox,"
                        " never sent" for name in ("FORUM_SMTP_PORT", "FORUM_SMTP_USER", "FORUM_SMTP_PASSWORD")]
    # the address alone is fine: it is also the contact address the site's pages name
    assert check({"FORUM_SMTP_FROM": "forum@example.nl"})[1] == []


def test_a_near_miss_name_is_refused_and_another_programs_name_warned_about():
    config, problems, warnings = check({
        "FORUM_SMPT_HOST": "smtp.example.nl", "FORUM_TRUSTED_PROXY": "10.0.0.1", "FORUM_LIMIT_LOGINS": "5/60",
        # what Kubernetes sets for a Service named forum (FORUM_PORT is its own, and refused above)
        "FORUM_SERVICE_HOST": "10.0.0.11", "FORUM_SERVICE_PORT": "8080", "FORUM_PORT_8080_TCP": "tcp://10.0.0.11:8080",
        "FORUM_PORT_8080_TCP_ADDR": "10.0.0.11", "FORUM_PORT_8080_TCP_PORT": "8080"})
    assert config is None
    assert problems == [
        "FORUM_LIMIT_LOGINS is not a rate limit; the limits are FORUM_LIMIT_ and one of LOGIN, LOGIN_ADDRESS, REGISTER,"
        " POST, POST_NEW, REPORT, MENTION, MAIL_TO, MAIL_FROM, PICTURE",
        "FORUM_SMPT_HOST is not a setting; did you mean FORUM_SMTP_HOST?",
        "FORUM_TRUSTED_PROXY is not a setting; did you mean FORUM_TRUSTED_PROXIES?"]
    assert warnings == [f"{name} is not a setting of this forum; ignored" for name in (
        "FORUM_PORT_8080_TCP", "FORUM_PORT_8080_TCP_ADDR", "FORUM_PORT_8080_TCP_PORT", "FORUM_SERVICE_HOST",
        "FORUM_SERVICE_PORT")]


def test_every_variable_the_forum_reads_is_known():
    # the names in the code and the README: none of them may be taken for a typo
    import re
    sources = [*Path(ROOT / "forum").rglob("*.py"), ROOT / "README.md"]
    mentioned = {name for path in sources
                 for name in re.findall(r"[\"'`](FORUM_[A-Z_]*[A-Z])\b", path.read_text())}
    examples = {"FORUM_SMPT_HOST", "FORUM_TRUSTED_PROXY", "FORUM_SERVICE_HOST", "FORUM_PORT_8080_TCP"}  # refused or warned of
    assert len(mentioned) > 30 and mentioned - examples - known_names() == set()


def test_the_data_directory_must_be_usable(tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert check({"FORUM_DATA_DIR": str(a_file)})[1] == [f"FORUM_DATA_DIR: {a_file} is not a directory"]
    assert check({"FORUM_DATA_DIR": str(a_file / "data")})[1] == [
        f"FORUM_DATA_DIR: {a_file / 'data'} cannot be made: {a_file} is not a directory"]
    assert check({"FORUM_DATA_DIR": ""})[1] == ["FORUM_DATA_DIR must not be empty"]
    assert check({"FORUM_DATA_DIR": str(tmp_path / "to" / "be" / "made")})[1] == []


def test_check_config_prints_ok_or_the_problems_and_starts_nothing(tmp_path):
    data = tmp_path / "data"
    result = run("check-config", env=clean_env(FORUM_DATA_DIR=str(data), FORUM_SITE_URL="https://forum.example.nl"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok\n", "")
    env = clean_env(FORUM_DATA_DIR=str(data), FORUM_PORT="80800", FORUM_SMPT_HOST="smtp.example.nl",
                    FORUM_SMTP_FROM="forum", FORUM_SERVICE_HOST="10.0.0.11")
    result = run("check-config", env=env)
    assert result.returncode == 2 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "warning: FORUM_SERVICE_HOST is not a setting of this forum; ignored",
        "error: FORUM_PORT must be a whole number from 1 to 65535, not '80800'",
        "error: FORUM_SMTP_FROM must be an address, forum@example.nl or Forum <forum@example.nl>, not 'forum'",
        "error: FORUM_SMPT_HOST is not a setting; did you mean FORUM_SMTP_HOST?",
        "3 problem(s)"]
    assert not data.exists()


def test_a_start_refuses_with_the_same_lines(tmp_path):
    data, port = tmp_path / "data", free_port()
    env = clean_env(FORUM_DATA_DIR=str(data), FORUM_HOST="127.0.0.1", FORUM_PORT=str(port),
                    FORUM_LIMIT_POST="thirty", FORUM_TRUSTED_PROXIES="proxy.example.nl")
    checked = run("check-config", env=env)
    for command in ([], ["serve"], ["create-admin", "a@example.nl"], ["backup", str(tmp_path / "b")], ["check"],
                    ["restore", str(tmp_path / "b")]):
        result = run(*command, env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.splitlines() == checked.stdout.splitlines()[:-1], command
        assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(checked.stdout.splitlines()) == 3
    assert not data.exists()  # nothing made, nothing started
