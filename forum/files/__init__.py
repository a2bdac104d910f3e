"""Storing uploads: each file under the data directory by the SHA-256 of its content (never
under static/, never by a name anyone chose), written while it streams in (never held whole in
memory), checked, and only then put in place; its database row comes in the transaction after.
A crash at any step leaves at most a file that no row names, which sweep() removes after a grace
period. Who may download a file is the policy's question (forum/policy.py), not this room's."""
from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader

from forum.errors import N_, ServiceError
from forum.files import sniff

CHUNK = 1 << 16
HEAD = 4096
ORPHAN_GRACE_SECONDS = 3600  # an upload between its file and its row is younger than this


class TooLarge(ServiceError):
    status, code = 413, "too_large"
    default_message = N_("Het bestand is te groot (hoogstens %(max)d MB).")


class Refused(ServiceError):
    status, code = 415, "unsupported_file"
    default_message = N_("Dit soort bestand kan niet worden geplaatst. Toegestaan: PDF, Word, Excel, PowerPoint,"
                         " OpenDocument, PNG, JPEG, WebP, tekst en CSV.")


class Empty(ServiceError):
    status, code = 422, "invalid"
    default_message = N_("Het bestand is leeg.")


@dataclass
class Upload:
    """A received file, checked, waiting in the temporary directory for its row."""
    temp: Path
    size: int
    digest: str
    content_type: str
    filename: str
    inline_ok: bool   # an image that decodes as what it claims: may be shown in a page

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


class FileStore:
    def __init__(self, root: Path, max_bytes: int):
        self.root = root
        self.max_bytes = max_bytes
        self.temp_dir = root / "tmp"

    def path_of(self, blob: str) -> Path:
        if len(blob) != 64 or not all(ch in "0123456789abcdef" for ch in blob):
            raise ValueError("not a blob name")
        return self.root / blob[:2] / blob

    async def receive(self, part: BodyPartReader, claimed_name: str) -> Upload:
        """Stream one multipart field to a temporary file, hashing as it comes. Beyond the limit
        the upload stops at once with 413 (the rest is not read); then the type is decided from
        the content, off the event loop."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.temp_dir, prefix="upload-", delete=False)
        temp = Path(handle.name)
        digest, size, head = hashlib.sha256(), 0, b""
        try:
            with handle:
                while chunk := await part.read_chunk(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(max=self.max_bytes // (1024 * 1024))
                    if len(head) < HEAD:
                        head += chunk[:HEAD - len(head)]
                    digest.update(chunk)
                    handle.write(chunk)
                await asyncio.to_thread(os.fsync, handle.fileno())
            if size == 0:
                raise Empty()
            kind = await asyncio.to_thread(sniff.content_type, temp, head, claimed_name)
            if kind is None:
                raise Refused()
            inline_ok = kind in sniff.IMAGES and await asyncio.to_thread(sniff.verify_image, temp, kind)
            return Upload(temp, size, digest.hexdigest(), kind, sniff.safe_name(claimed_name, kind), inline_ok)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    async def keep(self, upload: Upload) -> str:
        """Put a checked upload in place under its content's name (the same content once)."""
        target = self.path_of(upload.digest)

        def move():
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                upload.discard()
            else:
                os.replace(upload.temp, target)
                os.chmod(target, 0o600)
                fd = os.open(target.parent, os.O_RDONLY)  # the rename itself survives a crash
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            os.utime(target)  # fresh: the sweeper's grace period starts now, for a file kept again too
        await asyncio.to_thread(move)
        return upload.digest

    def blobs(self):
        """(name, path) of every stored file."""
        if not self.root.is_dir():
            return
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for path in sorted(sub.iterdir()):
                    if len(path.name) == 64:
                        yield path.name, path

    def sweep(self, referenced: set[str], now: float | None = None) -> int:
        """Remove files no row names (left by a crash, or by a deleted document) once they are
        older than the grace period, and temporary files of uploads that never finished."""
        now = time.time() if now is None else now
        removed = 0
        for name, path in list(self.blobs()):
            if name not in referenced and now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS:
                path.unlink(missing_ok=True)
                removed += 1
        if self.temp_dir.is_dir():
            for path in self.temp_dir.iterdir():
                if now - path.stat().st_mtime > ORPHAN_GRACE_SECONDS:
                    path.unlink(missing_ok=True)
                    removed += 1
        return removed

    def check(self, referenced: set[str]) -> list[str]:
        """Rows without their file, and files without a row (for `run.py check`)."""
        stored = {name for name, _ in self.blobs()}
        problems = [f"file missing for a document version: {name}" for name in sorted(referenced - stored)]
        problems += [f"file without a document version: {name}" for name in sorted(stored - referenced)]
        return problems

    def copy_to(self, destination: Path, names: set[str]) -> int:
        """Copy these files into a backup's files directory (those already there are kept)."""
        copied = 0
        for name in sorted(names):
            source = self.path_of(name)
            target = destination / name[:2] / name
            if source.exists() and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                copied += 1
        return copied
