"""Documents: who uploads where and who downloads what (the list and the single document agree,
and a download is refused the moment access is lost), uploads that are streamed, checked by
their content and refused with a clear 4xx (too large, empty, HTML posing as PDF, SVG, names
with path tricks), versions, the words inside found by search, extraction that a hostile file
cannot stall, and files that backups carry and checks account for."""
from __future__ import annotations

import asyncio
import io
import os
import time
import zipfile
import zlib
from dataclasses import replace
from urllib.parse import unquote

import aiohttp
import pytest

from forum.keys import scheduler_key
from tests.conftest import snapshot
from tests.test_events import member_of
from tests.test_news import make_editor, moderated_group, page

LIMIT = 200_000


@pytest.fixture
def config(config):
    return replace(config, upload_max_bytes=LIMIT)  # small, so "too large" costs little to send


def pdf(text: str, extra: bytes = b"") -> bytes:
    """A small real PDF with one page of text (pypdf reads it back)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n" + extra)
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                                'package/2006/content-types"/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats'
                                              f'.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t>'
                                              '</w:r></w:p></w:body></w:document>')
    return out.getvalue()


def png() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def form(content: bytes, filename: str, content_type: str = "application/octet-stream", **fields) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    data.add_field("file", content, filename=filename, content_type=content_type)
    return data


async def upload(user, group_id, content: bytes, filename: str, expect=201, **fields):
    path = f"/api/v1/groups/{group_id}/documents" if group_id else "/api/v1/documents"
    response = await user.client.post(path, data=form(content, filename, **fields),
                                      headers={"X-CSRF-Token": user.csrf} if user.csrf else {})
    body = await response.json()
    assert response.status == expect, (response.status, body)
    return body.get("document") or body


@pytest.fixture
async def shelf(admin, make_user, anonymous, server):
    editor = await make_editor(admin, make_user)
    moderator, insider, outsider, banned = [await make_user(n) for n in ("Mo Moderator", "Carla Binnen",
                                                                         "Buiten Staander", "Bert Geweerd")]
    closed = await moderated_group(admin, moderator, "Besloten werkgroep", visibility="closed")
    opened = await moderated_group(admin, moderator, "Open werkgroep")
    await member_of(closed, moderator, insider)
    await banned.post(f"/api/v1/groups/{opened['id']}/join")
    docs = {
        "closed": await upload(insider, closed["id"], pdf("Rapport Maak verschil samenwerkingsverband"),
                               "rapport.pdf", title="Rapport Maak verschil"),
        "open": await upload(moderator, opened["id"], docx("Verslag van de werkconferentie"), "verslag.docx"),
        "site_public": await upload(editor, None, b"Statement aan het kabinet\n", "statement.txt"),
        "site_members": await upload(editor, None, b"naam;rol\nEva;redacteur\n", "leden.csv", visibility="members"),
    }
    await moderator.post(f"/api/v1/groups/{opened['id']}/bans", {"user_id": banned.id, "reason": "spam"}, expect=201)
    await server.app[scheduler_key].run_once()  # the words are read out now, not during a test's snapshot
    return {"docs": docs, "closed": closed, "open": opened, "actors": {
        "visitor": await anonymous(), "outsider": outsider, "insider": insider, "banned": banned,
        "moderator": moderator, "editor": editor, "admin": admin}}


READS = {
    "visitor": {"open", "site_public"},
    "outsider": {"open", "site_public", "site_members"},
    "banned": {"open", "site_public", "site_members"},   # an open group's library is as open as its threads
    "insider": {"closed", "open", "site_public", "site_members"},
    "moderator": {"closed", "open", "site_public", "site_members"},
    "editor": {"open", "site_public", "site_members"},
    "admin": {"closed", "open", "site_public", "site_members"},
}


@pytest.mark.parametrize("who", sorted(READS))
async def test_each_reader_lists_and_downloads_exactly_what_they_may(shelf, who):
    user, docs = shelf["actors"][who], shelf["docs"]
    listed = set()
    for group in (shelf["closed"], shelf["open"], None):
        path = f"/api/v1/groups/{group['id']}/documents" if group else "/api/v1/documents"
        response = await user.client.get(path)
        if response.status == 200:
            listed |= {d["id"] for d in (await response.json())["documents"]}
        else:
            assert response.status == 404 and group is shelf["closed"]
    assert listed == {docs[name]["id"] for name in READS[who]}
    for name, doc in docs.items():  # the single document and its download agree with the list
        allowed = name in READS[who]
        await user.get(f"/api/v1/documents/{doc['id']}", expect=200 if allowed else 404)
        await page(user, f"/documents/{doc['id']}", 200 if allowed else 404)
        response = await user.client.get(f"/documents/{doc['id']}/download")
        assert response.status == (200 if allowed else 404), (name, response.status)


async def test_downloads_are_attachments_that_no_browser_runs(shelf):
    insider, doc = shelf["actors"]["insider"], shelf["docs"]["closed"]
    response = await insider.client.get(f"/documents/{doc['id']}/download")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == "attachment; filename=\"rapport.pdf\"; filename*=UTF-8''rapport.pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "private" in response.headers["Cache-Control"]
    assert (await response.read()).startswith(b"%PDF-")


async def test_downloads_stop_the_moment_access_is_lost(shelf):
    actors, doc, closed = shelf["actors"], shelf["docs"]["closed"], shelf["closed"]
    assert (await actors["insider"].client.get(f"/documents/{doc['id']}/download")).status == 200
    await actors["moderator"].delete(f"/api/v1/groups/{closed['id']}/members/{actors['insider'].id}",
                                     {"reason": "afgerond"})
    assert (await actors["insider"].client.get(f"/documents/{doc['id']}/download")).status == 404
    await actors["insider"].get(f"/api/v1/documents/{doc['id']}", expect=404)


async def test_who_may_upload_where(shelf):
    actors, closed, opened = shelf["actors"], shelf["closed"], shelf["open"]
    await upload(actors["visitor"], opened["id"], b"hallo", "a.txt", expect=401)
    await upload(actors["outsider"], opened["id"], b"hallo", "a.txt", expect=403)     # not a member
    await upload(actors["outsider"], closed["id"], b"hallo", "a.txt", expect=404)     # cannot see it
    await upload(actors["banned"], opened["id"], b"hallo", "a.txt", expect=403)
    await upload(actors["insider"], None, b"hallo", "a.txt", expect=403)             # the site's: editors
    await upload(actors["insider"], closed["id"], b"hallo", "a.txt")
    other = shelf["docs"]["open"]
    await actors["insider"].patch(f"/api/v1/documents/{other['id']}", {"title": "Gekaapt"}, expect=403)
    await actors["insider"].delete(f"/api/v1/documents/{other['id']}", expect=403)


@pytest.mark.parametrize("content, name, why", [
    (b"<html><script>alert(1)</script></html>", "rapport.pdf", "HTML posing as PDF"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg", "SVG with script"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "logo.png", "SVG posing as PNG"),
    (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe", "a program"),
    (b"PK\x03\x04 not really a zip", "verslag.docx", "a broken zip"),
    (b"\x00\x01\x02\x03", "data.txt", "binary posing as text"),
])
async def test_files_that_are_not_what_they_claim_are_refused_and_change_nothing(shelf, svc, content, name, why):
    before = await snapshot(svc)
    body = await upload(shelf["actors"]["insider"], shelf["closed"]["id"], content, name, expect=415,
                        content_type="application/pdf")
    assert body["error"]["message"], why
    assert await snapshot(svc) == before
    assert not list((svc.config.files_dir / "tmp").iterdir())   # nothing left behind


async def test_too_large_is_refused_while_it_streams_and_empty_is_refused(shelf, svc):
    insider, closed = shelf["actors"]["insider"], shelf["closed"]
    before = await snapshot(svc)
    body = await upload(insider, closed["id"], b"x" * (LIMIT + 1), "groot.txt", expect=413)
    assert "MB" in body["error"]["message"]
    body = await upload(insider, closed["id"], b"", "leeg.txt", expect=422)
    assert body["error"]["message"]
    assert await snapshot(svc) == before
    assert not list((svc.config.files_dir / "tmp").iterdir())


@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\jan\\rapport.pdf", "rapport.pdf"),
    ("\u202egpj.exe", "gpj.pdf"),                     # a right-to-left override is dropped, the type decides
    ("rapport.exe", "rapport.pdf"),
    ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ("..", "bestand.pdf"),
    ('a"b;c.pdf', 'a"b;c.pdf'),
])
async def test_names_are_made_safe_for_disk_and_header(shelf, given, kept):
    insider = shelf["actors"]["insider"]
    doc = await upload(insider, shelf["closed"]["id"], pdf("x"), given)
    assert doc["filename"] == kept
    response = await insider.client.get(f"/documents/{doc['id']}/download")
    disposition = response.headers["Content-Disposition"]
    assert "\n" not in disposition and "/" not in disposition.split("filename*=")[0]
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == kept


def test_control_characters_and_encoded_separators_leave_a_name():
    from forum.files import sniff
    assert sniff.safe_name("rap\x00port.pdf", sniff.PDF) == "rapport.pdf"      # (no HTTP client sends a NUL)
    assert sniff.safe_name("..%2F..%2Fetc%2Fpasswd", sniff.TEXT) == "passwd.txt"
    assert sniff.safe_name("regel\r\nSet-Cookie: x.csv", sniff.CSV) == "regelSet-Cookie: x.csv"


async def test_a_new_version_keeps_the_old_ones(shelf):
    insider, doc = shelf["actors"]["insider"], shelf["docs"]["closed"]
    response = await insider.client.post(f"/api/v1/documents/{doc['id']}/versions",
                                         data=form(pdf("Tweede versie"), "rapport-v2.pdf"),
                                         headers={"X-CSRF-Token": insider.csrf})
    assert response.status == 201, await response.text()
    body = await insider.get(f"/api/v1/documents/{doc['id']}")
    assert [v["version"] for v in body["versions"]] == [2, 1] and body["document"]["filename"] == "rapport-v2.pdf"
    first = await (await insider.client.get(f"/documents/{doc['id']}/download?version=1")).read()
    latest = await (await insider.client.get(f"/documents/{doc['id']}/download")).read()
    assert b"Rapport Maak verschil" in first and b"Tweede versie" in latest
    assert (await insider.client.get(f"/documents/{doc['id']}/download?version=7")).status == 404


async def test_the_words_inside_are_found_by_those_who_may_read_them(shelf, server):
    await server.app[scheduler_key].run_once()  # reads the words out of the new files
    actors, docs = shelf["actors"], shelf["docs"]
    found = (await actors["insider"].get("/api/v1/search?q=samenwerkingsverbanden&type=document"))["results"]
    assert [r["url"] for r in found] == [f"/documents/{docs['closed']['id']}"]
    assert "<mark>" in found[0]["snippet_html"]
    assert not (await actors["outsider"].get("/api/v1/search?q=samenwerkingsverband"))["results"]
    found = (await actors["visitor"].get("/api/v1/search?q=werkconferentie"))["results"]
    assert [r["url"] for r in found] == [f"/documents/{docs['open']['id']}"]   # inside a .docx
    assert (await actors["visitor"].get("/api/v1/search?q=kabinet"))["results"]  # a text file


async def _found(user, word: str) -> bool:
    return bool((await user.get(f"/api/v1/search?q={word}&type=document"))["results"])


async def _eventually_found(user, word: str, seconds: float) -> float:
    started = time.monotonic()
    while not await _found(user, word):
        assert time.monotonic() - started < seconds, f"{word} not found within {seconds} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_words_are_read_once_the_server_is_quiet_or_after_a_bounded_wait(shelf, server, monkeypatch):
    from forum import scheduler as scheduler_module
    scheduler, insider, closed = server.app[scheduler_key], shelf["actors"]["insider"], shelf["closed"]["id"]
    busy = True
    monkeypatch.setattr(scheduler, "quiet_for", lambda: 0.0 if busy else 10.0)
    await upload(insider, closed, pdf("Verslag kwartiermakers"), "kwartier.pdf")  # the commit wakes the reader
    await asyncio.sleep(0.8)
    assert not await _found(insider, "kwartiermakers")  # requests are being answered: it waits
    busy = False
    await _eventually_found(insider, "kwartiermakers", 10)
    # a server that is never quiet still gets its documents' words, after the longest wait, and
    # that wait is not taken again for every document behind the first
    busy = True
    monkeypatch.setattr(scheduler_module, "WAIT_FOR_QUIET_SECONDS", 5.0)
    words = ["dijkversterking", "waterberging", "zonneweide", "warmtenet", "deelmobiliteit"]
    started = time.monotonic()
    for number, word in enumerate(words):
        await upload(insider, closed, pdf(f"Verslag {word}"), f"verslag-{number}.pdf")
    assert not await _found(insider, words[0])
    await _eventually_found(insider, words[0], 20)
    first = time.monotonic()
    assert first - started >= 4.9
    for word in words[1:]:
        await _eventually_found(insider, word, 10)
    assert time.monotonic() - first < 4.9  # the rest within one more wait, not a wait each (20 s)


async def test_only_requests_being_answered_make_the_server_busy(shelf, server):
    from forum.keys import traffic_key
    traffic, visitor = server.app[traffic_key], shelf["actors"]["visitor"]
    await visitor.client.get("/")
    assert traffic.in_flight == 0 and traffic.quiet_for() < 5
    async with visitor.client.ws_connect("/api/v1/live") as socket:
        await asyncio.sleep(0.3)
        assert traffic.in_flight == 0 and traffic.quiet_for() >= 0.3  # an open socket is no request
        await socket.close()
    sent_first, go_on = asyncio.Event(), asyncio.Event()

    async def body():  # an upload still arriving: its request is being answered
        yield b"x" * 1024
        sent_first.set()
        await go_on.wait()
        yield b"y" * 1024
    posting = asyncio.create_task(visitor.client.post("/api/v1/login", data=body(),
                                                      headers={"Content-Type": "application/json"}))
    async with asyncio.timeout(10):
        await sent_first.wait()
        while traffic.in_flight == 0:
            await asyncio.sleep(0.01)
    assert traffic.quiet_for() == 0.0
    go_on.set()
    assert (await posting).status == 400
    assert traffic.in_flight == 0


async def test_a_hostile_file_cannot_stall_extraction(tmp_path):
    from forum.files import extract
    stream = zlib.compress(b"0 0 m " * 10_000_000, 9)   # ~60 MB of drawing once inflated, no xref
    hostile = tmp_path / "bom.pdf"
    hostile.write_bytes(b"%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages"
                        b" /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /Contents 4 0 R"
                        b" >>\nendobj\n4 0 obj\n<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(stream)
                        + stream + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%EOF\n")
    started = time.monotonic()
    text = await extract.text_of(hostile, "application/pdf", timeout=3)
    assert time.monotonic() - started < 10
    assert not text   # nothing, in bounded time: killed, or nothing readable
    assert await extract.text_of(tmp_path / "missing.pdf", "application/pdf", timeout=3) is None


def test_the_reader_of_words_limits_itself_before_it_opens_a_file():
    import subprocess
    import sys
    from forum.files import extract, extract_child
    probe = ("import os, resource, sys; sys.path.insert(0, sys.argv[1]); import extract_child as c;"
             " c.limit_this_process(); print(resource.getrlimit(resource.RLIMIT_AS)[0],"
             " resource.getrlimit(resource.RLIMIT_CPU)[0], os.sched_getscheduler(0) == os.SCHED_IDLE or os.nice(0))")
    out = subprocess.run([sys.executable, "-I", "-c", probe, str(extract.CHILD.parent)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == [str(extract_child.MEMORY_BYTES), str(extract_child.CPU_SECONDS), "True"]
    # and the child run for a document is that script, which limits itself first
    source = extract.CHILD.read_text()
    assert source.index("limit_this_process()\n    text = extract(") > source.index('if __name__ == "__main__":')


async def test_an_upload_broken_off_leaves_nothing(shelf, server, svc):
    insider, closed = shelf["actors"]["insider"], shelf["closed"]
    before = await snapshot(svc)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    cookie = "; ".join(f"{c.key}={c.value}" for c in insider.client.session.cookie_jar)
    boundary = "grens"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"half.txt\"\r\n"
            "Content-Type: text/plain\r\n\r\n").encode()
    writer.write((f"POST /api/v1/groups/{closed['id']}/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Cookie: {cookie}\r\nX-CSRF-Token: {insider.csrf}\r\n"
                  f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 150000\r\n\r\n").encode()
                 + head + b"a" * 50_000)
    await writer.drain()
    for _ in range(100):   # until the server has begun writing it
        if list((svc.config.files_dir / "tmp").glob("upload-*")):
            break
        await asyncio.sleep(0.02)
    writer.close()          # the client goes away mid-upload
    for _ in range(100):
        if not list((svc.config.files_dir / "tmp").glob("upload-*")):
            break
        await asyncio.sleep(0.02)
    assert not list((svc.config.files_dir / "tmp").glob("upload-*"))
    assert await snapshot(svc) == before


async def test_files_no_row_names_are_swept_and_checks_account_for_both(shelf, svc):
    from forum.services import documents
    from forum.store import documents as store
    files = svc.files
    orphan = files.root / "ab" / ("ab" + "0" * 62)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    async with svc.db.read() as conn:
        referenced = await store.referenced_blobs(conn)
    assert files.check(referenced) == [f"file without a document version: {orphan.name}"]
    assert await documents.sweep_files(svc, force=True) == 0      # young: it may be an upload in progress
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    assert await documents.sweep_files(svc, force=True) == 1
    assert not orphan.exists() and files.check(referenced) == []
    kept = next(iter(referenced))
    files.path_of(kept).unlink()
    assert files.check(referenced) == [f"file missing for a document version: {kept}"]


async def test_the_pages_upload_and_show_without_javascript(shelf, svc):
    from tests.test_pages import csrf_of
    insider, closed = shelf["actors"]["insider"], shelf["closed"]
    html = await page(insider, f"/groups/{closed['id']}/documents")
    assert "rapport.pdf" in html
    token = csrf_of(html)
    response = await insider.client.post(f"/groups/{closed['id']}/folders", data={"csrf_token": token, "name": "Verslagen"},
                                         allow_redirects=False)
    assert response.status == 303
    folder_url = response.headers["Location"]
    folder_id = folder_url.split("folder_id=")[1]
    data = aiohttp.FormData()
    data.add_field("csrf_token", token)     # first: read before the file
    data.add_field("title", "Notulen")
    data.add_field("file", b"Notulen van het overleg\n", filename="notulen.txt", content_type="text/plain")
    response = await insider.client.post(f"/groups/{closed['id']}/documents?folder_id={folder_id}", data=data,
                                         allow_redirects=False)
    assert response.status == 303, await response.text()
    doc_page = await page(insider, response.headers["Location"])
    assert "Notulen" in doc_page and "Verslagen" in doc_page
    assert "Notulen" in await page(insider, folder_url)
    # a form without its token first is refused before the file is read
    data = aiohttp.FormData()
    data.add_field("file", b"zonder token", filename="x.txt", content_type="text/plain")
    data.add_field("csrf_token", token)
    response = await insider.client.post(f"/groups/{closed['id']}/documents", data=data)
    assert response.status == 403
    # a refused file comes back on the form, at the file field, with what was typed kept (newcomer review)
    data = aiohttp.FormData()
    data.add_field("csrf_token", token)
    data.add_field("title", "Jaarverslag")
    data.add_field("file", b"<html></html>", filename="x.pdf", content_type="application/pdf")
    response = await insider.client.post(f"/groups/{closed['id']}/documents", data=data)
    html = await response.text()
    assert response.status == 415 and 'id="e-file"' in html and 'value="Jaarverslag"' in html
    assert "geen echt .pdf-bestand" in html and 'aria-invalid="true"' in html
    data = aiohttp.FormData()
    data.add_field("csrf_token", token)
    data.add_field("file", b"x" * (LIMIT + 1), filename="groot.txt", content_type="text/plain")
    html = await (await insider.client.post(f"/groups/{closed['id']}/documents", data=data)).text()
    assert "hoogstens 0 MB" in html and "%(max)" not in html   # the number, not the placeholder
    data = aiohttp.FormData()   # what a browser sends when no file was chosen
    data.add_field("csrf_token", token)
    data.add_field("file", b"", filename="", content_type="application/octet-stream")
    html = await (await insider.client.post(f"/groups/{closed['id']}/documents", data=data)).text()
    assert "Kies een bestand." in html


async def test_backup_carries_the_files(shelf, svc, tmp_path, monkeypatch, capsys):
    from forum.cli import backup_with_files, main
    if svc.config.database_url:  # a PostgreSQL site is backed up with pg_dump: the command says so
        monkeypatch.setenv("FORUM_DATABASE_URL", svc.config.database_url)
        monkeypatch.setenv("FORUM_DATA_DIR", str(svc.config.data_dir))
        assert main(["backup", str(tmp_path / "backup.sqlite3")]) == 2
        assert "pg_dump" in capsys.readouterr().err
        return
    target = tmp_path / "backup.sqlite3"
    copied = await asyncio.to_thread(backup_with_files, svc.config, target)
    assert copied == 4
    blob = shelf["docs"]["closed"]
    files = list((tmp_path / "backup.sqlite3-files").rglob("*"))
    assert len([f for f in files if f.is_file()]) == 4 and blob


async def test_images_are_shown_in_posts_only_with_words_for_who_cannot_see_them(shelf):
    insider, closed = shelf["actors"]["insider"], shelf["closed"]
    image = await upload(insider, closed["id"], png(), "kaart.png")
    assert image["image"] is True
    response = await insider.client.get(f"/documents/{image['id']}/download")
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["Content-Type"] == "image/png"
    fake = await upload(insider, closed["id"], b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>" * 10, "nep.png")
    assert fake["image"] is False   # starts like a PNG, does not decode as one: an attachment
    response = await insider.client.get(f"/documents/{fake['id']}/download")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    src = f"/documents/{image['id']}/download"
    thread = {"title": "De kaart", "body": f"Zie hier: ![]({src})"}
    body = await insider.post(f"/api/v1/groups/{closed['id']}/threads", thread, expect=422)
    assert src in body["error"]["fields"]["body"]
    created = await insider.post(f"/api/v1/groups/{closed['id']}/threads",
                                 {**thread, "body": f"Zie hier: ![De regio op de kaart]({src})"}, expect=201)
    assert f'<img src="{src}" alt="De regio op de kaart">' in created["post"]["body_html"]
    await shelf["actors"]["editor"].post("/api/v1/news", {"title": "Kaart", "body": f"![ ]({src})"}, expect=422)
    await shelf["actors"]["moderator"].post("/api/v1/events", {"title": "Kaart", "starts_at": "2027-03-15T10:00",
                                                               "description": f"![]({src})", "group_id": closed["id"]},
                                            expect=422)


async def test_what_the_attacker_tried_second(shelf, svc, server, monkeypatch):
    """Attacker review of documents: a field split over two reads, a stalled upload, a folder of
    another library, folder counts, a long text, a bomb of an image and a zip of many entries."""
    import forum.files as files_room
    from forum.files import extract, sniff
    insider, closed, opened = shelf["actors"]["insider"], shelf["closed"], shelf["open"]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    cookie = "; ".join(f"{c.key}={c.value}" for c in insider.client.session.cookie_jar)
    body = (b'--g\r\nContent-Disposition: form-data; name="title"\r\n\r\nTwee keer gele'
            b'zen\r\n--g\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhallo\r\n--g--\r\n')
    writer.write(f"POST /api/v1/groups/{closed['id']}/documents HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
                 f"X-CSRF-Token: {insider.csrf}\r\nContent-Type: multipart/form-data; boundary=g\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body[:60])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.write(body[60:])
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    # a stalled upload gives back its slot
    monkeypatch.setattr(files_room, "IDLE_SECONDS", 0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(f"POST /api/v1/groups/{closed['id']}/documents HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
                 f"X-CSRF-Token: {insider.csrf}\r\nContent-Type: multipart/form-data; boundary=g\r\n"
                 "Content-Length: 100000\r\n\r\n".encode()
                 + b'--g\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nbegin')
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(200), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    # a folder of another library: refused before the file is kept
    folder = (await insider.post(f"/api/v1/groups/{closed['id']}/folders", {"name": "Intern"}, expect=201))["folder"]
    kept = sorted(name for name, _ in svc.files.blobs())
    await upload(shelf["actors"]["moderator"], opened["id"], b"hallo", "a.txt", expect=422, folder_id=str(folder["id"]))
    assert sorted(name for name, _ in svc.files.blobs()) == kept
    # a folder's count is of what the viewer may read
    await upload(shelf["actors"]["editor"], None, b"intern", "a.txt", visibility="members")
    editor_folder = (await shelf["actors"]["editor"].post("/api/v1/folders", {"name": "Leden"}, expect=201))["folder"]
    doc = await upload(shelf["actors"]["editor"], None, b"intern", "b.txt", visibility="members")
    await shelf["actors"]["editor"].patch(f"/api/v1/documents/{doc['id']}", {"folder_id": editor_folder["id"]})
    assert "1 document" in await page(shelf["actors"]["outsider"], "/library")
    assert "1 document" not in await page(shelf["actors"]["visitor"], "/library")
    # all the words of a long text, not the first 64 KiB
    long_text = svc.config.files_dir / "lang.txt"
    long_text.write_text("woord " * 30_000 + "slotwoord\n")
    assert (await extract.text_of(long_text, sniff.TEXT)).rstrip().endswith("slotwoord")
    # a small file of a huge image is never shown inline; a zip of too many entries is no document
    from PIL import Image
    bomb = svc.config.files_dir / "bom.png"
    Image.new("1", (9000, 9000)).save(bomb)
    assert not sniff.verify_image(bomb, sniff.PNG)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for n in range(sniff.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"word/{n}", "")
    zipped = svc.config.files_dir / "veel.docx"
    zipped.write_bytes(many.getvalue())
    assert sniff.content_type(zipped, zipped.read_bytes()[:4096], "veel.docx") is None


def _writing(token: str, body: str, content: bytes | None = None, filename: str = "", **fields) -> aiohttp.FormData:
    """A writing form as a browser without JavaScript sends it: token first, the file last."""
    data = aiohttp.FormData()
    data.add_field("csrf_token", token)
    for name, value in {**fields, "body": body}.items():
        data.add_field(name, value)
    data.add_field("attachment", content if content is not None else b"", filename=filename,
                   content_type="application/octet-stream")
    return data


async def _last_body(svc, thread_id: int) -> str:
    async with svc.db.read() as conn:
        rows = await conn.execute_fetchall("SELECT body FROM posts WHERE thread_id = ? ORDER BY id DESC LIMIT 1",
                                           (thread_id,))
    return rows[0][0]


async def _named(user, group_id: int, filename: str) -> dict:
    found = [d for d in (await user.get(f"/api/v1/groups/{group_id}/documents"))["documents"] if d["filename"] == filename]
    assert len(found) == 1, filename
    return found[0]


async def test_without_javascript_a_file_goes_with_a_reply_or_a_new_discussion(shelf, svc):
    from tests.test_pages import csrf_of
    insider, closed = shelf["actors"]["insider"], shelf["closed"]["id"]
    thread = (await insider.post(f"/api/v1/groups/{closed}/threads", {"title": "Verslagen", "body": "Hier de stukken."},
                                 expect=201))["thread"]["id"]
    html = await page(insider, f"/threads/{thread}")
    assert 'enctype="multipart/form-data"' in html and 'type="file" id="attachment-thread" name="attachment"' in html
    token = csrf_of(html)
    response = await insider.client.post(f"/threads/{thread}/reply", data=_writing(
        token, "Het verslag van dinsdag.", pdf("Verslag van dinsdag"), "verslag.pdf"), allow_redirects=False)
    assert response.status == 303, await response.text()
    doc = await _named(insider, closed, "verslag.pdf")
    assert doc["group_id"] == closed
    assert await _last_body(svc, thread) == f"Het verslag van dinsdag.\n\n[verslag](/documents/{doc['id']})"
    # no file chosen: the browser still sends the empty field, and the reply is just the text
    response = await insider.client.post(f"/threads/{thread}/reply", data=_writing(token, "Zonder bijlage."),
                                         allow_redirects=False)
    assert response.status == 303
    assert await _last_body(svc, thread) == "Zonder bijlage."
    # an image: its line comes back in the text to be described, the file already kept
    response = await insider.client.post(f"/threads/{thread}/reply", data=_writing(token, "De kaart:", png(), "kaart.png"))
    html = await response.text()
    assert response.status == 422 and "Uw afbeelding staat nu in de tekst" in html
    assert 'action="/threads/%d/reply#reply"' % thread in html  # it opens at the form, its mistake announced
    assert html.index('role="alert"') > html.index('<form method="post" action="/threads/%d/reply#reply"' % thread)
    image = await _named(insider, closed, "kaart.png")
    line = f"![beschrijf wat erop staat](/documents/{image['id']}/download)"
    assert image["image"] and f"De kaart:\n\n{line}</textarea>" in html
    described = f"De kaart:\n\n![Kaart van de dijkring](/documents/{image['id']}/download)"
    response = await insider.client.post(f"/threads/{thread}/reply", data=_writing(csrf_of(html), described),
                                         allow_redirects=False)
    assert response.status == 303
    assert 'alt="Kaart van de dijkring"' in await page(insider, f"/threads/{thread}")
    # a new discussion
    new = f"/groups/{closed}/threads/new"
    html = await page(insider, new)
    assert 'enctype="multipart/form-data"' in html and 'name="attachment"' in html
    response = await insider.client.post(new, data=_writing(csrf_of(html), "Zie de notulen.", docx("Notulen"),
                                                            "notulen.docx", title="Notulen"), allow_redirects=False)
    assert response.status == 303, await response.text()
    started = int(response.headers["Location"].rsplit("/", 1)[1])
    notes = await _named(insider, closed, "notulen.docx")
    assert await _last_body(svc, started) == f"Zie de notulen.\n\n[notulen](/documents/{notes['id']})"


async def test_a_refused_attachment_gives_the_text_back_and_changes_nothing(shelf, svc, server):
    from tests.test_pages import csrf_of
    insider, editor, closed = shelf["actors"]["insider"], shelf["actors"]["editor"], shelf["closed"]["id"]
    thread = (await insider.post(f"/api/v1/groups/{closed}/threads", {"title": "Stukken", "body": "x"},
                                 expect=201))["thread"]["id"]
    await server.app[scheduler_key].run_once()
    token = csrf_of(await page(insider, f"/threads/{thread}"))
    before = await snapshot(svc)
    for content, name, says in ((b"<html><script>alert(1)</script></html>", "rapport.pdf", "geen echt .pdf-bestand"),
                                (b"x" * (LIMIT + 1), "groot.txt", "te groot"),
                                (b"", "leeg.txt", "leeg")):
        response = await insider.client.post(f"/threads/{thread}/reply", data=_writing(token, "Mijn getypte tekst",
                                                                                      content, name))
        html = await response.text()
        assert response.status == 422, (name, response.status)
        assert says in html and "Mijn getypte tekst</textarea>" in html and 'aria-invalid="true"' in html
    assert await snapshot(svc) == before
    # where nobody may add to a library (a site news item's comments), the file is refused, not posted
    news = (await editor.post("/api/v1/news", {"title": "Werkconferentie", "body": "Kom ook"}, expect=201))["news"]
    html = await page(insider, f"/news/{news['id']}")
    assert 'name="attachment"' not in html
    await server.app[scheduler_key].run_once()
    before = await snapshot(svc)
    response = await insider.client.post(f"/threads/{news['thread_id']}/reply",
                                         data=_writing(csrf_of(html), "Met bijlage", pdf("Stiekem"), "stiekem.pdf"))
    assert response.status == 422 and "Hier kunt u geen bestand toevoegen" in await response.text()
    assert await snapshot(svc) == before
    # and the form's token is checked before anything of the file is read
    response = await insider.client.post(f"/threads/{thread}/reply", data=_writing("vals", "x", pdf("y"), "y.pdf"))
    assert response.status == 403
    assert await snapshot(svc) == before


async def test_without_javascript_news_and_events_carry_files_into_their_library(shelf, svc, server):
    from tests.test_pages import csrf_of
    editor, moderator, insider = (shelf["actors"][who] for who in ("editor", "moderator", "insider"))
    opened = shelf["open"]["id"]
    html = await page(editor, "/news/new")
    assert 'enctype="multipart/form-data"' in html and 'name="attachment"' in html
    response = await editor.client.post("/news/new", data=_writing(
        csrf_of(html), "Het programma van de dag.", pdf("Programma werkconferentie"), "programma.pdf", where="site",
        title="Werkconferentie", summary="", kind="news", tags="", visibility="members", publish_at=""),
        allow_redirects=False)
    assert response.status == 303, await response.text()
    news_id = int(response.headers["Location"].rsplit("/", 1)[1])
    programme = [d for d in (await editor.get("/api/v1/documents"))["documents"] if d["filename"] == "programma.pdf"][0]
    assert programme["visibility"] == "members"  # members-only news: a members-only file
    item = (await editor.get(f"/api/v1/news/{news_id}"))["news"]
    assert f'href="/documents/{programme["id"]}"' in item["body_html"]
    # editing it, a second file goes the same way
    html = await page(editor, f"/news/{news_id}/edit")
    response = await editor.client.post(f"/news/{news_id}/edit", data=_writing(
        csrf_of(html), item["body"] if "body" in item else "Het programma van de dag.", b"naam;rol\n", "deelnemers.csv",
        title="Werkconferentie", summary="", kind="news", tags="", visibility="members", publish_at=""),
        allow_redirects=False)
    assert response.status == 303, await response.text()
    listed = [d for d in (await editor.get("/api/v1/documents"))["documents"] if d["filename"] == "deelnemers.csv"]
    assert listed and listed[0]["visibility"] == "members"
    # an event in a group: the file goes into that group's library, its line under the description
    html = await page(moderator, f"/events/new?group_id={opened}")
    response = await moderator.client.post("/events/new", data=_writing(
        csrf_of(html), "", docx("Agenda van het overleg"), "agenda.docx", where=str(opened), title="Overleg",
        description="Bespreking van de plannen.", starts_on="2027-06-04", starts_time="09:30", ends_on="", ends_time="",
        location="", online_url="", capacity="", signup_deadline="", questions=""), allow_redirects=False)
    assert response.status == 303, await response.text()
    event_id = int(response.headers["Location"].rsplit("/", 1)[1])
    agenda = await _named(moderator, opened, "agenda.docx")
    event = (await moderator.get(f"/api/v1/events/{event_id}"))["event"]
    assert event["description"] == f"Bespreking van de plannen.\n\n[agenda](/documents/{agenda['id']})"
    # a member who may not publish site news cannot put a file into the site's library that way
    await server.app[scheduler_key].run_once()
    before = await snapshot(svc)
    response = await insider.client.post("/news/new", data=_writing(
        csrf_of(await page(insider, "/groups")), "x", pdf("Stiekem"), "stiekem.pdf", where="site", title="x"))
    assert response.status in (403, 422)
    assert await snapshot(svc) == before


async def test_a_file_is_kept_only_where_its_writer_may_publish_and_broken_forms_are_400(shelf, svc, server):
    from tests.test_pages import csrf_of
    moderator, insider, visitor = (shelf["actors"][who] for who in ("moderator", "insider", "visitor"))
    opened, closed = shelf["open"]["id"], shelf["closed"]["id"]
    thread = (await insider.post(f"/api/v1/groups/{closed}/threads", {"title": "Stukken", "body": "x"},
                                 expect=201))["thread"]["id"]
    token = csrf_of(await page(insider, f"/threads/{thread}"))
    moderator_token = csrf_of(await page(moderator, "/news/new"))
    await server.app[scheduler_key].run_once()
    before = await snapshot(svc)
    # a member of a group who may not publish its news: the news is refused, and so is its file
    response = await insider.client.post("/news/new", data=_writing(
        token, "Nieuws", pdf("Bijlage"), "bijlage.pdf", where=str(closed), title="Nieuws", kind="news"))
    assert response.status in (403, 422)
    # the whole form decides where a file goes: "where" sent again after the first (or after the file)
    data = aiohttp.FormData()
    for name, value in (("csrf_token", moderator_token), ("where", str(opened)),
                        ("title", "Nieuws"), ("body", "tekst"), ("where", "site")):
        data.add_field(name, value)
    data.add_field("attachment", pdf("Bijlage"), filename="bijlage.pdf", content_type="application/pdf")
    response = await moderator.client.post("/news/new", data=data)
    assert response.status in (403, 422)
    assert await snapshot(svc) == before
    # a part whose header is no header: 400 with a message, for a visitor and a member alike
    broken = b"--XX\r\ngarbage\r\n\r\nx\r\n--XX--\r\n"
    late = (b"--XX\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + token.encode()
            + b"\r\n--XX\r\ngarbage\r\n\r\nx\r\n--XX--\r\n")
    headers = {"Content-Type": "multipart/form-data; boundary=XX"}
    for user, path, body in ((visitor, f"/threads/{thread}/reply", broken), (insider, f"/threads/{thread}/reply", late),
                             (insider, "/news/new", late), (insider, f"/groups/{closed}/documents", late),
                             (insider, "/settings/profile", broken)):
        response = await user.client.post(path, data=body, headers=headers)
        assert response.status in (400, 403), (path, response.status)
    response = await insider.client.post(f"/api/v1/groups/{closed}/documents", data=late,
                                         headers={**headers, "X-CSRF-Token": insider.csrf})
    assert response.status == 400 and (await response.json())["error"]["message"]
    assert await snapshot(svc) == before


async def test_news_to_appear_later_takes_no_file_which_would_be_found_first(shelf, svc, server):
    from tests.test_pages import csrf_of
    editor = shelf["actors"]["editor"]
    await server.app[scheduler_key].run_once()
    html = await page(editor, "/news/new")
    before = await snapshot(svc)
    response = await editor.client.post("/news/new", data=_writing(
        csrf_of(html), "Het rapport", pdf("Embargowoord"), "rapport.pdf", where="site", title="Rapport",
        summary="", kind="news", tags="", visibility="public", publish_at="2031-01-01T10:00"))
    text = await response.text()
    assert response.status == 422 and "Het rapport</textarea>" in text
    assert '<p class="error" id="e-attachment">Een bericht dat later verschijnt, krijgt zijn bijlagen' in text
    assert await snapshot(svc) == before
    # scheduled without a file, then edited with one: refused the same way
    item = (await editor.post("/api/v1/news", {"title": "Later", "body": "x", "publish_at": "2031-01-01T10:00"},
                              expect=201))["news"]
    await server.app[scheduler_key].run_once()
    html = await page(editor, f"/news/{item['id']}/edit")
    assert "data-attach-not-yet" in html  # the button says the same
    before = await snapshot(svc)
    response = await editor.client.post(f"/news/{item['id']}/edit", data=_writing(
        csrf_of(html), "x", pdf("Embargowoord"), "rapport.pdf", title="Later", summary="", kind="news", tags="",
        visibility="public", publish_at="2031-01-01T10:00"))
    assert response.status == 422
    assert '<p class="error" id="e-attachment">Een bericht dat later verschijnt' in await response.text()
    assert await snapshot(svc) == before
    assert not (await shelf["actors"]["visitor"].get("/api/v1/search?q=embargowoord"))["results"]


async def test_folders_are_renamed_and_emptied_ones_deleted_by_their_maker_and_the_keepers(shelf, svc, server):
    from tests.test_pages import csrf_of
    actors, closed, opened = shelf["actors"], shelf["closed"]["id"], shelf["open"]["id"]
    insider, moderator, editor = actors["insider"], actors["moderator"], actors["editor"]
    mine = (await insider.post(f"/api/v1/groups/{closed}/folders", {"name": "Verslagen"}, expect=201))["folder"]
    theirs = (await moderator.post(f"/api/v1/groups/{opened}/folders", {"name": "Kaarten"}, expect=201))["folder"]
    site = (await editor.post("/api/v1/folders", {"name": "Persberichten"}, expect=201))["folder"]
    expected = {  # (my folder in the closed group, the moderator's in the open group, the site's)
        "visitor": (404, 401, 401), "outsider": (404, 403, 403), "banned": (404, 403, 403),
        "insider": (200, 403, 403), "moderator": (200, 200, 403), "editor": (404, 403, 200),
        "admin": (200, 200, 200)}
    await server.app[scheduler_key].run_once()
    for who, statuses in expected.items():
        for folder, status in zip((mine, theirs, site), statuses):
            if status != 200:
                before = await snapshot(svc)
                await actors[who].patch(f"/api/v1/folders/{folder['id']}", {"name": "Gekaapt"}, expect=status)
                await actors[who].delete(f"/api/v1/folders/{folder['id']}", expect=status)
                assert await snapshot(svc) == before, (who, folder["name"])
            else:  # may: rename it and back (the one who renames it last keeps the name)
                renamed = await actors[who].patch(f"/api/v1/folders/{folder['id']}", {"name": f"{folder['name']} 2"})
                assert renamed["folder"]["name"] == f"{folder['name']} 2"
                await actors[who].patch(f"/api/v1/folders/{folder['id']}", {"name": folder["name"]})
    # a name taken where it is, or with a slash: refused
    other = (await insider.post(f"/api/v1/groups/{closed}/folders", {"name": "Notulen"}, expect=201))["folder"]
    await insider.patch(f"/api/v1/folders/{other['id']}", {"name": "verslagen"}, expect=409)
    await insider.patch(f"/api/v1/folders/{other['id']}", {"name": "a/b"}, expect=422)
    await insider.patch(f"/api/v1/folders/{other['id']}", {"name": "NOTULEN"})  # its own name, other case
    # as the unique index compares: SQLite folds ASCII letters only, so É and é are two names
    accented = (await insider.post(f"/api/v1/groups/{closed}/folders", {"name": "Éa"}, expect=201))["folder"]
    await insider.post(f"/api/v1/groups/{closed}/folders", {"name": "éa"}, expect=201)
    await insider.patch(f"/api/v1/folders/{accented['id']}", {"name": "éa"}, expect=409)
    body = await insider.patch(f"/api/v1/folders/{accented['id']}", {"name": "\u202e\u200b"}, expect=422)
    assert "name" in body["error"]["fields"]  # invisible characters are no name
    await insider.get("/api/v1/folders/999999", expect=405)
    await insider.patch("/api/v1/folders/999999", {"name": "x"}, expect=404)
    # only an empty folder goes
    doc = await upload(insider, closed, b"regel\n", "in-map.txt", folder_id=str(mine["id"]))
    body = await insider.delete(f"/api/v1/folders/{mine['id']}", expect=409)
    assert "niet leeg" in body["error"]["message"]
    await insider.patch(f"/api/v1/documents/{doc['id']}", {"folder_id": None})
    await insider.delete(f"/api/v1/folders/{mine['id']}")
    listed = (await insider.get(f"/api/v1/groups/{closed}/documents"))["folders"]
    assert sorted(f["name"] for f in listed) == ["NOTULEN", "Éa", "éa"]
    again = (await insider.post(f"/api/v1/groups/{closed}/folders", {"name": "Verslagen"}, expect=201))["folder"]
    assert again["id"] > mine["id"]  # a deleted folder's id is never given again
    # the same without JavaScript, on the folder's page
    html = await page(insider, f"/groups/{closed}/documents?folder_id={other['id']}")
    assert "Map wijzigen" in html
    assert "Map wijzigen" in await page(moderator, f"/groups/{opened}/documents?folder_id={theirs['id']}")
    assert "Map wijzigen" not in await page(actors["outsider"], f"/groups/{opened}/documents?folder_id={theirs['id']}")
    response = await insider.client.post(f"/folders/{other['id']}", data={"csrf_token": csrf_of(html), "action": "rename",
                                                                           "name": "Agenda"}, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/groups/{closed}/documents?folder_id={other['id']}&renamed=1"
    assert "De map heet nu Agenda." in await page(insider, response.headers["Location"])
    response = await insider.client.post(f"/folders/{other['id']}", data={"csrf_token": csrf_of(html), "action": "rename",
                                                                           "name": ""})
    assert response.status == 422 and 'id="e-folder_name"' in await response.text()
    # a folder that filled up meanwhile (another tab): the refusal is said once, in the folder's box
    inside = await upload(insider, closed, b"regel\n", "erin.txt", folder_id=str(other["id"]))
    response = await insider.client.post(f"/folders/{other['id']}", data={"csrf_token": csrf_of(html), "action": "delete"})
    text = await response.text()
    assert response.status == 409 and text.count("Deze map is niet leeg") == 1
    assert "Controleer de gemarkeerde velden" not in text and 'value="Agenda"' in text
    assert 'value="delete"' not in text  # not offered while something is in it
    response = await insider.client.post(f"/folders/{other['id']}", data={"csrf_token": csrf_of(html), "action": "zap"})
    assert response.status == 422 and "Onbekende actie." in await response.text()
    await insider.delete(f"/api/v1/documents/{inside['id']}")
    response = await insider.client.post(f"/folders/{other['id']}", data={"csrf_token": csrf_of(html), "action": "delete"},
                                         allow_redirects=False)
    assert response.status == 303
    assert "De map is verwijderd." in await page(insider, response.headers["Location"])


async def test_folder_names_are_compared_alike_on_either_database(admin):
    # the unique index folds ASCII letters only (lower() of the column, on both databases);
    # the check before it must compare the same way, or a name slips past it into a 500
    statuses = []
    for name in ("École", "ÉCOLE", "école", "über", "Über", "Notulen", "NOTULEN"):
        response = await admin.client.post("/api/v1/folders", json={"name": name}, headers={"X-CSRF-Token": admin.csrf})
        statuses.append(response.status)
    assert statuses == [201, 409, 201, 201, 201, 201, 409]
    folder = (await admin.post("/api/v1/folders", {"name": "Kaarten"}, expect=201))["folder"]
    renamed = await admin.client.patch(f"/api/v1/folders/{folder['id']}", json={"name": "éCOLE"},
                                       headers={"X-CSRF-Token": admin.csrf})
    assert renamed.status == 409
