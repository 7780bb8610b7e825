"""Product images: checked with Pillow, then turned into the canvas a scene moves across.

FFmpeg never opens a product image. Pillow identifies it by its content (PNG, JPEG or WebP only,
whatever its name), refuses more than MAX_PIXELS before decoding a pixel, decodes it completely
(a truncated or corrupt file fails here, with its name), applies its EXIF orientation, and writes
an uncompressed canvas of exactly the size the scene needs.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageEnhance, ImageFilter, UnidentifiedImageError

from services.jobs.media_types import InputError

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_PIXELS = 40_000_000
# Cover-crop when it keeps at least this share of the image; otherwise the whole image is shown
# over a blurred, darkened copy of itself (a square product shot in a 9:16 frame, say).
COVER_MIN_KEPT = 0.8
BACKDROP_BLUR_RADIUS = 6  # at 1/8 scale, so a wide, soft blur for little work
BACKDROP_BRIGHTNESS = 0.6
REDUCING_GAP = 3.0  # large downscales shrink by a whole factor first; at 3 the result looks the same
TRANSPARENT_BACKGROUND = (255, 255, 255)
_EXIF_TURNS = {  # EXIF orientation -> the transpose that makes the picture upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def check_image(path: Path) -> ImageInfo:
    """Raise InputError unless `path` is a whole PNG, JPEG or WebP of at most MAX_PIXELS."""
    with _opened(path) as image:
        info = ImageInfo(image.format or "", *image.size)
        _decode(image, path)
    return info


def load_image(path: Path, min_size: tuple[int, int] | None = None) -> Image.Image:
    """The checked image, decoded, upright, in RGB or RGBA. An image much larger than `min_size`
    is shrunk by a whole factor straight away (a JPEG while it is decoded, still reading every
    byte, so corruption is still caught), so a 40 MP photo does not cost 40 MP at every step."""
    with _opened(path) as image:
        # Square bounds: the EXIF orientation may still swap width and height.
        side = max(min_size) if min_size else None
        if image.format == "JPEG" and side:
            image.draft("RGB", (side, side))
        _decode(image, path)
        turn = _EXIF_TURNS.get(image.getexif().get(ExifTags.Base.Orientation, 1))
        upright = _to_rgb(image)
        factor = min(upright.size) // side if side else 1
        if factor >= 2:
            upright = upright.reduce(factor)
        if turn is not None:
            upright = upright.transpose(turn)
        return upright.copy() if upright is image else upright


def prepare_canvas(image: Image.Image, size: tuple[int, int], out: Path) -> None:
    """Fit `image` to `size` (cover-crop, or the whole image over a blurred backdrop) and write it
    as an uncompressed PPM for ffmpeg: quick to write and to read."""
    width, height = size
    kept = min(image.width / image.height * height / width, image.height / image.width * width / height)
    flat = _flatten(image)
    if kept >= COVER_MIN_KEPT:
        canvas = _cover(flat, size, Image.Resampling.BICUBIC)
    else:
        small = _cover(flat, (max(1, width // 8), max(1, height // 8)), Image.Resampling.BILINEAR)
        small = small.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR_RADIUS))
        small = ImageEnhance.Brightness(small).enhance(BACKDROP_BRIGHTNESS)
        canvas = small.resize(size, Image.Resampling.BILINEAR)
        scale = min(width / image.width, height / image.height)
        fitted = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        front = image.resize(fitted, Image.Resampling.BICUBIC, reducing_gap=REDUCING_GAP)
        at = ((width - front.width) // 2, (height - front.height) // 2)
        canvas.paste(front, at, front if front.mode == "RGBA" else None)
    canvas.save(out, format="PPM")


def _cover(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """The centre of `image` with the aspect of `size`, resized to it (ImageOps.fit, with Pillow's
    cheaper two-step reduction for large downscales)."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    crop_w, crop_h = min(image.width, width / scale), min(image.height, height / scale)
    left, top = max(0.0, (image.width - crop_w) / 2), max(0.0, (image.height - crop_h) / 2)
    box = (left, top, min(image.width, left + crop_w), min(image.height, top + crop_h))
    return image.resize(size, resample, box=box, reducing_gap=REDUCING_GAP)


@contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """Image.open restricted to FORMATS, every way it can refuse a file turned into an InputError
    that names the file, and the pixel limit applied before anything is decoded."""
    name = Path(path).name
    try:
        with warnings.catch_warnings():
            # Our pixel limit is below Pillow's warning threshold; it is applied just below.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path, formats=FORMATS)
    except FileNotFoundError:
        raise InputError(f"image {name} does not exist") from None
    except UnidentifiedImageError:
        raise InputError(f"{name} is not a PNG, JPEG or WebP image") from None
    except Image.DecompressionBombError:
        raise InputError(f"{name} is too large: at most {MAX_PIXELS // 1_000_000} megapixels") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{name} is corrupt or not a readable image: {exc}") from None
    with image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise InputError(
                f"{name} is too large: {width}x{height} is {width * height / 1e6:.1f} megapixels, "
                f"at most {MAX_PIXELS // 1_000_000} are accepted"
            )
        if width < 1 or height < 1:
            raise InputError(f"{name} has no pixels ({width}x{height})")
        yield image


def _decode(image: Image.Image, path: Path) -> None:
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError(f"{path.name} is corrupt or truncated: {exc}") from None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("F").point(lambda v: v / 256).convert("L")  # 16-bit grey to 8-bit
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha else "RGB"
    return image if image.mode == mode else image.convert(mode)


def _flatten(image: Image.Image) -> Image.Image:
    if image.mode != "RGBA":
        return image
    flat = Image.new("RGB", image.size, TRANSPARENT_BACKGROUND)
    flat.paste(image, mask=image.getchannel("A"))
    return flat
