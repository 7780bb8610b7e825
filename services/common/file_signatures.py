"""Whether a file's first bytes match its declared type (a renamed .exe is not a PNG).

One check for both ways a brand file arrives: the gateway applies it to a multipart upload before
media hears of it, and media applies it at confirm to what a client PUT through a presigned URL.
"""

from __future__ import annotations

from collections.abc import Callable

# Enough for every signature below (WebP's is at bytes 8-11).
SIGNATURE_BYTES = 16

_MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"dash"}

_SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "application/pdf": lambda head: head.startswith(b"%PDF-"),
    # Text: its first bytes only say it is markup; services/common/logo.py reads a logo whole.
    "image/svg+xml": lambda head: head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<"),
    # MP3: an ID3 tag, or an MPEG audio frame (sync bits, a layer other than ADTS' 00).
    "audio/mpeg": lambda head: (
        head.startswith(b"ID3")
        or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0)
    ),
    "audio/wav": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WAVE",
    # AAC as an ADTS stream (sync bits, layer 00) or an ADIF file.
    "audio/aac": lambda head: (
        head.startswith(b"ADIF") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0)
    ),
    # M4A: an MPEG-4 file of one of the brands audio is stored in.
    "audio/mp4": lambda head: head[4:8] == b"ftyp" and head[8:12] in _MP4_AUDIO_BRANDS,
}

# The types whose content can be checked; anything else can't be vouched for.
CHECKED_TYPES = frozenset(_SIGNATURES)


def looks_like(content_type: str, head: bytes) -> bool:
    """The first bytes of a file (at least SIGNATURE_BYTES, unless it is shorter) match
    content_type, a bare lower-case media type. False for a type not in CHECKED_TYPES."""
    matches = _SIGNATURES.get(content_type)
    return matches is not None and matches(head)
