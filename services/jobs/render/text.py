"""Text drawn by Pillow into small transparent PNGs that ffmpeg overlays: a scene's headline, a
brand name, a call-to-action button (text_block, in the brand's font and colors).

Fonts are the brand fonts bundled as wheels (render/fonts.py), so nothing depends on the fonts a
host happens to have. Text the brand font cannot draw falls back to Pillow's bundled FreeType font,
which covers ASCII and a few symbols only: printable() swaps what that one lacks for look-alikes
(accented letters lose their accents) rather than draw boxes. Callers size text in shares of the
frame, so a 360 px preview and a 1080 px render look alike.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from services.common.brand_kit import DEFAULT_FONT
from services.jobs.render import fonts

RGBA = tuple[int, int, int, int]

MAX_LINES = 4
LINE_SPACING = 1.18
PANEL_RGBA = (0, 0, 0, 150)
TEXT_RGBA = (255, 255, 255, 255)


@dataclass(frozen=True)
class Style:
    """How a block of text looks: its font (a name of brand_kit.FONTS), colors, an optional
    rounded panel behind it, and whether lines are centred or left-aligned."""

    font: str = DEFAULT_FONT
    color: RGBA = TEXT_RGBA
    panel: RGBA | None = None
    outline: RGBA | None = None
    align: str = "center"  # or "left"
    line_spacing: float = LINE_SPACING


def text_block(
    text: str | None, style: Style, max_width: int, px: int, min_px: int, max_lines: int = MAX_LINES
) -> Image.Image | None:
    """`text` wrapped into at most `max_lines` lines of at most `max_width` pixels, at `px` or
    shrunk towards `min_px`, as a tight RGBA image (with its panel); None when there is no text."""
    words = (text or "").split()
    if not words:
        return None
    brand_font = fonts.usable(style.font)
    use_brand = fonts.covers(brand_font, " ".join(words))
    if not use_brand:
        words = printable(" ".join(words)).split()
        if not words:
            return None

    def font_at(size: int) -> ImageFont.FreeTypeFont:
        return fonts.load(brand_font, size) if use_brand else fonts.fallback(size)

    px, min_px = max(8, px), max(8, min(px, min_px))
    while True:
        font = font_at(px)
        lines = wrap(words, font, max_width)
        if len(lines) <= max_lines or px <= min_px:
            break
        px = max(min_px, int(px * 0.9))
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [_ellipsize(" ".join(lines[max_lines - 1 :]), font, max_width)]

    ascent, descent = font.getmetrics()
    line_height = round((ascent + descent) * style.line_spacing)
    outline = max(1, px // 22) if style.outline else 0
    pad_x, pad_y = (round(px * 0.6), round(px * 0.35)) if style.panel else (outline + 2, outline + 2)
    text_width = max(font.getlength(line) for line in lines)
    width = _even(text_width + 2 * pad_x + 2 * outline + 2)
    height = _even(line_height * (len(lines) - 1) + ascent + descent + 2 * pad_y + 2)

    block = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(block)
    if style.panel:
        draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=round(px * 0.35), fill=style.panel)
    x, anchor = (width / 2, "ma") if style.align == "center" else (pad_x + outline, "la")
    for i, line in enumerate(lines):
        draw.text(
            (x, pad_y + i * line_height),
            line,
            font=font,
            fill=style.color,
            anchor=anchor,
            stroke_width=outline,
            stroke_fill=style.outline,
        )
    return block


def printable(text: str) -> str:
    """`text` with what Pillow's bundled font cannot draw replaced: typographic dashes and the like by
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
    font = fonts.fallback(24)
    return bytes(font.getmask(char)) != _missing_glyph_mask()


@functools.cache
def _missing_glyph_mask() -> bytes:
    return bytes(fonts.fallback(24).getmask("\ue000"))  # a private-use code point: no font draws it


def wrap(words: list[str], font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
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


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance, 0 for black to 1 for white: which ink reads on a color."""

    def linear(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
