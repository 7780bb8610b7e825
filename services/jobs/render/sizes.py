"""Frame sizes: an aspect ratio and the length of the short side."""

from __future__ import annotations

from services.jobs.media_types import InputError, Size

ASPECTS = {"9:16": (9, 16), "16:9": (16, 9), "1:1": (1, 1)}
DEFAULT_SHORT_SIDE = 1080
FPS = 30


def size_for(aspect: str, short_side: int = DEFAULT_SHORT_SIDE, fps: int = FPS) -> Size:
    """9:16 at 1080 -> 1080x1920; both sides even, as H.264 in yuv420p requires."""
    if aspect not in ASPECTS:
        raise InputError(f"unsupported aspect ratio {aspect!r}: use one of {', '.join(ASPECTS)}")
    if short_side < 2:
        raise InputError(f"the short side must be at least 2 pixels, not {short_side}")
    w, h = ASPECTS[aspect]
    short = short_side - short_side % 2
    long_ = round(short * max(w, h) / min(w, h) / 2) * 2
    return Size(short, long_, fps) if w <= h else Size(long_, short, fps)
