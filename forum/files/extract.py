"""The words inside a document (PDF, docx, ODF text, plain text and CSV), for search. Read by a
separate process (forum/files/extract_child.py) under limits of CPU time, memory and output,
at the lowest priority: a hostile file can exhaust that process, never the server, and reading
words never takes CPU that pages are waiting for. The server calls text_of()."""
from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from forum.files import sniff
from forum.files.extract_child import MAX_CHARS

log = logging.getLogger(__name__)

# The wall-clock bound is wide: at idle priority the child waits while the server is busy, and
# what a hostile file can spend is its CPU and memory, which the child limits (extract_child.py).
WALL_SECONDS = 600
MODES = {sniff.PDF: "pdf", sniff.DOCX: "docx", sniff.ODT: "odt", sniff.TEXT: "text", sniff.CSV: "text"}
EXTRACTABLE = tuple(MODES)
CHILD = Path(__file__).with_name("extract_child.py")


async def text_of(path: Path, kind: str, timeout: float = WALL_SECONDS) -> str | None:
    """The text of a stored file, or None when it has none we can read (or reading it failed
    or took too long: the process is killed)."""
    if kind not in EXTRACTABLE:
        return None
    # -I: no environment variables or user site-packages steer the child
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", str(CHILD), str(path), MODES[kind], stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
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
