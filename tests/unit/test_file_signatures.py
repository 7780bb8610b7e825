"""The first-bytes check both upload paths share (services.common.file_signatures): pure, so plain
unit tests."""

import pytest

from services.common.file_signatures import CHECKED_TYPES, SIGNATURE_BYTES, looks_like

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3"
SVG = b'\xef\xbb\xbf  <?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'
MP3_ID3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
MP3_FRAME = b"\xff\xfb\x90\x64\x00\x00\x00\x00"  # MPEG-1 layer III
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt "
AAC_ADTS = b"\xff\xf1\x50\x80\x02\x1f\xfc"
M4A = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00"


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("image/png", PNG),
        ("image/jpeg", JPEG),
        ("image/webp", WEBP),
        ("application/pdf", PDF),
        ("image/svg+xml", SVG),
        ("audio/mpeg", MP3_ID3),
        ("audio/mpeg", MP3_FRAME),
        ("audio/wav", WAV),
        ("audio/aac", AAC_ADTS),
        ("audio/mp4", M4A),
    ],
)
def test_each_type_is_recognised_by_its_signature(content_type, head):
    assert looks_like(content_type, head)
    assert looks_like(content_type, head + b"whatever follows")
    others = CHECKED_TYPES - {content_type}
    assert not any(looks_like(other, head) for other in others)


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("image/png", b"<html><script>alert(1)</script>"),
        ("image/png", b"\x89PNG"),  # cut short inside the signature
        ("image/png", b""),
        ("image/jpeg", b"\xff\xd8"),
        ("image/webp", b"RIFF\x00\x00\x00\x00WAVEfmt "),  # a RIFF that is audio
        ("application/pdf", b"%PDF"),
        ("application/pdf", b"MZ\x90\x00"),  # a Windows executable
        ("audio/mpeg", b"\xff\xf1\x50\x80"),  # ADTS AAC, not MP3
        ("audio/aac", MP3_FRAME),
        ("audio/wav", WEBP),
        ("audio/mp4", b"\x00\x00\x00\x20ftypqt  "),  # a QuickTime movie
        ("image/svg+xml", b"GIF89a"),
    ],
)
def test_other_bytes_are_not_the_type(content_type, head):
    assert not looks_like(content_type, head)


def test_a_type_without_a_known_signature_never_matches():
    for content_type in ("text/html", "image/PNG", "image/png; charset=x", ""):
        assert not looks_like(content_type, PNG)


def test_the_first_signature_bytes_are_enough_to_decide():
    samples = {
        "image/png": PNG,
        "image/jpeg": JPEG,
        "image/webp": WEBP,
        "application/pdf": PDF,
        "image/svg+xml": SVG,
        "audio/mpeg": MP3_ID3,
        "audio/wav": WAV,
        "audio/aac": AAC_ADTS,
        "audio/mp4": M4A,
    }
    assert set(samples) == CHECKED_TYPES
    for content_type, head in samples.items():
        assert looks_like(content_type, (head + b"\x00" * 64)[:SIGNATURE_BYTES])
