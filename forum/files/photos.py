"""Profile photos: an uploaded image (PNG, JPEG or WebP that decodes as what it claims) cropped
to its centre square and scaled to PHOTO_SIZE pixels on the server, so every photo is small,
square and stripped of what the camera wrote in it (EXIF: place, device)."""
from __future__ import annotations

import secrets
from pathlib import Path

from forum.errors import N_, ServiceError
from forum.files import Upload, sniff

PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = 256


class PhotoRefused(ServiceError):
    status, code = 422, "invalid"


class PhotoTooLarge(PhotoRefused):
    status, code = 413, "too_large"


def check(upload: Upload) -> None:
    """Refuses what is no photo to keep: not an image, over 5 MB, or too many pixels to decode."""
    if upload.size > PHOTO_MAX_BYTES:
        raise PhotoTooLarge(fields={"photo": N_("Deze foto is te groot: hoogstens 5 MB.")})
    if upload.content_type not in sniff.IMAGES:
        raise PhotoRefused(fields={"photo": N_("Kies een foto als PNG, JPEG of WebP.")})
    if not upload.inline_ok:
        raise PhotoRefused(fields={"photo": N_("Deze afbeelding heeft te grote afmetingen of is beschadigd "
                                               "(hoogstens 40 megapixel).")})


def square(upload: Upload, temp_dir: Path) -> Upload:
    """The photo as PHOTO_SIZE x PHOTO_SIZE JPEG, next to the upload (runs on a worker thread)."""
    from PIL import Image, ImageOps
    target = temp_dir / f"photo-{secrets.token_hex(8)}.jpg"
    with Image.open(upload.temp) as image:
        image = ImageOps.exif_transpose(image)
        side = min(image.width, image.height)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((PHOTO_SIZE, PHOTO_SIZE), Image.LANCZOS)
        if image.mode not in ("RGB", "L"):  # a transparent PNG on white, not on black
            background = Image.new("RGB", image.size, "white")
            background.paste(image, mask=image.convert("RGBA").getchannel("A"))
            image = background
        image.convert("RGB").save(target, "JPEG", quality=85, optimize=True)
    return Upload(target, target.stat().st_size, secrets.token_hex(32), sniff.JPEG, "foto.jpg", True)
