"""The child process that reads the words out of one document: `python -I extract_child.py PATH
MODE` (MODE: pdf, docx, odt, text) writes them to stdout. Run by forum/files/extract.py. It puts
itself under its limits before it opens the file: set by the server between fork and exec
(preexec_fn), they made every start copy the server's memory map, a pause of the event loop.
It imports nothing of the forum (importing the package would load aiohttp: a third of a second
of CPU for every document), only the standard library and pypdf."""
from __future__ import annotations

import os
import resource
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

MAX_CHARS = 200_000        # what search keeps of one document
CPU_SECONDS = 20
MEMORY_BYTES = 512 * 1024 * 1024
_XML_MAX = 50 * 1024 * 1024  # an office document's text part, unpacked (a zip bomb stops here)


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


def extract(path: Path, mode: str) -> str:
    if mode == "pdf":
        return _pdf(path)
    if mode == "docx":
        return _xml_text(path, "word/document.xml", ("p",), "t")
    if mode == "odt":
        return _xml_text(path, "content.xml", ("p", "h"), None)
    with path.open("rb") as handle:
        return handle.read(MAX_CHARS * 4).decode("utf-8", "replace")


def limit_this_process() -> None:
    try:
        # runs only when a core is otherwise idle: at nice 10 instead, ten PDFs read during a
        # burst of uploads still doubled the cached thread page's p99 (bench/bench_uploads.py)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):  # not Linux, or not allowed here
        os.nice(19)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS + 1))


if __name__ == "__main__":
    limit_this_process()
    text = extract(Path(sys.argv[1]), sys.argv[2])
    sys.stdout.write(text[:MAX_CHARS])
