"""The brand fonts (services.common.brand_kit.FONTS) as files and as Pillow fonts.

Each font comes in a wheel whose package holds its faces in a `files/` folder; nothing depends on
the fonts a host happens to have. Text a brand font cannot draw (a script it does not cover, an
emoji) is drawn with Pillow's bundled font instead, through text.printable's look-alikes, rather
than as boxes.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from PIL import ImageFont

from services.common.brand_kit import DEFAULT_FONT, FONTS
from services.jobs.media_types import InputError, PermanentProviderError


def font_file(name: str, *, bold: bool = False) -> Path:
    """The face of font `name` (a key of FONTS), its bold (headline) or regular weight."""
    font = FONTS.get(name)
    if font is None:
        raise InputError(f"unknown font {name!r}: use one of {', '.join(FONTS)}")
    try:
        path = resources.files(font.package) / "files" / (font.bold if bold else font.regular)
    except ModuleNotFoundError:
        raise PermanentProviderError(
            f"the font {name} is not installed (package {font.package}); install the worker's dependencies"
        ) from None
    if not path.is_file():
        raise PermanentProviderError(f"the font {name} has no file {path.name} in {font.package}")
    return Path(str(path))


@functools.lru_cache(maxsize=64)
def load(name: str, px: int, *, bold: bool = True) -> ImageFont.FreeTypeFont:
    """Font `name` at `px` pixels."""
    return ImageFont.truetype(str(font_file(name, bold=bold)), px)


@functools.lru_cache(maxsize=16)
def fallback(px: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled font, for text no brand font draws."""
    font = ImageFont.load_default(size=px)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise PermanentProviderError("Pillow was built without FreeType: on-screen text cannot be drawn")
    return font


def covers(name: str, text: str) -> bool:
    """Whether font `name` has a glyph for every non-space character of `text`."""
    return all(char.isspace() or _has_glyph(name, char) for char in text)


def usable(name: str | None) -> str:
    """`name` when it is a known font, else the default (plans from before brand fonts)."""
    return name if name in FONTS else DEFAULT_FONT


@functools.lru_cache(maxsize=8192)
def _has_glyph(name: str, char: str) -> bool:
    font = load(name, 24, bold=True)
    return bytes(font.getmask(char)) != _missing_mask(name)


@functools.lru_cache(maxsize=16)
def _missing_mask(name: str) -> bytes:
    return bytes(load(name, 24, bold=True).getmask("\ue000"))  # private use: no font draws it
