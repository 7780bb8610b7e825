"""The bundled brand fonts: every font of the brand kit resolves to a file Pillow loads, and text a
font cannot draw falls back to Pillow's own font with look-alikes."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from services.common.brand_kit import DEFAULT_FONT, FONTS
from services.jobs.media_types import InputError
from services.jobs.render import fonts, text


@pytest.mark.parametrize("name", sorted(FONTS))
@pytest.mark.parametrize("bold", [False, True])
def test_every_brand_font_resolves_to_a_file_pillow_loads(name, bold):
    path = fonts.font_file(name, bold=bold)
    assert path.is_file() and path.suffix in (".ttf", ".otf")
    font = ImageFont.truetype(str(path), 40)
    assert font.getlength("Real fruit. Real fizz.") > 100
    assert fonts.covers(name, "Real fruit, real fizz: 100% yours!")


def test_an_unknown_font_is_an_input_error():
    with pytest.raises(InputError, match="Comic Sans"):
        fonts.font_file("Comic Sans")
    assert fonts.usable("Comic Sans") == DEFAULT_FONT  # plans name no font or an old one
    assert fonts.usable("Lato") == "Lato"


def test_text_a_font_cannot_draw_falls_back_with_look_alikes():
    assert not fonts.covers("Fjalla One", "寿司")
    style = text.Style(font="Fjalla One")
    drawn = text.text_block("寿司 Café", style, max_width=400, px=40, min_px=20)
    latin = text.text_block("Café", style, max_width=400, px=40, min_px=20)
    # Drawn with Pillow's font after printable(): the letters it lacks are dropped, not boxes.
    assert drawn is not None and latin is not None
    assert text.printable("寿司 Café") == " Cafe"
    assert text.text_block("🔥", style, 400, 40, 20) is None  # nothing drawable is left
