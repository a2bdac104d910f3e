"""Storing uploads: each file under the data directory by a random name (never under static/,
never by a name anyone chose), written while it streams in (never held whole in memory),
checked, and only then put in place; its database row comes in the transaction after. (Named
by their SHA-256, each upload was hashed at the cost of CPU that pages then lacked; identical
uploads are too rare to pay that for.)
A crash at any step leaves at most a file that no row names, which sweep() removes after a grace
period. Who may download a file is the policy's question (forum/policy.py), not this room's."""
from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader

from forum.errors import N_, ServiceError
from forum.files import sniff

CHUNK = 1 << 18
BATCH = 1 << 20   # what is written in one go, on a worker thread
HEAD = 4096
ORPHAN_GRACE_SECONDS = 3600  # an upload between its file and its row is younger than this
# Uploads read at the same time, in this process: reading one costs the event loop about as much
# CPU as the pages it serves meanwhile (bench/bench_uploads.py); the others wait their turn with
# their bytes in the kernel's buffers (TCP backpressure), not in memory here.
READING_AT_ONCE = 2
# An upload that sends nothing for this long is dropped (408): it must not hold a reading slot.
IDLE_SECONDS = 20


class TooLarge(ServiceError):
    status, code = 413, "too_large"
    default_message = N_("Het bestand is te groot (hoogstens %(max)d MB).")


class Refused(ServiceError):
    status, code = 415, "unsupported_file"
    default_message = N_("Dit soort bestand kan niet worden geplaatst. Toegestaan: PDF, Word, Excel, PowerPoint,"
                         " OpenDocument, PNG, JPEG, WebP, tekst en CSV.")


class Stalled(ServiceError):
    status, code = 408, "upload_stalled"
    default_message = N_("Het uploaden stond te lang stil. Probeer het opnieuw.")


class Empty(ServiceError):
    status, code = 422, "invalid"
    default_message = N_("Het bestand is leeg.")


@dataclass
class Upload:
    """A received file, checked, waiting in the temporary directory for its row."""
    temp: Path
    size: int
    name: str         # random: the file's name on disk once it is kept
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
        self.reading = asyncio.Semaphore(READING_AT_ONCE)

    def path_of(self, blob: str) -> Path:
        if len(blob) != 64 or not all(ch in "0123456789abcdef" for ch in blob):
            raise ValueError("not a blob name")
        return self.root / blob[:2] / blob

    async def receive(self, part: BodyPartReader, claimed_name: str) -> Upload:
        """Stream one multipart field to a temporary file, hashing as it comes. Beyond the limit
        the upload stops at once with 413 (the rest is not read); then the type is decided from
        the content, off the event loop."""
        async with self.reading:
            return await self._receive(part, claimed_name)

    async def _receive(self, part: BodyPartReader, claimed_name: str) -> Upload:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=self.temp_dir, prefix="upload-", delete=False)
        temp = Path(handle.name)
        size, head, pending = 0, b"", []

        def store(chunks: list[bytes]) -> None:  # off the event loop, without copying
            handle.writelines(chunks)
        try:
            with handle:
                while chunk := await self._next_chunk(part):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise TooLarge(max=self.max_bytes // (1024 * 1024))
                    if len(head) < HEAD:
                        head += chunk[:HEAD - len(head)]
                    pending.append(chunk)
                    if len(pending) * CHUNK >= BATCH:
                        await asyncio.to_thread(store, pending)
                        pending = []
                    else:
                        # on loopback the next chunk is already there and reading it would not
                        # yield: page requests get their turn between chunks
                        await asyncio.sleep(0)
                await asyncio.to_thread(store, pending)
                await asyncio.to_thread(os.fsync, handle.fileno())
            if size == 0:
                raise Empty()
            kind = await asyncio.to_thread(sniff.content_type, temp, head, claimed_name)
            if kind is None:
                named = claimed_name.rsplit(".", 1)[-1].lower() if "." in claimed_name else ""
                if "." + named in sniff.EXTENSIONS.values() or named == "jpeg":
                    # it says it is one we take, and it is not (HTML renamed to .pdf): say that
                    raise Refused(N_("Dit bestand is geen echt .%(extension)s-bestand: de inhoud past niet bij de naam."
                                     " Sla het opnieuw op in het juiste formaat."), extension=named)
                raise Refused()
            inline_ok = kind in sniff.IMAGES and await asyncio.to_thread(sniff.verify_image, temp, kind)
            return Upload(temp, size, secrets.token_hex(32), kind, sniff.safe_name(claimed_name, kind), inline_ok)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    @staticmethod
    async def _next_chunk(part: BodyPartReader) -> bytes:
        try:
            async with asyncio.timeout(IDLE_SECONDS):
                return await part.read_chunk(CHUNK)
        except TimeoutError:
            raise Stalled()

    def touch(self, names: list[str]) -> None:
        """Files whose rows are gone get the sweeper's full grace period from now (a backup that
        began before the delete still finds them)."""
        for name in names:
            try:
                os.utime(self.path_of(name))
            except (FileNotFoundError, ValueError):
                pass

    async def keep(self, upload: Upload) -> str:
        """Put a checked upload in place under its random name; returns that name."""
        target = self.path_of(upload.name)

        def move():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(upload.temp, target)
            os.chmod(target, 0o600)
            os.utime(target)  # fresh: the sweeper's grace period starts now
            fd = os.open(target.parent, os.O_RDONLY)  # the rename itself survives a crash
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        await asyncio.to_thread(move)
        return upload.name

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
