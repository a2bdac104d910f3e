"""What a file is, decided from its bytes: never from its name or the browser's claim. Only
the kinds the libraries accept are recognised (PDF, the office formats, PNG, JPEG, WebP, text
and CSV); anything else, SVG and HTML among it, is refused. Names are made safe here too."""
from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from urllib.parse import unquote
from pathlib import Path

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
ODP = "application/vnd.oasis.opendocument.presentation"
PNG, JPEG, WEBP = "image/png", "image/jpeg", "image/webp"
TEXT, CSV = "text/plain", "text/csv"
IMAGES = (PNG, JPEG, WEBP)
EXTENSIONS = {PDF: ".pdf", DOCX: ".docx", XLSX: ".xlsx", PPTX: ".pptx", ODT: ".odt", ODS: ".ods", ODP: ".odp",
              PNG: ".png", JPEG: ".jpg", WEBP: ".webp", TEXT: ".txt", CSV: ".csv"}
OOXML = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
ODF = {ODT.encode(): ODT, ODS.encode(): ODS, ODP.encode(): ODP}
# text a browser could take for markup or script, were it ever shown inline
_MARKUP = re.compile(rb"^\s*(?:\xef\xbb\xbf)?\s*<(?:!doctype|html|head|body|svg|script|\?xml|iframe|object)", re.I)
MAX_NAME = 150


def content_type(path: Path, head: bytes, claimed_name: str) -> str | None:
    """The type of the file at `path` (head: its first bytes), or None if it is not one we take."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"PK\x03\x04"):
        return _zipped(path)
    if _is_text(path, head):
        return CSV if claimed_name.lower().endswith(".csv") else TEXT
    return None


MAX_ZIP_ENTRIES = 10_000   # an office document has dozens to hundreds


def _zip_entries(path: Path) -> int | None:
    """How many entries a zip says it holds, from its end record, before any of them is read
    (a crafted zip with hundreds of thousands cost 160 MB to list)."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 12:
        return None
    return int.from_bytes(tail[at + 10:at + 12], "little")


def _zipped(path: Path) -> str | None:
    """An office document is a zip: which one, from what is inside (a zip of anything else is refused)."""
    try:
        entries = _zip_entries(path)
        if entries is None or entries > MAX_ZIP_ENTRIES:  # 0xFFFF there means ZIP64: more than we take
            return None
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                with archive.open("mimetype") as handle:
                    return ODF.get(handle.read(100).strip())
            if "[Content_Types].xml" in names:
                for prefix, kind in OOXML.items():
                    if any(name.startswith(prefix) for name in names):
                        return kind
    # (zipfile raises NotImplementedError for a compression method it does not know: not ours either)
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, NotImplementedError):
        return None
    return None


def _is_text(path: Path, head: bytes) -> bool:
    """UTF-8 text (a BOM allowed), without NUL bytes and not starting like markup; read in
    chunks, so a large file is not held in memory."""
    if b"\x00" in head or _MARKUP.match(head):
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 16):
                if b"\x00" in chunk:
                    return False
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, OSError):
        return False
    return True


MAX_PIXELS = 40_000_000   # 8000 x 5000


def verify_image(path: Path, kind: str) -> bool:
    """An image is shown inline only when it decodes as the kind its bytes claim (a polyglot
    that merely starts like a PNG does not)."""
    from PIL import Image, UnidentifiedImageError
    expected = {PNG: "PNG", JPEG: "JPEG", WEBP: "WEBP"}[kind]
    try:
        with Image.open(path) as image:
            # a small file that unpacks to a huge image costs every reader's browser hundreds of
            # megabytes: such a file is a download, never shown (Pillow itself stops only at 2x its limit)
            if image.format != expected or image.width * image.height > MAX_PIXELS:
                return False
            image.verify()
        return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False


def safe_name(raw: str, kind: str) -> str:
    """The name a download is saved as: the uploaded name without paths, control and
    direction characters, at most MAX_NAME characters, ending in the extension of its real type."""
    # clients percent-encode what a header cannot carry (aiohttp all of it, browsers " and line
    # breaks): decoded first, so that an encoded / or NUL is removed like a plain one
    name = unicodedata.normalize("NFC", unquote(raw or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, RTL overrides, NUL
    name = " ".join(name.split()).strip(". ")
    stem, dot, extension = name.rpartition(".")
    stem = stem if dot else name
    wanted = EXTENSIONS[kind]
    if not stem:
        stem = "bestand"
    stem = stem[:MAX_NAME - len(wanted)].rstrip(". ")
    if kind == JPEG and extension.lower() == "jpeg":
        wanted = ".jpeg"
    return stem + wanted
