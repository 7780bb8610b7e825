"""Whether a file is acceptable as a brand's logo, read whole (logos are small: MAX_LOGO_BYTES).

The renderer puts the logo over the brand's colors on the end card, so it must be transparent where
it is not the mark:
- a PNG with transparency: an alpha channel (color type 4 or 6), or a tRNS chunk (a palette or
  a color keyed as transparent, as PNG optimizers write). An opaque PNG is refused: it would show
  as a box on the end card.
- an SVG that is only a drawing: no DOCTYPE or entities, no processing instructions, no scripts,
  event handlers or foreign objects, and no reference outside the file (href and CSS url() only
  to #fragments, or to embedded PNG/JPEG data). It is rendered on our workers and shown in
  clients; nothing in it may run or fetch.

Used by the gateway on a multipart upload and by media at the confirm of a presigned one.
"""

from __future__ import annotations

import re
import struct
import xml.parsers.expat
from typing import NoReturn

PNG = "image/png"
SVG = "image/svg+xml"
LOGO_TYPES = frozenset({PNG, SVG})
MAX_LOGO_BYTES = 5 * 1024 * 1024  # media's own bound on what it reads whole; the gateway's is a setting

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_FORBIDDEN_ELEMENTS = {"script", "foreignobject", "iframe", "object", "embed", "audio", "video", "handler"}
_LOCAL_REFERENCE = re.compile(r"^\s*(#|data:image/(png|jpeg);)", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


def logo_problem(content_type: str, data: bytes) -> str | None:
    """Why `data` (the whole file, declared as content_type) is not an acceptable logo; None when
    it is."""
    if content_type == PNG:
        return _png_problem(data)
    if content_type == SVG:
        return _svg_problem(data)
    return f"a logo is a PNG or an SVG, not {content_type}"


def _png_problem(data: bytes) -> str | None:
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 33:
        return "the file is not a PNG image"
    if data[25] in (4, 6):  # grey + alpha, RGB + alpha
        return None
    offset = 8
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"tRNS":
            return None
        if kind in (b"IDAT", b"IEND"):  # tRNS comes before the image data or not at all
            break
        offset += 12 + length
    return (
        "a PNG logo must have transparency (an alpha channel); export it as a transparent PNG, or use an SVG"
    )


class _Refused(Exception):
    pass


def _svg_problem(data: bytes) -> str | None:
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    depth = [0]
    in_style = [False]

    def refuse(reason: str) -> NoReturn:
        raise _Refused(reason)

    def start(name: str, attributes: dict[str, str]) -> None:
        namespace, _, local = name.rpartition(" ")
        if depth[0] == 0 and (local != "svg" or namespace not in ("", _SVG_NAMESPACE)):
            refuse("the file is not an SVG image (its root element is not <svg>)")
        depth[0] += 1
        if local.lower() in _FORBIDDEN_ELEMENTS:
            refuse(f"an SVG logo must not contain <{local}>")
        in_style[0] = local == "style"
        for attribute, value in attributes.items():
            attribute_local = attribute.rpartition(" ")[2]
            if attribute_local.lower().startswith("on"):
                refuse(f"an SVG logo must not have event handlers ({attribute_local})")
            if attribute_local == "href" and not _LOCAL_REFERENCE.match(value):
                refuse("an SVG logo must not reference other files (href)")
            _check_css(value)

    def end(_name: str) -> None:
        in_style[0] = False

    def text(value: str) -> None:
        if in_style[0]:
            _check_css(value)

    def _check_css(value: str) -> None:
        if "@import" in value.lower():
            refuse("an SVG logo must not import style sheets")
        for target in _CSS_URL.findall(value):
            if not _LOCAL_REFERENCE.match(target):
                refuse("an SVG logo must not reference other files (url())")

    def doctype(*_args: object) -> None:
        refuse("an SVG logo must not have a DOCTYPE (or entities)")

    def instruction(*_args: object) -> None:
        refuse("an SVG logo must not have processing instructions")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.ProcessingInstructionHandler = instruction
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        return str(exc)
    except xml.parsers.expat.ExpatError as exc:
        return f"the file is not a well-formed SVG ({xml.parsers.expat.errors.messages.get(exc.code, exc)})"
    if depth[0] == 0:
        return "the file is not an SVG image"
    return None
