"""The brand kit: the part of a brand's guidelines that drives how its ads look.

`brand_guidelines` stays a free JSON object (tone, audience, anything the assistant reads), with two
documented fields checked on write:
- `colors`: {"primary": "#RRGGBB", "secondary": ..., "background": ...}, or the older list form
  ["#RRGGBB", ...] (first primary, then secondary, then background). Missing roles take defaults.
- `font`: the name of one of FONTS, the open-licensed fonts bundled with the renderer.

Shared by accounts (which validates on write), the gateway (which lists the fonts) and jobs (which
renders with them). The font files themselves are resolved by services.jobs.render.fonts, from the
font wheels named here, so that only the renderer's image needs them installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.common.errors import InvalidArgument

COLOR_ROLES = ("primary", "secondary", "background")
DEFAULT_COLORS = {"primary": "#2F6BFF", "secondary": "#FFB020", "background": "#0E1116"}
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


class GuidelinesError(InvalidArgument):
    """A malformed documented field; `field` is its path (brand_guidelines.colors.primary), so the
    gateway can name it in a 422's errors."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Font:
    name: str  # what brand_guidelines.font names
    package: str  # the wheel (an importable package) whose files/ folder holds the faces
    regular: str  # file names inside it
    bold: str
    license: str
    style: str  # a word for the API listing: sans, serif, display, rounded


FONTS = {
    f.name: f
    for f in (
        Font("Manrope", "font_manrope", "Manrope-Regular.ttf", "Manrope-ExtraBold.ttf", "OFL-1.1", "sans"),
        Font("Lato", "font_lato", "Lato-Regular.ttf", "Lato-Black.ttf", "OFL-1.1", "sans"),
        Font(
            "Source Sans Pro",
            "font_source_sans_pro",
            "SourceSansPro-Regular.ttf",
            "SourceSansPro-Bold.ttf",
            "OFL-1.1",
            "sans",
        ),
        Font(
            "Source Serif Pro",
            "font_source_serif_pro",
            "SourceSerifPro-Regular.ttf",
            "SourceSerifPro-Bold.ttf",
            "OFL-1.1",
            "serif",
        ),
        Font(
            "Hanken Grotesk",
            "font_hanken_grotesk",
            "HankenGrotesk-Regular.otf",
            "HankenGrotesk-Bold.otf",
            "OFL-1.1",
            "sans",
        ),
        Font(
            "Fjalla One",
            "font_fjallaone",
            "FjallaOne-Regular.ttf",
            "FjallaOne-Regular.ttf",
            "OFL-1.1",
            "display",
        ),
        Font(
            "Fredoka One",
            "font_fredoka_one",
            "FredokaOne-Regular.ttf",
            "FredokaOne-Regular.ttf",
            "OFL-1.1",
            "rounded",
        ),
    )
}
DEFAULT_FONT = "Manrope"


@dataclass(frozen=True)
class BrandLook:
    """Colors and font of a brand, checked and complete (defaults filled in)."""

    colors: dict[str, str]  # every role of COLOR_ROLES, "#RRGGBB" upper case
    font: str  # a key of FONTS

    def as_dict(self) -> dict:
        return {"colors": dict(self.colors), "font": self.font}


def check_guidelines(guidelines: dict) -> dict:
    """`guidelines` as given, or InvalidArgument naming the field (brand_guidelines.colors.primary,
    brand_guidelines.font) when a documented field is malformed: the first of guideline_problems.
    Undocumented fields pass."""
    if problems := guideline_problems(guidelines):
        raise problems[0]
    return guidelines


def guideline_problems(guidelines: dict) -> list[GuidelinesError]:
    """Every malformed documented field, each on its own (each color of the object form, the
    colors as a whole otherwise, the font), so a 422 can name them all at once."""
    checks: list[tuple[Callable, object]] = []
    colors = guidelines.get("colors")
    if isinstance(colors, dict):
        checks += [(_colors, {role: color}) for role, color in colors.items()]
    else:
        checks.append((_colors, colors))
    checks.append((_font, guidelines.get("font")))
    problems = []
    for check, value in checks:
        try:
            check(value)
        except GuidelinesError as exc:
            problems.append(exc)
    return problems


def look_of(guidelines: dict) -> BrandLook:
    """The brand's look from its guidelines: defaults where a field is absent, InvalidArgument where
    one is malformed."""
    return BrandLook(colors=_colors(guidelines.get("colors")), font=_font(guidelines.get("font")))


def _colors(value: object) -> dict[str, str]:
    colors = dict(DEFAULT_COLORS)
    if value is None:
        return colors
    if isinstance(value, list):
        if len(value) > len(COLOR_ROLES):
            raise GuidelinesError(
                "brand_guidelines.colors",
                f"a list holds at most {len(COLOR_ROLES)} colors ({', '.join(COLOR_ROLES)})",
            )
        given = dict(zip(COLOR_ROLES, value, strict=False))
    elif isinstance(value, dict):
        unknown = sorted(set(value) - set(COLOR_ROLES))
        if unknown:
            raise GuidelinesError(
                f"brand_guidelines.colors.{unknown[0]}", f"not a color role (use {', '.join(COLOR_ROLES)})"
            )
        given = value
    else:
        raise GuidelinesError(
            "brand_guidelines.colors", "must be an object of #RRGGBB colors or a list of them"
        )
    for role, color in given.items():
        if not isinstance(color, str) or not _HEX.match(color):
            raise GuidelinesError(
                f"brand_guidelines.colors.{role}", f"must be a color as #RRGGBB, not {color!r}"
            )
        colors[role] = color.upper()
    return colors


def _font(value: object) -> str:
    if value is None:
        return DEFAULT_FONT
    if not isinstance(value, str) or value not in FONTS:
        raise GuidelinesError(
            "brand_guidelines.font", f"must be one of {', '.join(FONTS)} (GET /api/fonts), not {value!r}"
        )
    return value
