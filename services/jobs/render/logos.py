"""A brand's logo as an RGBA image: a PNG (its transparency kept) or an SVG rasterized by resvg.

resvg comes in a self-contained wheel (resvg-py), so SVG needs no cairo or other system library.
It is given no resource folder and no system fonts: an SVG can't make it read files of this
machine, and text in a logo should be outlined (logo exports are).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from PIL import Image

from services.jobs.media_types import InputError
from services.jobs.render import images

MAX_SVG_BYTES = 2 * 1024 * 1024


def load_logo(path: Path, fit: tuple[int, int]) -> Image.Image:
    """The logo at `path` as RGBA, scaled to fit inside `fit` (width, height) keeping its aspect."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head.lstrip().startswith(b"<") and b"<svg" in head:
        logo = _rasterize_svg(path, fit)
    else:
        logo = images.load_image(path).convert("RGBA")
    scale = min(fit[0] / logo.width, fit[1] / logo.height)
    size = (max(1, round(logo.width * scale)), max(1, round(logo.height * scale)))
    return logo.resize(size, Image.Resampling.LANCZOS) if size != logo.size else logo


def _rasterize_svg(path: Path, fit: tuple[int, int]) -> Image.Image:
    import resvg_py

    if path.stat().st_size > MAX_SVG_BYTES:
        raise InputError(f"the logo {path.name} is larger than {MAX_SVG_BYTES // 1024 // 1024} MB")
    try:
        svg = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"the logo {path.name} is not UTF-8 SVG") from None
    with tempfile.TemporaryDirectory(prefix="svg-") as empty:
        try:
            # Twice the box, then Pillow scales down: resvg's width alone sets the scale, and the
            # logo may be tall rather than wide.
            png = resvg_py.svg_to_bytes(
                svg_string=svg, width=2 * max(fit), skip_system_fonts=True, resources_dir=empty
            )
        except Exception as exc:  # resvg raises plain exceptions for malformed SVG
            raise InputError(f"the logo {path.name} is not a readable SVG: {exc}") from None
    with Image.open(io.BytesIO(bytes(png))) as raster:
        return raster.convert("RGBA")
