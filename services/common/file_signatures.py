"""Whether a file's first bytes match its declared type (a renamed .exe is not a PNG).

One check for both ways a brand file arrives: the gateway applies it to a multipart upload before
media hears of it, and media applies it at confirm to what a client PUT through a presigned URL.
"""

from __future__ import annotations

from collections.abc import Callable

# Enough for every signature below (WebP's is at bytes 8-11).
SIGNATURE_BYTES = 16

_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "application/pdf": lambda head: head.startswith(b"%PDF-"),
}

# The types whose content can be checked; anything else can't be vouched for.
CHECKED_TYPES = frozenset(_SIGNATURES)


def looks_like(content_type: str, head: bytes) -> bool:
    """The first bytes of a file (at least SIGNATURE_BYTES, unless it is shorter) match
    content_type, a bare lower-case media type. False for a type not in CHECKED_TYPES."""
    matches = _SIGNATURES.get(content_type)
    return matches is not None and matches(head)
