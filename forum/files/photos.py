"""Profile photos, and groups' icons and banners: an uploaded image (PNG, JPEG or WebP that
decodes as what it claims) cut to its shape from the centre and scaled on the server (SIZES), so
every one is small and stripped of what the camera wrote in it (EXIF: place, device)."""
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


def check(upload: Upload, field: str = "photo") -> None:
    """Refuses what is no image to keep: not an image, over 5 MB, or too many pixels to decode
    (the reason at `field`, the form's file field)."""
    if upload.size > PHOTO_MAX_BYTES:
        raise PhotoTooLarge(fields={field: N_("Deze afbeelding is te groot: hoogstens 5 MB.")})
    if upload.content_type not in sniff.IMAGES:
        raise PhotoRefused(fields={field: N_("Kies een afbeelding als PNG, JPEG of WebP.")})
    if not upload.inline_ok:
        raise PhotoRefused(fields={field: N_("Deze afbeelding heeft te grote afmetingen of is beschadigd "
                                             "(hoogstens 40 megapixel).")})


SIZES = {"photo": (PHOTO_SIZE, PHOTO_SIZE), "icon": (160, 160), "banner": (1200, 300)}


def square(upload: Upload, temp_dir: Path) -> Upload:
    """The photo as PHOTO_SIZE x PHOTO_SIZE JPEG, next to the upload (runs on a worker thread)."""
    return fit(upload, temp_dir, "photo")


def fit(upload: Upload, temp_dir: Path, kind: str) -> Upload:
    """The image cut to the shape of `kind` (SIZES) from its centre and scaled to it, as JPEG."""
    from PIL import Image, ImageOps
    width, height = SIZES[kind]
    target = temp_dir / f"{kind}-{secrets.token_hex(8)}.jpg"
    with Image.open(upload.temp) as image:
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
    return Upload(target, target.stat().st_size, secrets.token_hex(32), sniff.JPEG, "foto.jpg", True)
