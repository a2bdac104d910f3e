"""The words inside a document (PDF, docx, ODF text, plain text and CSV), for search. Run as a
separate process (`python -m forum.files.extract PATH TYPE`) under limits of time, memory and
output: a hostile file can exhaust that process, never the server. The server calls text_of()."""
from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from forum.files import sniff

log = logging.getLogger(__name__)

MAX_CHARS = 200_000        # what search keeps of one document
TIME_SECONDS = 20
MEMORY_BYTES = 512 * 1024 * 1024
EXTRACTABLE = (sniff.PDF, sniff.DOCX, sniff.ODT, sniff.TEXT, sniff.CSV)
_XML_MAX = 50 * 1024 * 1024  # an office document's text part, unpacked (a zip bomb stops here)


def _limits() -> None:  # in the child, before it runs anything
    os.nice(10)  # the server's requests first: on a busy machine the words can wait
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TIME_SECONDS, TIME_SECONDS + 1))


async def text_of(path: Path, kind: str, timeout: float = TIME_SECONDS) -> str | None:
    """The text of a stored file, or None when it has none we can read (or reading it failed
    or took too long: the process is killed)."""
    if kind not in EXTRACTABLE:
        return None
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "forum.files.extract", str(path), kind, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, preexec_fn=_limits)
    try:
        # all of it (the child writes at most MAX_CHARS): reading part would leave it blocked on the pipe
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        log.warning("text extraction of %s took longer than %s s: stopped", path.name, timeout)
        process.kill()
        await process.wait()
        return None
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        return None
    return out.decode("utf-8", "replace")[:MAX_CHARS]


# --- in the child process ----------------------------------------------------------------------

def _pdf(path: Path) -> str:
    from pypdf import PdfReader
    reader = PdfReader(path)
    parts, size = [], 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size > MAX_CHARS:
            break
    return "\n".join(parts)


def _xml_text(path: Path, member: str, paragraph_tags: tuple[str, ...], run_tag: str | None) -> str:
    """The paragraphs of an office document's XML part: with run_tag (docx's w:t) the text of
    those elements, otherwise all text inside each paragraph (ODF's text:p and text:h)."""
    with zipfile.ZipFile(path) as archive:
        if archive.getinfo(member).file_size > _XML_MAX:
            raise ValueError("text part too large")
        with archive.open(member) as handle:
            parts = []
            for _, element in ElementTree.iterparse(handle, events=("end",)):
                tag = element.tag.rsplit("}", 1)[-1]
                if run_tag is not None and tag == run_tag:
                    parts.append(element.text or "")
                elif tag in paragraph_tags:
                    if run_tag is None:
                        parts.append("".join(element.itertext()))
                    parts.append("\n")
                    element.clear()
            return "".join(parts)


def extract(path: Path, kind: str) -> str:
    if kind == sniff.PDF:
        return _pdf(path)
    if kind == sniff.DOCX:
        return _xml_text(path, "word/document.xml", ("p",), "t")
    if kind == sniff.ODT:
        return _xml_text(path, "content.xml", ("p", "h"), None)
    with path.open("rb") as handle:
        return handle.read(MAX_CHARS * 4).decode("utf-8", "replace")


if __name__ == "__main__":
    text = extract(Path(sys.argv[1]), sys.argv[2])
    sys.stdout.write(text[:MAX_CHARS])
