"""Files a brand kit is made of, as tests build them: product shots, logos (transparent or opaque
PNGs, SVGs with and without what a logo must not hold) and short audio tracks."""

from __future__ import annotations

import io
import wave

import numpy as np
from PIL import Image, ImageDraw

SVG_LOGO = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'viewBox="0 0 100 100"><defs><linearGradient id="g"><stop offset="0" stop-color="#0B6E4F"/>'
    b'</linearGradient></defs><circle cx="50" cy="50" r="40" fill="url(#g)"/>'
    b'<use xlink:href="#g"/><style>circle { stroke: url(#g) }</style></svg>'
)
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
SVG_WITH_HANDLER = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
SVG_WITH_EXTERNAL_IMAGE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
    b'<image xlink:href="https://tracker.example/pixel.png"/></svg>'
)
SVG_WITH_EXTERNAL_CSS = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.example/a.css);</style></svg>'
)
SVG_WITH_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>'
)
NOT_SVG = b"<html><body>hello</body></html>"


def product_shot(width: int, height: int, color: tuple[int, int, int]) -> Image.Image:
    """A lit backdrop and a bottle: smooth, like a product photo."""
    y = np.linspace(0.55, 1.0, height, dtype=np.float32)[:, None, None]
    pixels = (y * np.array(color, dtype=np.float32)[None, None, :]).repeat(width, axis=1)
    image = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx, cy = width // 2, height // 2
    draw.rounded_rectangle(
        (cx - width // 9, cy - height // 4, cx + width // 9, cy + height // 3), 24, "white"
    )
    draw.rectangle(
        (cx - width // 9, cy - height // 16, cx + width // 9, cy + height // 12), fill=(20, 60, 40)
    )
    return image


def png(mode: str = "RGBA", size=(64, 32), transparent_palette: bool = False) -> bytes:
    """A PNG logo in that mode: RGBA and LA have an alpha channel, RGB and L don't; a palette image
    with a tRNS chunk when transparent_palette."""
    image = Image.new("RGBA", size, (11, 110, 79, 0)).convert(mode)
    image.putpixel((size[0] // 2, size[1] // 2), (255,) * len(mode))
    buffer = io.BytesIO()
    if transparent_palette:
        image.convert("P").save(buffer, "PNG", transparency=0)
    else:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x10" * int(seconds * rate))
    return buffer.getvalue()


# An MPEG-1 layer III frame header (128 kb/s, 44.1 kHz) and filler: what the gateway sniffs.
MP3 = b"\xff\xfb\x90\x64" + b"\x00" * 2000
