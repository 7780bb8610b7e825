"""Captions from the voiceover's own word timings: words grouped into short phrases (cues), and each
cue drawn as a small PNG panel that the composite overlays while, and only while, it is spoken.

A cue is a few words (at most MAX_WORDS, about MAX_CHARS), ending at punctuation or at a pause in
the voice, so it reads at a glance and changes with the speech. The panel is the brand's primary
color, translucent, with white text (dark text when the color is too light for white to read), in
the brand font when the renderer has it. Its centre sits in the captions band: 75% down a vertical
frame, 86% down the others, clear of the headline and of the buttons phone apps draw at the bottom.

A scene may ask for its captions elsewhere across the frame (a `Region`: under the product of a
split layout), and a cue whose words the scene already shows as its headline (the end card's call
to action, said by the voice) is not burned in twice; the WebVTT keeps every cue.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFont

from services.common.brand_kit import DEFAULT_COLORS
from services.jobs.media_types import PermanentProviderError, Size, SpokenWord
from services.jobs.render import text

MAX_WORDS = 5
MAX_CHARS = 32
PAUSE_S = 0.3  # a silence this long between words starts a new cue
BREAK_AFTER = (".", ",", "!", "?", ";", ":", "…", "—")
FONT_SHARE = 0.052  # of the frame's short side
WIDTH_SHARE = 0.86
MAX_LINES = 2
PANEL_ALPHA = 215
CENTRE_TALL, CENTRE_OTHER = 0.75, 0.86  # the band's centre, as a share of the frame's height


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Region:
    """A stretch of the ad (a scene) and how its captions go: centred at `centre` of the frame's
    width, at most `width` of it wide; `shown` is the text the scene shows, which no caption
    repeats."""

    start_s: float
    end_s: float
    centre: float = 0.5
    width: float = WIDTH_SHARE
    shown: str = ""


@dataclass(frozen=True)
class Panel:
    cue: Cue
    path: Path
    x: int
    y: int


def cues(words: list[SpokenWord]) -> list[Cue]:
    """The words as phrases, in order; each cue lasts from its first word's start to its last's end.

    Clauses end at punctuation and at pauses; a clause too long for one cue is cut into near-equal
    parts ("the cold brew that / keeps up with you."), never a long cue and a one-word tail."""
    out: list[Cue] = []
    for clause in _clauses(sorted(words, key=lambda w: w.start_s)):
        chars = sum(len(w.text) + 1 for w in clause) - 1
        parts = max(math.ceil(len(clause) / MAX_WORDS), math.ceil(chars / MAX_CHARS))
        size = math.ceil(len(clause) / parts)
        out += [_cue(clause[i : i + size]) for i in range(0, len(clause), size)]
    return out


def _clauses(words: list[SpokenWord]) -> list[list[SpokenWord]]:
    clauses: list[list[SpokenWord]] = []
    for word in words:
        if clauses and not (
            clauses[-1][-1].text.endswith(BREAK_AFTER) or word.start_s - clauses[-1][-1].end_s >= PAUSE_S
        ):
            clauses[-1].append(word)
        else:
            clauses.append([word])
    return clauses


def _cue(phrase: list[SpokenWord]) -> Cue:
    return Cue(phrase[0].start_s, phrase[-1].end_s, " ".join(w.text for w in phrase))


def centre_y(size: Size) -> int:
    return round(size.height * (CENTRE_TALL if size.height > size.width else CENTRE_OTHER))


def render_panels(
    cue_list: list[Cue],
    size: Size,
    folder: Path,
    *,
    primary: str | None = None,
    font: str | None = None,
    regions: list[Region] | None = None,
) -> list[Panel]:
    """One PNG panel per cue into `folder`, placed in the captions band of a `size` frame (across
    it as the `regions` say, by the cue's middle; centred elsewhere)."""
    color = _rgb(primary)
    ink = (255, 255, 255, 255) if text.luminance(color) < 0.6 else (20, 20, 20, 255)
    short = min(size.width, size.height)
    px = max(10, round(short * FONT_SHARE))
    face = _font(font, px)
    pad_x, pad_y = round(px * 0.6), round(px * 0.35)
    panels = []
    for i, cue in enumerate(cue_list):
        words = text.printable(cue.text).split()
        region = _region_of(cue, regions or [])
        if not words or _words(cue.text) in _words(region.shown):
            continue
        max_width = int(size.width * region.width) - 2 * pad_x
        lines = text.wrap(words, face, max_width)[:MAX_LINES]
        line_h = round(px * 1.2)
        width = min(size.width, round(max(face.getlength(line) for line in lines)) + 2 * pad_x)
        height = line_h * len(lines) + 2 * pad_y
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rounded_rectangle(
            (0, 0, width - 1, height - 1), radius=round(px * 0.35), fill=(*color, PANEL_ALPHA)
        )
        for n, line in enumerate(lines):
            draw.text((width / 2, pad_y + line_h * n + line_h / 2), line, font=face, fill=ink, anchor="mm")
        path = folder / f"cue_{i:03d}.png"
        image.save(path)
        x = max(0, min(size.width - width, round(size.width * region.centre) - width // 2))
        y = max(0, min(size.height - height, centre_y(size) - height // 2))
        panels.append(Panel(cue, path, x, y))
    return panels


def _region_of(cue: Cue, regions: list[Region]) -> Region:
    middle = (cue.start_s + cue.end_s) / 2
    return next((r for r in regions if r.start_s <= middle < r.end_s), Region(0.0, math.inf))


def _words(phrase: str) -> str:
    """The words of a phrase, lower case, without punctuation, spaced by one space; padded, so
    that `in` matches whole words only ("" for none, which is in nothing padded)."""
    found = re.findall(r"\w+", phrase.lower())
    return f" {' '.join(found)} " if found else "\0"


def _font(name: str | None, px: int) -> ImageFont.FreeTypeFont:
    """The brand font through the renderer's font module where it is installed, else Pillow's own."""
    try:
        fonts = importlib.import_module("services.jobs.render.fonts")
        return fonts.load(fonts.usable(name), px, bold=True)
    except (ImportError, PermanentProviderError):
        face = ImageFont.load_default(size=px)
        if not isinstance(face, ImageFont.FreeTypeFont):
            raise PermanentProviderError(
                "Pillow was built without FreeType: captions cannot be drawn"
            ) from None
        return face


def _rgb(color: str | None) -> tuple[int, int, int]:
    try:
        r, g, b = ImageColor.getrgb(color or DEFAULT_COLORS["primary"])[:3]
    except ValueError:
        r, g, b = ImageColor.getrgb(DEFAULT_COLORS["primary"])[:3]
    return r, g, b
