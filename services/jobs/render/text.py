"""A scene's on-screen text, drawn by Pillow into a small transparent PNG that ffmpeg overlays.

The font is the FreeType font bundled inside Pillow (ImageFont.load_default with a size, Pillow >=
10.1), so nothing depends on the fonts a host happens to have. Text is white with a thin dark
outline on a translucent dark panel, legible over any picture; sizes are shares of the frame, so
a 360 px preview and a 1080 px render look alike. That font covers ASCII and a few symbols only:
printable() swaps what it lacks for look-alikes (accented letters lose their accents) rather than
draw boxes.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from services.jobs.media_types import PermanentProviderError, Size

FONT_SHARE = 0.064  # font size as a share of the frame's short side
MIN_FONT_SHARE = 0.04  # long text shrinks down to this before it is cut
MAX_LINES = 4
WIDTH_SHARE = 0.84  # the text block's widest line, as a share of the frame width
LINE_SPACING = 1.18
PANEL_RGBA = (0, 0, 0, 150)
TEXT_RGBA = (255, 255, 255, 255)
OUTLINE_RGBA = (0, 0, 0, 190)
# Distance from the panel's bottom edge to the frame's: tall frames keep clear of the captions and
# buttons that phone apps draw over the lower part of a vertical video.
BOTTOM_MARGIN_TALL, BOTTOM_MARGIN_OTHER = 0.2, 0.09


@dataclass(frozen=True)
class Overlay:
    path: Path
    x: int
    y: int
    width: int
    height: int


def render_overlay(text: str | None, size: Size, out: Path) -> Overlay | None:
    """Write the text panel for a frame of `size` into `out` (PNG); None when there is no text."""
    words = printable(text or "").split()
    if not words:
        return None
    short = min(size.width, size.height)
    max_width = int(size.width * WIDTH_SHARE)
    px = max(8, round(short * FONT_SHARE))
    min_px = max(8, round(short * MIN_FONT_SHARE))
    while True:
        font = _font(px)
        lines = _wrap(words, font, max_width)
        if len(lines) <= MAX_LINES or px <= min_px:
            break
        px = max(min_px, int(px * 0.9))
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + [_ellipsize(" ".join(lines[MAX_LINES - 1 :]), font, max_width)]

    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * LINE_SPACING)
    outline = max(1, px // 22)
    pad_x, pad_y = round(px * 0.6), round(px * 0.35)
    text_width = max(font.getlength(line) for line in lines)
    width = _even(min(size.width, text_width + 2 * pad_x + 2 * outline))
    height = _even(min(size.height, line_height * (len(lines) - 1) + ascent + descent + 2 * pad_y))

    panel = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(panel)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=round(px * 0.35), fill=PANEL_RGBA)
    for i, line in enumerate(lines):
        draw.text(
            (width / 2, pad_y + i * line_height),
            line,
            font=font,
            fill=TEXT_RGBA,
            anchor="ma",
            stroke_width=outline,
            stroke_fill=OUTLINE_RGBA,
        )
    panel.save(out, format="PNG", compress_level=1)

    margin = BOTTOM_MARGIN_TALL if size.height > size.width else BOTTOM_MARGIN_OTHER
    x = _even((size.width - width) / 2)
    y = _even(max(0, size.height * (1 - margin) - height))
    return Overlay(out, x, y, width, height)


def printable(text: str) -> str:
    """`text` with what the bundled font cannot draw replaced: typographic dashes and the like by
    their ASCII look-alikes, accented letters by their base letter, the rest (emoji) dropped.
    The font covers ASCII and little else; a box for every unknown glyph would be worse."""
    out = []
    for char in text:
        if char.isspace() or _has_glyph(char):
            out.append(char)
        elif char in LOOKALIKES:
            out.append(LOOKALIKES[char])
        else:
            base = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in base if not unicodedata.combining(c) and _has_glyph(c)))
    return "".join(out)


LOOKALIKES = {"\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2212": "-", "\u2022": "-", "\u00a0": " "}


@functools.lru_cache(maxsize=4096)
def _has_glyph(char: str) -> bool:
    font = _font(24)
    return bytes(font.getmask(char)) != _missing_glyph_mask()


@functools.cache
def _missing_glyph_mask() -> bytes:
    return bytes(_font(24).getmask("\ue000"))  # a private-use code point: no font draws it


@functools.lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont:
    font = ImageFont.load_default(size=px)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise PermanentProviderError("Pillow was built without FreeType: on-screen text cannot be drawn")
    return font


def _wrap(words: list[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy word wrap; a word wider than a line is split between characters."""
    lines: list[str] = []
    line = ""
    for word in words:
        for piece in _split_long(word, font, max_width):
            candidate = f"{line} {piece}" if line else piece
            if font.getlength(candidate) <= max_width or not line:
                line = candidate
            else:
                lines.append(line)
                line = piece
    if line:
        lines.append(line)
    return lines


def _split_long(word: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    pieces, piece = [], ""
    for char in word:
        if piece and font.getlength(piece + char) > max_width:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece] if piece else pieces


def _ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> str:
    while text and font.getlength(text + "…") > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def _even(value: float) -> int:
    return int(value) - int(value) % 2
