"""Profile photos, and groups' icons and banners: an uploaded image (PNG, JPEG or WebP that
decodes as what it claims) cut to its shape from the centre and scaled on the server (SIZES), so
every one is small and stripped of what the camera wrote in it (EXIF: place, device)."""
from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from forum.errors import N_, ServiceError
from forum.files import FileStore, Upload, sniff

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = 256
# a photo is decoded whole to be cut: an image that small on disk can still unpack to 4 bytes a
# pixel, so the cap is lower than for documents shown in a page (sniff.MAX_PIXELS): 16 MP, at
# most 64 MB while it is cut
PHOTO_MAX_PIXELS = 16_000_000


class PhotoRefused(ServiceError):
    status, code = 422, "invalid"


class PhotoTooLarge(PhotoRefused):
    status, code = 413, "too_large"


def check(upload: Upload, field: str = "photo") -> None:
    """Refuses what is no image to keep: not an image, over 5 MB, or too many pixels to decode
    (the reason at `field`, the form's file field)."""
    if upload.size > PHOTO_MAX_BYTES:
        raise PhotoTooLarge(fields={field: N_("Deze afbeelding is te groot: hoogstens 5 MB.")})
    if upload.content_type not in sniff.IMAGES:
        raise PhotoRefused(fields={field: N_("Kies een afbeelding als PNG, JPEG of WebP.")})
    if not upload.inline_ok or _pixels(upload) > PHOTO_MAX_PIXELS:
        raise PhotoRefused(fields={field: DAMAGED})


DAMAGED = N_("Deze afbeelding heeft te grote afmetingen of is beschadigd (hoogstens 16 megapixel).")


def _pixels(upload: Upload) -> int:
    from PIL import Image
    try:
        with Image.open(upload.temp) as image:  # reads the header only
            return image.width * image.height
    except (OSError, ValueError, Image.DecompressionBombError):
        return PHOTO_MAX_PIXELS + 1


SIZES = {"photo": (PHOTO_SIZE, PHOTO_SIZE), "icon": (160, 160), "banner": (1200, 300)}


def refused_kind(field: str) -> PhotoRefused:
    """What a file of another kind than an image (the file store refused it) gets here."""
    return PhotoRefused(fields={field: N_("Kies een afbeelding als PNG, JPEG of WebP.")})


def fit(upload: Upload, temp_dir: Path, kind: str, field: str = "photo") -> Upload:
    """The image cut to the shape of `kind` (SIZES) from its centre and scaled to it, as JPEG.
    An image that does not decode to the end (a truncated file) is refused at `field`."""
    from PIL import Image
    target = temp_dir / f"{kind}-{secrets.token_hex(8)}.jpg"
    try:
        _fit(upload, target, SIZES[kind])
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        target.unlink(missing_ok=True)
        raise PhotoRefused(fields={field: DAMAGED})
    return Upload(target, target.stat().st_size, secrets.token_hex(32), sniff.JPEG, "foto.jpg", True)


def _fit(upload: Upload, target: Path, size: tuple[int, int]) -> None:
    from PIL import Image, ImageOps
    width, height = size
    with Image.open(upload.temp) as image:
        image.draft("RGB", (width * 2, height * 2))  # a JPEG decodes at a fraction of its size: less memory
        image = ImageOps.exif_transpose(image)
        crop_w = min(image.width, image.height * width // height)
        crop_h = min(image.height, image.width * height // width)
        left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
        image = image.crop((left, top, left + crop_w, top + crop_h)).resize((width, height), Image.LANCZOS)
        if image.mode not in ("RGB", "L"):  # a transparent PNG on white, not on black
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.convert("RGBA").getchannel("A"))
            image = background
        image.convert("RGB").save(target, "JPEG", quality=85, optimize=True)


async def make(files: FileStore, upload: Upload, kind: str, field: str, count=None) -> str:
    """Check an upload, cut it to `kind` off the event loop and keep the result; returns its
    blob name. The upload is gone afterwards whatever happens; the result is kept or removed.
    `count()` is called before the cutting (a rate limit: cutting costs a second of CPU)."""
    try:
        check(upload, field)
        if count is not None:
            await count()
        made = await asyncio.to_thread(fit, upload, files.temp_dir, kind, field)
    finally:
        upload.discard()
    try:
        return await files.keep(made)
    except BaseException:
        made.discard()
        raise
